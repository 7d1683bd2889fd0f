"""Confidence intervals by bootstrap, shared by the label audit and the benchmark."""

from __future__ import annotations

import zlib

import numpy as np

N_RESAMPLES = 1000
SEED = 0


def seed_for(name: str, seed: int = SEED) -> np.random.SeedSequence:
    """A fixed seed per named quantity (adding another quantity does not change this one's interval)."""
    return np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])


def percentile_ci(draws: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of bootstrap draws (NaN draws ignored)."""
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[~np.isnan(draws)]
    if not len(draws):
        return (float("nan"), float("nan"))
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)


def cluster_resample_sums(
    counts: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int | np.random.SeedSequence = SEED
) -> np.ndarray:
    """Bootstrap over clusters: ``counts`` is (clusters, k) per-cluster sums; returns (n_resamples, k).

    Clusters (e.g. Wikipedia articles) are drawn with replacement, so items of one cluster that
    resemble each other are not counted as independent evidence.
    """
    counts = np.asarray(counts, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(counts), size=(n_resamples, len(counts)))
    return counts[picks].sum(axis=1)
