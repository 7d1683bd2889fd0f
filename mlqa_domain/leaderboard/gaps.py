"""Domain gaps of a verified entry: each domain config's F1/EM minus its general config's, with bootstrap CIs.

Domain and general questions are different questions, so each config is resampled on its own (seeded
from the config name, so a re-verification gives the same CIs); a domain's summary gap is the mean over
its language pairs, bootstrapped with the same draws.
"""

from __future__ import annotations

import hashlib

import numpy as np

from mlqa_domain.configs import GENERAL, config_name, parse_config_name
from mlqa_domain.leaderboard.schema import DomainGap, GapEstimate

BOOTSTRAP_SAMPLES = 1000
PerQuestion = dict[str, tuple[np.ndarray, np.ndarray]]  # config -> per-question (EM, F1), 0/1 and [0, 1]


def _bootstrap_means(values: np.ndarray, samples: int, seed_text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(samples, len(values)))
    return values[idx].mean(axis=1)


def _ci(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


class _Resampled:
    """Bootstrap means (in points) of each config's EM and F1, drawn once per config."""

    def __init__(self, per_question: PerQuestion, samples: int) -> None:
        self.per_question = per_question
        self.samples = samples
        self._means: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, config: str) -> tuple[np.ndarray, np.ndarray]:
        if config not in self._means:
            em, f1 = self.per_question[config]
            self._means[config] = (
                100 * _bootstrap_means(em, self.samples, f"{config}/em"),
                100 * _bootstrap_means(f1, self.samples, f"{config}/f1"),
            )
        return self._means[config]


def _pairs_with_general(per_question: PerQuestion, general: str) -> list[tuple[str, str]]:
    """(domain config, its general config) for every domain config whose general config has questions."""
    pairs = []
    for config in sorted(per_question):
        general_config = parse_config_name(config).general_config(general)
        if general_config is None or general_config.name not in per_question:
            continue
        if len(per_question[config][1]) and len(per_question[general_config.name][1]):
            pairs.append((config, general_config.name))
    return pairs


def domain_gaps(
    per_question: PerQuestion, general: str = GENERAL, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[dict[str, GapEstimate], dict[str, DomainGap]]:
    """Gap of each domain config to the general config of its languages, and each domain's mean gap."""
    means = _Resampled(per_question, samples)
    config_gaps: dict[str, GapEstimate] = {}
    by_domain: dict[str, list[tuple[str, np.ndarray]]] = {}
    for config, general_config in _pairs_with_general(per_question, general):
        (em_d, f1_d), (em_g, f1_g) = per_question[config], per_question[general_config]
        (bem_d, bf1_d), (bem_g, bf1_g) = means(config), means(general_config)
        config_gaps[config] = GapEstimate(
            general_config=general_config,
            f1_gap=round(100 * (f1_d.mean() - f1_g.mean()), 4),
            f1_ci95=_ci(bf1_d - bf1_g),
            em_gap=round(100 * (em_d.mean() - em_g.mean()), 4),
            em_ci95=_ci(bem_d - bem_g),
        )
        parsed = parse_config_name(config)
        by_domain.setdefault(parsed.domain, []).append((parsed.language_key, bf1_d - bf1_g))
    summaries: dict[str, DomainGap] = {}
    for domain, items in sorted(by_domain.items()):
        keys = [key for key, _ in items]
        point = float(np.mean([config_gaps[config_name(domain, key)].f1_gap for key in keys]))
        summaries[domain] = DomainGap(
            f1_gap=round(point, 4), f1_ci95=_ci(np.mean([b for _, b in items], axis=0)), languages=keys
        )
    return config_gaps, summaries
