"""Build a fastText training file from local copies of the intermediate-task datasets.

Each ``--task NAME=PATH`` names a domain (``legal``), ``general``, or an intermediate task linked to
a domain in the taxonomy (``cuad`` -> legal; ``squad``/``wikipedia`` -> general), and a local file or
directory exported from the hub, read by :mod:`mlqa_domain.task_files`. Texts come from:

* SQuAD json (``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``) - SQuAD, CUAD, COVID-QA,
  BioASQ in SQuAD form: each paragraph's context;
* txt files: each non-blank line;
* row files (jsonl, json list or object, parquet, csv/tsv) with a text column, the first found of
  ``context`` (SQuAD-style rows; PubMedQA's ``{"contexts": [...]}`` struct is joined),
  ``citing_prompt`` (CaseHOLD), ``support`` (SciQ), ``sentence`` (financial_phrasebank),
  ``text`` (LEDGAR, Wikipedia), or the column given by ``--field``.

Texts are whitespace-normalised, long ones cut into paragraph-sized chunks, deduplicated, capped
per label and shuffled with a fixed seed, so the same inputs give the same file.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlqa_domain.atomic import atomic_file
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.labeling.classifiers.fasttext_classifier import LABEL_PREFIX
from mlqa_domain.labeling.taxonomy import Taxonomy
from mlqa_domain.registry import closest_name
from mlqa_domain.task_files import iter_records, list_files

TEXT_FIELDS = ("context", "citing_prompt", "support", "sentence", "text")
GENERAL_TASKS = ("squad", "wikipedia")
_SPACE = re.compile(r"\s+")


def normalize_whitespace(text: str) -> str:
    """One space between words, no leading/trailing space."""
    return _SPACE.sub(" ", text).strip()


def resolve_label(name: str, taxonomy: Taxonomy) -> str:
    """A task name -> its label: a domain, ``general``, or the domain an intermediate task is linked to."""
    if name in taxonomy.domains or name == taxonomy.general:
        return name
    lowered = name.lower()
    if lowered in GENERAL_TASKS:
        return taxonomy.general
    for domain, spec in taxonomy.domains.items():
        if lowered in (t.lower() for t in spec.intermediate_tasks):
            return domain
    known = [
        *taxonomy.domain_names,
        taxonomy.general,
        *sorted({t for s in taxonomy.domains.values() for t in s.intermediate_tasks}),
        *GENERAL_TASKS,
    ]
    by_lower = {k.lower(): k for k in known}
    close = closest_name(lowered, by_lower)
    hint = f"did you mean {by_lower[close]!r}? " if close else ""
    raise ConfigError(f"unknown task or domain {name!r} ({hint}known: {', '.join(known)})", taxonomy.source)


def texts_of(record: Any, text_field: str | None = None) -> list[str]:
    """The text(s) of one record: the chosen field, or the first known text field it has."""
    if isinstance(record, str):  # a line of a txt file
        return [record]
    if not isinstance(record, Mapping):
        return []
    fields = [text_field] if text_field else TEXT_FIELDS
    for name in fields:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, Mapping):  # PubMedQA: {"contexts": [...], "labels": [...], "meshes": [...]}
            value = value.get("contexts") or value.get("text") or []
        if isinstance(value, list):
            return [" ".join(str(v) for v in value if v)]
        return [str(value)]
    return []


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_chars`` at paragraph, then sentence, then word breaks."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        units = re.split(r"(?<=[.!?])\s+", paragraph) if len(paragraph) > max_chars else [paragraph]
        for unit in units:
            while len(unit) > max_chars:
                cut = unit.rfind(" ", 0, max_chars)
                cut = cut if cut > 0 else max_chars
                pieces.append(unit[:cut])
                unit = unit[cut:].strip()
            pieces.append(unit)
    chunks: list[str] = []
    current = ""
    for piece in (normalize_whitespace(p) for p in pieces):
        if not piece:
            continue
        if current and len(current) + 1 + len(piece) > max_chars:
            chunks.append(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


@dataclass
class TaskInput:
    """One ``--task NAME=PATH``."""

    name: str
    path: Path
    label: str


@dataclass
class TrainingDataReport:
    """Counts of what went into the training file."""

    out: Path
    per_label: dict[str, int]
    per_task: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicates: int = 0
    too_short: int = 0


def parse_task(value: str, taxonomy: Taxonomy) -> TaskInput:
    """``NAME=PATH`` -> TaskInput."""
    if "=" not in value:
        raise ConfigError(f"--task must be NAME=PATH, not {value!r}")
    name, path = value.split("=", 1)
    if not name or not path:
        raise ConfigError(f"--task must be NAME=PATH, not {value!r}")
    return TaskInput(name, Path(path), resolve_label(name, taxonomy))


@dataclass(frozen=True)
class TrainingDataSettings:
    """How task texts become training lines (the defaults of `mlqa-domain classifier-data`)."""

    max_per_label: int | None = None
    seed: int = 0
    min_chars: int = 20
    max_chars: int = 2000
    text_field: str | None = None


TRAINING_DATA = TrainingDataSettings()


def build_training_file(
    tasks: Sequence[TaskInput], out: str | Path, settings: TrainingDataSettings = TRAINING_DATA
) -> TrainingDataReport:
    """Write ``__label__<label> text`` lines for every task; return counts."""
    max_per_label, seed, min_chars = settings.max_per_label, settings.seed, settings.min_chars
    max_chars, text_field = settings.max_chars, settings.text_field
    from mlqa_domain.progress import track

    if not tasks:
        raise ConfigError("give at least one --task NAME=PATH")
    seen: set[str] = set()
    by_label: dict[str, list[str]] = {}
    per_task: dict[str, dict[str, int]] = {}
    duplicates = too_short = 0
    files = [(task, f) for task in tasks for f in list_files(task.path)]
    for task, path in track(files, "reading task data"):
        stats = per_task.setdefault(task.name, Counter())
        for record in iter_records(path, columns=[text_field] if text_field else TEXT_FIELDS):
            for text in texts_of(record, text_field):
                for chunk in chunk_text(text, max_chars):
                    chunk = normalize_whitespace(chunk)
                    if len(chunk) < min_chars:
                        too_short += 1
                        continue
                    key = hashlib.sha1(chunk.lower().encode("utf-8")).hexdigest()
                    if key in seen:
                        duplicates += 1
                        continue
                    seen.add(key)
                    by_label.setdefault(task.label, []).append(chunk)
                    stats["texts"] += 1
    if not by_label:
        raise InputError("no texts found in the task data (wrong --field?)", tasks[0].path)
    rng = random.Random(seed)
    lines = []
    for label in sorted(by_label):
        texts = by_label[label]
        rng.shuffle(texts)
        if max_per_label:
            texts = texts[:max_per_label]
        by_label[label] = texts
        lines.extend(f"{LABEL_PREFIX}{label} {text}" for text in texts)
    rng.shuffle(lines)
    with atomic_file(out) as handle:
        handle.writelines(line + "\n" for line in lines)
    return TrainingDataReport(
        Path(out),
        {label: len(texts) for label, texts in sorted(by_label.items())},
        {name: dict(stats) for name, stats in per_task.items()},
        duplicates,
        too_short,
    )
