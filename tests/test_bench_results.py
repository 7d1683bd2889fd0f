"""Averages, domain gaps and the results directory, on hand-made config scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.benchmark.data import ConfigExamples
from mlqa_domain.benchmark.results import (
    ConfigResult,
    averages,
    domain_gaps,
    predictions_bytes,
    score_config,
    write_results_dir,
)
from mlqa_domain.configs import parse_config_name
from mlqa_domain.errors import InputError


def result(name: str, f1: list[float], em: list[float] | None = None) -> ConfigResult:
    parsed = parse_config_name(name)
    em = f1 if em is None else em
    return ConfigResult(
        config=name,
        domain=parsed.domain,
        context_language=parsed.context_language,
        question_language=parsed.question_language,
        exact_match=100 * float(np.mean(em)),
        f1=100 * float(np.mean(f1)),
        count=len(f1),
        em_per_question=np.asarray(em, dtype=float),
        f1_per_question=np.asarray(f1, dtype=float),
    )


RESULTS = {
    r.config: r
    for r in [
        result("all.de", [1, 0, 0, 1, 1, 0]),
        result("legal.de", [1, 0, 0, 0]),  # 25
        result("general.de", [1, 1, 0, 1]),  # 75
        result("legal.en", [1, 1]),  # 100
        result("general.en", [0, 1]),  # 50
        result("legal.de.en", [0, 1]),  # 50, cross-lingual
        result("general.de.en", [0, 0, 0, 1]),  # 25
        result("biomedical.zh", [0.5, 0.5]),  # 50, no general.zh in the run
    ]
}


def test_averages_per_domain_language_and_overall() -> None:
    avg = averages(RESULTS)
    overall = avg["overall"]
    assert overall["configs"] == ["legal.de", "general.de", "legal.en", "general.en", "biomedical.zh"]
    assert overall["f1"] == pytest.approx((25 + 75 + 100 + 50 + 50) / 5)
    assert overall["count"] == 4 + 4 + 2 + 2 + 2
    assert avg["per_domain"]["legal"]["f1"] == pytest.approx((25 + 100) / 2)  # monolingual only
    assert avg["per_domain"]["all"]["configs"] == ["all.de"]
    assert avg["per_domain"]["general"]["f1"] == pytest.approx((75 + 50) / 2)
    # de: every non-`all` config with a German context, cross-lingual included; de.en listed on its own.
    assert avg["per_language"]["de"]["configs"] == ["legal.de", "general.de", "legal.de.en", "general.de.en"]
    assert avg["per_language"]["de"]["f1"] == pytest.approx((25 + 75 + 50 + 25) / 4)
    assert avg["per_language"]["de.en"]["f1"] == pytest.approx((50 + 25) / 2)
    assert avg["per_language"]["zh"]["count"] == 2


def test_domain_gaps_pair_each_domain_with_general_of_the_same_language() -> None:
    gaps = domain_gaps(RESULTS)
    assert set(gaps) == {"legal.de", "legal.en", "legal.de.en"}  # biomedical.zh: no general.zh
    assert gaps["legal.de"]["general_config"] == "general.de"
    assert gaps["legal.de"]["f1_gap"] == pytest.approx(-50.0)
    assert gaps["legal.de.en"]["general_config"] == "general.de.en"
    assert gaps["legal.de.en"]["f1_gap"] == pytest.approx(25.0)
    for gap in gaps.values():
        low, high = gap["ci95"]
        assert low <= gap["f1_gap"] <= high
        assert gap["em_ci95"][0] <= gap["em_gap"] <= gap["em_ci95"][1]
    # legal.en [1, 1] vs general.en [0, 1]: resampled gaps are 0, 50 or 100
    assert gaps["legal.en"]["ci95"][0] >= 0.0 and gaps["legal.en"]["ci95"][1] == pytest.approx(100.0)
    assert domain_gaps(RESULTS) == gaps  # fixed seed


def test_score_config_uses_the_official_metric_of_the_context_language() -> None:
    examples = ConfigExamples(
        config="legal.de.en",
        ids=["a", "b", "c"],
        questions=["q", "q", "q"],
        contexts=["", "", ""],
        answers=[["der Vertrag"], ["1999"], ["die Mieter"]],
        context_language="de",
        question_language="en",
    )
    scored = score_config(examples, {"a": "Vertrag!", "b": "im Jahr 1999"})  # c missing -> 0
    assert scored.count == 3
    assert scored.em_per_question.tolist() == [1.0, 0.0, 0.0]  # German articles dropped
    assert scored.exact_match == pytest.approx(100 / 3)
    assert scored.f1_per_question[1] == pytest.approx(0.5)  # precision 1/3, recall 1


def test_results_dir_is_written_whole_and_refuses_foreign_dirs(tmp_path: Path) -> None:
    preds = {"legal.de": predictions_bytes({"b": "zwei", "a": "eins ü"})}
    assert preds["legal.de"] == '{"a": "eins ü", "b": "zwei"}'.encode()
    out = tmp_path / "results"
    write_results_dir(out, {"schema_version": 1}, preds)
    assert json.loads((out / "results.json").read_text("utf-8")) == {"schema_version": 1}
    assert (out / "predictions" / "legal.de.json").read_bytes() == preds["legal.de"]
    write_results_dir(out, {"schema_version": 1, "again": True}, {})  # an earlier results dir is replaced
    assert not (out / "predictions" / "legal.de.json").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not overwriting"):
        write_results_dir(foreign, {}, {})
    assert (foreign / "notes.txt").read_text("utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "results"]  # no temp dirs left
