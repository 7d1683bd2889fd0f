"""The one reader of JSON and JSON lines: bad input is a one-line InputError in one format.

Every problem reads ``<file>: line <n>[, column <c>]: <problem>``, e.g.
``results.json: line 3, column 7: invalid JSON (Expecting ',' delimiter)`` or
``train.jsonl: line 12, column 1: not UTF-8 text (invalid start byte)``. Lines and columns count
from 1; in a JSON-lines file they are the file's line and the column within it.

Two things the standard parser accepts are refused: an object that repeats a key (``{"data": [A],
"data": [B]}`` would silently lose A) and a lone UTF-16 surrogate escape (``"\\ud83d"``: a string no
UTF-8 file, cache or terminal can hold).

:func:`scan_json_file` and :func:`iter_list_items` read the list under one key of a large JSON object an
item at a time (ijson), with the same result and the same errors as :func:`parse_json`: a file the
stream cannot read exactly as :func:`parse_json` would (a byte-order mark, a surrogate escape, anything
ijson refuses) is marked not streamable, and its reader parses it whole.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
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


# a JSON escape of a UTF-16 surrogate that is not half of a high+low pair: ijson reads it as "?", where
# :func:`loads` refuses it (an escaped backslash before "u" also matches: such a file is parsed whole)
_LONE_SURROGATE_ESCAPE_BYTES = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_ESCAPE_PAIR_BYTES = 12  # a high and a low escape, side by side
_BOM = b"\xef\xbb\xbf"
_SCAN_CHUNK = 1 << 20


class _HashingReader:
    """A binary file's reader that hashes what is read and notes a lone surrogate escape in it."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.lone_surrogate = False
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.sha256.update(data)
        self.size += len(data)
        # the window starts a pair's length before the new bytes (a low escape sees its high) and is
        # searched up to a pair's length before its end unless the file has ended (a high sees its low)
        window = self._tail + data
        end = len(window) if not data else max(len(window) - _ESCAPE_PAIR_BYTES, 0)
        if not self.lone_surrogate:
            found = _LONE_SURROGATE_ESCAPE_BYTES.search(window, max(len(self._tail) - _ESCAPE_PAIR_BYTES, 0))
            self.lone_surrogate = found is not None and (not data or found.start() < end)
        self._tail = window[-2 * _ESCAPE_PAIR_BYTES :]
        return data


@dataclass(frozen=True)
class JsonFileScan:
    """One pass over a JSON file: its size and sha256, and whether :func:`iter_list_items` may stream the
    list under the key (the file is one JSON object holding that key once, as a list, and nothing in it
    reads differently through ijson)."""

    size: int
    sha256: str
    streamable: bool


def scan_json_file(path: Path, key: str) -> JsonFileScan:
    """Read ``path`` once in chunks (an OSError propagates): its size, sha256 and whether it is
    streamable."""
    import ijson

    with open(path, "rb") as handle:
        streamable = handle.read(len(_BOM)) != _BOM
        handle.seek(0)
        reader = _HashingReader(handle)
        try:
            streamable = streamable and _one_list_under(ijson.parse(reader, buf_size=_SCAN_CHUNK), key)
        except Exception:  # ijson's errors (and a decoder's) all mean: let parse_json say what is wrong
            streamable = False
        while reader.read(_SCAN_CHUNK):  # the rest, for the checksum
            pass
    return JsonFileScan(reader.size, reader.sha256.hexdigest(), streamable and not reader.lone_surrogate)


def _one_list_under(events: Iterator[tuple[str, str, Any]], key: str) -> bool:
    """True when the events are of one object whose ``key`` is there once and holds a list."""
    first = next(events, None)
    if first != ("", "start_map", None):
        return False
    found = 0
    expect_list = False
    for prefix, event, value in events:
        if expect_list:
            if (prefix, event) != (key, "start_array"):
                return False
            expect_list = False
        elif prefix == "" and event == "map_key" and value == key:
            found += 1
            expect_list = True
    return found == 1


def iter_list_items(path: Path, key: str) -> Iterator[Any]:
    """The items of the list under ``key`` in the JSON object of ``path`` (one :func:`scan_json_file` found
    streamable), one at a time, as :func:`parse_json` gives them; an object that repeats a key is
    :func:`parse_json`'s InputError."""
    import ijson

    repeated: list[str] = []

    class UniqueKeyDict(dict):
        """The objects ijson builds, noting a repeated key (raising inside ijson's C code is not safe)."""

        def __setitem__(self, name: str, value: Any) -> None:
            if name in self:
                repeated.append(name)
            super().__setitem__(name, value)

    try:
        with open(path, "rb") as handle:
            items = ijson.items(
                handle, f"{key}.item", map_type=UniqueKeyDict, use_float=True, buf_size=_SCAN_CHUNK
            )
            try:
                for item in items:
                    if repeated:
                        break
                    yield item
                else:
                    return
            except ijson.JSONError:  # the file changed since it was scanned
                pass
        data = path.read_bytes()
    except OSError as exc:  # gone or unreadable since it was scanned
        problem = (
            "no such file"
            if isinstance(exc, FileNotFoundError)
            else f"cannot read file: {exc.strerror or exc}"
        )
        raise InputError(problem, path) from None
    parse_json(data, path)  # the whole document: raises its InputError, naming line and column
    raise InputError("the file changed while it was read", path)
