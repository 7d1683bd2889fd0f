"""The one bootstrap of the project, and the power of a paired test: every CI, p-value and minimum
detectable difference that `bench run`, `bench compare`, the leaderboard and the label audit report.

Bootstrap: ``N_RESAMPLES`` = 1000 percentile resamples, each quantity seeded with
``SeedSequence([SEED, crc32(name)])`` (``SEED`` = 0), so a quantity's interval depends only on its own
values and name (adding a config does not move another config's interval). The question indices are
drawn once per name and used for every column of it (EM and F1 of a config share their draws; the two
runs of a paired comparison share them too).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np

N_RESAMPLES = 1000
SEED = 0
CONFIDENCE = 0.95
# power of a paired test: two-sided alpha, power, and the assumed correlation of two models' per-question
# scores when only one (reference) run is known
ALPHA = 0.05
POWER = 0.80
REFERENCE_CORRELATION = 0.5
# resamples are drawn in blocks so (resamples x questions) index arrays stay small
_BLOCK_CELLS = 4_000_000


def settings() -> dict[str, float | int]:
    """The bootstrap and power settings, as recorded next to the numbers they produced."""
    return {
        "resamples": N_RESAMPLES,
        "seed": SEED,
        "confidence": CONFIDENCE,
        "alpha": ALPHA,
        "power": POWER,
        "reference_correlation": REFERENCE_CORRELATION,
    }


def seed_for(name: str, seed: int = SEED) -> np.random.SeedSequence:
    """A fixed seed per named quantity (adding another quantity does not change this one's interval)."""
    return np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])


def percentile_ci(draws: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of bootstrap draws (NaN draws ignored)."""
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[~np.isnan(draws)]
    if not len(draws):
        return (float("nan"), float("nan"))
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_means(
    columns: np.ndarray | Sequence[np.ndarray],
    name: str,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> np.ndarray:
    """Bootstrap means of each column over the same resampled questions: ``(k, n_resamples)``.

    ``columns`` is ``(k, n)``: k per-question values (EM, F1, ...) of the same n questions. The
    draws are seeded from ``name`` (see the module docstring); an empty column gives NaN draws.
    """
    values = np.atleast_2d(np.asarray(columns, dtype=np.float64))
    k, n = values.shape
    if n == 0:
        return np.full((k, n_resamples), np.nan)
    rng = np.random.default_rng(seed_for(name, seed))
    means = np.empty((k, n_resamples), dtype=np.float64)
    block = max(1, _BLOCK_CELLS // n)
    for lo in range(0, n_resamples, block):
        hi = min(lo + block, n_resamples)
        picks = rng.integers(0, n, size=(hi - lo, n))
        for row in range(k):
            means[row, lo:hi] = values[row][picks].mean(axis=1)
    return means


def diff_ci(
    a: np.ndarray | Sequence[float],
    b: np.ndarray | Sequence[float],
    name: str,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float]:
    """CI of ``mean(a) - mean(b)`` for two *independent* samples (different questions), each resampled
    on its own (seeded from ``name/a`` and ``name/b``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not len(a) or not len(b):
        raise ValueError("bootstrap needs at least one value on each side")
    draws_a = bootstrap_means(a, f"{name}/a", n_resamples, seed)[0]
    draws_b = bootstrap_means(b, f"{name}/b", n_resamples, seed)[0]
    return percentile_ci(draws_a - draws_b)


def bootstrap_p_value(observed: float, draws: np.ndarray) -> float:
    """Two-sided bootstrap p-value of ``observed`` (a difference) against 0, from the draws of the same
    difference: the draws are centred on 0 (the null) and ``p = (1 + #{|draw - observed| >= |observed|}) /
    (1 + resamples)``; 1.0 when the difference is exactly 0."""
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[~np.isnan(draws)]
    if not len(draws) or observed == 0 or math.isnan(observed):
        return 1.0
    extreme = int(np.count_nonzero(np.abs(draws - observed) >= abs(observed) - 1e-12))
    return min(1.0, (1 + extreme) / (1 + len(draws)))


def z_sum(alpha: float = ALPHA, power: float = POWER) -> float:
    """``z(1 - alpha/2) + z(power)``: 2.80 for a two-sided 5% test with 80% power."""
    normal = NormalDist()
    return normal.inv_cdf(1 - alpha / 2) + normal.inv_cdf(power)


def paired_sd(reference_sd: float, correlation: float = REFERENCE_CORRELATION) -> float:
    """SD of per-question differences of two models whose scores both have ``reference_sd`` and correlate
    at ``correlation``: ``sd * sqrt(2 (1 - correlation))`` (= ``sd`` at the default 0.5)."""
    return float(reference_sd) * math.sqrt(2.0 * (1.0 - correlation))


def min_detectable_difference(
    difference_sds: Mapping[str, float],
    counts: Mapping[str, int],
    weights: Mapping[str, float] | None = None,
    alpha: float = ALPHA,
    power: float = POWER,
) -> float | None:
    """The smallest true difference a paired test detects with ``power`` at ``alpha`` (two-sided, normal
    approximation): ``z_sum * SE`` with ``SE = sqrt(sum w_c^2 sd_c^2 / n_c)`` over the configs of a
    (weighted) mean; one config with weight 1 gives ``z_sum * sd / sqrt(n)``. None when a count is 0 or
    nothing varies (a reference run that got every question of a split equally right tells nothing)."""
    weights = weights or {name: 1.0 for name in difference_sds}
    variance = 0.0
    for name, weight in weights.items():
        n = counts.get(name, 0)
        if n <= 0:
            return None
        variance += weight**2 * difference_sds[name] ** 2 / n
    if variance <= 0:
        return None
    return z_sum(alpha, power) * math.sqrt(variance)


def sample_sd(values: np.ndarray | Sequence[float]) -> float:
    """Sample standard deviation (ddof 1; 0 for fewer than two values)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


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
