"""Multiple choice (HellaSwag, CaseHOLD, ...): canonical rows ``context, question, choices, label``,
trained as ``run_swag.py`` does (one (context, question + choice) pair per choice)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import datasets
from datasets import Dataset
from transformers import DataCollatorForMultipleChoice, PreTrainedTokenizerBase

from mlqa_domain.errors import InputError
from mlqa_domain.training.formats._common import BaseFormat, Columns, as_text, get_path, label_index
from mlqa_domain.training.formats.base import TASK_FORMATS
from mlqa_domain.training.task_registry import TaskSpec

_FEATURES = datasets.Features(
    {
        "context": datasets.Value("string"),
        "question": datasets.Value("string"),
        "choices": datasets.Sequence(datasets.Value("string")),
        "label": datasets.Value("int64"),
    }
)


def prepare_multiple_choice_features(
    examples: Mapping[str, list], tokenizer: PreTrainedTokenizerBase, max_seq_length: int
) -> dict[str, list]:
    """``run_swag.py``-style: one (context, question + choice) pair per choice, regrouped per example."""
    n_choices = [len(c) for c in examples["choices"]]
    first = [ctx for ctx, n in zip(examples["context"], n_choices, strict=True) for _ in range(n)]
    second = [
        f"{question} {choice}".strip()
        for question, choices in zip(examples["question"], examples["choices"], strict=True)
        for choice in choices
    ]
    tokenized = tokenizer(first, second, truncation=True, max_length=max_seq_length)
    grouped: dict[str, list] = {}
    for key, values in tokenized.items():
        out, pos = [], 0
        for n in n_choices:
            out.append(values[pos : pos + n])
            pos += n
        grouped[key] = out
    grouped["labels"] = list(examples["label"])
    return grouped


@TASK_FORMATS.register("multiple_choice")
class MultipleChoice(BaseFormat):
    """The right one of a fixed number of choices: by index (``label``) or by text (``answer``)."""

    name = "multiple_choice"
    head = "multiple_choice"
    columns = {"context": True, "question": False, "choices": True, "label": False, "answer": False}
    prepare = staticmethod(prepare_multiple_choice_features)

    def check_spec(self, spec: TaskSpec) -> None:
        """The right choice comes from ``label`` unless ``answer`` is mapped."""
        if "label" not in spec.columns and "answer" not in spec.columns:
            spec.columns["label"] = "label"

    def to_canonical(self, spec: TaskSpec, data: Dataset, label_names: list[str] | None) -> Dataset:
        """``context, question, choices, label`` rows; every example has the same number of choices."""
        cols = Columns(spec, data.column_names)
        ctx, choices_src = cols.require("context"), cols.require("choices")
        question_col = cols.source("question")
        answer_col = cols.source("answer") if "answer" in spec.columns else None
        label_col = None if answer_col else cols.require("label")

        def convert(row: dict) -> dict:
            if isinstance(choices_src, list):
                choices = [as_text(get_path(row, name)) for name in choices_src]
            else:
                choices = [as_text(v) for v in get_path(row, choices_src)]
            if answer_col:
                answer = as_text(get_path(row, answer_col))
                label = choices.index(answer) if answer in choices else -1
            else:
                names = [str(i) for i in range(len(choices))]
                label = label_index(get_path(row, label_col), names, cols.where)
            return {
                "context": as_text(get_path(row, ctx)),
                "question": as_text(get_path(row, question_col)) if question_col else "",
                "choices": choices,
                "label": label,
            }

        out = data.map(convert, remove_columns=data.column_names, features=_FEATURES)
        out = out.filter(lambda label: label >= 0, input_columns="label")
        counts = {len(c) for c in out["choices"]}
        if len(counts) > 1:
            found = sorted(counts)
            raise InputError(f"every example needs the same number of choices (found {found})", cols.where)
        return out

    def collator(self, tokenizer: PreTrainedTokenizerBase, pad_to_multiple_of: int | None) -> Callable:
        """Pads every choice of a batch to one length."""
        return DataCollatorForMultipleChoice(tokenizer, pad_to_multiple_of=pad_to_multiple_of)
