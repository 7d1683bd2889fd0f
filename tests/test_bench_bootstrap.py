"""The one bootstrap (mlqa_domain.stats): fixed draws per name, paired columns, p-values, power."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain import stats


def test_draws_are_fixed_per_name_and_shared_by_the_columns_of_one_name() -> None:
    rng = np.random.default_rng(1)
    em = (rng.uniform(size=300) < 0.5).astype(float)
    f1 = np.clip(em + rng.uniform(size=300) * 0.3, 0, 1)
    first = stats.bootstrap_means([em, f1], "legal.de")
    assert first.shape == (2, stats.N_RESAMPLES)
    assert np.array_equal(first, stats.bootstrap_means([em, f1], "legal.de"))
    assert not np.array_equal(first, stats.bootstrap_means([em, f1], "legal.es"))
    # EM and F1 share the resampled questions: F1 >= EM in every draw because it is per question
    assert np.all(first[1] >= first[0])
    alone = stats.bootstrap_means(f1, "legal.de")[0]
    assert np.array_equal(alone, first[1])  # a column's draws do not depend on the other columns


def test_independent_difference_ci_brackets_the_observed_difference() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.uniform(size=200), rng.uniform(size=150) * 0.8
    low, high = stats.diff_ci(a, b, "legal.de")
    assert low < a.mean() - b.mean() < high
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.15)  # close to the normal approximation
    assert stats.diff_ci(np.ones(10), np.zeros(7), "x") == (1.0, 1.0)
    with pytest.raises(ValueError):
        stats.diff_ci([], [1.0], "x")


def test_blocks_do_not_change_the_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.linspace(0, 1, 50)
    whole = stats.bootstrap_means(values, "x")
    monkeypatch.setattr(stats, "_BLOCK_CELLS", 120)  # 2-3 resamples per block
    assert np.array_equal(stats.bootstrap_means(values, "x"), whole)


def test_empty_values_give_nan_draws_and_intervals() -> None:
    draws = stats.bootstrap_means(np.zeros((2, 0)), "empty")
    assert draws.shape == (2, stats.N_RESAMPLES) and np.isnan(draws).all()
    assert all(np.isnan(v) for v in stats.percentile_ci(draws[0]))


def test_p_value_of_a_clear_difference_is_small_and_of_none_is_one() -> None:
    rng = np.random.default_rng(3)
    clear = rng.normal(0.3, 1.0, size=400)
    draws = stats.bootstrap_means(clear, "clear")[0]
    assert stats.bootstrap_p_value(clear.mean(), draws) < 0.01
    noise = rng.normal(0.0, 1.0, size=400)
    p = stats.bootstrap_p_value(noise.mean(), stats.bootstrap_means(noise, "noise")[0])
    assert p > 0.05
    assert stats.bootstrap_p_value(0.0, draws) == 1.0
    assert stats.bootstrap_p_value(5.0, draws) == pytest.approx(1 / (1 + stats.N_RESAMPLES))  # the floor


def test_p_values_are_uniform_under_the_null() -> None:
    """About 5% of paired differences with no true effect come out significant at 0.05."""
    rng = np.random.default_rng(4)
    ps = [
        stats.bootstrap_p_value(d.mean(), stats.bootstrap_means(d, f"null{i}", n_resamples=400)[0])
        for i, d in enumerate(rng.normal(0, 1, size=(200, 60)))
    ]
    assert 0.01 <= np.mean(np.asarray(ps) < 0.05) <= 0.11


def test_min_detectable_difference_is_2_8_standard_errors() -> None:
    assert stats.z_sum() == pytest.approx(1.959964 + 0.841621, abs=1e-5)
    assert stats.paired_sd(40.0) == pytest.approx(40.0)  # rho = 0.5
    assert stats.paired_sd(40.0, correlation=0.0) == pytest.approx(40.0 * np.sqrt(2))
    one = stats.min_detectable_difference({"a": 40.0}, {"a": 100})
    assert one == pytest.approx(stats.z_sum() * 40.0 / 10.0)
    # a mean of two configs with weight 1/2 each: SE = sqrt((sd^2/n)/4 * 2)
    two = stats.min_detectable_difference({"a": 40.0, "b": 40.0}, {"a": 100, "b": 100}, {"a": 0.5, "b": 0.5})
    assert two == pytest.approx(one / np.sqrt(2))
    assert stats.min_detectable_difference({"a": 40.0}, {"a": 0}) is None
    assert stats.min_detectable_difference({"a": 0.0}, {"a": 50}) is None  # no variance: no estimate


def test_min_detectable_difference_has_80_percent_power_in_simulation() -> None:
    """A true paired difference equal to the MDE is found by the bootstrap test about 80% of the time."""
    rng = np.random.default_rng(5)
    n, sd = 150, 1.0
    mde = stats.min_detectable_difference({"x": sd}, {"x": n})
    found = 0
    trials = 120
    for i in range(trials):
        d = rng.normal(mde, sd, size=n)
        ci = stats.percentile_ci(stats.bootstrap_means(d, f"sim{i}", n_resamples=400)[0])
        found += ci[0] > 0 or ci[1] < 0
    assert 0.65 <= found / trials <= 0.93


def test_nothing_else_draws_its_own_bootstrap() -> None:
    """One bootstrap module: no other module seeds a generator for resampling questions."""
    package = Path(__file__).resolve().parents[1] / "mlqa_domain"
    assert not (package / "benchmark" / "bootstrap.py").exists()
    assert not (package / "leaderboard" / "gaps.py").exists()
    for path in (package / "benchmark").rglob("*.py"):
        text = path.read_text("utf-8")
        assert "integers(0, len(" not in text, path
        assert not re.search(r"def \w*bootstrap_means", text), path
    for path in (package / "leaderboard").rglob("*.py"):
        assert "default_rng" not in path.read_text("utf-8"), path
