"""From per-domain scores to domain labels, and the labeler interface the builders call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Labeling:
    """The labels of one context and the scores they came from."""

    domains: list[str]
    domain_scores: dict[str, float]
    classifier_scores: dict[str, dict[str, float]] = field(default_factory=dict)


class Labeler(Protocol):
    """Anything that labels texts in a language with domains (one classifier or an ensemble)."""

    name: str

    def label(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> list[Labeling]:
        """Labels for each text (``titles``: the article title of each, where the source has one)."""
        ...

    def provenance(self, language: str | None = None) -> dict[str, Any]:
        """Model ids/revisions, thresholds and δ that produced the labels (of ``language``'s route)."""
        ...


def decide_domains(
    scores: Mapping[str, float], thresholds: Mapping[str, float], delta: float, general: str = "general"
) -> list[str]:
    """Every domain whose score is ≥ its τ and within δ of the best domain's score; else ``[general]``.

    Domains come out best first (ties by name) so the first one is the primary domain.
    """
    if not scores:
        return [general]
    best = max(scores.values())
    chosen = [
        name for name, score in scores.items() if score >= thresholds[name] and score >= best - delta - 1e-12
    ]
    if not chosen:
        return [general]
    return sorted(chosen, key=lambda name: (-scores[name], name))
