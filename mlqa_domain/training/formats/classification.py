"""Sentence(-pair) classification (MNLI, PubMedQA, LEDGAR, ...): canonical rows ``text, text_pair,
label`` (``label`` an index into the task's label names), trained as ``run_glue.py`` does."""

from __future__ import annotations

from collections.abc import Mapping

import datasets
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from mlqa_domain.errors import InputError
from mlqa_domain.training.formats._common import BaseFormat, Columns, as_text, get_path, label_index
from mlqa_domain.training.formats.base import TASK_FORMATS
from mlqa_domain.training.task_registry import TaskSpec

_FEATURES = datasets.Features(
    {
        "text": datasets.Value("string"),
        "text_pair": datasets.Value("string"),
        "label": datasets.Value("int64"),
    }
)


def prepare_classification_features(
    examples: Mapping[str, list], tokenizer: PreTrainedTokenizerBase, max_seq_length: int
) -> dict[str, list]:
    """``run_glue.py``-style: (text[, text_pair]) -> input ids, with the label index as ``labels``."""
    pairs = examples["text_pair"]
    use_pairs = any(p for p in pairs)
    tokenized = tokenizer(
        examples["text"],
        [p or "" for p in pairs] if use_pairs else None,
        truncation=True,
        max_length=max_seq_length,
    )
    tokenized["labels"] = list(examples["label"])
    return dict(tokenized)


@TASK_FORMATS.register("classification")
class Classification(BaseFormat):
    """One label per text (or text pair)."""

    name = "classification"
    head = "sequence_classification"
    columns = {"text": True, "text_pair": False, "label": True}
    prepare = staticmethod(prepare_classification_features)

    def label_names(self, spec: TaskSpec, data: Dataset) -> list[str]:
        """The task's ``labels``, else the ClassLabel names, else the sorted label values (>= 2)."""
        names = spec.labels or self._names_in(spec, data)
        if len(names) < 2:
            raise InputError(f"a classification task needs at least 2 labels, found {names}", spec.source)
        return list(names)

    @staticmethod
    def _names_in(spec: TaskSpec, data: Dataset) -> list[str]:
        label_column = Columns(spec, data.column_names).require("label")
        feature = data.features.get(label_column.split(".")[0])
        if isinstance(feature, datasets.ClassLabel):
            return list(feature.names)
        values = {
            v for v in data[label_column] if v is not None and v != "" and not (isinstance(v, int) and v < 0)
        }
        if all(isinstance(v, int) for v in values):
            return [str(i) for i in range(max(values) + 1)] if values else []
        return sorted(str(v) for v in values)

    def to_canonical(self, spec: TaskSpec, data: Dataset, label_names: list[str] | None) -> Dataset:
        """``text, text_pair, label`` rows; rows without a label are dropped."""
        cols = Columns(spec, data.column_names)
        t, lab = cols.require("text"), cols.require("label")
        pair = cols.source("text_pair")
        names = label_names if label_names is not None else self.label_names(spec, data)

        def convert(row: dict) -> dict:
            return {
                "text": as_text(get_path(row, t)),
                "text_pair": as_text(get_path(row, pair)) if pair else None,
                "label": label_index(get_path(row, lab), names, cols.where),
            }

        out = data.map(convert, remove_columns=data.column_names, features=_FEATURES)
        return out.filter(lambda label: label >= 0, input_columns="label")
