"""The one reader of JSON and JSON lines: bad input is a one-line InputError in one format.

Every problem reads ``<file>: line <n>[, column <c>]: <problem>``, e.g.
``results.json: line 3, column 7: invalid JSON (Expecting ',' delimiter)`` or
``train.jsonl: line 12, column 1: not UTF-8 text (invalid start byte)``. Lines and columns count
from 1; in a JSON-lines file they are the file's line and the column within it.

Two things the standard parser accepts are refused: an object that repeats a key (``{"data": [A],
"data": [B]}`` would silently lose A) and a lone UTF-16 surrogate escape (``"\\ud83d"``: a string no
UTF-8 file, cache or terminal can hold).
"""

from __future__ import annotations

import json
import math
import re
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


class _DuplicateKey(ValueError):
    """An object repeats a key (raised inside the parser, turned into an InputError by :func:`loads`)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """True when a string (or key) anywhere in ``value`` holds a surrogate that no pair joined."""
    if isinstance(value, str):
        return bool(_SURROGATE.search(value))
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _lone_surrogate_escape(text: str) -> re.Match[str]:
    """The first ``\\uD8xx``-``\\uDFxx`` escape of ``text`` that is not half of a high+low pair."""
    matches = list(_SURROGATE_ESCAPE.finditer(text))
    for index, match in enumerate(matches):
        high = int(match.group()[2:], 16) < 0xDC00
        partner = (
            matches[index + 1 if high else index - 1]
            if 0 <= index + (1 if high else -1) < len(matches)
            else None
        )
        paired = partner is not None and (
            (high and partner.start() == match.end() and int(partner.group()[2:], 16) >= 0xDC00)
            or (not high and partner.end() == match.start() and int(partner.group()[2:], 16) < 0xDC00)
        )
        if not paired:
            return match
    return matches[0]


def _position(text: str, index: int) -> tuple[int, int]:
    """(line, column) of ``text[index]``, both from 1."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def loads(text: str, where: str | Path | None, line_offset: int = 0) -> Any:
    """``json.loads`` that refuses repeated keys and lone surrogates; every problem an InputError."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise _json_error(exc, where, line_offset) from None
    except _DuplicateKey as exc:
        key = json.dumps(exc.key, ensure_ascii=False)
        found = re.search(re.escape(key) + r"\s*:", text)
        first = found and re.search(re.escape(key) + r"\s*:", text[found.end() :])
        line, column = _position(text, found.end() + first.start()) if first else (1, None)
        problem = f"the key {key} appears twice in one object (JSON keys must be unique)"
        raise located_error(problem, where, line + line_offset, column) from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):  # walked only when the text has one
        escape = _lone_surrogate_escape(text)
        line, column = _position(text, escape.start())
        problem = f"{escape.group()} is a lone surrogate, not a character (not valid Unicode text)"
        raise located_error(problem, where, line + line_offset, column)
    return value


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
    return loads(_decode(text, where), where)


def parse_json_line(line: str | bytes, where: str | Path | None, number: int) -> Any:
    """The value on line ``number`` of a JSON-lines file (its line ending is not part of it)."""
    return loads(_decode(line, where, number - 1).rstrip("\r\n"), where, number - 1)


def parse_jsonl(text: str | bytes, where: str | Path | None) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of JSON-lines text (or UTF-8 bytes)."""
    lines = text.split(b"\n") if isinstance(text, bytes) else text.split("\n")
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield number, parse_json_line(line, where, number)


def looks_like_json_lines(text: str | bytes) -> bool:
    """True when the first non-blank line is a JSON object on its own (JSON lines, not one document)."""
    for line in text.split(b"\n" if isinstance(text, bytes) else "\n"):
        if line.strip():
            try:
                return isinstance(json.loads(line), dict)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return False
    return False


def parse_json_or_lines(text: str | bytes, where: str | Path | None) -> tuple[Any, bool]:
    """The one sniffer of JSON against JSON lines: ``(document, False)`` for one JSON document,
    ``(None, True)`` for JSON lines (read them with :func:`parse_jsonl`); anything else raises the
    document's InputError (it names the line and column)."""
    try:
        return parse_json(text, where), False
    except InputError:
        if looks_like_json_lines(text):
            return None, True
        raise


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN or infinite float (an undefined metric) as None, so that it is written
    as JSON ``null`` (``json.dumps`` would write ``NaN``, which is not JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(item) for item in value]
    return value


def read_json(path: str | Path) -> Any:
    """The JSON document in a UTF-8 file."""
    return parse_json(Path(path).read_bytes(), path)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of a UTF-8 JSON-lines file, read lazily."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, parse_json_line(line, path, number)
