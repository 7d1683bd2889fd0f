"""Pieces shared by the source readers: file checksums, JSON decoding, required fields, answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes, sha256_file
from mlqa_domain.jsonio import parse_json, parse_json_or_lines

SPLIT_NAMES: dict[str, str] = {"validation": "validation", "dev": "validation", "test": "test"}
SPLIT_ORDER: dict[str, int] = {"validation": 0, "test": 1}


def one_line(text: object) -> str:
    """Collapse whitespace so an error message stays on one line."""
    return " ".join(str(text).split())


def file_record(
    path: str | Path, data: bytes | None = None, *, scanned: tuple[int, str] | None = None
) -> dict[str, Any]:
    """``{"path", "bytes", "sha256"}`` of an input file (hashing ``data`` when already read; ``scanned``:
    its size and sha256 from a pass that has read it)."""
    if scanned is not None:
        return {"path": str(path), "bytes": scanned[0], "sha256": scanned[1]}
    if data is None:
        return {"path": str(path), "bytes": Path(path).stat().st_size, "sha256": sha256_file(path)}
    return {"path": str(path), "bytes": len(data), "sha256": sha256_bytes(data)}


def read_input_bytes(path: Path) -> bytes:
    """The bytes of an input file; a missing, unreadable or empty file is an InputError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", where=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {one_line(exc.strerror or exc)}", where=path) from None
    if not data.strip():
        raise InputError("empty file", where=path)
    return data


def decode_json(data: bytes, where: str | Path) -> Any:
    """Parse a whole JSON document; bad JSON or bytes name the line and column."""
    if not data.strip():
        raise InputError("empty file", where=where)
    return parse_json(data, where)


def decode_json_or_lines(data: bytes, where: str | Path) -> tuple[Any, bool]:
    """``(document, False)`` for one JSON document, ``(None, True)`` for JSON lines (the sniffing is
    :func:`mlqa_domain.jsonio.parse_json_or_lines`); an empty file or bad JSON raises."""
    if not data.strip():
        raise InputError("empty file", where=where)
    return parse_json_or_lines(data, where)


def normalize_split(name: str, where: str | Path | None) -> str:
    """``validation``/``test`` from a split name (``dev`` is MLQA's name for ``validation``)."""
    split = SPLIT_NAMES.get(str(name).strip().lower())
    if split is None:
        raise InputError(f"unknown split {name!r} (expected validation, dev or test)", where=where)
    return split


def with_id(label: str, record: Any) -> str:
    """``line 5`` -> ``line 5 (id 'abc')`` when the record has an id, to find it in the file."""
    if isinstance(record, dict) and isinstance(record.get("id"), (str, int)):
        return f"{label} (id {str(record['id'])!r})"
    return label


def make_answers(raw: Any, label: str, where: str | Path) -> dict[str, list]:
    """HF-style ``{"text": [...], "answer_start": [...]}`` from either HF or SQuAD answers.

    Accepts the HF struct of two equal-length lists or SQuAD's list of ``{text, answer_start}``
    objects. Spans are not checked against the context here (a filter does that).
    """
    if isinstance(raw, dict):
        try:
            texts, starts = raw["text"], raw["answer_start"]
        except KeyError as exc:
            raise InputError(f"{label}: missing key 'answers.{exc.args[0]}'", where=where) from None
        if not isinstance(texts, (list, tuple)) or not isinstance(starts, (list, tuple)):
            raise InputError(f"{label}: 'answers.text' and 'answers.answer_start' must be lists", where=where)
        if len(texts) != len(starts):
            raise InputError(
                f"{label}: 'answers' has {len(texts)} text(s) but {len(starts)} answer_start(s)", where=where
            )
    elif isinstance(raw, (list, tuple)):
        texts, starts = [], []
        for number, answer in enumerate(raw):
            if not isinstance(answer, dict):
                raise InputError(f"{label}: answers[{number}] is not an object", where=where)
            try:
                texts.append(answer["text"])
                starts.append(answer["answer_start"])
            except KeyError as exc:
                raise InputError(
                    f"{label}: answers[{number}] is missing key {exc.args[0]!r}", where=where
                ) from None
    else:
        raise InputError(f"{label}: 'answers' must be an object or a list", where=where)
    if not all(isinstance(text, str) for text in texts):
        raise InputError(f"{label}: every answer text must be a string", where=where)
    if not all(isinstance(start, int) and not isinstance(start, bool) for start in starts):
        raise InputError(f"{label}: every answer_start must be an integer", where=where)
    return {"text": list(texts), "answer_start": list(starts)}


def require(record: Any, key: str, label: str, where: str | Path, kind: type = str) -> Any:
    """``record[key]``, which must be of ``kind`` (a string by default); anything else is an InputError."""
    if not isinstance(record, dict):
        raise InputError(f"{label}: expected an object", where=where)
    try:
        value = record[key]
    except KeyError:
        raise InputError(f"{label}: missing key {key!r}", where=where) from None
    if not isinstance(value, kind):
        shown = "a string" if kind is str else f"a {kind.__name__}"
        raise InputError(f"{label}: {key!r} must be {shown}, got {type(value).__name__}", where=where)
    return value


def input_files(spec: str | Path, select: Callable[[Path], list[Path]], none_found: str) -> list[Path]:
    """``spec`` itself when it is a file, else the files ``select`` picks from the directory (an
    InputError saying ``none_found`` when there are none); a missing path is an InputError."""
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError("no such file or directory", where=spec)
    if not path.is_dir():
        return [path]
    files = select(path)
    if not files:
        raise InputError(none_found, where=path)
    return files


def require_id(record: dict, label: str, where: str | Path) -> str:
    """The record's ``id`` as a string (integers are accepted and converted)."""
    try:
        value = record["id"]
    except KeyError:
        raise InputError(f"{label}: missing key 'id'", where=where) from None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise InputError(f"{label}: 'id' must be a non-empty string", where=where)
    return str(value)
