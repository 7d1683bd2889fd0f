"""Terminal tables that fit the terminal: whole words, abbreviations with a legend, and a named list of
the columns left out, instead of headers broken mid-word or columns silently squeezed away.

A table function builds its rich table with every column, then :func:`fit_table` drops optional columns
(in the order the function gives) while the table is wider than the terminal at its natural size, and
adds a caption line naming them; ``--wide`` (``width=None``) keeps every column.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

WIDE_OPTION = "--wide"
_MEASURE_WIDTH = 10_000  # wide enough that no column is squeezed while measuring


def _measure(renderable: object) -> Measurement:
    console = Console(width=_MEASURE_WIDTH, color_system=None)
    return Measurement.get(console, console.options, renderable)


def _header(column_header: object) -> str:
    return column_header.plain if isinstance(column_header, Text) else str(column_header)


def _wrapped_header(column: Column) -> str | Text:
    """The column's header broken at spaces into lines no wider than its widest cell (or its longest
    word), so a column of short values is not widened by a long header."""
    text = _header(column.header)
    cells = max((_measure(cell).maximum for cell in column.cells), default=0)
    words = text.split()
    if len(text) <= cells or len(words) < 2:
        return column.header
    wrapped = "\n".join(textwrap.wrap(text, width=max(cells, *(len(word) for word in words))))
    return Text(wrapped, style=column.header.style) if isinstance(column.header, Text) else wrapped


def natural_width(table: Table, wrap_headers: bool = True) -> int:
    """Characters the table takes when every row stays on one line (borders and padding included); with
    ``wrap_headers`` the headers may break at their spaces."""
    if not wrap_headers:
        return _measure(table).maximum
    headers = [column.header for column in table.columns]
    try:
        for column in table.columns:
            column.header = _wrapped_header(column)
        return _measure(table).maximum
    finally:
        for column, header in zip(table.columns, headers, strict=True):
            column.header = header


def add_caption_line(table: Table, line: str) -> None:
    """Append ``line`` to the table's caption (a new line under what it says already)."""
    caption = table.caption
    if caption is None or caption == "":
        table.caption = line
    elif isinstance(caption, Text):
        table.caption = Text.assemble(caption, "\n", line)
    else:
        table.caption = f"{caption}\n{line}"


def fit_table(table: Table, width: int | None, droppable: Sequence[str]) -> list[str]:
    """Drop the columns headed ``droppable`` (first named, first dropped) while ``table`` is wider than
    ``width`` with every row on one line; name them in a caption line; break headers at their spaces
    where that makes the rest fit. Returns the headers left out (none when ``width`` is None).

    What still does not fit wraps at spaces (rich keeps words whole when the columns' longest words fit).
    """
    if width is None:
        return []
    left_out: list[str] = []
    for header in droppable:
        if natural_width(table) <= width:
            break
        index = next((i for i, c in enumerate(table.columns) if _header(c.header) == header), None)
        if index is not None:
            table.columns.pop(index)
            left_out.append(header)
    if natural_width(table, wrap_headers=False) > width:  # rows stay on one line, headers take two
        for column in table.columns:
            column.header = _wrapped_header(column)
    if left_out:
        shown = ", ".join(f"'{name}'" for name in reversed(left_out))
        add_caption_line(table, f"left out to fit {width} columns: {shown} ({WIDE_OPTION} shows all)")
    return left_out


def abbreviations(names: Iterable[str], keep: int = 6, shortest: int = 3) -> dict[str, str]:
    """A short form of each name longer than ``keep`` characters: its shortest prefix of at least
    ``shortest`` characters that no other name starts with (``biomedical`` -> ``bio``). Names that are
    short already map to themselves."""
    names = list(dict.fromkeys(names))
    short: dict[str, str] = {}
    for name in names:
        if len(name) <= keep:
            short[name] = name
            continue
        others = [other for other in names if other != name]
        length = shortest
        while length < len(name) and any(other.startswith(name[:length]) for other in others):
            length += 1
        short[name] = name[:length]
    return short


def legend(short: dict[str, str]) -> str:
    """``bio = biomedical, sci = science`` for the names that were shortened (empty when none were)."""
    return ", ".join(f"{abbr} = {name}" for name, abbr in short.items() if abbr != name)
