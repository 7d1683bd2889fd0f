"""fastText domain classifier: training data formats, a tiny model trained in the test, applying it, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.jsonio import finite_or_null
from mlqa_domain.labeling.classifiers.fasttext_classifier import (
    FastTextClassifier,
    LabelledText,
    TrainSettings,
    evaluate_model,
    preprocess,
    read_labelled,
    resolve_model_file,
    split_holdout,
    train_classifier,
)

DOMAINS = ["biomedical", "legal", "finance", "science"]
SMALL = TrainSettings(epoch=40, lr=0.5, word_ngrams=2, dim=16, seed=0, threads=1)

LEGAL = "The court ruled that the lease was void because the tenant breached the contract."
MEDICAL = "The patients were treated with antibiotics for the infection in a clinical trial."
FINANCE = "The central bank raised interest rates and the shares of banks fell."
GENERAL = "The castle stands on a hill above the river and the old town."


@pytest.fixture(scope="module")
def train_file(fixtures_dir: Path) -> Path:
    return fixtures_dir / "classifiers" / "domain_train.txt"


@pytest.fixture(scope="module")
def model_path(train_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ft") / "domain.bin"
    train_classifier(train_file, out, replace(SMALL, valid_fraction=0.0))
    return out


def test_preprocess_splits_punctuation_and_lowercases() -> None:
    assert preprocess("The Court  ruled,\n(finally).") == "the court ruled , ( finally ) ."


def test_read_label_lines_and_jsonl(tmp_path: Path) -> None:
    lines = tmp_path / "train.txt"
    lines.write_text("__label__legal __label__finance A loan contract.\n\n__label__general Some text\n")
    assert read_labelled(lines) == [
        LabelledText(("legal", "finance"), "A loan contract."),
        LabelledText(("general",), "Some text"),
    ]
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text(
        json.dumps({"text": "A drug trial.", "labels": ["biomedical"]})
        + "\n"
        + json.dumps({"text": "A bond.", "labels": "finance"})
        + "\n"
    )
    assert read_labelled(jsonl) == [
        LabelledText(("biomedical",), "A drug trial."),
        LabelledText(("finance",), "A bond."),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.txt", "legal no prefix\n", "line 1: expected '__label__<domain> text'"),
        ("a.txt", "__label__legal\n", "line 1"),
        ("a.jsonl", '{"text": "x", "labels": []}\n', 'line 1: expected a JSON object with "text"'),
        ("a.jsonl", '{"text": "x", "labels": ["a"]}\n{oops\n', "line 2, column 2: invalid JSON"),
        ("a.txt", "\n\n", "no labelled examples"),
    ],
)
def test_bad_training_data(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_labelled(path)
    assert str(path) in str(info.value)


def test_holdout_split_is_seeded_and_disjoint() -> None:
    items = [LabelledText(("a",), str(i)) for i in range(10)]
    train, valid = split_holdout(items, 0.2, seed=3)
    assert len(valid) == 2 and len(train) == 8
    assert {x.text for x in train} | {x.text for x in valid} == {str(i) for i in range(10)}
    assert split_holdout(items, 0.2, seed=3) == (train, valid)
    assert split_holdout(items, 0.2, seed=4) != (train, valid)
    with pytest.raises(ConfigError):
        split_holdout(items, 1.0)


def test_trained_model_gives_per_domain_probabilities(model_path: Path) -> None:
    classifier = FastTextClassifier(model_path, DOMAINS, batch_size=2)
    # the fixture has no science examples: the model covers three domains, plus general
    assert classifier.domain_names == ["biomedical", "legal", "finance"]
    assert classifier.output_names == ["biomedical", "legal", "finance", "general"]
    probs = classifier.all_scores([LEGAL, MEDICAL, FINANCE, GENERAL, "Line\nbreak\tand tabs"], "en")
    assert probs.shape == (5, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-3)  # softmax over all labels
    assert [classifier.output_names[i] for i in probs[:4].argmax(axis=1)] == [
        "legal",
        "biomedical",
        "finance",
        "general",
    ]
    np.testing.assert_array_equal(classifier.scores([LEGAL], "en"), probs[:1, :3])
    prov = classifier.provenance()
    assert prov["type"] == "fasttext" and len(prov["sha256"]) == 64
    assert sorted(prov["model_labels"]) == ["biomedical", "finance", "general", "legal"]


def test_label_map_and_sum_aggregate(model_path: Path) -> None:
    # both biomedical and finance count as "science" (a made-up mapping), summed
    classifier = FastTextClassifier(
        model_path,
        DOMAINS,
        label_map={"biomedical": "science", "finance": "science", "legal": "legal"},
        aggregate="sum",
    )
    assert classifier.output_names == ["legal", "science"]
    plain = FastTextClassifier(model_path, DOMAINS)
    mapped = classifier.all_scores([MEDICAL, FINANCE])
    raw = plain.all_scores([MEDICAL, FINANCE])
    np.testing.assert_allclose(mapped[:, 1], raw[:, 0] + raw[:, 2], atol=1e-6)
    with pytest.raises(ConfigError, match="not one of"):
        FastTextClassifier(model_path, DOMAINS, label_map={"legal": "law"})


def test_training_is_deterministic(train_file: Path, tmp_path: Path) -> None:
    first = train_classifier(train_file, tmp_path / "a.bin", replace(SMALL, valid_fraction=0.25))
    second = train_classifier(train_file, tmp_path / "b.bin", replace(SMALL, valid_fraction=0.25))
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()
    # NaN (an undefined precision) is never equal to itself: compare as written to JSON
    assert finite_or_null(first.valid_metrics) == finite_or_null(second.valid_metrics)
    assert first.valid_count == 15 and first.train_count == 45
    report = json.loads((tmp_path / "a.bin.json").read_text())
    assert report["valid_count"] == 15 and report["settings"]["seed"] == 0


def test_evaluate_counts_top1_against_gold(model_path: Path) -> None:
    import fasttext

    model = fasttext.load_model(str(model_path))
    items = [
        LabelledText(("legal",), LEGAL),
        LabelledText(("biomedical",), MEDICAL),
        LabelledText(("finance",), LEGAL),  # predicted legal, gold finance
    ]
    metrics = evaluate_model(model, items)
    assert metrics["per_label"]["legal"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
        "predicted": 2,
    }
    assert metrics["per_label"]["finance"]["recall"] == 0.0
    assert metrics["accuracy"] == pytest.approx(2 / 3)


def test_resolve_model_file(model_path: Path, tmp_path: Path) -> None:
    assert resolve_model_file(str(model_path)) == model_path
    assert resolve_model_file(str(model_path.parent), filename=model_path.name) == model_path
    assert resolve_model_file(model_path.name, base_dir=model_path.parent) == model_path
    with pytest.raises(ConfigError, match="not found"):
        resolve_model_file(str(tmp_path / "missing.bin"))


def _app() -> typer.Typer:
    from mlqa_domain.cli import app

    return app


def test_train_classifier_cli(train_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "m.bin"
    args = ["train-classifier", "--data", str(train_file), "--out", str(out), "--epoch", "20"]
    result = CliRunner().invoke(_app(), [*args, "--dim", "8", "--wordNgrams", "2"])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert "held-out precision / recall" in result.output and "legal" in result.output
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_train_classifier_cli_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("__label__legal only one label here\n")
    result = CliRunner().invoke(
        _app(), ["train-classifier", "--data", str(bad), "--out", str(tmp_path / "m.bin")]
    )
    assert isinstance(result.exception, InputError)
    assert "at least two different labels" in str(result.exception)
    assert not (tmp_path / "m.bin").exists()
