"""Reader for the Hugging Face ``mlqa`` schema: ``id, context, question, answers{text, answer_start}``.

JSON lines, a JSON list, or parquet. Languages and split come from a file name
``mlqa.<ctx>.<q>.<split>.<ext>`` (as in the HF configs ``mlqa.de.en``), else from the options.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.example import Example
from mlqa_domain.languages import check_language

from ._common import (
    LoadedSource,
    SourceInfo,
    decode_json_or_lines,
    file_record,
    make_answers,
    normalize_languages,
    normalize_split,
    one_line,
    read_input_bytes,
    require_id,
    require_text,
    with_id,
)

KIND = "hf-mlqa"
HF_NAME_RE = re.compile(
    r"^mlqa\.(?P<ctx>[^.]+)\.(?P<q>[^.]+)\.(?P<split>[^.]+)\.(?P<ext>jsonl|json|parquet)$", re.IGNORECASE
)
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "context", "question", "answers")


@dataclass(frozen=True)
class FileMeta:
    """Languages and split of one HF-schema file."""

    context_language: str
    question_language: str
    split: str


def is_hf_file(path: Path) -> bool:
    """Files this reader takes from a directory: ``*.jsonl``, ``*.parquet`` and ``mlqa.*.json``."""
    name = path.name.lower()
    return name.endswith((".jsonl", ".parquet")) or bool(HF_NAME_RE.match(path.name))


def file_meta(
    path: Path, context_language: str | None, question_language: str | None, split: str | None
) -> FileMeta:
    """Languages and split from the file name, else from the options (question defaults to context)."""
    match = HF_NAME_RE.match(path.name)
    if match:
        return FileMeta(
            check_language(match["ctx"], where=path),
            check_language(match["q"], where=path),
            normalize_split(match["split"], where=path),
        )
    if context_language is None:
        raise InputError(
            "cannot tell the languages: name the file mlqa.<ctx>.<q>.<split>.<ext> "
            "or pass context_language/question_language",
            where=path,
        )
    if split is None:
        raise InputError(
            "cannot tell the split: name the file mlqa.<ctx>.<q>.<split>.<ext> or pass split", where=path
        )
    ctx = check_language(context_language, where=path)
    question = check_language(question_language, where=path) if question_language else ctx
    return FileMeta(ctx, question, normalize_split(split, where=path))


def _json_lines(data: bytes, path: Path) -> list[tuple[str, Any]]:
    records = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except UnicodeDecodeError as exc:
            raise InputError(f"line {number}: not UTF-8 text: {one_line(exc.reason)}", where=path) from None
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON at line {number}, column {exc.colno}: {one_line(exc.msg)}", where=path
            ) from None
        records.append((f"line {number}", record))
    return records


def _json_records(data: bytes, path: Path) -> list[tuple[str, Any]]:
    """Records of a ``.json`` file: a JSON list, one object, or JSON lines."""
    document, is_json_lines = decode_json_or_lines(data, path)
    if is_json_lines:
        return _json_lines(data, path)
    if isinstance(document, list):
        return [(f"record {index}", record) for index, record in enumerate(document)]
    if isinstance(document, dict) and "data" in document and "id" not in document:
        raise InputError(
            "this looks like a SQuAD-format file (a 'data' list), not the HF mlqa schema", where=path
        )
    if isinstance(document, dict):
        return [("record 0", document)]
    raise InputError("expected a JSON list of records or JSON lines", where=path)


def _parquet_records(data: bytes, path: Path) -> list[tuple[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable parquet file: {one_line(exc)}", where=path) from None
    for column in REQUIRED_COLUMNS:
        if column not in table.column_names:
            raise InputError(f"missing column {column!r}", where=path)
    return [(f"row {index}", record) for index, record in enumerate(table.to_pylist())]


def records_to_examples(
    records: list[tuple[str, Any]], meta: FileMeta, path: Path, source: str
) -> list[Example]:
    """Check each record's keys and types and turn it into an Example."""
    examples = []
    for label, record in records:
        if not isinstance(record, dict):
            raise InputError(f"{label}: expected a JSON object", where=path)
        label = with_id(label, record)
        qid = require_id(record, label, path)
        context = require_text(record, "context", label, path)
        question = require_text(record, "question", label, path)
        if "answers" not in record:
            raise InputError(f"{label}: missing key 'answers'", where=path)
        title = record.get("title")
        examples.append(
            Example(
                id=qid,
                split=meta.split,
                context_language=meta.context_language,
                question_language=meta.question_language,
                context=context,
                question=question,
                answers=make_answers(record["answers"], label, path),
                title=title if isinstance(title, str) else None,
                source=source,
            )
        )
    return examples


def read_hf_file(path: Path, meta: FileMeta) -> tuple[list[Example], dict[str, Any]]:
    """Examples of one HF-schema file and its file record."""
    data = read_input_bytes(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        records = _parquet_records(data, path)
    elif name.endswith(".jsonl"):
        records = _json_lines(data, path)
    elif name.endswith(".json"):
        records = _json_records(data, path)
    else:
        raise InputError("unrecognised file type (expected .jsonl, .json or .parquet)", where=path)
    if not records:
        raise InputError("no records in the file", where=path)
    return records_to_examples(records, meta, path, path.name), file_record(path, data)


def read_hf_schema(
    spec: str | Path,
    *,
    context_language: str | None = None,
    question_language: str | None = None,
    split: str | None = None,
    languages: Sequence[str] | None = None,
) -> LoadedSource:
    """Read one HF-schema file or a directory of them (sorted by name)."""
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError("no such file or directory", where=spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and is_hf_file(p))
        if not files:
            raise InputError(
                "no HF-schema files (*.jsonl, *.parquet, mlqa.<ctx>.<q>.<split>.json) in the directory",
                where=path,
            )
    else:
        files = [path]
    wanted = normalize_languages(languages)
    examples: list[Example] = []
    records: list[dict[str, Any]] = []
    for file in files:
        meta = file_meta(file, context_language, question_language, split)
        if wanted is not None and not {meta.context_language, meta.question_language} <= wanted:
            continue
        file_examples, record = read_hf_file(file, meta)
        examples.extend(file_examples)
        records.append(record)
    return LoadedSource(examples, SourceInfo(KIND, str(spec), records))
