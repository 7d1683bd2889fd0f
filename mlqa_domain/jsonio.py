"""The one reader of JSON and JSON lines: bad input is a one-line InputError in one format.

Every problem reads ``<file>: line <n>[, column <c>]: <problem>``, e.g.
``results.json: line 3, column 7: invalid JSON (Expecting ',' delimiter)`` or
``train.jsonl: line 12, column 1: not UTF-8 text (invalid start byte)``. Lines and columns count
from 1; in a JSON-lines file they are the file's line and the column within it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError


def located_error(problem: str, where: str | Path | None, line: int, column: int | None = None) -> InputError:
    """``<where>: line <line>[, column <column>]: <problem>`` as an InputError."""
    at = f"line {line}" if column is None else f"line {line}, column {column}"
    return InputError(f"{at}: {problem}", where)


def _json_error(exc: json.JSONDecodeError, where: str | Path | None, line_offset: int = 0) -> InputError:
    return located_error(f"invalid JSON ({exc.msg})", where, exc.lineno + line_offset, exc.colno)


def _decode(data: str | bytes, where: str | Path | None, line_offset: int = 0) -> str:
    """UTF-8 text of ``data`` (a leading byte-order mark dropped); bad bytes name their line and column."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1 + line_offset
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8-sig", "replace")) + 1
        raise located_error(f"not UTF-8 text ({exc.reason})", where, line, column) from None


def parse_json(text: str | bytes, where: str | Path | None) -> Any:
    """One JSON document (text, or UTF-8 bytes)."""
    text = _decode(text, where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_error(exc, where) from None


def parse_json_line(line: str | bytes, where: str | Path | None, number: int) -> Any:
    """The value on line ``number`` of a JSON-lines file (its line ending is not part of it)."""
    text = _decode(line, where, number - 1).rstrip("\r\n")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_error(exc, where, number - 1) from None


def parse_jsonl(text: str | bytes, where: str | Path | None) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of JSON-lines text (or UTF-8 bytes)."""
    lines = text.split(b"\n") if isinstance(text, bytes) else text.split("\n")
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield number, parse_json_line(line, where, number)


def read_json(path: str | Path) -> Any:
    """The JSON document in a UTF-8 file."""
    return parse_json(Path(path).read_bytes(), path)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of a UTF-8 JSON-lines file, read lazily."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, parse_json_line(line, path, number)
