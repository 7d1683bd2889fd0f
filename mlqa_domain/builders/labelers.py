"""Build the labeler the taxonomy asks for: one classifier, or several combined."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlqa_domain.builders.classifiers.embedding import EmbeddingClassifier, TextEncoder
from mlqa_domain.builders.labeling import Labeling, decide_domains
from mlqa_domain.builders.taxonomy import ClassifierSpec, Taxonomy
from mlqa_domain.errors import ConfigError


class ScoreLabeler:
    """Labels from one classifier's scores with τ per domain and δ from the taxonomy."""

    def __init__(self, classifier, taxonomy: Taxonomy) -> None:
        self.classifier = classifier
        self.taxonomy = taxonomy
        self.name = classifier.name

    def label(self, texts: Sequence[str], language: str) -> list[Labeling]:
        """Score ``texts`` and threshold the scores."""
        matrix = np.asarray(self.classifier.scores(list(texts), language), dtype=np.float64)
        names = self.classifier.domain_names
        spec = self.taxonomy.classification
        out = []
        for row in matrix:
            scores = {name: round(float(s), 6) for name, s in zip(names, row, strict=True)}
            domains = decide_domains(scores, self.taxonomy.thresholds, spec.delta, self.taxonomy.general)
            out.append(Labeling(domains, scores, {self.classifier.name: scores}))
        return out

    def provenance(self) -> dict[str, Any]:
        """What produced the labels."""
        return {
            "labeler": self.name,
            "classifiers": {self.classifier.name: self.classifier.provenance()},
            "thresholds": self.taxonomy.thresholds,
            "delta": self.taxonomy.classification.delta,
            "taxonomy": self.taxonomy.fingerprint(),
        }


def build_classifier(spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None):
    """Instantiate one classifier from its taxonomy spec."""
    if spec.type == "embedding":
        if not spec.model:
            raise ConfigError(f"classifier {spec.name!r} needs a 'model'", taxonomy.source)
        encoder = TextEncoder(spec.model, cache_dir=cache_dir, revision=spec.revision)
        return EmbeddingClassifier.from_taxonomy(encoder, taxonomy, name=spec.name)
    raise ConfigError(f"classifier type {spec.type!r} is not available in this build", taxonomy.source)


def build_labeler(
    taxonomy: Taxonomy,
    embedding_model: str | None = None,
    cache_dir: str | Path | None = None,
):
    """The labeler for ``taxonomy``; ``embedding_model`` overrides every embedding classifier's model."""
    specs = list(taxonomy.classification.classifiers) or [
        ClassifierSpec(name="embedding", type="embedding", model=None)
    ]
    if embedding_model:
        specs = [
            s.model_copy(update={"model": embedding_model}) if s.type == "embedding" else s for s in specs
        ]
    if len(specs) != 1:
        raise ConfigError("more than one classifier needs an ensemble", taxonomy.source)
    return ScoreLabeler(build_classifier(specs[0], taxonomy, cache_dir), taxonomy)
