"""Span start/end logits over the tokens (``AutoModelForQuestionAnswering``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import AutoModelForQuestionAnswering

from mlqa_domain.benchmark.heads.base import HEADS, two_outputs


@HEADS.register("question_answering")
class QuestionAnswering:
    """The extractive QA head `bench run` scores."""

    model_class = AutoModelForQuestionAnswering

    def configure(self, config: Any, label_names: Sequence[str] | None) -> None:
        """Start and end logits: two outputs per token."""
        two_outputs(config)
