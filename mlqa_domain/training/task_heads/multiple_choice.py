"""One score per choice (``AutoModelForMultipleChoice``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import AutoModelForMultipleChoice

from mlqa_domain.training.task_heads.base import TASK_HEADS, ModelLoss, two_outputs


@TASK_HEADS.register("multiple_choice")
class MultipleChoice(ModelLoss):
    """Scores every (context, choice) pair; the best one wins."""

    model_class = AutoModelForMultipleChoice

    def configure(self, config: Any, label_names: Sequence[str] | None) -> None:
        """No named labels (``num_labels`` is unused by the head)."""
        two_outputs(config)
