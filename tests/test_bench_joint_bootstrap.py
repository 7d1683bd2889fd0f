"""Aggregates resample question ids, not rows: parallel languages of one MLQA id are drawn together."""

from __future__ import annotations

import numpy as np
import pytest

from mlqa_domain import stats
from mlqa_domain.benchmark import aggregates
from mlqa_domain.benchmark.aggregates import QuestionScores

LANGUAGES = ("ar", "de", "es")
N = 400


def _scores(ids: list[str], f1: np.ndarray) -> QuestionScores:
    return QuestionScores(ids, (f1 == 1.0).astype(float), f1)


def _run(per_language_f1: dict[str, np.ndarray], ids: list[str] | None = None) -> dict[str, QuestionScores]:
    ids = ids or [f"q{i:04d}" for i in range(N)]
    return {f"all.{lang}": _scores(ids, f1) for lang, f1 in per_language_f1.items()}


def _width(ci: list[float]) -> float:
    return ci[1] - ci[0]


def _f1(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([0.0, 0.5, 1.0], size=N, p=[0.35, 0.15, 0.5])


def test_perfectly_correlated_languages_give_one_languages_ci() -> None:
    """The same question scored the same in every language is one piece of evidence, not three."""
    f1 = _f1(1)
    run = _run({lang: f1 for lang in LANGUAGES})
    headline = aggregates.summarise(run)["aggregates"]["mlqa"]
    one_language = aggregates.summarise({"all.de": run["all.de"]})["aggregates"]["mlqa"]
    assert headline["f1"] == one_language["f1"]
    # the same ids are drawn for every language, so each draw's mean equals one language's mean
    assert _width(headline["f1_ci95"]) == pytest.approx(_width(one_language["f1_ci95"]), rel=0.08)
    # resampling each language on its own (what rows-as-independent does) would be ~sqrt(3) narrower
    independent = sum(aggregates.config_draws(run)[c][1] for c in run) / len(run)
    assert _width(headline["f1_ci95"]) > 1.5 * _width(stats.percentile_ci(independent))


def test_independent_languages_keep_the_width_of_independent_resampling() -> None:
    run = _run({lang: _f1(seed) for seed, lang in enumerate(LANGUAGES)})
    headline = aggregates.summarise(run)["aggregates"]["mlqa"]
    independent = sum(aggregates.config_draws(run)[c][1] for c in run) / len(run)
    assert _width(headline["f1_ci95"]) == pytest.approx(_width(stats.percentile_ci(independent)), rel=0.1)


def test_disjoint_ids_are_resampled_like_independent_samples() -> None:
    """Languages with no id in common (no parallel instances) keep today's intervals."""
    run = {
        f"all.{lang}": _scores([f"{lang}{i}" for i in range(N)], _f1(seed))
        for seed, lang in enumerate(LANGUAGES)
    }
    headline = aggregates.summarise(run)["aggregates"]["mlqa"]
    independent = sum(aggregates.config_draws(run)[c][1] for c in run) / len(run)
    assert _width(headline["f1_ci95"]) == pytest.approx(_width(stats.percentile_ci(independent)), rel=0.1)


def test_joint_draws_take_instances_of_drawn_ids_with_multiplicity() -> None:
    groups = {"x": (["a", "b"], np.array([[1.0, 0.0]])), "y": (["b", "c"], np.array([[0.0, 1.0]]))}
    draws = stats.joint_bootstrap_means(groups, "t", n_resamples=2000)
    # x's mean in a draw is the share of its drawn instances that are "a"; never outside [0, 1]
    finite = draws["x"][0][~np.isnan(draws["x"][0])]
    assert finite.min() >= 0.0 and finite.max() <= 1.0
    assert np.mean(finite) == pytest.approx(0.5, abs=0.05)
    again = stats.joint_bootstrap_means(groups, "t", n_resamples=2000)
    assert np.array_equal(draws["x"], again["x"], equal_nan=True)  # seeded by name


def test_linearized_se_matches_the_known_cases() -> None:
    f1 = 100 * _f1(3)
    ids = [str(i) for i in range(N)]
    one = stats.linearized_se({"a": (ids, f1)}, {"a": 1.0})
    assert one == pytest.approx(f1.std(ddof=1) / np.sqrt(N))
    same = stats.linearized_se({c: (ids, f1) for c in "abc"}, {c: 1 / 3 for c in "abc"})
    assert same == pytest.approx(one)
    other = {c: ([f"{c}{i}" for i in ids], 100 * _f1(seed)) for seed, c in enumerate("abc")}
    expected = np.sqrt(sum((v.std(ddof=1) / 3) ** 2 / N for _, v in other.values()))
    assert stats.linearized_se(other, {c: 1 / 3 for c in "abc"}) == pytest.approx(expected, rel=0.01)


def test_aggregate_power_is_clustered_by_question_id() -> None:
    f1 = _f1(4)
    correlated = aggregates.summarise(_run({lang: f1 for lang in LANGUAGES}))["aggregates"]["mlqa"]
    alone = aggregates.summarise(_run({"de": f1}))["aggregates"]["mlqa"]
    assert correlated["min_detectable_f1"] == pytest.approx(alone["min_detectable_f1"], rel=1e-3)
    independent = aggregates.summarise(_run({lang: _f1(s) for s, lang in enumerate(LANGUAGES)}))
    assert independent["aggregates"]["mlqa"]["min_detectable_f1"] < 0.7 * correlated["min_detectable_f1"]


def test_power_against_a_second_run_uses_measured_differences() -> None:
    a = _run({"de": _f1(5)})
    b = {"all.de": _scores(a["all.de"].ids, a["all.de"].f1.copy())}
    b["all.de"].f1[:40] = 1.0 - b["all.de"].f1[:40]  # the runs differ on 40 of 400 questions
    report = aggregates.power_report(a, against=b)
    assert report["sd_basis"] == "measured"
    sd = 100 * (a["all.de"].f1 - b["all.de"].f1).std(ddof=1)
    mde = stats.z_sum() * sd / np.sqrt(N)
    assert report["aggregates"]["mlqa"]["min_detectable_f1"] == pytest.approx(mde, abs=1e-3)
    # from one run alone, the difference SD is assumed (sd, rho 0.5): here far above the measured one
    assert aggregates.power_report(a)["aggregates"]["mlqa"]["min_detectable_f1"] > 1.3 * mde


def test_questions_needed_for_a_difference() -> None:
    # (2.8016 * 39.4 / 5)^2 = 487.3 -> 488 questions; 1 F1 needs 25x as many
    assert stats.questions_needed(5.0, 39.4) == 488
    assert stats.questions_needed(1.0, 39.4) == 12185
