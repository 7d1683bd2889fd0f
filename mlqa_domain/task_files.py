"""The one reader of intermediate-task files (SQuAD, MNLI, HellaSwag, ... exported from the hub).

Used by the contamination filter (passages), the classifier training data (texts) and STILTs
(task data). Understood files, one record per:

* ``.json``: paragraph of a SQuAD document ``{"data": [{"title", "paragraphs": [{"context",
  "qas"}]}]}`` (the record is the paragraph with its article's ``title``); item of a list; or the
  whole document (any other JSON value);
* ``.jsonl``: line (blank lines skipped);
* ``.parquet``, ``.csv``, ``.tsv``: row (csv/tsv values are strings);
* ``.txt``: non-blank line (the record is the stripped line itself).

A directory stands for every such file below it, sorted. Every problem is one :class:`InputError`
naming the file: not found, unsupported type, not UTF-8, bad JSON (:mod:`mlqa_domain.jsonio`), an
unreadable parquet or csv file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlqa_domain.errors import InputError, first_line
from mlqa_domain.jsonio import iter_jsonl, parse_json_or_lines, read_json
from mlqa_domain.squad_format import SquadQuestion, is_squad_document, iter_paragraphs, iter_questions

if TYPE_CHECKING:
    from datasets import Dataset

SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".parquet", ".csv", ".tsv", ".txt")
# File kind of each suffix (files of one kind can be read together as one table).
_KINDS = {
    ".jsonl": "json",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "text",
}


def list_files(path: str | Path) -> list[Path]:
    """``path`` itself (checked), or every task data file under a directory (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise InputError(f"no task data files ({', '.join(SUFFIXES)}) in directory", path)
        return files
    check_file(path)
    return [path]


def check_file(path: Path) -> None:
    """An InputError unless ``path`` is a file of a supported type."""
    if not path.is_file():
        raise InputError("task data file not found", path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(
            f"unsupported task data format {path.suffix.lower()!r} (use one of {', '.join(SUFFIXES)})", path
        )


def squad_paragraphs(document: dict, path: Path) -> Iterator[dict]:
    """The paragraphs of a SQuAD document, each with its article's ``title``."""
    for paragraph in iter_paragraphs(document, path):
        yield {**paragraph.record, "title": paragraph.title}


def squad_questions(document: dict, path: Path) -> Iterator[dict]:
    """One row per question of a SQuAD document, in the HF ``squad`` schema (no answer if impossible)."""
    count = 0
    for paragraph in iter_paragraphs(document, path):
        if not isinstance(paragraph.context, str):
            raise InputError("a paragraph has no 'context' string", path)
        for question in iter_questions(paragraph, path, qas_required=False):
            yield _question_row(question, f"q{count}")
            count += 1


def _question_row(question: SquadQuestion, default_id: str) -> dict:
    """A question in the HF ``squad`` schema: id, title, context, question, answers."""
    qa = question.qa
    answers = [] if qa.get("is_impossible") else qa.get("answers") or []
    return {
        "id": str(qa.get("id", default_id)),
        "title": question.title,
        "context": question.context,
        "question": qa.get("question", ""),
        "answers": {
            "text": [a["text"] for a in answers],
            "answer_start": [int(a["answer_start"]) for a in answers],
        },
    }


def _json_records(path: Path, columns: Sequence[str] | None) -> Iterator[Any]:
    document = read_json(path)
    if is_squad_document(document):
        yield from squad_paragraphs(document, path)
    elif isinstance(document, list):
        yield from document
    else:
        yield document


def _jsonl_records(path: Path, columns: Sequence[str] | None) -> Iterator[Any]:
    yield from (record for _, record in iter_jsonl(path))


def _parquet_records(path: Path, columns: Sequence[str] | None) -> Iterator[Any]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    wanted = None
    if columns is not None:
        wanted = [name for name in parquet.schema_arrow.names if name in columns]
        if not wanted:
            raise InputError(f"none of the columns {', '.join(columns)} in the file", path)
    for batch in parquet.iter_batches(batch_size=10_000, columns=wanted):
        yield from batch.to_pylist()


def _csv_records(path: Path, columns: Sequence[str] | None) -> Iterator[Any]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")


def _text_records(path: Path, columns: Sequence[str] | None) -> Iterator[Any]:
    with path.open(encoding="utf-8-sig") as handle:
        yield from (line.strip() for line in handle if line.strip())


_READERS: dict[str, Callable[[Path, Sequence[str] | None], Iterator[Any]]] = {
    ".json": _json_records,
    ".jsonl": _jsonl_records,
    ".parquet": _parquet_records,
    ".csv": _csv_records,
    ".tsv": _csv_records,
    ".txt": _text_records,
}


def iter_records(path: str | Path, columns: Sequence[str] | None = None) -> Iterator[Any]:
    """The records of one task file, read lazily (see the module docstring for what a record is).

    ``columns``: parquet reads only these columns (those the file has; none is an InputError).
    """
    path = Path(path)
    check_file(path)
    try:
        yield from _READERS[path.suffix.lower()](path, columns)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None
    except (ValueError, OSError, csv.Error) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"cannot read {_KINDS[path.suffix.lower()]} file: {first_line(exc)}", path) from None


def _squad_document(path: Path) -> dict | None:
    """The document of a SQuAD-format .json file; None for any other file (JSON lines included)."""
    if path.suffix.lower() != ".json":
        return None
    try:
        document, _ = parse_json_or_lines(path.read_bytes(), path)
    except InputError:
        return None  # not one JSON document: the json loader of read_dataset says what is wrong
    return document if is_squad_document(document) else None


def read_dataset(paths: Sequence[Path]) -> Dataset:
    """One split from task files of one kind as a ``datasets`` table.

    SQuAD json is flattened to one row per question (:func:`squad_questions`), a txt line is the
    column ``text``; other files keep their own columns and types (``datasets``' json, parquet and
    csv loaders, so hub exports keep e.g. their ClassLabel names).
    """
    import datasets

    for path in paths:
        check_file(path)
    documents = [_squad_document(path) for path in paths]
    if all(document is not None for document in documents):
        return datasets.Dataset.from_list(
            [row for path, doc in zip(paths, documents, strict=True) for row in squad_questions(doc, path)]
        )
    kinds = {_KINDS[path.suffix.lower()] for path in paths}
    if len(kinds) > 1:
        raise InputError("files of one split must share a format", paths[0])
    (kind,) = kinds
    if kind == "text":
        return datasets.Dataset.from_list([{"text": line} for path in paths for line in iter_records(path)])
    builder, options = ("csv", {"sep": "\t"}) if kind == "tsv" else (kind, {})
    try:
        return datasets.load_dataset(builder, data_files=[str(p) for p in paths], split="train", **options)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad input file
        raise InputError(f"cannot read {kind} file: {first_line(exc)}", paths[0]) from None
