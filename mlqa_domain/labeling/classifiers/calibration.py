"""From a classifier's raw outputs to per-domain probabilities: label maps and calibration.

* :class:`LabelMap` turns a model's own labels (``__label__legal``, ``LABEL_3``, ``Law``) into taxonomy
  domains; several model labels may map to one domain and are combined by ``max`` (default) or
  ``sum`` (clipped to 1). Labels that map to nothing are ignored.
* :class:`Calibration` maps a raw score to a probability per domain: ``identity`` (the classifier
  already gives probabilities: fastText, transformers, zero-shot) or ``logistic``
  ``p = 1 / (1 + exp(-slope * (score - center)))`` (Platt scaling; the default for embedding
  cosines, centred at the domain's τ so that a score at τ becomes 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlqa_domain.errors import ConfigError

DEFAULT_EMBEDDING_SLOPE = 20.0
AGGREGATES = ("max", "sum")


@dataclass(frozen=True)
class LabelMap:
    """Model label -> taxonomy domain (or the ``general`` label)."""

    mapping: dict[str, str]
    targets: tuple[str, ...]
    aggregate: str = "max"

    @classmethod
    def build(
        cls,
        model_labels: Sequence[str],
        targets: Sequence[str],
        label_map: Mapping[str, str] | None = None,
        aggregate: str = "max",
        where: str | None = None,
    ) -> LabelMap:
        """Explicit ``label_map`` entries, else labels whose name equals a target (case-insensitive)."""
        if aggregate not in AGGREGATES:
            raise ConfigError(
                f"label aggregate must be one of {', '.join(AGGREGATES)}, not {aggregate!r}", where
            )
        by_lower = {t.lower(): t for t in targets}
        mapping: dict[str, str] = {}
        if label_map:
            for model_label, target in label_map.items():
                if target not in targets:
                    raise ConfigError(
                        f"label_map maps {model_label!r} to {target!r}, which is not one of "
                        f"{', '.join(targets)}",
                        where,
                    )
                mapping[str(model_label)] = target
        else:
            for model_label in model_labels:
                target = by_lower.get(model_label.lower())
                if target:
                    mapping[model_label] = target
        if not mapping:
            raise ConfigError(
                f"no model label maps to a domain (model labels: {', '.join(model_labels)}); "
                "add a label_map to the classifier",
                where,
            )
        return cls(mapping, tuple(targets), aggregate)

    @property
    def covered(self) -> list[str]:
        """Targets some model label maps to, in target order."""
        hit = set(self.mapping.values())
        return [t for t in self.targets if t in hit]

    def apply(self, label_scores: Mapping[str, float]) -> dict[str, float]:
        """Per-target score from one text's model-label scores (covered targets only)."""
        out: dict[str, float] = {}
        for label, score in label_scores.items():
            target = self.mapping.get(label)
            if target is None:
                continue
            if target not in out:
                out[target] = float(score)
            elif self.aggregate == "max":
                out[target] = max(out[target], float(score))
            else:
                out[target] = min(1.0, out[target] + float(score))
        return {t: out.get(t, 0.0) for t in self.covered}


def per_domain(
    value: Any, domains: Sequence[str], default: Mapping[str, float], what: str, where: str | None = None
) -> dict[str, float]:
    """One number per domain from a config value: None (``default``), a number (every domain) or a
    mapping domain -> number (the others from ``default``); ``what`` names the value in errors."""
    if value is None:
        return {d: float(default[d]) for d in domains}
    if isinstance(value, int | float):
        return {d: float(value) for d in domains}
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(domains))
        if unknown:
            raise ConfigError(f"{what} for unknown domain(s) {', '.join(unknown)}", where)
        return {d: float(value.get(d, default[d])) for d in domains}
    raise ConfigError(f"{what} must be a number or a mapping domain -> number", where)


@dataclass(frozen=True)
class Calibration:
    """Raw score -> probability, per domain."""

    kind: str = "identity"
    slope: dict[str, float] = field(default_factory=dict)
    center: dict[str, float] = field(default_factory=dict)

    @classmethod
    def identity(cls) -> Calibration:
        """Scores are already probabilities."""
        return cls("identity")

    @classmethod
    def logistic(cls, slope: Mapping[str, float], center: Mapping[str, float]) -> Calibration:
        """Platt scaling with one (slope, center) per domain."""
        return cls("logistic", dict(slope), dict(center))

    @classmethod
    def from_config(
        cls,
        raw: Any,
        domains: Sequence[str],
        default_center: Mapping[str, float],
        default_kind: str,
        where: str | None = None,
    ) -> Calibration:
        """From a classifier spec's ``calibration`` entry: ``identity``, ``logistic`` or a mapping.

        The mapping form is ``{type: logistic, slope: 20 | {domain: s}, center: 0.3 | {domain: c}}``;
        ``center`` defaults to ``default_center`` (the domain τ for embedding classifiers).
        """
        if raw is None:
            raw = default_kind
        if isinstance(raw, str):
            raw = {"type": raw}
        if not isinstance(raw, Mapping):
            raise ConfigError("calibration must be 'identity', 'logistic' or a mapping with a 'type'", where)
        kind = raw.get("type", "logistic")
        if kind == "identity":
            return cls.identity()
        if kind != "logistic":
            raise ConfigError(f"unknown calibration type {kind!r} (identity or logistic)", where)
        slopes = per_domain(
            raw.get("slope"),
            domains,
            dict.fromkeys(domains, DEFAULT_EMBEDDING_SLOPE),
            "calibration slope",
            where,
        )
        if any(s <= 0 for s in slopes.values()):
            raise ConfigError("calibration slope must be positive", where)
        centers = per_domain(raw.get("center"), domains, default_center, "calibration center", where)
        return cls.logistic(slopes, centers)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict` (as stored in provenance)."""
        if data.get("type", "identity") == "identity":
            return cls.identity()
        return cls.logistic(data["slope"], data["center"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for provenance."""
        if self.kind == "identity":
            return {"type": "identity"}
        return {"type": "logistic", "slope": dict(self.slope), "center": dict(self.center)}

    def probability(self, domain: str, score: float) -> float:
        """Calibrated probability of ``domain`` for a raw ``score``."""
        if self.kind == "identity":
            return min(1.0, max(0.0, float(score)))
        z = self.slope[domain] * (float(score) - self.center[domain])
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        ez = math.exp(z)
        return ez / (1.0 + ez)

    def apply(self, scores: Mapping[str, float]) -> dict[str, float]:
        """Calibrated probabilities for one text's raw per-domain scores."""
        return {d: self.probability(d, s) for d, s in scores.items()}


def fit_logistic(
    scores: Sequence[float], labels: Sequence[bool], l2: float = 1.0
) -> tuple[float, float] | None:
    """Fit ``p = sigmoid(slope * (s - center))`` by Newton's method; None when it can't be fitted.

    Needs both positive and negative examples and a positive slope (higher score, more likely).
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if len(x) < 2 or y.min() == y.max() or np.ptp(x) == 0:
        return None
    mean, scale = x.mean(), x.std()
    xs = (x - mean) / scale
    a, b = 1.0, 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(a * xs + b)))
        w = p * (1 - p)
        grad = np.array([np.sum((p - y) * xs) + l2 * a, np.sum(p - y)])
        hess = np.array([[np.sum(w * xs * xs) + l2, np.sum(w * xs)], [np.sum(w * xs), np.sum(w) + 1e-9]])
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    if not np.isfinite([a, b]).all() or a <= 0:
        return None
    slope = a / scale
    center = mean - b * scale / a
    return float(slope), float(center)
