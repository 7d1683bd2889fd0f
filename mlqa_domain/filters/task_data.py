"""The passages of intermediate-task training data (files read by :mod:`mlqa_domain.task_files`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.task_files import iter_records

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


def read_passages(path: str | Path, fields: Iterable[str] | None = None) -> list[str]:
    """Distinct passage strings of one task file (bare strings at the top level count as passages)."""
    path = Path(path)
    wanted = frozenset(fields or DEFAULT_FIELDS)
    passages = {
        text: None
        for record in iter_records(path)
        for text in collect_strings(record, wanted, under_field=isinstance(record, str))
    }
    if not passages:
        raise InputError(f"no passages found (looked for fields: {', '.join(sorted(wanted))})", path)
    return list(passages)
