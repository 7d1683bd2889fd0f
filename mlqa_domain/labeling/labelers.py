"""Build the labeler the taxonomy asks for: one classifier, or several combined (see ensemble.py).

The taxonomy's ``classification.classifiers`` lists what runs. Every entry takes ``name``, ``type``
(a registered classifier type: embedding | embedding-head | fasttext | transformers | zero-shot),
``model``, ``revision``, ``weight`` (ensemble weight, default 1), ``thresholds`` (its own τ: a number
or domain -> number), ``delta`` (its own δ), ``calibration`` (``identity`` | ``logistic`` |
``{type: logistic, slope, center}``), ``batch_size``, ``device`` and ``languages`` (a route), plus
the keys of its type (``config_keys`` of each class in labeling/classifiers/). τ, δ and calibration
default to the type's: the domain ``threshold``, ``classification.delta`` and a logistic curve
centred at τ for embedding; a head's stored thresholds and no δ rule for embedding-head; 0.5,
``classification.delta`` and identity for the others.

With several classifiers, ``classification.combine`` (weighted_mean | vote), ``classification.thresholds``
(ensemble τ on the combined probability, default 0.5), ``classification.delta`` (δ on the combined
score) and ``classification.vote_quorum`` (default 0.5) decide the labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from mlqa_domain.errors import ConfigError
from mlqa_domain.labeling.classifiers import CLASSIFIERS, Classifier
from mlqa_domain.labeling.classifiers.base import COMMON_KEYS, DEFAULT_PROBABILITY_THRESHOLD, spec_options
from mlqa_domain.labeling.classifiers.calibration import Calibration, per_domain
from mlqa_domain.labeling.ensemble import EnsembleLabeler, EnsembleRule, MemberRule, RuleLabeler
from mlqa_domain.labeling.routing import Route, RoutedLabeler
from mlqa_domain.labeling.taxonomy import SCORE_RANGE, ClassifierSpec, Taxonomy, check_delta, check_thresholds
from mlqa_domain.languages import check_language

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class SingleClassifierLabeler(RuleLabeler):
    """Labels from one classifier's raw scores with its τ per domain and δ (the ``single`` rule)."""

    def __init__(
        self,
        classifier: Classifier,
        taxonomy: Taxonomy,
        thresholds: Mapping[str, float] | None = None,
        delta: float | None = None,
    ) -> None:
        thresholds = dict(thresholds or taxonomy.thresholds)
        delta = taxonomy.classification.delta if delta is None else delta
        member = MemberRule(
            classifier.name, 1.0, Calibration.identity(), thresholds, delta, classifier.provenance()
        )
        rule = EnsembleRule(
            "single", list(classifier.domain_names), [member], thresholds, delta, taxonomy.general
        )
        super().__init__([classifier], rule, taxonomy.fingerprint())

    @property
    def classifier(self) -> Classifier:
        """The one classifier."""
        return self.classifiers[0]


def build_classifier(
    spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
) -> Classifier:
    """Instantiate one classifier from its taxonomy entry (its type's ``from_spec``)."""
    kind = CLASSIFIERS.get(spec.type, taxonomy.source)
    if not _NAME.match(spec.name):
        raise ConfigError(
            f"classifier name {spec.name!r} may only hold letters, digits, '_' and '-'", taxonomy.source
        )
    unknown = sorted(set(spec_options(spec)) - COMMON_KEYS - kind.config_keys)
    if unknown:
        raise ConfigError(
            f"classifier {spec.name!r} ({spec.type}): unknown key(s) {', '.join(unknown)}", taxonomy.source
        )
    if spec.weight <= 0:
        raise ConfigError(f"classifier {spec.name!r}: weight must be positive", taxonomy.source)
    return kind.from_spec(spec, taxonomy, cache_dir)


def classifier_thresholds(
    spec: ClassifierSpec, taxonomy: Taxonomy, classifier: Classifier
) -> dict[str, float]:
    """The classifier's own τ per domain (default: its type's, e.g. the thresholds stored with a domain head),
    each finite and in the classifier's ``score_range`` ([0, 1] for probabilities, [-1, 1] for cosines)."""
    what = f"classifier {spec.name!r} thresholds"
    thresholds = per_domain(
        spec_options(spec).get("thresholds"),
        taxonomy.domain_names,
        classifier.default_thresholds(taxonomy),
        what,
        taxonomy.source,
    )
    return check_thresholds(
        thresholds, what, taxonomy.source, getattr(classifier, "score_range", SCORE_RANGE)
    )


def classifier_delta(spec: ClassifierSpec, taxonomy: Taxonomy, classifier: Classifier) -> float:
    """The classifier's own δ (default: its type's; a domain head's independent probabilities have
    none, 1)."""
    value = spec_options(spec).get("delta", classifier.default_delta(taxonomy))
    return check_delta(value, f"classifier {spec.name!r} delta", taxonomy.source)


def member_rule(spec: ClassifierSpec, taxonomy: Taxonomy, classifier: Classifier) -> MemberRule:
    """Weight, calibration, τ and δ of one classifier in the ensemble."""
    thresholds = classifier_thresholds(spec, taxonomy, classifier)
    kind, center = classifier.default_calibration(taxonomy, thresholds)
    calibration = Calibration.from_config(
        spec_options(spec).get("calibration"),
        taxonomy.domain_names,
        default_center=center,
        default_kind=kind,
        where=taxonomy.source,
    )
    return MemberRule(
        spec.name,
        float(spec.weight),
        calibration,
        thresholds,
        classifier_delta(spec, taxonomy, classifier),
        classifier.provenance(),
    )


EMBEDDING_TYPES = ("embedding", "embedding-head")


def classifier_specs(
    taxonomy: Taxonomy, embedding_model: str | None = None, embedding_backend: str | None = None
) -> list[ClassifierSpec]:
    """The classifiers to run (one default embedding classifier when none is listed); the overrides
    set the model of every prototype classifier and the backend of every embedding-based one."""
    unknown = sorted(set(taxonomy.classification.model_extra or {}) - {"thresholds", "vote_quorum"})
    if unknown:
        raise ConfigError(f"classification: unknown key(s) {', '.join(unknown)}", taxonomy.source)
    specs = list(taxonomy.classification.classifiers) or [
        ClassifierSpec(name="embedding", type="embedding", model=None)
    ]
    if embedding_model:
        specs = [
            s.model_copy(update={"model": embedding_model}) if s.type == "embedding" else s for s in specs
        ]
    if embedding_backend:
        specs = [
            s.model_copy(update={"backend": embedding_backend}) if s.type in EMBEDDING_TYPES else s
            for s in specs
        ]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"classifier names must be unique: {', '.join(duplicates)}", taxonomy.source)
    return specs


def ensemble_rule(taxonomy: Taxonomy, members: list[MemberRule]) -> EnsembleRule:
    """The combination rule of several classifiers from ``classification``."""
    spec = taxonomy.classification
    extra = dict(spec.model_extra or {})
    thresholds = per_domain(
        extra.get("thresholds"),
        taxonomy.domain_names,
        dict.fromkeys(taxonomy.domain_names, DEFAULT_PROBABILITY_THRESHOLD),
        "classification thresholds",
        taxonomy.source,
    )
    thresholds = check_thresholds(thresholds, "classification thresholds", taxonomy.source, (0.0, 1.0))
    quorum = float(extra.get("vote_quorum", 0.5))
    if not 0 <= quorum < 1:
        raise ConfigError("classification vote_quorum must be in [0, 1)", taxonomy.source)
    return EnsembleRule(
        spec.combine, taxonomy.domain_names, members, thresholds, spec.delta, taxonomy.general, quorum
    )


def _labeler_for(specs: list[ClassifierSpec], taxonomy: Taxonomy, cache_dir) -> RuleLabeler:
    classifiers = [build_classifier(spec, taxonomy, cache_dir) for spec in specs]
    if len(specs) == 1:
        spec = specs[0]
        thresholds = classifier_thresholds(spec, taxonomy, classifiers[0])
        delta = classifier_delta(spec, taxonomy, classifiers[0])
        return SingleClassifierLabeler(classifiers[0], taxonomy, thresholds, delta)
    members = [member_rule(s, taxonomy, c) for s, c in zip(specs, classifiers, strict=True)]
    return EnsembleLabeler(classifiers, ensemble_rule(taxonomy, members), taxonomy.fingerprint())


def _route_languages(spec: ClassifierSpec, taxonomy: Taxonomy) -> tuple[str, ...] | None:
    value = spec_options(spec).get("languages")
    if value is None:
        return None
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list) or not codes:
        raise ConfigError(f"classifier {spec.name!r}: languages must be a list of codes", taxonomy.source)
    return tuple(sorted(check_language(str(c), taxonomy.source) for c in codes))


def build_labeler(
    taxonomy: Taxonomy,
    embedding_model: str | None = None,
    cache_dir: str | Path | None = None,
    embedding_backend: str | None = None,
) -> RuleLabeler | RoutedLabeler:
    """The labeler for ``taxonomy``; ``embedding_model`` overrides every embedding classifier's model.

    One classifier: its raw scores are the domain scores, thresholded with its own τ and δ
    (for the embedding classifier: the domains' ``threshold`` and ``classification.delta``).
    Several: an :class:`EnsembleLabeler` combining their calibrated probabilities.
    Classifiers with ``languages`` label only contexts in those languages (a route); the others
    label every other language.
    """
    specs = classifier_specs(taxonomy, embedding_model, embedding_backend)
    groups: dict[tuple[str, ...] | None, list[ClassifierSpec]] = {}
    for spec in specs:
        groups.setdefault(_route_languages(spec, taxonomy), []).append(spec)
    if list(groups) == [None]:
        return _labeler_for(specs, taxonomy, cache_dir)
    claimed: dict[str, tuple[str, ...]] = {}
    for languages in groups:
        for code in languages or ():
            if code in claimed:
                raise ConfigError(
                    f"language {code!r} is routed to two classifier groups; give each language one",
                    taxonomy.source,
                )
            claimed[code] = languages
    routes = [
        Route(languages, _labeler_for(group, taxonomy, cache_dir)) for languages, group in groups.items()
    ]
    return RoutedLabeler(routes)
