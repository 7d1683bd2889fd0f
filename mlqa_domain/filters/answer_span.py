"""Answer-span validity: every answer text sits in the context at its ``answer_start``."""

from __future__ import annotations

import numbers

from mlqa_domain.example import Example
from mlqa_domain.filters.base import FILTERS, Drop, Filter


def _short(text: str, limit: int = 40) -> str:
    """``text`` quoted, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@FILTERS.register("answer_span")
class AnswerSpanFilter(Filter):
    """Drop examples with no answer or any answer that is empty or not found at its offset."""

    order = 10

    def filter(self, example: Example) -> Drop | None:
        """A drop for the first bad answer, or None when all answers are valid."""
        answers = example.answers or {}
        texts = list(answers.get("text") or [])
        starts = list(answers.get("answer_start") or [])
        if not texts:
            return Drop("answer-span: no answers", "no answers")
        if len(texts) != len(starts):
            return Drop(
                f"answer-span: {len(texts)} answer texts but {len(starts)} answer_start values",
                "answer texts and starts differ in number",
            )
        for i, (text, start) in enumerate(zip(texts, starts, strict=True)):
            if not isinstance(text, str) or not text.strip():
                return Drop(f"answer-span: answer {i} is empty", "empty answer")
            if not isinstance(start, numbers.Integral) or isinstance(start, bool) or start < 0:
                return Drop(
                    f"answer-span: answer {i} {_short(text)} has answer_start {start!r}",
                    "bad answer_start",
                )
            start = int(start)
            found = example.context[start : start + len(text)]
            if found != text:
                return Drop(
                    f"answer-span: answer {i} {_short(text)} not at answer_start {start} "
                    f"(context has {_short(found)})",
                    "answer not at answer_start",
                )
        return None
