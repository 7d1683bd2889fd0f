"""One label per sequence (``AutoModelForSequenceClassification``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import AutoModelForSequenceClassification

from mlqa_domain.training.task_heads.base import TASK_HEADS, ModelLoss


@TASK_HEADS.register("sequence_classification")
class SequenceClassification(ModelLoss):
    """A linear classifier over the sequence representation, one output per label."""

    model_class = AutoModelForSequenceClassification

    def configure(self, config: Any, label_names: Sequence[str] | None) -> None:
        """The task's label names become the model's labels."""
        if not label_names:
            raise ValueError("a classification head needs label names")
        config.num_labels = len(label_names)
        config.id2label = dict(enumerate(label_names))
        config.label2id = {name: i for i, name in enumerate(label_names)}
