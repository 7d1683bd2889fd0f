"""Reader for the Hugging Face ``mlqa`` schema: ``id, context, question, answers{text, answer_start}``.

JSON lines, a JSON list, or parquet. Languages and split come from a file name
``mlqa.<ctx>.<q>.<split>.<ext>`` (as in the HF configs ``mlqa.de.en``), else from the options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.example import Example
from mlqa_domain.jsonio import parse_jsonl
from mlqa_domain.languages import check_language

from ._common import (
    decode_json_or_lines,
    file_record,
    input_files,
    make_answers,
    normalize_split,
    one_line,
    read_input_bytes,
    require,
    require_id,
    with_id,
)
from .base import SOURCES, LoadedSource, SourceInfo, SourceOptions

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
    return [(f"line {number}", record) for number, record in parse_jsonl(data, path)]


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
        context = require(record, "context", label, path)
        question = require(record, "question", label, path)
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


@SOURCES.register(KIND)
class HfMlqaSource:
    """Files in the Hugging Face ``mlqa`` schema; the options name what a file name does not."""

    priority = 20
    inputs = "mlqa.<ctx>.<q>.<split>.jsonl|json|parquet files (the Hugging Face mlqa schema)"

    def detect(self, spec: str) -> bool:
        """A directory with HF-schema files, an HF-schema file, or (asked after SQuAD) any .json file."""
        path = Path(spec).expanduser()
        if path.is_dir():
            return any(p.is_file() and is_hf_file(p) for p in path.iterdir())
        return path.is_file() and (is_hf_file(path) or path.name.lower().endswith(".json"))

    def read(self, spec: str, options: SourceOptions) -> LoadedSource:
        """One HF-schema file or a directory of them (sorted by name)."""
        files = input_files(
            spec,
            lambda path: sorted(p for p in path.iterdir() if p.is_file() and is_hf_file(p)),
            "no HF-schema files (*.jsonl, *.parquet, mlqa.<ctx>.<q>.<split>.json) in the directory",
        )
        wanted = options.language_set()
        examples: list[Example] = []
        records: list[dict[str, Any]] = []
        for file in files:
            meta = file_meta(file, options.context_language, options.question_language, options.split)
            if wanted is not None and not {meta.context_language, meta.question_language} <= wanted:
                continue
            file_examples, record = read_hf_file(file, meta)
            examples.extend(file_examples)
            records.append(record)
        return LoadedSource(examples, SourceInfo(KIND, spec, records))
