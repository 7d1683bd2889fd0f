"""Bootstrap confidence intervals for the difference of two means (independent resampling, numpy)."""

from __future__ import annotations

import zlib

import numpy as np

N_RESAMPLES = 1000
SEED = 0
# Resamples are drawn in blocks so (resamples x questions) index arrays stay small.
_BLOCK_CELLS = 4_000_000


def _bootstrap_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    block = max(1, _BLOCK_CELLS // max(n, 1))
    means = np.empty(n_resamples, dtype=np.float64)
    for lo in range(0, n_resamples, block):
        hi = min(lo + block, n_resamples)
        means[lo:hi] = values[rng.integers(0, n, size=(hi - lo, n))].mean(axis=1)
    return means


def seed_for(name: str, seed: int = SEED) -> np.random.SeedSequence:
    """A fixed seed per comparison (so adding a config does not change another config's interval)."""
    return np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])


def diff_ci(
    a: np.ndarray | list[float],
    b: np.ndarray | list[float],
    n_resamples: int = N_RESAMPLES,
    confidence: float = 0.95,
    seed: int | np.random.SeedSequence = SEED,
) -> tuple[float, float]:
    """Percentile CI of ``mean(a) - mean(b)``, resampling ``a`` and ``b`` independently with replacement."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("bootstrap needs at least one value on each side")
    rng = np.random.default_rng(seed)
    diffs = _bootstrap_means(a, n_resamples, rng) - _bootstrap_means(b, n_resamples, rng)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail])
    return float(low), float(high)
