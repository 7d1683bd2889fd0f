"""Build the labeler the taxonomy asks for: one classifier, or several combined (see ensemble.py).

The taxonomy's ``classification.classifiers`` lists what runs. Keys of a classifier entry:

* all: ``name``, ``type`` (embedding | fasttext | transformers | zero-shot), ``model``, ``revision``,
  ``weight`` (ensemble weight, default 1), ``thresholds`` (its own τ: a number or domain -> number;
  default the domain ``threshold`` for embedding, 0.5 for the others), ``delta`` (its own δ; default
  ``classification.delta``), ``calibration`` (``identity`` | ``logistic`` | ``{type: logistic,
  slope, center}``; default logistic centred at τ for embedding, identity for the others),
  ``batch_size``, ``device``;
* fasttext: ``filename`` (file in a local dir or hub repo), ``label_map``, ``aggregate``;
* transformers: ``label_map`` (model label -> domain or ``general``), ``aggregate`` (max | sum),
  ``max_length``;
* zero-shot: ``candidate_labels`` (names | descriptions | domain -> label), ``hypothesis_template``.

With several classifiers, ``classification.combine`` (weighted_mean | vote), ``classification.thresholds``
(ensemble τ on the combined probability, default 0.5), ``classification.delta`` (δ on the combined
score) and ``classification.vote_quorum`` (default 0.5) decide the labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlqa_domain.builders.classifiers.calibration import Calibration
from mlqa_domain.builders.classifiers.embedding import EmbeddingClassifier, TextEncoder
from mlqa_domain.builders.ensemble import EnsembleLabeler, EnsembleRule, MemberRule
from mlqa_domain.builders.models import DEFAULT_EMBEDDING_MODEL
from mlqa_domain.builders.routing import Route, RoutedLabeler
from mlqa_domain.builders.taxonomy import ClassifierSpec, Taxonomy
from mlqa_domain.errors import ConfigError
from mlqa_domain.languages import check_language

DEFAULT_PROBABILITY_THRESHOLD = 0.5
HEAD_DELTA = 1.0
_COMMON_KEYS = {
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
}
_TYPE_KEYS = {
    "embedding": set(),
    "embedding-head": {"head"},
    "fasttext": {"filename", "label_map", "aggregate"},
    "transformers": {"label_map", "aggregate", "max_length"},
    "zero-shot": {"candidate_labels", "hypothesis_template"},
}
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class ScoreLabeler(EnsembleLabeler):
    """Labels from one classifier's raw scores with its τ per domain and δ."""

    def __init__(
        self,
        classifier,
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
    def classifier(self):
        """The one classifier."""
        return self.classifiers[0]


def _extra(spec: ClassifierSpec) -> dict[str, Any]:
    return dict(spec.model_extra or {})


def _check_spec(spec: ClassifierSpec, where: str) -> None:
    if not _NAME.match(spec.name):
        raise ConfigError(f"classifier name {spec.name!r} may only hold letters, digits, '_' and '-'", where)
    unknown = sorted(set(_extra(spec)) - _COMMON_KEYS - _TYPE_KEYS[spec.type])
    if unknown:
        raise ConfigError(
            f"classifier {spec.name!r} ({spec.type}): unknown key(s) {', '.join(unknown)}", where
        )
    if spec.weight <= 0:
        raise ConfigError(f"classifier {spec.name!r}: weight must be positive", where)
    if spec.type == "embedding-head" and not _extra(spec).get("head"):
        raise ConfigError(f"classifier {spec.name!r} needs a 'head' (a file written by train-head)", where)
    if spec.type not in ("embedding", "embedding-head") and not spec.model:
        raise ConfigError(f"classifier {spec.name!r} needs a 'model'", where)


def _model_path(model: str, taxonomy: Taxonomy) -> str:
    """``model`` as given, or relative to the taxonomy file's directory when a file is there."""
    if Path(model).expanduser().exists() or Path(model).is_absolute() or not taxonomy.source:
        return model
    beside = Path(taxonomy.source).parent / model
    return str(beside) if beside.exists() else model


def _per_domain(value: Any, taxonomy: Taxonomy, default: Mapping[str, float], what: str) -> dict[str, float]:
    if value is None:
        return dict(default)
    if isinstance(value, int | float):
        return dict.fromkeys(taxonomy.domain_names, float(value))
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(taxonomy.domain_names))
        if unknown:
            raise ConfigError(f"{what} for unknown domain(s) {', '.join(unknown)}", taxonomy.source)
        return {d: float(value.get(d, default[d])) for d in taxonomy.domain_names}
    raise ConfigError(f"{what} must be a number or a mapping domain -> number", taxonomy.source)


def classifier_thresholds(spec: ClassifierSpec, taxonomy: Taxonomy, classifier=None) -> dict[str, float]:
    """The classifier's own τ per domain (a head's default: the thresholds stored with it)."""
    if spec.type == "embedding":
        default = taxonomy.thresholds
    elif spec.type == "embedding-head" and classifier is not None:
        default = {d: classifier.head.thresholds[d] for d in taxonomy.domain_names}
    else:
        default = dict.fromkeys(taxonomy.domain_names, DEFAULT_PROBABILITY_THRESHOLD)
    return _per_domain(
        _extra(spec).get("thresholds"), taxonomy, default, f"classifier {spec.name!r} thresholds"
    )


def build_classifier(spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None):
    """Instantiate one classifier from its taxonomy spec."""
    _check_spec(spec, taxonomy.source)
    extra = _extra(spec)
    batch = {"batch_size": int(extra["batch_size"])} if "batch_size" in extra else {}
    if spec.type == "embedding":
        model = _model_path(spec.model or DEFAULT_EMBEDDING_MODEL, taxonomy)
        encoder = TextEncoder(
            model, cache_dir=cache_dir, revision=spec.revision, device=extra.get("device"), **batch
        )
        return EmbeddingClassifier.from_taxonomy(encoder, taxonomy, name=spec.name)
    if spec.type == "embedding-head":
        from mlqa_domain.builders.classifiers.head import DomainHead, HeadClassifier

        head_path = _model_path(str(extra["head"]), taxonomy)
        model = spec.model or DomainHead.load(head_path).embedding_model
        encoder = TextEncoder(
            _model_path(model, taxonomy),
            cache_dir=cache_dir,
            revision=spec.revision,
            device=extra.get("device"),
            **batch,
        )
        return HeadClassifier(head_path, encoder, name=spec.name, domains=taxonomy.domain_names)
    model = _model_path(spec.model, taxonomy)
    if spec.type == "fasttext":
        from mlqa_domain.builders.classifiers.fasttext_classifier import (
            FastTextClassifier,
            resolve_model_file,
        )

        path = resolve_model_file(model, extra.get("filename"), spec.revision)
        return FastTextClassifier(
            path,
            taxonomy.domain_names,
            general=taxonomy.general,
            label_map=extra.get("label_map"),
            aggregate=extra.get("aggregate", "max"),
            name=spec.name,
            model_id=spec.model,
            revision=spec.revision,
            **batch,
        )
    if spec.type == "transformers":
        from mlqa_domain.builders.classifiers.transformers_classifier import TransformersClassifier

        return TransformersClassifier(
            model,
            taxonomy.domain_names,
            general=taxonomy.general,
            label_map=extra.get("label_map"),
            aggregate=extra.get("aggregate", "max"),
            max_length=extra.get("max_length", 512),
            revision=spec.revision,
            device=extra.get("device"),
            name=spec.name,
            **batch,
        )
    from mlqa_domain.builders.classifiers.transformers_classifier import (
        DEFAULT_HYPOTHESIS,
        ZeroShotClassifier,
        candidate_labels_for,
    )

    return ZeroShotClassifier(
        model,
        candidate_labels_for(taxonomy, extra.get("candidate_labels", "descriptions")),
        hypothesis_template=extra.get("hypothesis_template", DEFAULT_HYPOTHESIS),
        revision=spec.revision,
        device=extra.get("device"),
        name=spec.name,
        **batch,
    )


def classifier_delta(spec: ClassifierSpec, taxonomy: Taxonomy) -> float:
    """The classifier's own δ: a head's independent per-domain probabilities default to no δ rule (1)."""
    default = HEAD_DELTA if spec.type == "embedding-head" else taxonomy.classification.delta
    return float(_extra(spec).get("delta", default))


def member_rule(spec: ClassifierSpec, taxonomy: Taxonomy, classifier) -> MemberRule:
    """Weight, calibration, τ and δ of one classifier in the ensemble."""
    extra = _extra(spec)
    thresholds = classifier_thresholds(spec, taxonomy, classifier)
    calibration = Calibration.from_config(
        extra.get("calibration"),
        taxonomy.domain_names,
        default_center=taxonomy.thresholds if spec.type == "embedding" else thresholds,
        default_kind="logistic" if spec.type == "embedding" else "identity",
        where=taxonomy.source,
    )
    return MemberRule(
        spec.name,
        float(spec.weight),
        calibration,
        thresholds,
        classifier_delta(spec, taxonomy),
        classifier.provenance(),
    )


def classifier_specs(taxonomy: Taxonomy, embedding_model: str | None = None) -> list[ClassifierSpec]:
    """The classifiers to run (one default embedding classifier when none is listed)."""
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
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"classifier names must be unique: {', '.join(duplicates)}", taxonomy.source)
    return specs


def ensemble_rule(taxonomy: Taxonomy, members: list[MemberRule]) -> EnsembleRule:
    """The combination rule of several classifiers from ``classification``."""
    spec = taxonomy.classification
    extra = dict(spec.model_extra or {})
    thresholds = _per_domain(
        extra.get("thresholds"),
        taxonomy,
        dict.fromkeys(taxonomy.domain_names, DEFAULT_PROBABILITY_THRESHOLD),
        "classification thresholds",
    )
    quorum = float(extra.get("vote_quorum", 0.5))
    if not 0 <= quorum < 1:
        raise ConfigError("classification vote_quorum must be in [0, 1)", taxonomy.source)
    return EnsembleRule(
        spec.combine, taxonomy.domain_names, members, thresholds, spec.delta, taxonomy.general, quorum
    )


def _labeler_for(specs: list[ClassifierSpec], taxonomy: Taxonomy, cache_dir) -> EnsembleLabeler:
    classifiers = [build_classifier(spec, taxonomy, cache_dir) for spec in specs]
    if len(specs) == 1:
        spec = specs[0]
        thresholds = classifier_thresholds(spec, taxonomy, classifiers[0])
        return ScoreLabeler(classifiers[0], taxonomy, thresholds, classifier_delta(spec, taxonomy))
    members = [member_rule(s, taxonomy, c) for s, c in zip(specs, classifiers, strict=True)]
    return EnsembleLabeler(classifiers, ensemble_rule(taxonomy, members), taxonomy.fingerprint())


def _route_languages(spec: ClassifierSpec, taxonomy: Taxonomy) -> tuple[str, ...] | None:
    value = _extra(spec).get("languages")
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
) -> EnsembleLabeler | RoutedLabeler:
    """The labeler for ``taxonomy``; ``embedding_model`` overrides every embedding classifier's model.

    One classifier: its raw scores are the domain scores, thresholded with its own τ and δ
    (for the embedding classifier: the domains' ``threshold`` and ``classification.delta``).
    Several: an :class:`EnsembleLabeler` combining their calibrated probabilities.
    Classifiers with ``languages`` label only contexts in those languages (a route); the others
    label every other language.
    """
    specs = classifier_specs(taxonomy, embedding_model)
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
