"""Span start/end logits over the tokens (``AutoModelForQuestionAnswering``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import AutoModelForQuestionAnswering

from mlqa_domain.training.task_heads.base import TASK_HEADS, two_outputs


def span_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_positions: torch.Tensor,
    end_positions: torch.Tensor,
    attention_mask: torch.Tensor | None,
) -> torch.Tensor:
    """Mean of the start and end cross-entropies over the real tokens of each window.

    transformers' QA heads take the softmax over every position, padding included, so with per-batch
    padding the loss of a window changes with the longest window of its batch; here padding positions are
    left out (they can never hold an answer). Positions outside the window are ignored, as in the heads.
    """
    if attention_mask is not None:
        padding = attention_mask == 0
        start_logits = start_logits.masked_fill(padding, torch.finfo(start_logits.dtype).min)
        end_logits = end_logits.masked_fill(padding, torch.finfo(end_logits.dtype).min)
    ignored = start_logits.size(1)
    loss = torch.nn.CrossEntropyLoss(ignore_index=ignored)
    start = loss(start_logits, start_positions.reshape(-1).clamp(0, ignored))
    end = loss(end_logits, end_positions.reshape(-1).clamp(0, ignored))
    return (start + end) / 2


@TASK_HEADS.register("question_answering")
class QuestionAnswering:
    """The extractive QA head `bench run` scores."""

    model_class = AutoModelForQuestionAnswering
    label_fields = ("start_positions", "end_positions")

    def configure(self, config: Any, label_names: Sequence[str] | None) -> None:
        """Start and end logits: two outputs per token."""
        two_outputs(config)

    def loss(self, outputs: Any, labels: Mapping[str, Any], attention_mask: Any) -> Any | None:
        """The span loss over real tokens (:func:`span_loss`)."""
        return span_loss(
            outputs.start_logits,
            outputs.end_logits,
            labels["start_positions"],
            labels["end_positions"],
            attention_mask,
        )
