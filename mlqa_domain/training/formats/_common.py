"""Helpers the task formats share: reading canonical columns out of raw rows, labels, features, metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from transformers import DataCollatorWithPadding

from mlqa_domain.errors import InputError
from mlqa_domain.training.formats.base import Evaluation, Featurization

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

    from mlqa_domain.training.task_registry import TaskSpec


def get_path(row: Mapping, path: str) -> Any:
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


def as_text(value: Any) -> str:
    """A raw value as text (lists joined with spaces, None empty)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(as_text(v) for v in value)
    return str(value)


class Columns:
    """Looks up canonical columns in a raw row: the mapped source column, else the canonical name."""

    def __init__(self, spec: TaskSpec, column_names: list[str]) -> None:
        self.mapping = spec.columns
        self.column_names = set(column_names)
        self.where = spec.source or spec.name

    def source(self, canonical: str) -> str | list[str] | None:
        """The source column (or columns) of ``canonical``; None when the data has none."""
        mapped = self.mapping.get(canonical)
        if isinstance(mapped, list):
            return mapped if all(name.split(".")[0] in self.column_names for name in mapped) else None
        for candidate in (mapped, canonical):
            if candidate and candidate.split(".")[0] in self.column_names:
                return candidate
        return None

    def require(self, canonical: str) -> str | list[str]:
        """The source column of ``canonical``; an InputError naming the task when the data lacks it."""
        found = self.source(canonical)
        if found is None:
            have = ", ".join(sorted(self.column_names))
            wanted = self.mapping.get(canonical, canonical)
            raise InputError(
                f"column {wanted!r} (for {canonical}) not in the data (columns: {have})", self.where
            )
        return found


def label_index(value: Any, names: list[str], where: str) -> int:
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
        return label_index(int(text), names, where)
    raise InputError(f"unknown label {text!r} (labels: {', '.join(names)})", where)


def map_features(
    data: Dataset, prepare: Callable, tokenizer: PreTrainedTokenizerBase, description: str, **options: Any
) -> Dataset:
    """``data.map`` of a batched ``prepare(rows, tokenizer, **options)``; the raw columns are dropped."""
    return data.map(
        prepare,
        batched=True,
        remove_columns=data.column_names,
        fn_kwargs={"tokenizer": tokenizer, **options},
        desc=description,
    )


def classification_metrics(eval_pred: Any) -> dict[str, float]:
    """Accuracy and macro-F1 of argmax predictions (classification and multiple choice)."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    predictions = np.argmax(logits, axis=-1)
    accuracy = float((predictions == labels).mean()) if len(labels) else 0.0
    f1s = []
    for label in np.unique(np.concatenate([labels, predictions])):
        tp = float(np.sum((predictions == label) & (labels == label)))
        fp = float(np.sum((predictions == label) & (labels != label)))
        fn = float(np.sum((predictions != label) & (labels == label)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return {"accuracy": accuracy, "macro_f1": float(np.mean(f1s)) if f1s else 0.0}


class BaseFormat:
    """What most formats share: no label names, features from one batched ``prepare`` function of
    ``(rows, tokenizer, max_seq_length)``, per-batch padding, accuracy and macro-F1 on the validation split;
    a format overrides what differs."""

    windowed = False
    metrics: tuple[str, ...] = ("accuracy", "macro_f1")
    selection_metric = "accuracy"

    @staticmethod
    def prepare(
        examples: Mapping[str, list], tokenizer: PreTrainedTokenizerBase, max_seq_length: int
    ) -> dict:
        """Model inputs of a batch of canonical rows."""
        raise NotImplementedError

    def check_spec(self, spec: TaskSpec) -> None:
        """Nothing beyond the columns."""

    def label_names(self, spec: TaskSpec, data: Dataset) -> list[str] | None:
        """No label names."""
        return None

    def featurize(self, data: Dataset, tokenizer: PreTrainedTokenizerBase, how: Featurization) -> Dataset:
        """Token ids of each row, truncated to ``max_seq_length``."""
        description = f"features {how.description}".strip()
        return map_features(data, self.prepare, tokenizer, description, max_seq_length=how.max_seq_length)

    def evaluation(self, data: Dataset, tokenizer: PreTrainedTokenizerBase, how: Featurization) -> Evaluation:
        """The rows' features, scored by accuracy and macro-F1 of the argmax predictions."""
        return Evaluation(self.featurize(data, tokenizer, how), classification_metrics)

    def collator(self, tokenizer: PreTrainedTokenizerBase, pad_to_multiple_of: int | None) -> Callable:
        """Pads input ids per batch."""
        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)
