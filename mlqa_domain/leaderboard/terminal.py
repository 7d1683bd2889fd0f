"""The top of the leaderboard as a rich table for the terminal (`bench leaderboard show`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table as RichTable
from rich.text import Text

from mlqa_domain.errors import visible_controls
from mlqa_domain.leaderboard.columns import Column
from mlqa_domain.leaderboard.table import Table
from mlqa_domain.terminal_tables import abbreviations, add_caption_line, fit_table, legend


@dataclass(frozen=True)
class ShowSettings:
    """Options of `bench leaderboard show`."""

    top: int = 10  # how many rows
    width: int | None = None  # terminal columns to fit (None: every column, as `--wide`)


DEFAULTS = ShowSettings()


def _style(column: Column) -> dict[str, Any]:
    if column.numeric:
        return {"justify": "right", "no_wrap": column.kind != "gap", "overflow": "fold"}
    if column.kind == "entry":
        return {"overflow": "fold", "min_width": 12}
    return {"overflow": "fold"}


def rich_table(table: Table, settings: ShowSettings = DEFAULTS) -> RichTable:
    """The leaderboard's first ``settings.top`` rows, in the columns marked for the terminal."""
    title = f"MLQA-Domain leaderboard ({len(table.rows)} entries)"
    out = RichTable(title=title, title_justify="left", caption_justify="left")
    columns = table.columns("show")
    short = abbreviations(table.gap_domains)
    headers = [_header(column, short) for column in columns]
    for column, header in zip(columns, headers, strict=True):
        out.add_column(header, **_style(column))
    for row in table.rows[: settings.top]:
        # submitted strings: no markup, control characters spelled out (before the widths are measured)
        out.add_row(*(Text(visible_controls(column.text(row))) for column in columns))
    if not table.rows:
        out.caption = "no entries yet"
    if table.gap_domains:
        names = legend(short)
        gap_note = "gap <domain>: its F1 minus general F1 (+: better on the domain)"
        add_caption_line(out, f"{gap_note}; {names}" if names else gap_note)
    fit_table(out, settings.width, _droppable(columns, headers))
    return out


def _header(column: Column, short: dict[str, str]) -> str:
    """The column's terminal header, a gap column's domain abbreviated (``gap bio``)."""
    if column.kind == "gap" and column.label in short:
        return column.terminal_label.replace(column.label, short[column.label])
    return column.terminal_label


def _droppable(columns: list[Column], headers: list[str]) -> list[str]:
    """What `show` leaves out first when the terminal is narrow: the run details (last first), then the
    gaps (last first), then EM; the rank, the model and MLQA F1 always stay."""
    details = [h for c, h in zip(columns, headers, strict=True) if c.detail]
    gaps = [h for c, h in zip(columns, headers, strict=True) if c.kind == "gap"]
    em = [h for c, h in zip(columns, headers, strict=True) if c.key == "mlqa_em"]
    return [*reversed(details), *reversed(gaps), *em]
