"""What a domain classifier is: the Classifier protocol, the CLASSIFIERS registry, shared defaults.

A classifier type is one module in this package with one decorated class::

    @CLASSIFIERS.register("my-type")  # also its ``kind``
    class MyClassifier(ClassifierBase):
        config_keys = frozenset({"my_option"})  # its taxonomy keys besides COMMON_KEYS

        @classmethod
        def from_spec(cls, spec, taxonomy, cache_dir=None) -> MyClassifier: ...

        def all_scores(self, texts, language=None, titles=None) -> np.ndarray: ...

        def provenance(self) -> dict: ...

A build scores a language's contexts in windows (:data:`~mlqa_domain.labeling.pivot_store.LABEL_WINDOW`)
after calling ``prepare`` once with all of them: a classifier whose scores depend on which texts are
scored together (an encoder's batches) overrides it to do that work over every text at once.

The taxonomy names it with ``type: my-type``; the labeler builds it with ``from_spec`` and combines
its scores with its own τ, δ and calibration (defaults below, overridable per classifier). Registering
checks the class subclasses :class:`ClassifierBase` and implements its abstract methods. A classifier
type of another distribution is an entry point in the group ``mlqa_domain.classifiers`` (see registry.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from mlqa_domain.errors import ConfigError
from mlqa_domain.labeling.classifier_registry import CLASSIFIERS as CLASSIFIERS  # re-exported
from mlqa_domain.labeling.classifier_registry import COSINE_RANGE as COSINE_RANGE  # re-exported
from mlqa_domain.labeling.classifier_registry import PROBABILITY_RANGE

if TYPE_CHECKING:
    from mlqa_domain.embeddings import TextEncoder
    from mlqa_domain.labeling.taxonomy import ClassifierSpec, Taxonomy

# Taxonomy keys every classifier takes (see labelers.py); each type adds its own config_keys.
COMMON_KEYS = frozenset(
    {
        "name",
        "type",
        "model",
        "revision",
        "weight",
        "thresholds",
        "delta",
        "calibration",
        "batch_size",
        "device",
        "languages",
        "backend",
    }
)
DEFAULT_PROBABILITY_THRESHOLD = 0.5


class Classifier(Protocol):
    """Per-domain scores of context texts, and what produced them."""

    name: str
    domain_names: list[str]  # the taxonomy domains it scores
    output_names: list[str]  # the columns of all_scores: domain_names, plus `general` if it has one
    encoder: TextEncoder | None  # the sentence-transformers encoder it runs, if any

    def all_scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, len(output_names)) raw scores (``titles``: the article title of each text, or None)."""
        ...

    def prepare(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> None:
        """See every text before :meth:`all_scores` is called on parts of them: a classifier whose scores
        depend on which texts are scored together (int8 embeddings are quantized per batch) makes them
        here as over all ``texts`` at once (an encoder embeds and caches them), so scoring in parts
        gives the scores of one call."""
        ...

    def provenance(self) -> dict[str, Any]:
        """Model ids, revisions and files that produced the scores."""
        ...

    def held_out(self) -> dict[str, Any] | None:
        """Held-out precision/recall measured when it was trained (for the dataset card), or None."""
        ...

    def default_thresholds(self, taxonomy: Taxonomy) -> dict[str, float]:
        """Its τ per domain when the taxonomy gives none."""
        ...

    def default_delta(self, taxonomy: Taxonomy) -> float:
        """Its δ when the taxonomy gives none."""
        ...

    def default_calibration(
        self, taxonomy: Taxonomy, thresholds: Mapping[str, float]
    ) -> tuple[str, Mapping[str, float]]:
        """(calibration kind, centre per domain) when the taxonomy gives no ``calibration``."""
        ...


class ClassifierType(Protocol):
    """What CLASSIFIERS holds: a classifier class that builds itself from its taxonomy entry."""

    config_keys: frozenset[str]

    def from_spec(
        self, spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
    ) -> Classifier: ...


class ClassifierBase(ABC):
    """Defaults of the Classifier protocol: probabilities with τ 0.5, the taxonomy's δ, no calibration.

    What every CLASSIFIERS entry subclasses; ``kind`` is set by the registry (the registered name)."""

    kind: ClassVar[str] = ""
    score_range: ClassVar[tuple[float, float]] = PROBABILITY_RANGE  # where its scores, and so its τ, lie
    config_keys: ClassVar[frozenset[str]] = frozenset()
    encoder: TextEncoder | None = None
    name: str
    domain_names: list[str]
    output_names: list[str]

    @classmethod
    @abstractmethod
    def from_spec(
        cls, spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
    ) -> ClassifierBase:
        """The classifier a taxonomy entry describes."""

    @abstractmethod
    def all_scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, len(output_names)) raw scores."""

    @abstractmethod
    def provenance(self) -> dict[str, Any]:
        """Model ids, revisions and files that produced the scores."""

    def scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, len(domain_names)): :meth:`all_scores` without the extra columns."""
        return self.all_scores(texts, language, titles)[:, : len(self.domain_names)]

    def prepare(  # noqa: B027 (a default that subclasses may keep, not an abstract method)
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> None:
        """Nothing: the scores of a text do not depend on the others scored with it."""

    def held_out(self) -> dict[str, Any] | None:
        return None

    def default_thresholds(self, taxonomy: Taxonomy) -> dict[str, float]:
        return dict.fromkeys(taxonomy.domain_names, DEFAULT_PROBABILITY_THRESHOLD)

    def default_delta(self, taxonomy: Taxonomy) -> float:
        return taxonomy.classification.delta

    def default_calibration(
        self, taxonomy: Taxonomy, thresholds: Mapping[str, float]
    ) -> tuple[str, Mapping[str, float]]:
        return "identity", thresholds


def spec_options(spec: ClassifierSpec) -> dict[str, Any]:
    """The keys of a classifier entry beyond name/type/model/revision/weight."""
    return dict(spec.model_extra or {})


def batch_option(spec: ClassifierSpec) -> dict[str, int]:
    """``{"batch_size": n}`` when the entry sets one (each classifier has its own default)."""
    options = spec_options(spec)
    return {"batch_size": int(options["batch_size"])} if "batch_size" in options else {}


def required_model(spec: ClassifierSpec, taxonomy: Taxonomy) -> str:
    """The entry's ``model`` (relative to the taxonomy file when a file is there); a ConfigError if none."""
    if not spec.model:
        raise ConfigError(f"classifier {spec.name!r} needs a 'model'", taxonomy.source)
    return beside_taxonomy(spec.model, taxonomy)


def beside_taxonomy(model: str, taxonomy: Taxonomy) -> str:
    """``model`` as given, or relative to the taxonomy file's directory when a file is there."""
    if Path(model).expanduser().exists() or Path(model).is_absolute() or not taxonomy.source:
        return model
    beside = Path(taxonomy.source).parent / model
    return str(beside) if beside.exists() else model


def text_encoder(
    model: str, spec: ClassifierSpec, cache_dir: str | Path | None, backend: str | None = None
) -> TextEncoder:
    """The sentence-transformers encoder of an embedding-based entry (its revision, device, batch size,
    backend; ``backend`` overrides the entry's)."""
    from mlqa_domain.embeddings import TextEncoder

    return TextEncoder(
        model,
        cache_dir=cache_dir,
        revision=spec.revision,
        device=spec_options(spec).get("device"),
        backend=backend or spec_options(spec).get("backend", "auto"),
        **batch_option(spec),
    )
