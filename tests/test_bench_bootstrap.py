"""Bootstrap CI of a difference of means: deterministic, vectorised, and centred where it should be."""

from __future__ import annotations

import numpy as np
import pytest

from mlqa_domain.benchmark.bootstrap import diff_ci, seed_for


def test_ci_is_deterministic_and_brackets_the_observed_difference() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(size=200)
    b = rng.uniform(size=150) * 0.8
    first = diff_ci(a, b, seed=seed_for("legal.de"))
    assert first == diff_ci(a, b, seed=seed_for("legal.de"))
    assert first != diff_ci(a, b, seed=seed_for("biomedical.de"))
    low, high = first
    assert low < a.mean() - b.mean() < high
    # Width close to the normal approximation 2 * 1.96 * SE.
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_constant_scores_give_a_point_interval() -> None:
    assert diff_ci(np.ones(10), np.zeros(7)) == (1.0, 1.0)


def test_blocks_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = np.linspace(0, 1, 50), np.linspace(0, 0.5, 40)
    whole = diff_ci(a, b, seed=3)
    monkeypatch.setattr("mlqa_domain.benchmark.bootstrap._BLOCK_CELLS", 120)  # 2-3 resamples per block
    assert diff_ci(a, b, seed=3) == pytest.approx(whole)


def test_empty_side_is_refused() -> None:
    with pytest.raises(ValueError):
        diff_ci([], [1.0])
