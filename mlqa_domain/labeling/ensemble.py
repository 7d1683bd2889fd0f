"""From per-domain scores to domain labels: the labeler interface, τ/δ, and ensembles of classifiers.

:func:`decide_domains` turns one context's scores into labels with a τ per domain and δ. Every
classifier gives raw per-domain scores (cosines, probabilities). Each has its own calibration
(raw -> probability), weight, thresholds and δ. The ensemble combines them:

* ``weighted_mean``: combined[d] = Σ w_c · p_c[d] / Σ w_c over the classifiers that score d; a
  context gets every domain whose combined score is ≥ its ensemble τ and within δ of the best;
* ``vote``: each classifier labels the context with its own τ/δ on its raw scores; a domain wins
  when the weighted share of classifiers voting for it is > ``vote_quorum`` (default 0.5, a strict
  majority); the combined score is that share.

``single`` is one classifier on its own: raw scores are the combined scores.

All of it is a pure function of the stored raw scores and the rule in the provenance, so
:func:`relabel` reproduces a build's labels from its parquet rows — or new ones with other
thresholds — without running any model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from mlqa_domain.configs import GENERAL
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.jsonio import parse_json
from mlqa_domain.labeling.classifiers import Classifier
from mlqa_domain.labeling.classifiers.calibration import Calibration

COMBINES = ("single", "weighted_mean", "vote")
CALIBRATED_SUFFIX = ":calibrated"
SCORE_DIGITS = 6


@dataclass
class Labeling:
    """The labels of one context and the scores they came from."""

    domains: list[str]
    domain_scores: dict[str, float]
    classifier_scores: dict[str, dict[str, float]] = field(default_factory=dict)


class Labeler(Protocol):
    """Anything that labels texts in a language with domains (one classifier, an ensemble, routes)."""

    name: str
    classifiers: list[Classifier]

    def prepare(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> None:
        """See every text that :meth:`label` will then be asked about, in parts (see
        :meth:`Classifier.prepare`)."""
        ...

    def label(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> list[Labeling]:
        """Labels for each text (``titles``: the article title of each, where the source has one)."""
        ...

    def provenance(self, language: str | None = None) -> dict[str, Any]:
        """Model ids/revisions, thresholds and δ that produced the labels (of ``language``'s route)."""
        ...


def decide_domains(
    scores: Mapping[str, float], thresholds: Mapping[str, float], delta: float, general: str = GENERAL
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


def _round(value: float) -> float:
    return round(float(value), SCORE_DIGITS)


@dataclass(frozen=True)
class MemberRule:
    """How one classifier's raw scores count: weight, calibration, its own τ per domain and δ."""

    name: str
    weight: float
    calibration: Calibration
    thresholds: dict[str, float]
    delta: float
    info: dict[str, Any] = field(default_factory=dict)

    def own_domains(self, raw: Mapping[str, float], domains: Sequence[str], general: str) -> list[str]:
        """This classifier's labels on its own (its raw scores, τ and δ)."""
        scores = {d: raw[d] for d in domains if raw.get(d) is not None}
        return decide_domains(scores, self.thresholds, self.delta, general)

    def to_dict(self) -> dict[str, Any]:
        """Provenance entry of this classifier."""
        return {
            **self.info,
            "weight": self.weight,
            "calibration": self.calibration.to_dict(),
            "thresholds": dict(self.thresholds),
            "delta": self.delta,
        }


@dataclass(frozen=True)
class Decision:
    """The ensemble's output for one context."""

    domains: list[str]
    combined: dict[str, float]
    calibrated: dict[str, dict[str, float]]


@dataclass(frozen=True)
class EnsembleRule:
    """Everything that turns stored raw scores into labels (kept in every example's provenance)."""

    combine: str
    domains: list[str]
    members: list[MemberRule]
    thresholds: dict[str, float]
    delta: float
    general: str = GENERAL
    vote_quorum: float = 0.5

    def __post_init__(self) -> None:
        if self.combine not in COMBINES:
            raise ConfigError(f"combine must be one of {', '.join(COMBINES)}, not {self.combine!r}")
        if self.combine == "single" and len(self.members) != 1:
            raise ConfigError("'single' combine needs exactly one classifier")
        if not self.members:
            raise ConfigError("an ensemble needs at least one classifier")
        missing = [d for d in self.domains if d not in self.thresholds]
        if missing:
            raise ConfigError(f"no ensemble threshold for domain(s) {', '.join(missing)}")

    def member(self, name: str) -> MemberRule:
        """The rule of classifier ``name``."""
        for rule in self.members:
            if rule.name == name:
                return rule
        raise ConfigError(f"no classifier named {name!r} in the ensemble")

    def decide(self, raw: Mapping[str, Mapping[str, float]]) -> Decision:
        """Labels, combined scores and calibrated probabilities from per-classifier raw scores."""
        if self.combine == "single":
            rule = self.members[0]
            scores = raw[rule.name]
            combined = {d: float(scores[d]) for d in self.domains if scores.get(d) is not None}
            return Decision(decide_domains(combined, self.thresholds, self.delta, self.general), combined, {})
        calibrated = {
            rule.name: {
                d: _round(rule.calibration.probability(d, raw[rule.name][d]))
                for d in self.domains
                if raw[rule.name].get(d) is not None
            }
            for rule in self.members
        }
        if self.combine == "weighted_mean":
            combined = self._weighted_mean(calibrated)
            domains = decide_domains(combined, self.thresholds, self.delta, self.general)
        else:
            combined, domains = self._vote(raw, calibrated)
        return Decision(domains, combined, calibrated)

    def _weighted_mean(self, calibrated: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        combined = {}
        for d in self.domains:
            pairs = [(r.weight, calibrated[r.name][d]) for r in self.members if d in calibrated[r.name]]
            total = sum(w for w, _ in pairs)
            combined[d] = _round(sum(w * p for w, p in pairs) / total) if total > 0 else 0.0
        return combined

    def _vote(self, raw, calibrated) -> tuple[dict[str, float], list[str]]:
        votes = {r.name: set(r.own_domains(raw[r.name], self.domains, self.general)) for r in self.members}
        share, mean_prob = {}, {}
        for d in self.domains:
            voters = [r for r in self.members if d in calibrated[r.name]]
            total = sum(r.weight for r in voters)
            share[d] = _round(sum(r.weight for r in voters if d in votes[r.name]) / total) if total else 0.0
            mean_prob[d] = float(np.mean([calibrated[r.name][d] for r in voters])) if voters else 0.0
        chosen = [d for d in self.domains if share[d] > self.vote_quorum + 1e-12]
        domains = sorted(chosen, key=lambda d: (-share[d], -mean_prob[d], d)) or [self.general]
        return share, domains

    def with_overrides(
        self,
        thresholds: Mapping[str, float] | float | None = None,
        delta: float | None = None,
        classifier_thresholds: Mapping[str, Mapping[str, float] | float] | None = None,
        weights: Mapping[str, float] | None = None,
        combine: str | None = None,
        vote_quorum: float | None = None,
    ) -> EnsembleRule:
        """A copy with other thresholds, δ, weights, combine or quorum."""
        members = []
        for rule in self.members:
            new = rule
            if classifier_thresholds and rule.name in classifier_thresholds:
                new = replace(new, thresholds=_merge(rule.thresholds, classifier_thresholds[rule.name]))
            if weights and rule.name in weights:
                new = replace(new, weight=float(weights[rule.name]))
            members.append(new)
        unknown = sorted((set(classifier_thresholds or {}) | set(weights or {})) - {r.name for r in members})
        if unknown:
            raise ConfigError(f"no classifier named {', '.join(unknown)} in the ensemble")
        if self.combine == "single" and (thresholds is not None or classifier_thresholds):
            # One classifier: its thresholds are the labeler's thresholds.
            merged = _merge(self.thresholds, thresholds) if thresholds is not None else members[0].thresholds
            members[0] = replace(members[0], thresholds=merged)
            thresholds = merged
        if self.combine == "single" and delta is not None:
            members[0] = replace(members[0], delta=float(delta))
        return replace(
            self,
            members=members,
            thresholds=_merge(self.thresholds, thresholds) if thresholds is not None else self.thresholds,
            delta=self.delta if delta is None else float(delta),
            combine=combine or self.combine,
            vote_quorum=self.vote_quorum if vote_quorum is None else float(vote_quorum),
        )

    def to_provenance(self) -> dict[str, Any]:
        """The rule as stored in provenance (single: the classic one-classifier layout)."""
        if self.combine == "single":
            rule = self.members[0]
            return {
                "labeler": rule.name,
                "combine": "single",
                "classifiers": {rule.name: dict(rule.info)},
                "thresholds": dict(self.thresholds),
                "delta": self.delta,
                "general": self.general,
            }
        out = {
            "labeler": "ensemble",
            "combine": self.combine,
            "domains": list(self.domains),
            "general": self.general,
            "classifiers": {r.name: r.to_dict() for r in self.members},
            "thresholds": dict(self.thresholds),
            "delta": self.delta,
        }
        if self.combine == "vote":
            out["vote_quorum"] = self.vote_quorum
        return out

    @classmethod
    def from_provenance(cls, provenance: Mapping[str, Any] | str) -> EnsembleRule:
        """Rebuild the rule from an example's provenance (dict or its JSON string)."""
        if isinstance(provenance, str):
            provenance = parse_json(provenance, "provenance")
        try:
            classifiers = provenance["classifiers"]
            thresholds = {d: float(t) for d, t in provenance["thresholds"].items()}
            delta = float(provenance["delta"])
        except (KeyError, TypeError, AttributeError):
            raise InputError("provenance lacks classifiers/thresholds/delta") from None
        general = provenance.get("general", GENERAL)
        combine = provenance.get("combine", "single")
        if combine == "single":
            (name, info), *_ = classifiers.items()
            member = MemberRule(name, 1.0, Calibration.identity(), thresholds, delta, dict(info))
            return cls("single", list(thresholds), [member], thresholds, delta, general)
        members = []
        for name, entry in classifiers.items():
            info = {
                k: v for k, v in entry.items() if k not in {"weight", "calibration", "thresholds", "delta"}
            }
            members.append(
                MemberRule(
                    name,
                    float(entry["weight"]),
                    Calibration.from_dict(entry["calibration"]),
                    {d: float(t) for d, t in entry["thresholds"].items()},
                    float(entry["delta"]),
                    info,
                )
            )
        return cls(
            combine,
            list(provenance.get("domains") or thresholds),
            members,
            thresholds,
            delta,
            general,
            float(provenance.get("vote_quorum", 0.5)),
        )


def _merge(base: Mapping[str, float], update: Mapping[str, float] | float | None) -> dict[str, float]:
    if update is None:
        return dict(base)
    if isinstance(update, int | float):
        return dict.fromkeys(base, float(update))
    unknown = sorted(set(update) - set(base))
    if unknown:
        raise ConfigError(f"threshold for unknown domain(s) {', '.join(unknown)}")
    return {d: float(update.get(d, t)) for d, t in base.items()}


def raw_scores_of(classifier_scores: Mapping[str, Mapping[str, float]], rule: EnsembleRule) -> dict:
    """The raw per-classifier scores (without the ``:calibrated`` entries) a rule needs."""
    try:
        return {r.name: dict(classifier_scores[r.name]) for r in rule.members}
    except KeyError as exc:
        raise InputError(f"stored scores lack classifier {exc.args[0]!r}") from None


def labeling_of(rule: EnsembleRule, raw: Mapping[str, Mapping[str, float]]) -> Labeling:
    """The :class:`Labeling` an ensemble stores for one context."""
    decision = rule.decide(raw)
    classifier_scores = {name: dict(scores) for name, scores in raw.items()}
    for name, probs in decision.calibrated.items():
        classifier_scores[name + CALIBRATED_SUFFIX] = probs
    return Labeling(decision.domains, decision.combined, classifier_scores)


class RuleLabeler:
    """Runs its classifiers once over the texts and labels each text by a rule: what a one-classifier
    labeler and an ensemble share (their rules differ)."""

    def __init__(
        self, classifiers: Sequence[Classifier], rule: EnsembleRule, taxonomy_fingerprint: str = ""
    ) -> None:
        self.classifiers = list(classifiers)
        self.rule = rule
        self.name = "ensemble" if rule.combine != "single" else self.classifiers[0].name
        self.taxonomy_fingerprint = taxonomy_fingerprint

    def raw_scores(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> list[dict[str, dict[str, float]]]:
        """Per text, per classifier, per output label raw scores (rounded as stored).

        ``titles`` (one per text, or None) reach every classifier; those that read titles use them.
        """
        per_text: list[dict[str, dict[str, float]]] = [{} for _ in texts]
        for classifier in self.classifiers:
            matrix = np.asarray(classifier.all_scores(list(texts), language, titles), dtype=np.float64)
            for i, row in enumerate(matrix):
                per_text[i][classifier.name] = {
                    n: _round(s) for n, s in zip(classifier.output_names, row, strict=True)
                }
        return per_text

    def prepare(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> None:
        """Let every classifier see ``texts`` before they are labelled in parts."""
        for classifier in self.classifiers:
            classifier.prepare(texts, language, titles)

    def label(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> list[Labeling]:
        """Score ``texts`` with every classifier and label them by the rule."""
        return [labeling_of(self.rule, raw) for raw in self.raw_scores(texts, language, titles)]

    def provenance(self, language: str | None = None) -> dict[str, Any]:
        """The rule (model ids/revisions, weights, calibration, thresholds, δ) and the taxonomy."""
        return {**self.rule.to_provenance(), "taxonomy": self.taxonomy_fingerprint}


class EnsembleLabeler(RuleLabeler):
    """Several classifiers: their calibrated probabilities combined by the rule (weighted mean or vote)."""


def relabel(rows: Iterable[Mapping[str, Any]], **overrides: Any) -> list[dict[str, Any]]:
    """Recompute ``domains``, ``domain_scores`` and calibrated scores from stored rows, no model run.

    ``rows`` are dataset rows (dicts with ``classifier_scores`` and ``provenance``, as read from the
    parquet files or ``load_dataset``). ``overrides`` are the keyword arguments of
    :meth:`EnsembleRule.with_overrides`; with none the stored labels come back unchanged;
    ``thresholds``/``delta`` change the ensemble's τ/δ (for a single classifier: its τ/δ),
    ``classifier_thresholds`` each classifier's own τ (used by ``vote``). The returned rows carry an
    updated provenance (JSON string if it came as one).
    """
    cache: dict[str, EnsembleRule] = {}
    out = []
    for row in rows:
        provenance = row["provenance"]
        key = provenance if isinstance(provenance, str) else json.dumps(provenance, sort_keys=True)
        if key not in cache:
            cache[key] = EnsembleRule.from_provenance(provenance).with_overrides(**overrides)
        rule = cache[key]
        labeling = labeling_of(rule, raw_scores_of(row["classifier_scores"], rule))
        base = json.loads(provenance) if isinstance(provenance, str) else dict(provenance)
        new_provenance = {**base, **rule.to_provenance()}
        new = dict(row)
        new["domains"] = labeling.domains
        new["domain_scores"] = {**dict(row.get("domain_scores") or {}), **labeling.domain_scores}
        new["classifier_scores"] = {**dict(row["classifier_scores"]), **labeling.classifier_scores}
        new["provenance"] = (
            json.dumps(new_provenance, sort_keys=True, ensure_ascii=False)
            if isinstance(provenance, str)
            else new_provenance
        )
        out.append(new)
    return out
