"""Read the passages of intermediate-task training data (json, jsonl, SQuAD json, parquet, csv, txt)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import iter_jsonl, read_json

# Fields that hold passages in the hub formats of the usual intermediate tasks: SQuAD/CUAD (context,
# question), MNLI/SNLI/ANLI (premise, hypothesis), HellaSwag/SWAG (ctx, ctx_a, ctx_b, endings),
# PubMedQA (context.contexts, long_answer), GLUE-style (sentence, sentence1, sentence2), and
# generic corpora (text, passage, document, paragraph, abstract, article).
DEFAULT_FIELDS: tuple[str, ...] = (
    "context",
    "contexts",
    "premise",
    "hypothesis",
    "question",
    "text",
    "ctx",
    "ctx_a",
    "ctx_b",
    "endings",
    "sentence",
    "sentence1",
    "sentence2",
    "passage",
    "document",
    "paragraph",
    "abstract",
    "long_answer",
    "article",
)
# Answer records only repeat context substrings; skipping them saves work.
SKIPPED_KEYS = frozenset({"answers", "answer_start", "id", "label", "labels", "idx"})
SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".tsv", ".txt")


def task_files(path: str | Path) -> list[Path]:
    """``path`` itself, or every supported file under a directory (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise InputError(f"no task data files ({', '.join(SUFFIXES)}) in directory", path)
        return files
    if not path.is_file():
        raise InputError("task data file not found", path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"unsupported task data format (use one of {', '.join(SUFFIXES)})", path)
    return [path]


def collect_strings(value: Any, fields: frozenset[str], under_field: bool = False) -> Iterator[str]:
    """Strings found under ``fields`` anywhere in a JSON-like value (nested dicts and lists walked)."""
    if isinstance(value, str):
        if under_field and value.strip():
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in SKIPPED_KEYS:
                yield from collect_strings(item, fields, under_field or key in fields)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from collect_strings(item, fields, under_field)


def _records(path: Path) -> Iterable[Any]:
    """The records of one file, as JSON-like values (a txt line is a bare string)."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        with path.open(encoding="utf-8") as handle:
            yield from (line.strip() for line in handle if line.strip())
    elif suffix == ".jsonl":
        yield from (record for _, record in iter_jsonl(path))
    elif suffix == ".json":
        yield read_json(path)
    elif suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(path)
            for batch in table.iter_batches(batch_size=10_000):
                yield from batch.to_pylist()
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read parquet: {exc}", path) from None


def read_passages(path: str | Path, fields: Iterable[str] | None = None) -> list[str]:
    """Distinct passage strings of one task file (bare strings at the top level count as passages)."""
    path = Path(path)
    wanted = frozenset(fields or DEFAULT_FIELDS)
    try:
        passages = {
            text: None
            for record in _records(path)
            for text in collect_strings(record, wanted, under_field=isinstance(record, str))
        }
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None
    if not passages:
        raise InputError(f"no passages found (looked for fields: {', '.join(sorted(wanted))})", path)
    return list(passages)
