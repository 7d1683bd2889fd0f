"""The MLQA metric inside lm-evaluation-harness: what the exported tasks' ``utils.py`` imports.

Each question scores the official MLQA way (``metric.score_question`` in its context language: EM and
F1 are maxima over the gold answers); the task scores are ``100 * sum / count`` summed left to right, as
the official script does, so lm-eval's table shows the same EM/F1 floats as ``bench score`` on the same
answers. The answer of a generation is its first line, stripped (``answer_text``): the sample reader uses
the same function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlqa_domain.benchmark import metric


def answer_text(generation: str) -> str:
    """The answer in a model's generated text: its first line, stripped."""
    return generation.split("\n", 1)[0].strip()


def gold_answers(doc: Mapping[str, Any]) -> list[str]:
    """The gold answer texts of a dataset row (``answers.text``)."""
    return list(doc["answers"]["text"])


def process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, float]:
    """lm-eval's per-document hook: EM and F1 (0..1) of the generated answer in the context language."""
    prediction = answer_text(results[0]) if results else ""
    em, f1 = metric.score_question(prediction, gold_answers(doc), doc["context_language"])
    return {"exact_match": em, "f1": f1}


def mlqa_score(values: Sequence[float]) -> float:
    """A task's EM or F1 from its per-question values, as the official script sums them (0..100)."""
    return metric.file_score(values) if len(values) else 0.0
