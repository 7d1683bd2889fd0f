"""The one bootstrap of the project, and the power of a paired test: every CI, p-value and minimum
detectable difference that `bench run`, `bench compare`, the leaderboard and the label audit report.

Bootstrap: ``N_RESAMPLES`` = 1000 percentile resamples, each quantity seeded with
``SeedSequence([SEED, crc32(name)])`` (``SEED`` = 0), so a quantity's interval depends only on its own
values and name (adding a config does not move another config's interval). The question indices are
drawn once per name and used for every column of it (EM and F1 of a config share their draws; the two
runs of a paired comparison share them too).

A quantity over several configs (an aggregate) resamples *question ids*, not rows
(:func:`joint_bootstrap_means`): an MLQA id is one question asked in several languages, and its scores in
those languages are correlated, so one draw picks ids once and every config takes its instances of the
drawn ids with their multiplicity. Its power uses the same clustering (:func:`linearized_se`: per-id sums
of the configs' influence terms).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import TypeAlias

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

# one config of a quantity over several configs: its question ids and its (k, n) per-question values
Group: TypeAlias = tuple[Sequence[str], np.ndarray]


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


def _id_counts(rng: np.random.Generator, n_ids: int, rows: int) -> np.ndarray:
    """``(rows, n_ids)``: how often each id is picked in each of ``rows`` draws of ``n_ids`` ids."""
    picks = rng.integers(0, n_ids, size=(rows, n_ids)) + n_ids * np.arange(rows)[:, None]
    return np.bincount(picks.ravel(), minlength=rows * n_ids).reshape(rows, n_ids).astype(np.float64)


def joint_bootstrap_means(
    groups: Mapping[str, Group],
    name: str,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> dict[str, np.ndarray]:
    """Bootstrap means of every group under one resampling of *question ids*: ``{group: (k, resamples)}``.

    Each draw picks ids with replacement from the union of the groups' ids (as many as the union holds),
    and every group takes its instances of the drawn ids with their multiplicity, so parallel instances
    of one question (the same id in several languages) are drawn together. A group none of whose ids was
    drawn gets NaN in that draw. Seeded from ``name`` like :func:`bootstrap_means`.
    """
    universe = sorted({qid for ids, _ in groups.values() for qid in ids})
    position = {qid: i for i, qid in enumerate(universe)}
    prepared = {
        key: (
            np.fromiter((position[qid] for qid in ids), dtype=np.int64, count=len(ids)),
            np.atleast_2d(np.asarray(values, dtype=np.float64)),
        )
        for key, (ids, values) in groups.items()
    }
    out = {key: np.full((values.shape[0], n_resamples), np.nan) for key, (_, values) in prepared.items()}
    n_ids = len(universe)
    if n_ids == 0:
        return out
    rng = np.random.default_rng(seed_for(name, seed))
    block = max(1, _BLOCK_CELLS // n_ids)
    for lo in range(0, n_resamples, block):
        hi = min(lo + block, n_resamples)
        counts = _id_counts(rng, n_ids, hi - lo)
        for key, (index, values) in prepared.items():
            taken = counts[:, index]
            total = taken.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[key][:, lo:hi] = (values @ taken.T) / total
    return out


def linearized_se(groups: Mapping[str, Group], weights: Mapping[str, float]) -> float:
    """Standard error of ``sum_c w_c mean_c`` when question ids, not rows, are the sampled units.

    Each id contributes ``u_i = sum over the groups c holding it of w_c (x_ci - m_c) / sqrt(n_c (n_c - 1))``
    (the influence of the question on the weighted mean, with each group's small-sample correction), and
    the SE is ``sqrt(sum_i u_i^2)`` (the delta method for the joint bootstrap). One group of weight 1 gives
    ``sd / sqrt(n)`` (ddof 1); k identical groups give one group's SE; groups with no id in common give
    ``sqrt(sum w^2 sd^2 / n)``. The values are one row (``x_ci``) per group; NaN when a group has fewer
    than two values.
    """
    universe = sorted({qid for key in weights for qid in groups[key][0]})
    position = {qid: i for i, qid in enumerate(universe)}
    contribution = np.zeros(len(universe))
    for key, weight in weights.items():
        ids, values = groups[key]
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        n = len(values)
        if n < 2:
            return float("nan")
        index = np.fromiter((position[qid] for qid in ids), dtype=np.int64, count=n)
        np.add.at(contribution, index, weight * (values - values.mean()) / math.sqrt(n * (n - 1)))
    return math.sqrt(float(np.sum(contribution**2)))


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


def min_detectable_from_se(se: float, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """``z_sum * se``: the smallest true difference a paired test with standard error ``se`` detects;
    None when the SE is 0 or undefined (nothing varies)."""
    if not se > 0 or math.isnan(se):
        return None
    return z_sum(alpha, power) * se


def questions_needed(
    difference: float, difference_sd: float, alpha: float = ALPHA, power: float = POWER
) -> int:
    """Questions a paired test needs to detect ``difference`` (points) when per-question differences have
    SD ``difference_sd``: ``ceil((z_sum * sd / difference)^2)``."""
    return math.ceil((z_sum(alpha, power) * difference_sd / difference) ** 2)


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


def precision_recall_f1(
    tp: np.ndarray | float, predicted: np.ndarray | float, gold: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of counts (numbers or equal-shape arrays, element by element).

    precision = tp / predicted, recall = tp / gold, F1 = their harmonic mean (= 2 tp / (predicted +
    gold)). The one convention for what is undefined: precision is NaN when nothing was predicted,
    recall is NaN when there is no gold; F1 is 0 without a true positive. Reports write NaN as JSON
    ``null`` (:func:`mlqa_domain.jsonio.finite_or_null`) and tables show it as "—".
    """
    tp, predicted, gold = (np.asarray(value, dtype=np.float64) for value in (tp, predicted, gold))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(gold > 0, tp / gold, np.nan)
        f1 = np.where(tp > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1


def prf_scores(tp: int, predicted: int, gold: int) -> dict[str, float]:
    """``{"precision", "recall", "f1"}`` of one set of counts as floats (:func:`precision_recall_f1`)."""
    precision, recall, f1 = precision_recall_f1(tp, predicted, gold)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}
