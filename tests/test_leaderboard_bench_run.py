"""End to end through `bench`: a real `bench run` (tiny XLM-R) goes on an empty leaderboard and its page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from fixtures.leaderboard import factory
from typer.testing import CliRunner

from mlqa_domain.bench_cli import app as bench_app
from mlqa_domain.benchmark.runner import run_benchmark
from mlqa_domain.benchmark.settings import RunSettings
from mlqa_domain.leaderboard.store import LocalStore
from mlqa_domain.leaderboard.table import build_table


def test_bench_run_result_is_accepted_and_rendered(tmp_path, tiny_xlmr):
    dataset = factory.build_dataset_repo(tmp_path / "dataset")
    run_dir = tmp_path / "run"
    settings = RunSettings(
        configs=None,  # every config: the leaderboard ranks complete runs only
        device="cpu",
        batch_size=16,  # the default protocol (mlqa-v1): the leaderboard ranks only that
    )
    results = run_benchmark(
        str(tiny_xlmr),
        str(dataset),
        run_dir,
        settings,
        model_card={"base_model": "tiny-xlmr", "intermediate_tasks": ["mnli"]},
    )
    board = tmp_path / "board"
    runner = CliRunner()
    result = runner.invoke(
        bench_app, ["leaderboard", "init", "--leaderboard", str(board), "--data", str(dataset)]
    )
    assert result.exit_code == 0, result.output
    store = LocalStore(board)

    # a tampered copy first, through the real `bench` entry point: one line, exit 2, store still empty
    tampered = tmp_path / "tampered"
    shutil.copytree(run_dir, tampered)
    data = json.loads((tampered / "results.json").read_text("utf-8"))
    data["configs"]["legal.es"]["f1"] = round(data["configs"]["legal.es"]["f1"] + 10.0, 3)
    (tampered / "results.json").write_text(json.dumps(data), "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mlqa_domain.bench_cli", "submit", str(tampered), "-l", str(board)]
        + ["--submitter", "mallory"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(
        rf"error: {re.escape(str(tampered / 'results.json'))}: config legal\.es: claimed f1 \S+ but the "
        r"predictions score \S+ against the gold answers",
        proc.stderr.strip(),
    ), proc.stderr
    assert store.entry_ids() == []

    result = runner.invoke(
        bench_app, ["submit", str(run_dir), "--leaderboard", str(board), "--submitter", "ana"]
    )
    assert result.exit_code == 0, result.output
    (entry,) = store.entries()
    assert entry.submission.model.base_model == "tiny-xlmr"
    assert entry.submission.model.intermediate_tasks == ["mnli"]
    assert set(entry.verification.configs) == set(results["configs"])
    for config, claim in results["configs"].items():
        assert entry.verification.configs[config].f1 == pytest.approx(claim["f1"], abs=1e-6)
    # bench run and the leaderboard: one bootstrap, so identical gaps and CIs for identical predictions
    assert set(entry.verification.config_gaps) == set(results["config_gaps"]) != set()
    for config, gap in results["config_gaps"].items():
        stored = entry.verification.config_gaps[config]
        assert (stored.f1_gap, list(stored.f1_ci95), stored.em_gap, list(stored.em_ci95)) == (
            gap["f1_gap"],
            gap["f1_ci95"],
            gap["em_gap"],
            gap["em_ci95"],
        )
    for name, value in results["aggregates"].items():
        stored = entry.verification.aggregates[name]
        assert (stored.f1, list(stored.f1_ci95)) == (value["f1"], value["f1_ci95"])
        assert stored.count == value["count"]
        assert stored.min_detectable_f1 == value["min_detectable_f1"]
        if name.startswith("gap:"):
            domain_gap = entry.verification.domain_gaps[name.removeprefix("gap:")]
            assert (domain_gap.f1_gap, list(domain_gap.f1_ci95)) == (value["f1"], value["f1_ci95"])
    assert {c: p.model_dump() for c, p in entry.verification.power.items()} == results["power"]

    site = tmp_path / "site"
    result = runner.invoke(
        bench_app, ["leaderboard", "render", "--leaderboard", str(board), "--out", str(site)]
    )
    assert result.exit_code == 0, result.output
    table = build_table(store.entries())
    assert [r.entry_id for r in table.rows] == [entry.entry_id]
    index = (site / "index.html").read_text("utf-8")
    assert f'<tr data-entry="{entry.entry_id}">' in index
    assert (site / "entries" / f"{entry.entry_id}.html").is_file()
    assert table.rows[0].mlqa_f1 == results["aggregates"]["mlqa"]["f1"]
