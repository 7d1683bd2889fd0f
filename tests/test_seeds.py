"""The multi-seed results dir (the contract with `bench submit`, the leaderboard and `bench compare`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mlqa_domain.benchmark.seeds import parse_seeds, seed_count, summarize, write_seed_results
from mlqa_domain.errors import ConfigError, InputError


def _results(f1_de: float, f1_en: float, count: int = 10) -> dict:
    configs = {
        "legal.de": {"f1": f1_de, "exact_match": f1_de / 2, "count": count, "predictions_sha256": str(f1_de)},
        "legal.en": {"f1": f1_en, "exact_match": f1_en / 2, "count": count, "predictions_sha256": str(f1_en)},
    }
    mean = (f1_de + f1_en) / 2
    return {
        "model": {"id": "run"},
        "dataset": {"fingerprint": "abc", "split": "test"},
        "settings": {"max_seq_length": 384},
        "configs": configs,
        "aggregates": {
            "domain:legal": {
                "f1": mean,
                "exact_match": mean / 2,
                "count": 2 * count,
                "f1_ci95": [mean - 5, mean + 5],
            }
        },
        "scores": {"file": "scores.json", "sha256": str(f1_de)},
        "created": f"2025-01-0{int(f1_de) % 9 + 1}",
    }


def _write(root: Path, seed: int, results: dict) -> Path:
    path = root / f"run-{seed}"
    (path / "predictions").mkdir(parents=True)
    (path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (path / "predictions" / "legal.de.json").write_text("{}", encoding="utf-8")
    return path


def test_summarize_is_the_sample_std_and_a_t_interval() -> None:
    entry = summarize([60.0, 62.0, 67.0])
    std = math.sqrt(((60 - 63) ** 2 + (62 - 63) ** 2 + (67 - 63) ** 2) / 2)
    assert entry["mean"] == 63.0 and entry["std"] == pytest.approx(std) and entry["values"] == [60, 62, 67]
    half = 4.302652729911275 * std / math.sqrt(3)  # t(0.975, 2)
    assert entry["ci95"] == pytest.approx([63 - half, 63 + half])
    assert summarize([61.5]) == {"mean": 61.5, "std": None, "ci95": None, "values": [61.5]}


def test_the_aggregate_is_the_mean_with_the_spread_per_config_and_aggregate(tmp_path: Path) -> None:
    dirs = {1: _write(tmp_path, 1, _results(60.0, 70.0)), 2: _write(tmp_path, 2, _results(64.0, 72.0))}
    out = tmp_path / "results"
    aggregate = write_seed_results(dirs, out)
    assert aggregate == json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert aggregate["configs"]["legal.de"]["f1"] == 62.0 and aggregate["configs"]["legal.de"]["count"] == 10
    assert aggregate["configs"]["legal.de"]["predictions_sha256"] is None  # the files are in the seed dirs
    assert aggregate["scores"] == {"file": None, "sha256": None}
    assert aggregate["aggregates"]["domain:legal"]["f1"] == 66.5
    assert aggregate["aggregates"]["domain:legal"]["f1_ci95"] == [61.5, 71.5]  # mean of the seeds' bounds
    seeds = aggregate["seeds"]
    assert seeds["values"] == [1, 2] and seeds["dirs"] == {"1": "seed-1", "2": "seed-2"}
    assert seeds["per_config"]["legal.de"]["f1"] == summarize([60.0, 64.0])
    assert seeds["per_config"]["legal.en"]["em"] == summarize([35.0, 36.0])
    assert seeds["aggregates"] == {
        "domain:legal": {"f1": summarize([65.0, 68.0]), "em": summarize([32.5, 34.0])}
    }
    for seed in (1, 2):
        assert json.loads((out / f"seed-{seed}" / "results.json").read_text()) == json.loads(
            (dirs[seed] / "results.json").read_text()
        )
        assert (out / f"seed-{seed}" / "predictions" / "legal.de.json").is_file()
    assert seed_count(aggregate) == 2 and seed_count(_results(1.0, 2.0)) == 1
    write_seed_results({1: dirs[1]}, out)  # an earlier multi-seed dir is replaced
    assert json.loads((out / "results.json").read_text())["seeds"]["values"] == [1]


def test_old_style_averages_blocks_are_aggregates_too(tmp_path: Path) -> None:
    results = [_results(60.0, 70.0), _results(62.0, 70.0)]
    for r in results:
        del r["aggregates"]
        r["averages"] = {"overall": {"f1": r["configs"]["legal.de"]["f1"], "exact_match": 1.0, "count": 5}}
    dirs = {s: _write(tmp_path, s, r) for s, r in zip((3, 4), results, strict=True)}
    seeds = write_seed_results(dirs, tmp_path / "out")["seeds"]
    assert seeds["aggregates"]["overall"]["f1"] == summarize([60.0, 62.0])


def test_seeds_that_do_not_match_are_refused(tmp_path: Path) -> None:
    other_counts = _results(64.0, 72.0, count=11)
    dirs = {1: _write(tmp_path, 1, _results(60.0, 70.0)), 2: _write(tmp_path, 2, other_counts)}
    with pytest.raises(InputError, match="seed 2 scored other configs"):
        write_seed_results(dirs, tmp_path / "results")
    assert not (tmp_path / "results").exists()  # nothing half-written
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a multi-seed results directory"):
        write_seed_results({1: dirs[1]}, tmp_path / "notes")
    with pytest.raises(InputError, match="no results.json"):
        write_seed_results({1: tmp_path / "missing"}, tmp_path / "results")


def test_parse_seeds() -> None:
    assert parse_seeds("1, 2,3") == [1, 2, 3]
    for bad in ("1,1", "a", "1,,2", "-1"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_with_scores_files_the_aggregate_cis_come_from_seed_averaged_questions(tmp_path: Path) -> None:
    """Every seed's scores.json -> the aggregate's CIs, gaps and power are those `bench compare` and the
    leaderboard compute for a multi-seed run (one bootstrap over seed-averaged questions)."""
    import numpy as np

    from mlqa_domain.benchmark import aggregates
    from mlqa_domain.benchmark.aggregates import QuestionScores
    from mlqa_domain.benchmark.compare import mean_over_seeds
    from mlqa_domain.hashing import sha256_bytes

    rng = np.random.default_rng(0)
    names = ["legal.de", "general.de", "all.de"]
    dirs, per_seed = {}, []
    for seed in (1, 2):
        scores = {
            n: QuestionScores([f"{n}-{i}" for i in range(20)], rng.integers(0, 2, 20), rng.random(20))
            for n in names
        }
        per_seed.append(scores)
        raw = json.dumps({n: s.to_json() for n, s in scores.items()}).encode("utf-8")
        configs = {n: {"f1": 100 * s.f1.mean(), "exact_match": 100 * s.em.mean(), "count": 20}
                   for n, s in scores.items()}  # fmt: skip
        results = {"model": {"id": "run"}, "dataset": {"fingerprint": "abc", "split": "test"},
                   "settings": {}, "configs": configs,
                   "scores": {"file": "scores.json", "sha256": sha256_bytes(raw)},
                   **aggregates.summarise(scores)}  # fmt: skip
        dirs[seed] = _write(tmp_path, seed, json.loads(json.dumps(results)))
        (dirs[seed] / "scores.json").write_bytes(raw)
    out = tmp_path / "results"
    aggregate = write_seed_results(dirs, out)
    expected = json.loads(json.dumps(aggregates.summarise(mean_over_seeds(per_seed, tmp_path))))
    assert (
        aggregate["aggregates"] == expected["aggregates"]
        and aggregate["config_gaps"] == expected["config_gaps"]
    )
    assert aggregate["power"] == expected["power"]
    written = (out / "scores.json").read_bytes()
    assert aggregate["scores"] == {"file": "scores.json", "sha256": sha256_bytes(written)}
    mean_ci = [
        (a + b) / 2
        for a, b in zip(*(json.loads(json.dumps(aggregates.summarise(s)))["aggregates"]["mlqa"]["f1_ci95"]
                          for s in per_seed), strict=True)
    ]  # fmt: skip
    assert aggregate["aggregates"]["mlqa"]["f1_ci95"] != mean_ci  # not the mean of the seeds' bounds
