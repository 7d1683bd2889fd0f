"""Reading JSON and JSON lines where bad JSON is an InputError naming the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError


def parse_json(text: str | bytes, where: str | Path) -> Any:
    """One JSON document; bad JSON names the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", where) from None


def read_json(path: str | Path) -> Any:
    """The JSON document in a UTF-8 file (a UnicodeDecodeError is left to the caller)."""
    return parse_json(Path(path).read_text(encoding="utf-8"), path)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of a UTF-8 JSON-lines file, read lazily."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"line {number}: invalid JSON ({exc.msg})", path) from None
            yield number, value
