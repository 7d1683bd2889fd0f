"""The embedding-similarity classifier: cosine of a context to one prototype per domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mlqa_domain.embeddings import DEFAULT_EMBEDDING_MODEL, TextEncoder
from mlqa_domain.labeling.classifiers import base
from mlqa_domain.naming import model_content_fingerprint, public_model_name, public_model_revision

if TYPE_CHECKING:
    from mlqa_domain.labeling.taxonomy import ClassifierSpec, Taxonomy


@base.CLASSIFIERS.register("embedding")
class EmbeddingClassifier(base.ClassifierBase):
    """Cosine similarity of a context to one prototype per domain.

    A prototype is the re-normalised mean of the normalised embeddings of the domain's description
    and its seed exemplars (from the taxonomy). Its τ are the domains' ``threshold``; in an ensemble
    its cosines are calibrated by a logistic curve centred at τ.
    """

    kind = "embedding"
    score_range = base.COSINE_RANGE

    def __init__(self, encoder: TextEncoder, domains: dict[str, list[str]], name: str = "embedding") -> None:
        self.name = name
        self.encoder = encoder
        self.domain_names = list(domains)
        self.output_names = list(domains)
        self._domain_texts = domains
        self._prototypes: np.ndarray | None = None

    @classmethod
    def from_spec(
        cls, spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
    ) -> EmbeddingClassifier:
        """Prototypes of the taxonomy's domains, embedded by ``model`` (default: the multilingual MiniLM)."""
        model = base.beside_taxonomy(spec.model or DEFAULT_EMBEDDING_MODEL, taxonomy)
        return cls.from_taxonomy(base.text_encoder(model, spec, cache_dir), taxonomy, name=spec.name)

    @classmethod
    def from_taxonomy(cls, encoder: TextEncoder, taxonomy, name: str = "embedding") -> EmbeddingClassifier:
        """Prototype texts from each domain's description + exemplars."""
        domains = {d: [spec.description, *spec.exemplars] for d, spec in taxonomy.domains.items()}
        return cls(encoder, domains, name=name)

    @property
    def prototypes(self) -> np.ndarray:
        """(n_domains, dim) normalised prototype matrix."""
        if self._prototypes is None:
            rows = []
            for domain in self.domain_names:
                mean = self.encoder.encode(self._domain_texts[domain]).mean(axis=0)
                rows.append(mean / np.linalg.norm(mean))
            self._prototypes = np.stack(rows).astype(np.float32)
        return self._prototypes

    def prepare(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> None:
        """Embed and cache every text in the batches of one call."""
        self.encoder.cache(texts, show_progress=True)

    def all_scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, n_domains) cosine similarities."""
        if not texts:
            return np.zeros((0, len(self.domain_names)), dtype=np.float32)
        return self.encoder.encode(texts, show_progress=True) @ self.prototypes.T

    def provenance(self) -> dict:
        """Model id, revision and cache key of the encoder."""
        return {
            "type": self.kind,
            "model": public_model_name(self.encoder.model_id),
            "revision": public_model_revision(self.encoder.model_id, self.encoder.revision),
            "model_fingerprint": model_content_fingerprint(self.encoder.model_id),
            "backend": getattr(self.encoder, "backend", "torch"),
        }

    def default_thresholds(self, taxonomy: Taxonomy) -> dict[str, float]:
        return dict(taxonomy.thresholds)

    def default_calibration(
        self, taxonomy: Taxonomy, thresholds: Mapping[str, float]
    ) -> tuple[str, Mapping[str, float]]:
        return "logistic", taxonomy.thresholds
