"""The one record that flows through a build: source -> labels (classifiers) -> filters -> splits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mlqa_domain.configs import language_key

SPLITS: tuple[str, ...] = ("validation", "test")


@dataclass
class Example:
    """One extractive-QA instance of MLQA (or a parallel SQuAD-format set) and what we learn about it.

    ``answers`` follows the Hugging Face schema: ``{"text": [...], "answer_start": [...]}``.
    The classification fields (``domains``, ``domain_scores``, ``classifier_scores``, ``provenance``) are
    filled by the labelling step, before the filters run, which may set ``flags``; ``source`` names the
    file the example came from.
    """

    id: str
    split: str
    context_language: str
    question_language: str
    context: str
    question: str
    answers: dict[str, list]
    title: str | None = None
    source: str = ""
    domains: list[str] = field(default_factory=list)
    domain_scores: dict[str, float] = field(default_factory=dict)
    classifier_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    @property
    def language_pair(self) -> str:
        """``de`` when context and question share a language, else ``de.en`` (context.question)."""
        return language_key(self.context_language, self.question_language)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict view (for json / parquet)."""
        return asdict(self)
