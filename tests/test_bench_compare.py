"""`bench compare`: paired differences of two runs per config and aggregate, multi-seed runs, entries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.leaderboard import factory
from typer.testing import CliRunner

from mlqa_domain import stats
from mlqa_domain.bench_cli import app as bench_app
from mlqa_domain.benchmark.aggregates import QuestionScores
from mlqa_domain.benchmark.compare import Run, compare_runs, load_results_run, mean_over_seeds
from mlqa_domain.benchmark.seeds import write_seed_results
from mlqa_domain.errors import InputError
from mlqa_domain.leaderboard.dataset_info import init_leaderboard
from mlqa_domain.leaderboard.render import render_site
from mlqa_domain.leaderboard.store import LocalStore
from mlqa_domain.leaderboard.verify import submit

FINGERPRINT = "sha256:" + "1" * 64


def run(scores: dict[str, QuestionScores], label: str = "m") -> Run:
    return Run(label=label, source=label, fingerprint=FINGERPRINT, split="test", scores=scores)


def question_scores(f1: np.ndarray, prefix: str = "q") -> QuestionScores:
    return QuestionScores([f"{prefix}{i}" for i in range(len(f1))], (f1 == 1).astype(float), f1)


@pytest.fixture(scope="module")
def correlated() -> tuple[Run, Run]:
    """B: a model; A: the same model that gets 8% of its wrong answers right (paired, correlated)."""
    rng = np.random.default_rng(0)
    scores_a, scores_b = {}, {}
    for config, n in (
        ("all.de", 400),
        ("all.es", 400),
        ("legal.de", 120),
        ("legal.es", 120),
        ("general.de", 200),
        ("general.es", 200),
    ):
        b = (rng.uniform(size=n) < 0.6).astype(float)
        a = np.where((b == 0) & (rng.uniform(size=n) < 0.2), 1.0, b)
        scores_a[config], scores_b[config] = question_scores(a), question_scores(b)
    return run(scores_a, "A"), run(scores_b, "B")


def test_a_real_improvement_is_found_by_the_paired_test(correlated) -> None:
    a, b = correlated
    report = compare_runs(a, b)
    row = report["configs"]["all.de"]
    diff = 100 * (a.scores["all.de"].f1.mean() - b.scores["all.de"].f1.mean())
    assert row["difference"]["f1"] == pytest.approx(diff, abs=1e-4) and diff > 0
    assert row["f1_ci95"][0] > 0 and row["p_value"] < 0.01
    # paired: far narrower than treating the two runs as independent samples
    independent = stats.diff_ci(a.scores["all.de"].f1, b.scores["all.de"].f1, "all.de")
    assert row["f1_ci95"][1] - row["f1_ci95"][0] < 0.6 * 100 * (independent[1] - independent[0])
    headline = report["aggregates"]["mlqa"]
    expected = (
        report["configs"]["all.de"]["difference"]["f1"] + report["configs"]["all.es"]["difference"]["f1"]
    ) / 2
    assert headline["difference"]["f1"] == pytest.approx(expected, abs=1e-3)
    assert headline["a"]["f1"] - headline["b"]["f1"] == pytest.approx(headline["difference"]["f1"], abs=1e-3)
    assert headline["count"] == 800 and headline["min_detectable_f1"] < row["min_detectable_f1"]
    assert set(report["aggregates"]) == {"mlqa", "domain:legal", "domain:general", "gap:legal"}
    gap = report["aggregates"]["gap:legal"]  # does A change the legal gap? (a difference of differences)
    assert gap["f1_ci95"][0] <= gap["difference"]["f1"] <= gap["f1_ci95"][1]


def test_a_run_compared_with_itself_differs_by_nothing(correlated) -> None:
    a, _ = correlated
    report = compare_runs(a, a)
    for row in [*report["configs"].values(), *report["aggregates"].values()]:
        assert row["difference"]["f1"] == 0 and row["f1_ci95"] == [0.0, 0.0] and row["p_value"] == 1.0


def test_runs_on_other_data_or_questions_are_refused(correlated) -> None:
    a, b = correlated
    other = Run("C", "C", "sha256:" + "2" * 64, "test", b.scores)
    with pytest.raises(InputError, match="scored on different data"):
        compare_runs(a, other)
    shifted = run({"all.de": question_scores(np.ones(400), prefix="x")}, "D")
    with pytest.raises(
        InputError, match=r"config all\.de: the runs scored different questions \(400 only in A"
    ):
        compare_runs(a, shifted)


def test_seed_means_are_per_question() -> None:
    one = {"legal.de": QuestionScores(["a", "b"], [1, 0], [1.0, 0.5])}
    two = {"legal.de": QuestionScores(["b", "a"], [1, 0], [1.0, 0.0])}  # another order
    mean = mean_over_seeds([one, two], Path("x"))["legal.de"]
    assert mean.ids == ["a", "b"] and mean.f1.tolist() == [0.5, 0.75] and mean.em.tolist() == [0.5, 0.5]
    with pytest.raises(InputError, match="the seeds did not score the same questions"):
        mean_over_seeds([one, {"legal.de": QuestionScores(["a"], [1], [1.0])}], Path("x"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return factory.build_dataset_repo(tmp_path_factory.mktemp("cmp-dataset") / "mlqa-domain")


@pytest.fixture(scope="module")
def gold(dataset):
    return factory.load_gold(dataset)


def test_cli_compares_two_results_dirs_and_writes_json_and_a_forest_plot(tmp_path, dataset, gold) -> None:
    a = factory.write_results_dir(tmp_path / "a", dataset, gold, "org/mnli-squad", 0.8, scores=True)
    b = factory.write_results_dir(tmp_path / "b", dataset, gold, "org/squad", 0.4, scores=True)
    out = tmp_path / "report" / "a-vs-b.json"
    result = CliRunner().invoke(bench_app, ["compare", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "A = org/mnli-squad" in result.output and "mlqa" in result.output and "gap:legal" in result.output
    report = json.loads(out.read_text("utf-8"))
    assert report["a"]["label"] == "org/mnli-squad" and report["paired"] is True
    assert set(report["configs"]) == set(gold) and report["aggregates"]["mlqa"]["count"] == 36
    for name, row in report["configs"].items():
        claimed_a = json.loads((a / "results.json").read_text("utf-8"))["configs"][name]["f1"]
        assert row["a"]["f1"] == pytest.approx(claimed_a, abs=1e-4)
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # without scores.json the predictions are re-scored against --data: the same numbers
    (a / "scores.json").unlink()
    (b / "scores.json").unlink()
    with pytest.raises(InputError, match="pass --data REPO"):
        load_results_run(a)
    rescored = compare_runs(load_results_run(a, str(dataset)), load_results_run(b, str(dataset)))
    assert rescored["configs"] == report["configs"] and rescored["aggregates"] == report["aggregates"]


def test_a_tampered_scores_file_is_refused(tmp_path, dataset, gold) -> None:
    a = factory.write_results_dir(tmp_path / "a", dataset, gold, "org/a", 0.8, scores=True)
    data = json.loads((a / "scores.json").read_text("utf-8"))
    data["legal.de"]["f1"][0] = 1.0 - data["legal.de"]["f1"][0]
    (a / "scores.json").write_text(json.dumps(data), "utf-8")
    with pytest.raises(InputError, match="scores.json does not match the sha256"):
        load_results_run(a)


def _multi_seed(root: Path, dataset: Path, gold, model: str, skills: dict[int, float]) -> Path:
    seeds = {
        seed: factory.write_results_dir(root / f"{model}-{seed}", dataset, gold, model, skill, scores=True)
        for seed, skill in skills.items()
    }
    write_seed_results(seeds, root / model / "results")
    return root / model


def test_multi_seed_runs_compare_on_seed_means_and_go_on_the_leaderboard(tmp_path, dataset, gold) -> None:
    multi = _multi_seed(tmp_path, dataset, gold, "mnli-squad", {1: 0.9, 2: 0.5, 3: 0.7})
    single = factory.write_results_dir(tmp_path / "squad", dataset, gold, "squad", 0.4, scores=True)
    a = load_results_run(multi)  # a `bench stilts --seeds` run dir: its results/ is found
    assert a.seeds == [1, 2, 3]
    seed_f1 = [
        json.loads((multi / "results" / f"seed-{s}" / "results.json").read_text("utf-8"))["configs"][
            "legal.de"
        ]["f1"]
        for s in (1, 2, 3)
    ]
    assert 100 * a.scores["legal.de"].f1.mean() == pytest.approx(np.mean(seed_f1))
    report = compare_runs(a, load_results_run(single))
    assert report["a"]["seeds"] == [1, 2, 3] and report["configs"]["legal.de"]["a"]["f1"] == pytest.approx(
        np.mean(seed_f1), abs=1e-4
    )

    store = LocalStore(tmp_path / "board")
    init_leaderboard(store, dataset)
    entry = submit(multi, store, submitter="ana")
    assert entry.submission.seed_values == [1, 2, 3]
    assert entry.verification.configs["legal.de"].f1 == pytest.approx(np.mean(seed_f1))
    spread = entry.verification.seeds.aggregates["mlqa"]["f1"]
    assert (
        len(spread.values) == 3
        and spread.std > 0
        and spread.mean == pytest.approx(entry.verification.aggregates["mlqa"].f1, abs=1e-3)
    )
    stored = {
        p.relative_to(store.root / "entries" / entry.entry_id).as_posix()
        for p in (store.root / "entries" / entry.entry_id).rglob("*")
        if p.is_file()
    }
    assert {
        "entry.json",
        "results.json",
        "scores.json",
        "seed-2/results.json",
        "seed-2/predictions/legal.de.json",
    } <= stored
    # a seed whose predictions do not give its claimed scores is caught like a single run
    path = multi / "results" / "seed-2" / "results.json"
    claims = json.loads(path.read_text("utf-8"))
    claims["configs"]["legal.es"]["f1"] += 5
    path.write_text(json.dumps(claims), "utf-8")
    board2 = LocalStore(tmp_path / "board2")
    init_leaderboard(board2, dataset)
    with pytest.raises(InputError, match=r"seed-2/results\.json: config legal\.es: claimed f1"):
        submit(multi, board2, submitter="ana")

    plain = submit(single, store, submitter="ana", intermediate_tasks=[])
    result = CliRunner().invoke(
        bench_app, ["compare", entry.entry_id, "squad", "-l", str(store.root), "--all-configs"]
    )
    assert result.exit_code == 0, result.output
    assert "A = mnli-squad" in result.output and "legal.de" in result.output
    site = render_site(store, tmp_path / "site", baseline=plain.entry_id)
    page = (tmp_path / "site" / "entries" / f"{entry.entry_id}.html").read_text("utf-8")
    assert f'href="{plain.entry_id}.html"' in page and "mean over 3 seeds" in page
    assert [r.n_seeds for r in site.rows] == [3, 1]
