"""transformers text-classification and zero-shot NLI classifiers, with tiny XLM-R models from config."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.errors import ConfigError
from mlqa_domain.labeling.classifiers.transformers_classifier import (
    TransformersClassifier,
    ZeroShotClassifier,
    candidate_labels_for,
)
from mlqa_domain.labeling.labelers import build_labeler
from mlqa_domain.labeling.taxonomy import load_taxonomy

DOMAINS = ["biomedical", "legal", "finance", "science"]
TEXTS = [
    "The court ruled that the contract was void.",
    "Der Patient erhielt ein Antibiotikum.",
    "El banco central subió los tipos de interés.",
    "The river flows through the old town.",
    "法院裁定合同无效。",
]
# constant logits when the head's weights are zero: the probabilities are known exactly
TOPIC_LABELS = {0: "LAW", 1: "MEDICINE", 2: "MONEY", 3: "OTHER"}
TOPIC_BIAS = [2.0, 1.0, 0.0, 0.5]


def _softmax(logits: list[float]) -> list[float]:
    exp = [math.exp(x) for x in logits]
    return [x / sum(exp) for x in exp]


def _save_classifier(
    encoder_dir: Path, out: Path, id2label: dict[int, str], bias: list[float] | None
) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder_dir,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    if bias is not None:
        with torch.no_grad():
            model.classifier.out_proj.weight.zero_()
            model.classifier.out_proj.bias.copy_(torch.tensor(bias))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(encoder_dir).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def topic_model(tiny_xlmr: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_classifier(tiny_xlmr, tmp_path_factory.mktemp("topic"), TOPIC_LABELS, TOPIC_BIAS)


@pytest.fixture(scope="module")
def random_head_model(tiny_xlmr: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_classifier(tiny_xlmr, tmp_path_factory.mktemp("random"), TOPIC_LABELS, None)


@pytest.fixture(scope="module")
def nli_model(tiny_xlmr: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = {0: "contradiction", 1: "neutral", 2: "entailment"}
    return _save_classifier(tiny_xlmr, tmp_path_factory.mktemp("nli"), labels, [0.0, 3.0, 1.0])


LABEL_MAP = {"LAW": "legal", "MEDICINE": "biomedical", "MONEY": "finance", "OTHER": "general"}


def test_text_classification_maps_labels_to_domains(topic_model: Path) -> None:
    classifier = TransformersClassifier(str(topic_model), DOMAINS, label_map=LABEL_MAP, batch_size=2)
    assert classifier.domain_names == ["biomedical", "legal", "finance"]  # no label maps to science
    assert classifier.output_names == ["biomedical", "legal", "finance", "general"]
    probs = classifier.all_scores(TEXTS, "en")
    law, medicine, money, other = _softmax(TOPIC_BIAS)
    np.testing.assert_allclose(probs, np.tile([medicine, law, money, other], (len(TEXTS), 1)), rtol=1e-5)
    np.testing.assert_allclose(classifier.scores(TEXTS[:1]), probs[:1, :3])
    prov = classifier.provenance()
    # published by its public name (the directory's name), never the local path; its content fingerprint
    assert prov["type"] == "transformers" and prov["model"] == topic_model.name
    assert prov["label_map"] == LABEL_MAP and prov["model_fingerprint"]
    assert prov["architecture"] == "XLMRobertaForSequenceClassification"


def test_several_labels_to_one_domain_max_or_sum(topic_model: Path) -> None:
    law, medicine, money, other = _softmax(TOPIC_BIAS)
    mapping = {"LAW": "legal", "MONEY": "legal", "MEDICINE": "biomedical"}  # OTHER unmapped: ignored
    as_max = TransformersClassifier(str(topic_model), DOMAINS, label_map=mapping)
    as_sum = TransformersClassifier(str(topic_model), DOMAINS, label_map=mapping, aggregate="sum")
    assert as_max.output_names == ["biomedical", "legal"]
    np.testing.assert_allclose(as_max.all_scores(TEXTS[:1])[0], [medicine, max(law, money)], rtol=1e-5)
    np.testing.assert_allclose(as_sum.all_scores(TEXTS[:1])[0], [medicine, law + money], rtol=1e-5)
    with pytest.raises(ConfigError, match="aggregate"):
        TransformersClassifier(str(topic_model), DOMAINS, label_map=mapping, aggregate="mean")


def test_unmapped_model_is_a_config_error(topic_model: Path) -> None:
    with pytest.raises(ConfigError, match="no model label maps to a domain"):
        TransformersClassifier(str(topic_model), DOMAINS)  # LAW/MEDICINE/... are no domain names


def test_batching_does_not_change_scores(random_head_model: Path) -> None:
    one = TransformersClassifier(str(random_head_model), DOMAINS, label_map=LABEL_MAP, batch_size=1)
    many = TransformersClassifier(str(random_head_model), DOMAINS, label_map=LABEL_MAP, batch_size=4)
    a, b = one.all_scores(TEXTS), many.all_scores(TEXTS)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(a[0], a[3])  # a real forward pass: the text matters
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-5)


def test_zero_shot_scores_every_domain_independently(nli_model: Path) -> None:
    tax = load_taxonomy()
    candidates = candidate_labels_for(tax)
    assert candidates["legal"] == "law and legal text"
    classifier = ZeroShotClassifier(
        str(nli_model), candidates, hypothesis_template="This text is about {}.", batch_size=3
    )
    probs = classifier.scores(TEXTS, "en")
    # multi_label: softmax over (contradiction, entailment) logits (0, 1) for each hypothesis
    expected = math.exp(1) / (1 + math.exp(1))
    np.testing.assert_allclose(probs, np.full((len(TEXTS), len(tax.domain_names)), expected), rtol=1e-5)
    prov = classifier.provenance()
    assert prov["type"] == "zero-shot" and prov["hypothesis_template"] == "This text is about {}."
    assert prov["candidate_labels"] == candidates


def test_zero_shot_candidate_label_options(nli_model: Path) -> None:
    tax = load_taxonomy()
    assert candidate_labels_for(tax, "names") == {d: d for d in tax.domain_names}
    custom = candidate_labels_for(tax, {"legal": "law"})
    assert custom["legal"] == "law" and custom["finance"] == "finance and economics"
    with pytest.raises(ConfigError, match="unknown domain"):
        candidate_labels_for(tax, {"sports": "sport"})
    with pytest.raises(ConfigError, match="must contain"):
        ZeroShotClassifier(str(nli_model), custom, hypothesis_template="no slot")


def test_transformers_classifier_from_taxonomy(topic_model: Path, nli_model: Path, tmp_path: Path) -> None:
    import yaml

    raw = yaml.safe_load(load_taxonomy().model_dump_json())
    raw.pop("source")
    raw["classification"]["classifiers"] = [
        {
            "name": "topic",
            "type": "transformers",
            "model": str(topic_model),
            "label_map": LABEL_MAP,
            "batch_size": 2,
        }
    ]
    path = tmp_path / "tax.yaml"
    path.write_text(yaml.safe_dump(raw))
    labeler = build_labeler(load_taxonomy(path))
    (labeling,) = labeler.label(TEXTS[:1], "en")
    law, medicine, money, other = _softmax(TOPIC_BIAS)
    # one classifier: its probabilities are the domain scores, τ defaults to 0.5 for probabilities
    assert labeling.domain_scores == pytest.approx(
        {"biomedical": medicine, "legal": law, "finance": money}, abs=1e-6
    )
    assert labeling.domains == ["legal"]  # law = 0.57 ≥ 0.5
    assert labeling.classifier_scores["topic"]["general"] == pytest.approx(other, abs=1e-6)
    raw["classification"]["classifiers"] = [
        {"name": "nli", "type": "zero-shot", "model": str(nli_model), "candidate_labels": "names"}
    ]
    path.write_text(yaml.safe_dump(raw))
    (labeling,) = build_labeler(load_taxonomy(path)).label(TEXTS[:1], "en")
    # every domain 0.731 ≥ 0.5 and within δ of the best: all four, ties by name
    assert labeling.domains == ["biomedical", "finance", "legal", "science"]
    raw["classification"]["classifiers"][0]["colour"] = "red"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="unknown key"):
        build_labeler(load_taxonomy(path))
