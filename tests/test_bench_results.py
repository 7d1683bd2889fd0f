"""Aggregates (one definition each), gaps, power and the results directory, on hand-made scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain import stats
from mlqa_domain.benchmark import aggregates
from mlqa_domain.benchmark.aggregates import QuestionScores
from mlqa_domain.benchmark.data import ConfigExamples
from mlqa_domain.benchmark.results import (
    check_results_dir,
    predictions_bytes,
    run_identity,
    score_config,
    write_results_dir,
)
from mlqa_domain.errors import InputError

README = Path(__file__).resolve().parents[1] / "README.md"


def scores(f1: list[float], em: list[float] | None = None, prefix: str = "q") -> QuestionScores:
    em = f1 if em is None else em
    return QuestionScores([f"{prefix}{i}" for i in range(len(f1))], em, f1)


# 6 German questions: q0-q1 legal, q2 legal AND biomedical, q3 biomedical, q4-q5 general.
PER_QUESTION = {
    "all.de": scores([1, 0, 1, 1, 0, 1]),
    "legal.de": scores([1, 0, 1]),  # 66.7
    "biomedical.de": scores([1, 1]),  # 100
    "general.de": scores([0, 1]),  # 50
    "all.en": scores([0, 0, 1, 1]),  # 50
    "legal.en": scores([0, 0]),  # 0
    "general.en": scores([1, 1]),  # 100
    "all.de.en": scores([0, 1, 1, 1]),  # 75, cross-lingual
    "legal.de.en": scores([0, 1]),
    "general.de.en": scores([1, 1]),
    "all.en.de": scores([0, 0, 0, 1]),  # 25
}


def test_headline_is_the_mean_of_all_lang_and_counts_each_question_once() -> None:
    summary = aggregates.summarise(PER_QUESTION)
    headline = summary["aggregates"]["mlqa"]
    assert headline["configs"] == ["all.de", "all.en"] and headline["languages"] == ["de", "en"]
    assert headline["f1"] == pytest.approx((100 * 4 / 6 + 50) / 2, abs=1e-4)
    # 6 + 4 questions, although q2 has two domains (the domain configs would count it twice)
    assert headline["count"] == 10
    assert sum(PER_QUESTION[c].count for c in ("legal.de", "biomedical.de", "general.de")) == 7


def test_domain_aggregates_are_means_over_languages_of_monolingual_configs() -> None:
    values = aggregates.summarise(PER_QUESTION)["aggregates"]
    assert values["domain:legal"]["configs"] == ["legal.de", "legal.en"]  # not legal.de.en
    assert values["domain:legal"]["f1"] == pytest.approx((200 / 3 + 0) / 2, abs=1e-4)
    assert values["domain:biomedical"]["languages"] == ["de"]
    assert values["domain:general"]["f1"] == pytest.approx(75.0)
    assert list(values) == [
        "mlqa",
        "domain:biomedical",
        "domain:legal",
        "domain:general",
        "gap:biomedical",
        "gap:legal",
    ]
    # the gap: domain minus general over the languages with both (biomedical: de only)
    assert values["gap:legal"]["f1"] == pytest.approx(((200 / 3 - 50) + (0 - 100)) / 2, abs=1e-4)
    assert values["gap:biomedical"]["f1"] == pytest.approx(50.0) and values["gap:biomedical"][
        "languages"
    ] == ["de"]
    for name, value in values.items():
        low, high = value["f1_ci95"]
        assert low <= value["f1"] <= high, name


def test_point_values_from_config_scores_equal_those_from_questions() -> None:
    """What a multi-seed writer averages (config scores) gives the same aggregates as the questions."""
    summary = aggregates.summarise(PER_QUESTION)
    configs = {
        n: {"f1": 100 * s.f1.mean(), "exact_match": 100 * s.em.mean(), "count": s.count}
        for n, s in PER_QUESTION.items()
    }
    from_configs = aggregates.aggregate_scores(configs)
    for name, value in from_configs.items():
        assert value["f1"] == summary["aggregates"][name]["f1"]
        assert value["count"] == summary["aggregates"][name]["count"]


def test_cross_lingual_pairs_form_their_own_matrix() -> None:
    matrix = aggregates.summarise(PER_QUESTION)["cross_lingual"]
    assert matrix["languages"] == ["de", "en"]
    assert matrix["f1"]["de"] == {"de": pytest.approx(66.6667), "en": 75.0}  # rows: context language
    assert matrix["f1"]["en"]["de"] == 25.0 and matrix["count"]["de"]["en"] == 4


def test_config_gaps_pair_each_domain_config_with_general_of_the_same_languages() -> None:
    gaps = aggregates.summarise(PER_QUESTION)["config_gaps"]
    assert set(gaps) == {"legal.de", "legal.en", "legal.de.en", "biomedical.de"}
    assert gaps["legal.de.en"]["general_config"] == "general.de.en"
    assert gaps["legal.en"]["f1_gap"] == -100.0 and gaps["legal.en"]["f1_ci95"] == [-100.0, -100.0]
    for gap in gaps.values():
        assert gap["f1_ci95"][0] <= gap["f1_gap"] <= gap["f1_ci95"][1]
        assert gap["em_ci95"][0] <= gap["em_gap"] <= gap["em_ci95"][1]
    assert aggregates.summarise(PER_QUESTION)["config_gaps"] == gaps  # fixed seeds


def test_a_gap_ci_is_the_bootstrap_of_the_two_configs_draws() -> None:
    rng = np.random.default_rng(0)
    legal, general = rng.uniform(size=80), rng.uniform(size=120)
    per_question = {"legal.de": scores(list(legal)), "general.de": scores(list(general), prefix="g")}
    gap = aggregates.summarise(per_question)["config_gaps"]["legal.de"]
    draws = 100 * (
        stats.bootstrap_means([legal, legal], "legal.de")
        - stats.bootstrap_means([general, general], "general.de")
    )
    assert gap["f1_ci95"] == [round(v, 4) for v in stats.percentile_ci(draws[1])]


def test_power_per_split_is_the_minimum_detectable_f1_difference() -> None:
    rng = np.random.default_rng(1)
    f1 = (rng.uniform(size=400) < 0.6).astype(float)
    power = aggregates.summarise({"legal.de": scores(list(f1))})["power"]["legal.de"]
    sd = 100 * f1.std(ddof=1)
    assert power["count"] == 400 and power["f1_sd"] == pytest.approx(sd, abs=1e-4)
    assert power["min_detectable_f1"] == pytest.approx(2.8016 * sd / 20, abs=1e-3)  # sqrt(400) = 20
    small = aggregates.summarise({"legal.de": scores(list(f1[:25]))})["power"]["legal.de"]
    assert small["min_detectable_f1"] > 3 * power["min_detectable_f1"]


def test_definitions_are_written_once_and_match_the_readme() -> None:
    readme = " ".join(README.read_text("utf-8").split())
    for key, text in aggregates.DEFINITIONS.items():
        assert " ".join(text.split()) in readme, key


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
    assert scored.count == 3 and scored.ids == ["a", "b", "c"]
    assert scored.em_per_question.tolist() == [1.0, 0.0, 0.0]  # German articles dropped
    assert scored.exact_match == pytest.approx(100 / 3)
    assert scored.f1_per_question[1] == pytest.approx(0.5)  # precision 1/3, recall 1


def test_results_dir_is_written_whole_and_refuses_foreign_dirs(tmp_path: Path) -> None:
    preds = {"legal.de": predictions_bytes({"b": "zwei", "a": "eins ü"})}
    assert preds["legal.de"] == '{"a": "eins ü", "b": "zwei"}'.encode()
    out = tmp_path / "results"
    write_results_dir(out, {"schema_version": 1}, preds, b"{}")
    assert json.loads((out / "results.json").read_text("utf-8")) == {"schema_version": 1}
    assert (out / "predictions" / "legal.de.json").read_bytes() == preds["legal.de"]
    assert (out / "scores.json").read_bytes() == b"{}"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not overwriting"):
        write_results_dir(foreign, {}, {})
    with pytest.raises(InputError, match="not overwriting"):
        check_results_dir(foreign, {}, force=True)  # --force replaces runs, never other directories
    assert (foreign / "notes.txt").read_text("utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "results"]  # no temp dirs left


def _results(configs: list[str], **settings) -> dict:
    return {
        "model": {"id": "m", "revision": None},
        "dataset": {"fingerprint": "sha256:" + "0" * 64, "split": "test"},
        "settings": {"max_seq_length": 384, "device": "cpu", "batch_size": 32, **settings},
        "configs": dict.fromkeys(configs, {}),
    }


def test_an_earlier_run_is_replaced_only_when_it_is_the_same_run_or_with_force(tmp_path: Path) -> None:
    out = tmp_path / "results"
    write_results_dir(out, _results([f"c{i}.de" for i in range(96)]), {})
    same = run_identity(_results([f"c{i}.de" for i in range(96)], device="cuda", batch_size=8))
    check_results_dir(out, same)  # the same run on another device: replaced
    one = run_identity(_results(["c0.de"]))
    with pytest.raises(InputError, match=re.escape("configs: 96 items -> ['c0.de']")) as caught:
        check_results_dir(out, one)
    assert "--force" in str(caught.value)
    with pytest.raises(InputError, match="settings.max_seq_length: 384 -> 256"):
        check_results_dir(out, run_identity(_results([f"c{i}.de" for i in range(96)], max_seq_length=256)))
    check_results_dir(out, one, force=True)
