"""Load a task's data (hub or local files) into one canonical schema per format.

* ``extractive_qa``: ``id, title, question, context, answers{text, answer_start}`` (the HF ``squad`` schema);
  SQuAD-format json files (``data/paragraphs/qas``) are flattened, MRQA ``detected_answers`` converted.
* ``classification``: ``text, text_pair, label`` (``label`` an index into the task's label names).
* ``multiple_choice``: ``context, question, choices, label``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
from datasets import ClassLabel, Dataset

from mlqa_domain.benchmark.task_registry import DATA_SUFFIXES, TaskSpec
from mlqa_domain.errors import ConfigError, InputError, first_line
from mlqa_domain.jsonio import read_json

PARQUET_EXPORT = "refs/convert/parquet"


@dataclass
class TaskData:
    """Canonical train (and optional validation) rows of one task."""

    spec: TaskSpec
    train: Dataset
    validation: Dataset | None
    label_names: list[str] | None = None  # classification only

    @property
    def num_choices(self) -> int | None:
        """Choices per example (multiple choice only)."""
        if self.spec.format != "multiple_choice" or len(self.train) == 0:
            return None
        return len(self.train[0]["choices"])


# ----------------------------------------------------------------------------------------- raw loading


def flatten_squad_json(payload: Any, where: str | Path) -> list[dict]:
    """Rows in the HF squad schema from a SQuAD-format document ``{"data": [{"paragraphs": [...]}]}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise InputError("not a SQuAD-format file (expected a top-level 'data' list)", where)
    rows = []
    for article in payload["data"]:
        title = article.get("title")
        for paragraph in article.get("paragraphs", []):
            context = paragraph.get("context")
            if not isinstance(context, str):
                raise InputError("a paragraph has no 'context' string", where)
            for qa in paragraph.get("qas", []):
                answers = qa.get("answers") or []
                if qa.get("is_impossible"):
                    answers = []
                rows.append(
                    {
                        "id": str(qa.get("id", f"q{len(rows)}")),
                        "title": title,
                        "context": context,
                        "question": qa.get("question", ""),
                        "answers": {
                            "text": [a["text"] for a in answers],
                            "answer_start": [int(a["answer_start"]) for a in answers],
                        },
                    }
                )
    return rows


def _is_squad_document(path: Path) -> bool:
    """A .json file whose first non-space character opens an object (not json lines, not a list)."""
    with path.open("r", encoding="utf-8") as handle:
        head = handle.read(4096).lstrip()
    if not head.startswith("{"):
        return False
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False  # json lines
    return isinstance(payload, dict) and "data" in payload


def read_local_split(paths: list[Path]) -> Dataset:
    """One split from local json / jsonl / parquet / csv / SQuAD-json files (all of one kind)."""
    for path in paths:
        if not path.is_file():
            raise InputError("task data file not found", path)
        if path.suffix.lower() not in DATA_SUFFIXES:
            raise InputError(f"unsupported file type (use one of {', '.join(DATA_SUFFIXES)})", path)
    if all(p.suffix.lower() == ".json" and _is_squad_document(p) for p in paths):
        rows: list[dict] = []
        for path in paths:
            rows.extend(flatten_squad_json(read_json(path), path))
        return Dataset.from_list(rows)
    suffixes = {p.suffix.lower() for p in paths}
    builder = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}[
        paths[0].suffix.lower()
    ]
    if len({"json" if s in (".json", ".jsonl") else s for s in suffixes}) > 1:
        raise InputError("files of one split must share a format", paths[0])
    try:
        return datasets.load_dataset(builder, data_files=[str(p) for p in paths], split="train")
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad input file
        first = first_line(exc)
        raise InputError(f"cannot read task data: {first}", paths[0]) from None


def _local_paths(spec: TaskSpec, value: str | list[str]) -> list[Path]:
    base = Path(spec.source).parent if spec.source else Path.cwd()
    items = [value] if isinstance(value, str) else list(value)
    return [(base / Path(item).expanduser()).resolve() for item in items]


def load_hub_split(spec: TaskSpec, split: str) -> Dataset:
    """``datasets.load_dataset`` of a hub task; a script-only repo falls back to the hub's Parquet export."""
    revision = spec.revision
    try:
        return datasets.load_dataset(spec.dataset, spec.dataset_config, split=split, revision=revision)
    except Exception as exc:  # noqa: BLE001 - decide below whether a retry can help
        message = str(exc)
        if "scripts are no longer supported" in message and revision != PARQUET_EXPORT:
            try:
                return datasets.load_dataset(
                    spec.dataset, spec.dataset_config, split=split, revision=PARQUET_EXPORT
                )
            except Exception as retry_exc:  # noqa: BLE001
                message = f"{message}; Parquet export: {retry_exc}"
        first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
        raise InputError(
            f"cannot load split {split!r} of {spec.describe_source()}: {first} "
            f"(offline? pass local data: --intermediate {spec.name}=PATH)",
            spec.source or spec.name,
        ) from None


def load_raw_splits(spec: TaskSpec) -> dict[str, Dataset]:
    """``{"train": ..., "validation": ...}`` (validation only when configured) in the source's own columns."""
    wanted = {"train": spec.splits.train}
    if spec.splits.validation:
        wanted["validation"] = spec.splits.validation
    raw: dict[str, Dataset] = {}
    for role, split in wanted.items():
        if spec.data_files:
            if split not in spec.data_files:
                raise ConfigError(
                    f"data_files has no {split!r} entry (has: {', '.join(spec.data_files)})", spec.source
                )
            raw[role] = read_local_split(_local_paths(spec, spec.data_files[split]))
        else:
            raw[role] = load_hub_split(spec, split)
    return raw


# ------------------------------------------------------------------------------------ canonical columns


def _get_path(row: Mapping, path: str) -> Any:
    """``row["a"]["b"]`` for ``"a.b"``; a list of dicts yields the list of their values.

    A plain string met before the end of the path is returned as is: local files often hold the flattened
    field (PubMedQA's ``context.contexts`` saved as one ``context`` string).
    """
    value: Any = row
    for key in path.split("."):
        if isinstance(value, Mapping):
            if key not in value:
                raise KeyError(path)
            value = value[key]
        elif isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
            value = [item[key] for item in value]
        elif isinstance(value, str):
            return value
        else:
            raise KeyError(path)
    return value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_as_text(v) for v in value)
    return str(value)


def normalise_answers(value: Any, context: str) -> dict[str, list]:
    """HF squad answers from the squad schema, a list of answer dicts, or MRQA ``detected_answers``."""
    if isinstance(value, list):  # list of {"text", "answer_start"} or of MRQA {"text", "char_spans"}
        value = {key: [item.get(key) for item in value] for key in ("text", "answer_start", "char_spans")}
    if not isinstance(value, Mapping):
        raise ValueError("answers must be a struct")
    if value.get("answer_start") is not None and all(s is not None for s in value.get("answer_start") or []):
        texts, starts = list(value.get("text") or []), [int(s) for s in value.get("answer_start") or []]
        if len(texts) != len(starts):
            raise ValueError("answers.text and answers.answer_start differ in length")
        for text, start in zip(texts, starts, strict=True):
            if context[start : start + len(text)] != text:  # a wrong offset would train on the wrong span
                raise ValueError(f"answer {text!r} is not at offset {start} of the context")
        return {"text": texts, "answer_start": starts}
    spans = value.get("char_spans")
    if spans is None:
        raise ValueError("answers need answer_start (squad) or char_spans (MRQA)")
    texts, starts = [], []
    for span in spans:  # MRQA: {"start": [...], "end": [...]} per answer, inclusive end
        if isinstance(span, list):  # list of {"start": s, "end": e}
            span = {"start": [s["start"] for s in span], "end": [s["end"] for s in span]}
        for start, end in zip(span["start"], span["end"], strict=True):
            texts.append(context[int(start) : int(end) + 1])
            starts.append(int(start))
    return {"text": texts, "answer_start": starts}


class _Columns:
    """Looks up canonical columns in a raw row: the mapped source column, else the canonical name."""

    def __init__(self, spec: TaskSpec, column_names: list[str]) -> None:
        self.mapping = spec.columns
        self.column_names = set(column_names)
        self.where = spec.source or spec.name

    def source(self, canonical: str) -> str | list[str] | None:
        mapped = self.mapping.get(canonical)
        if isinstance(mapped, list):
            return mapped if all(name.split(".")[0] in self.column_names for name in mapped) else None
        for candidate in (mapped, canonical):
            if candidate and candidate.split(".")[0] in self.column_names:
                return candidate
        return None

    def require(self, canonical: str) -> str | list[str]:
        found = self.source(canonical)
        if found is None:
            have = ", ".join(sorted(self.column_names))
            wanted = self.mapping.get(canonical, canonical)
            raise InputError(
                f"column {wanted!r} (for {canonical}) not in the data (columns: {have})", self.where
            )
        return found


def _apply_filter(spec: TaskSpec, ds: Dataset) -> Dataset:
    if not spec.filter:
        return ds
    for column, wanted in spec.filter.items():
        if column not in ds.column_names:
            raise InputError(f"filter column {column!r} not in the data", spec.source or spec.name)
        allowed = set(wanted) if isinstance(wanted, list) else {wanted}
        ds = ds.filter(lambda value, allowed=allowed: value in allowed, input_columns=column)
    return ds


def _label_names(spec: TaskSpec, ds: Dataset, label_column: str) -> list[str]:
    if spec.labels:
        return list(spec.labels)
    feature = ds.features.get(label_column.split(".")[0])
    if isinstance(feature, ClassLabel):
        return list(feature.names)
    values = {v for v in ds[label_column] if v is not None and v != "" and not (isinstance(v, int) and v < 0)}
    if all(isinstance(v, int) for v in values):
        return [str(i) for i in range(max(values) + 1)] if values else []
    return sorted(str(v) for v in values)


def _label_index(value: Any, names: list[str], where: str) -> int:
    """Index of a raw label (int, digit string or name); -1 for a missing label (row dropped)."""
    if value is None or value == "" or (isinstance(value, int) and value < 0):
        return -1
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, int):
        if value >= len(names):
            raise InputError(f"label {value} out of range for {len(names)} labels", where)
        return value
    text = str(value)
    if text in names:
        return names.index(text)
    if text.lstrip("-").isdigit():
        return _label_index(int(text), names, where)
    raise InputError(f"unknown label {text!r} (labels: {', '.join(names)})", where)


def to_canonical(spec: TaskSpec, ds: Dataset, label_names: list[str] | None = None) -> Dataset:
    """Rows of ``ds`` in the canonical schema of ``spec.format`` (rows without a label are dropped)."""
    cols = _Columns(spec, ds.column_names)
    where = spec.source or spec.name
    fmt = spec.format
    if fmt == "extractive_qa":
        q, c, a = cols.require("question"), cols.require("context"), cols.require("answers")
        id_col, title_col = cols.source("id"), cols.source("title")

        def convert(row: dict, index: int) -> dict:
            context = _as_text(_get_path(row, c))
            try:
                answers = normalise_answers(_get_path(row, a), context)
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"row {index}: bad answers: {exc}", where) from None
            return {
                "id": str(_get_path(row, id_col)) if id_col else f"{spec.name}-{index}",
                "title": _as_text(_get_path(row, title_col)) if title_col else "",
                "question": _as_text(_get_path(row, q)).strip(),
                "context": context,
                "answers": answers,
            }

        features = datasets.Features(
            {
                "id": datasets.Value("string"),
                "title": datasets.Value("string"),
                "question": datasets.Value("string"),
                "context": datasets.Value("string"),
                "answers": {
                    "text": datasets.Sequence(datasets.Value("string")),
                    "answer_start": datasets.Sequence(datasets.Value("int32")),
                },
            }
        )
        return ds.map(convert, with_indices=True, remove_columns=ds.column_names, features=features)

    if fmt == "classification":
        t, lab = cols.require("text"), cols.require("label")
        pair = cols.source("text_pair")
        names = label_names if label_names is not None else _label_names(spec, ds, lab)

        def convert(row: dict) -> dict:
            return {
                "text": _as_text(_get_path(row, t)),
                "text_pair": _as_text(_get_path(row, pair)) if pair else None,
                "label": _label_index(_get_path(row, lab), names, where),
            }

        features = datasets.Features(
            {
                "text": datasets.Value("string"),
                "text_pair": datasets.Value("string"),
                "label": datasets.Value("int64"),
            }
        )
        out = ds.map(convert, remove_columns=ds.column_names, features=features)
        return out.filter(lambda label: label >= 0, input_columns="label")

    # multiple choice
    ctx, choices_src = cols.require("context"), cols.require("choices")
    question_col = cols.source("question")
    answer_col = cols.source("answer") if "answer" in spec.columns else None
    label_col = None if answer_col else cols.require("label")

    def convert(row: dict, index: int) -> dict:
        if isinstance(choices_src, list):
            choices = [_as_text(_get_path(row, name)) for name in choices_src]
        else:
            choices = [_as_text(v) for v in _get_path(row, choices_src)]
        if answer_col:
            answer = _as_text(_get_path(row, answer_col))
            label = choices.index(answer) if answer in choices else -1
        else:
            label = _label_index(_get_path(row, label_col), [str(i) for i in range(len(choices))], where)
        return {
            "context": _as_text(_get_path(row, ctx)),
            "question": _as_text(_get_path(row, question_col)) if question_col else "",
            "choices": choices,
            "label": label,
        }

    features = datasets.Features(
        {
            "context": datasets.Value("string"),
            "question": datasets.Value("string"),
            "choices": datasets.Sequence(datasets.Value("string")),
            "label": datasets.Value("int64"),
        }
    )
    out = ds.map(convert, with_indices=True, remove_columns=ds.column_names, features=features)
    out = out.filter(lambda label: label >= 0, input_columns="label")
    counts = {len(c) for c in out["choices"]}
    if len(counts) > 1:
        raise InputError(f"every example needs the same number of choices (found {sorted(counts)})", where)
    return out


def load_task_data(
    spec: TaskSpec, max_train_samples: int | None = None, max_eval_samples: int | None = None
) -> TaskData:
    """Train / validation rows of ``spec`` in the canonical schema, optionally capped (first N rows)."""
    raw = load_raw_splits(spec)
    train_raw = _apply_filter(spec, raw["train"])
    label_names = None
    if spec.format == "classification":
        label_col = _Columns(spec, train_raw.column_names).require("label")
        label_names = _label_names(spec, train_raw, label_col)
        if len(label_names) < 2:
            raise InputError(
                f"a classification task needs at least 2 labels, found {label_names}", spec.source
            )
    if max_train_samples is not None:
        train_raw = train_raw.select(range(min(max_train_samples, len(train_raw))))
    train = to_canonical(spec, train_raw, label_names)
    if len(train) == 0:
        raise InputError("the training split has no usable rows", spec.source or spec.name)
    validation = None
    if "validation" in raw:
        val_raw = _apply_filter(spec, raw["validation"])
        if max_eval_samples is not None:
            val_raw = val_raw.select(range(min(max_eval_samples, len(val_raw))))
        validation = to_canonical(spec, val_raw, label_names)
        if len(validation) == 0:
            validation = None
    return TaskData(spec=spec, train=train, validation=validation, label_names=label_names)
