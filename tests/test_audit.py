"""Audit metrics (checked by hand), audit of a built repo from stored scores, sample-for-audit, CLIs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mlqa_domain.builders.export import write_configs
from mlqa_domain.errors import InputError
from mlqa_domain.example import Example
from mlqa_domain.labeling.audit import (
    AuditSettings,
    SampleSettings,
    audit_items,
    confusion_matrix,
    load_rows,
    multilabel_metrics,
    read_gold,
    run_audit,
    sample_for_audit,
)
from mlqa_domain.labeling.classifiers.calibration import Calibration
from mlqa_domain.labeling.ensemble import EnsembleRule, MemberRule, labeling_of

LABELS = ["legal", "biomedical", "finance", "general"]


def test_multilabel_metrics_by_hand() -> None:
    gold = [["legal"], ["legal", "finance"], ["biomedical"], ["general"], ["finance"]]
    pred = [["legal"], ["legal"], ["general"], ["general"], ["legal"]]
    m = multilabel_metrics(gold, pred, LABELS)
    # legal: gold in items 0,1; predicted in 0,1,4 -> tp 2, P 2/3, R 1, F1 0.8
    assert m["per_label"]["legal"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2, "predicted": 3, "tp": 2}
    )
    # biomedical is never predicted: its precision is undefined (NaN), not 0
    biomedical = m["per_label"]["biomedical"]
    assert math.isnan(biomedical.pop("precision"))
    assert biomedical == {"recall": 0.0, "f1": 0.0, "support": 1, "predicted": 0, "tp": 0}
    assert m["per_label"]["finance"]["support"] == 2 and m["per_label"]["finance"]["f1"] == 0.0
    # general: gold in 3; predicted in 2,3 -> P 1/2, R 1, F1 2/3
    assert m["per_label"]["general"]["precision"] == 0.5 and m["per_label"]["general"]["f1"] == pytest.approx(
        2 / 3
    )
    # micro: tp 3, predicted 5, gold 6
    assert m["micro"]["precision"] == pytest.approx(0.6) and m["micro"]["recall"] == pytest.approx(0.5)
    assert m["micro"]["f1"] == pytest.approx(6 / 11)
    # macro over the four labels (precision over the two that were predicted)
    assert m["macro"]["precision"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert m["macro"]["recall"] == pytest.approx(0.5)
    assert m["macro"]["f1"] == pytest.approx((0.8 + 2 / 3) / 4)
    assert m["exact_match"] == pytest.approx(2 / 5)
    # primary gold (rows) x primary predicted (columns)
    assert confusion_matrix(gold, pred, LABELS)["matrix"] == [
        [2, 0, 0, 0],  # legal -> legal twice
        [0, 0, 0, 1],  # biomedical -> general
        [1, 0, 0, 0],  # finance -> legal
        [0, 0, 0, 1],  # general -> general
    ]


# ---------------------------------------------------------------- a repo with stored ensemble scores

DOMAINS = ["legal", "biomedical", "finance"]
TAUS = {"legal": 0.3, "biomedical": 0.3, "finance": 0.3}
RULE = EnsembleRule(
    "weighted_mean",
    DOMAINS,
    [
        MemberRule(
            "emb",
            1.0,
            Calibration.logistic(dict.fromkeys(DOMAINS, 10.0), TAUS),
            TAUS,
            0.05,
            {"type": "embedding"},
        ),
        MemberRule(
            "ft", 1.0, Calibration.identity(), dict.fromkeys(DOMAINS, 0.5), 0.05, {"type": "fasttext"}
        ),
    ],
    dict.fromkeys(DOMAINS, 0.5),
    0.05,
)
# id -> (emb raw, ft raw, gold)
ITEMS = {
    "a": (
        {"legal": 0.50, "biomedical": 0.10, "finance": 0.10},
        {"legal": 0.9, "biomedical": 0.05, "finance": 0.05},
        ["legal"],
    ),
    "b": (
        {"legal": 0.40, "biomedical": 0.10, "finance": 0.10},
        {"legal": 0.2, "biomedical": 0.1, "finance": 0.7},
        ["finance"],
    ),
    "c": (
        {"legal": 0.10, "biomedical": 0.45, "finance": 0.10},
        {"legal": 0.1, "biomedical": 0.8, "finance": 0.1},
        ["biomedical"],
    ),
    "d": (
        {"legal": 0.10, "biomedical": 0.10, "finance": 0.10},
        {"legal": 0.1, "biomedical": 0.1, "finance": 0.1},
        ["general"],
    ),
    "e": (
        {"legal": 0.35, "biomedical": 0.10, "finance": 0.10},
        {"legal": 0.3, "biomedical": 0.1, "finance": 0.1},
        ["legal"],
    ),
}


def _example(id_: str, lang: str, source: str) -> Example:
    emb, ft, _ = ITEMS[id_]
    labeling = labeling_of(RULE, {"emb": emb, "ft": ft})
    context = f"Context {id_} in {lang} about something."
    return Example(
        id=id_,
        split="test",
        context_language=lang,
        question_language=lang,
        context=context,
        question="?",
        answers={"text": ["Context"], "answer_start": [0]},
        domains=labeling.domains,
        domain_scores=labeling.domain_scores,
        classifier_scores=labeling.classifier_scores,
        provenance={**RULE.to_provenance(), "taxonomy": "test", "label_source": source},
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    examples = [_example(i, "en", "pivot:en") for i in ITEMS]
    examples += [_example(i, "de", "pivot:en") for i in ("a", "b")]  # parallel: same labels
    examples.append(_example("e", "de", "own:de"))  # pretend e has no English parallel in German
    write_configs(root, examples, DOMAINS, "general")
    return root


@pytest.fixture(scope="module")
def labels_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    lines = [json.dumps({"id": i, "domains": gold}) for i, (_, _, gold) in ITEMS.items()]
    lines.append(json.dumps({"id": "zzz", "domains": ["legal"]}))  # not in the data
    lines.append(json.dumps({"id": "yyy", "domains": []}))  # not labelled yet
    path.write_text("\n".join(lines) + "\n")
    return path


def test_stored_labels_are_what_the_rule_gives() -> None:
    # a: both legal; b: legal (0.73 + 0.2)/2 = 0.465 < 0.5, finance (0.119 + 0.7)/2 = 0.41 -> general
    assert [_example(i, "en", "pivot:en").domains for i in ITEMS] == [
        ["legal"],
        ["general"],
        ["biomedical"],
        ["general"],
        ["general"],
    ]


def test_audit_items_one_per_pivot_id(repo: Path) -> None:
    items = audit_items(load_rows(repo))
    assert [(i.id, i.context_language) for i in items] == [
        ("a", "en"),
        ("b", "en"),
        ("c", "en"),
        ("d", "en"),
        ("e", "de"),  # labelled in its own language: its own item
        ("e", "en"),
    ]


def test_audit_of_built_repo_by_hand(repo: Path, labels_file: Path) -> None:
    report = run_audit(labels_file, AuditSettings(data=repo, steps=5))
    assert report["items"] == 6 and report["labelled_ids"] == 6 and report["unlabelled_ids"] == 1
    assert report["missing_ids"] == ["zzz"]
    assert list(report["scorers"]) == ["emb", "ft", "ensemble"]
    # gold per item: a legal, b finance, c biomedical, d general, e legal (twice: de and en)
    # emb alone (τ 0.3, δ 0.05): a legal, b legal, c biomedical, d general, e legal, e legal
    emb = report["scorers"]["emb"]["metrics"]["per_label"]
    assert emb["legal"] == pytest.approx(
        {"precision": 0.75, "recall": 1.0, "f1": 6 / 7, "support": 3, "predicted": 4, "tp": 3}
    )
    assert emb["finance"]["recall"] == 0.0 and emb["biomedical"]["f1"] == 1.0
    # ft alone (τ 0.5): a legal, b finance, c biomedical, d general, e general, e general
    ft = report["scorers"]["ft"]["metrics"]["per_label"]
    assert ft["legal"]["precision"] == 1.0 and ft["legal"]["recall"] == pytest.approx(1 / 3)
    assert ft["finance"]["f1"] == 1.0 and ft["general"]["precision"] == pytest.approx(1 / 3)
    # ensemble: a legal, b general, c biomedical, d general, e general x2
    ens = report["scorers"]["ensemble"]
    assert ens["metrics"]["micro"]["precision"] == pytest.approx(3 / 6)
    assert ens["confusion"]["labels"] == ["legal", "biomedical", "finance", "general"]
    assert ens["confusion"]["matrix"] == [[1, 0, 0, 2], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]]
    # the sweep at the τ in force reproduces the main numbers; far above every score nothing is predicted
    legal_sweep = {p["tau"]: p for p in ens["sweep"]["legal"]}
    assert legal_sweep[0.5]["precision"] == ens["metrics"]["per_label"]["legal"]["precision"]
    assert legal_sweep[0.5]["recall"] == pytest.approx(1 / 3)
    top = max(legal_sweep)
    assert legal_sweep[top]["predicted"] >= 1  # the grid ends at the highest observed score
    emb_sweep = report["scorers"]["emb"]["sweep"]["legal"]
    assert emb_sweep[0]["tau"] == 0.1 and emb_sweep[0]["recall"] == 1.0
    assert emb_sweep[-1]["tau"] == 0.5 and emb_sweep[-1]["predicted"] == 1  # only a reaches 0.5


def test_read_gold_errors(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    for content, message in (
        ('{"id": "a", "domains": ["sports"]}\n', "line 1: unknown domain"),
        (
            '{"id": "a", "domains": ["legal"]}\n{"id": "a", "domains": ["legal"]}\n',
            "line 2: id 'a' labelled twice",
        ),
        ('{"domains": ["legal"]}\n', 'line 1: expected an object with a string "id"'),
        ("{bad\n", "line 1, column 2: invalid JSON"),
        ('{"id": "a", "domains": []}\n', "no labelled examples"),
    ):
        path.write_text(content)
        with pytest.raises(InputError, match=message):
            read_gold(path, LABELS)
    path.write_text('{"id": "a", "domains": "legal"}\n')
    assert read_gold(path, LABELS) == ({"a": ["legal"]}, 0)


def _rows(n_general: int, n_legal: int, n_near: int) -> list[dict]:
    rule = EnsembleRule(
        "single",
        ["legal"],
        [MemberRule("emb", 1.0, Calibration.identity(), {"legal": 0.3}, 0.05, {"type": "embedding"})],
        {"legal": 0.3},
        0.05,
    )
    provenance = json.dumps({**rule.to_provenance(), "label_source": "pivot:en"})
    rows = []
    for i, (score, count) in enumerate(((0.05, n_general), (0.6, n_legal), (0.32, n_near))):
        for j in range(count):
            labeling = labeling_of(rule, {"emb": {"legal": score}})
            rows.append(
                {
                    "id": f"{i}-{j:02d}",
                    "split": "test",
                    "context_language": "en",
                    "title": None,
                    "context": f"text {i} {j}",
                    "domains": labeling.domains,
                    "domain_scores": labeling.domain_scores,
                    "classifier_scores": labeling.classifier_scores,
                    "provenance": provenance,
                }
            )
    return rows


def test_sample_for_audit_is_stratified() -> None:
    rows = _rows(n_general=20, n_legal=6, n_near=4)
    sample = sample_for_audit(rows, SampleSettings(n=9, seed=1))
    counts = {s: sum(r["stratum"] == s for r in sample) for s in {r["stratum"] for r in sample}}
    assert counts == {"near_threshold": 3, "predicted:general": 3, "predicted:legal": 3}
    assert all(r["domains"] == [] and r["context"] for r in sample)
    assert all(
        abs(r["domain_scores"]["legal"] - 0.3) <= 0.05 for r in sample if r["stratum"] == "near_threshold"
    )
    assert sample == sample_for_audit(rows, SampleSettings(n=9, seed=1))
    assert {r["id"] for r in sample} != {r["id"] for r in sample_for_audit(rows, SampleSettings(n=9, seed=2))}
    # strata that run dry hand their share to the others
    bigger = sample_for_audit(rows, SampleSettings(n=20, seed=1))
    counts = {s: sum(r["stratum"] == s for r in bigger) for s in {r["stratum"] for r in bigger}}
    assert counts == {"near_threshold": 4, "predicted:legal": 6, "predicted:general": 10}
    assert len({r["id"] for r in bigger}) == 20
    assert len(sample_for_audit(rows, SampleSettings(n=100))) == 30


# ---------------------------------------------------------------- CLI


def _app() -> typer.Typer:
    from mlqa_domain.cli import app

    return app


def test_audit_cli_prints_tables_and_writes_plot_and_json(
    repo: Path, labels_file: Path, tmp_path: Path
) -> None:
    plot, numbers, calibration = tmp_path / "sweep.png", tmp_path / "audit.json", tmp_path / "cal.yaml"
    args = [
        "audit",
        "--data",
        str(repo),
        "--labels",
        str(labels_file),
        "--plot",
        str(plot),
        "--json",
        str(numbers),
    ]
    result = CliRunner().invoke(_app(), [*args, "--fit-calibration", str(calibration), "--steps", "4"])
    assert result.exit_code == 0, result.output
    for text in ("emb: per-domain precision", "ensemble: confusion", "ft: threshold sweep", "micro", "macro"):
        assert text in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(numbers.read_text())["scorers"]["ensemble"]["metrics"]["count"] == 6
    import yaml

    fitted = yaml.safe_load(calibration.read_text())
    # emb legal scores .5 .4 .1 .1 .35 .35 with gold legal for a, e, e: the boundary sits near 0.3
    assert fitted["emb"]["type"] == "logistic" and 0.25 < fitted["emb"]["center"]["legal"] < 0.35


def test_audit_cli_bad_input(repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["audit", "--data", str(tmp_path), "--labels", str(tmp_path / "x.jsonl")]
    )
    assert isinstance(result.exception, InputError) and "no data/all.<lang>" in str(result.exception)
    result = CliRunner().invoke(_app(), ["audit", "--data", str(repo), "--labels", str(tmp_path / "x.jsonl")])
    assert isinstance(result.exception, InputError) and "labels file not found" in str(result.exception)


def test_sample_for_audit_cli(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "sample.jsonl"
    result = CliRunner().invoke(
        _app(), ["sample-for-audit", "--data", str(repo), "--n", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 and all(r["domains"] == [] for r in records)
    assert len({r["id"] for r in records}) == 3
    # a filled-in sample is a labels file
    for record in records:
        record["domains"] = ["general"]
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert run_audit(out, AuditSettings(data=repo))["items"] >= 3


def test_console_errors_are_one_line_with_status_2(repo: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": "a", "domains": ["sports"]}\n')
    command = [sys.executable, "-m", "mlqa_domain.cli", "audit", "--data", str(repo), "--labels", str(bad)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: {bad}: line 1: unknown domain(s) sports (known: legal, biomedical, finance, general)"
    )
    assert "Traceback" not in result.stderr
