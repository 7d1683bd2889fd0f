"""Taxonomy loading, τ/δ thresholds, the embedding classifier and the English pivot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from mlqa_domain.embeddings import TextEncoder
from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.labeling.classifiers.embedding import EmbeddingClassifier
from mlqa_domain.labeling.ensemble import decide_domains
from mlqa_domain.labeling.labelers import SingleClassifierLabeler, build_labeler
from mlqa_domain.labeling.pivot_store import label_examples
from mlqa_domain.labeling.taxonomy import default_taxonomy_path, load_taxonomy

THRESHOLDS = {"legal": 0.3, "biomedical": 0.3, "finance": 0.4}


def test_decide_domains_threshold_and_delta() -> None:
    # best is legal 0.50; biomedical 0.47 is within δ=0.05 and above its τ -> both, best first
    assert decide_domains({"legal": 0.5, "biomedical": 0.47, "finance": 0.1}, THRESHOLDS, 0.05) == [
        "legal",
        "biomedical",
    ]
    # biomedical 0.44 is 0.06 below the best: outside δ
    assert decide_domains({"legal": 0.5, "biomedical": 0.44, "finance": 0.1}, THRESHOLDS, 0.05) == ["legal"]
    # finance is the best but below its own τ (0.4); legal within δ and above τ 0.3 -> legal only
    assert decide_domains({"legal": 0.34, "biomedical": 0.1, "finance": 0.36}, THRESHOLDS, 0.05) == ["legal"]
    # nothing passes its τ -> general
    assert decide_domains({"legal": 0.2, "biomedical": 0.1, "finance": 0.3}, THRESHOLDS, 0.05) == ["general"]
    assert decide_domains({"legal": 0.2}, {"legal": 0.3}, 0.0, general="other") == ["other"]


def test_default_taxonomy_has_required_domains() -> None:
    tax = load_taxonomy()
    assert {"biomedical", "legal", "finance", "science"} <= set(tax.domain_names)
    for spec in tax.domains.values():
        assert spec.description and len(spec.exemplars) >= 3 and spec.intermediate_tasks
    assert tax.general == "general"
    head, prototypes = tax.classification.classifiers
    assert head.type == "embedding-head" and head.model_extra["languages"] == ["en"]
    assert prototypes.type == "embedding" and "languages" not in (prototypes.model_extra or {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("domains: [", "invalid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("domains: {}\n", "at least one domain"),
        ("domains:\n  legal:\n    description: x\n", "threshold"),
        ("domains:\n  all:\n    description: x\n    threshold: 0.3\n", "bad domain name"),
        ("domains:\n  legal:\n    description: x\n    threshold: 0.3\n    colour: red\n", "colour"),
    ],
)
def test_bad_taxonomy_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tax.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_taxonomy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_taxonomy(tmp_path / "nope.yaml")


def _example(id_: str, ctx_lang: str, context: str, q_lang: str | None = None) -> Example:
    return Example(
        id=id_,
        split="test",
        context_language=ctx_lang,
        question_language=q_lang or ctx_lang,
        context=context,
        question="?",
        answers={"text": [context[:3]], "answer_start": [0]},
    )


LEGAL_EN = "The appeals court held that the lease was void because the landlord breached the statute."
MEDICAL_EN = "The patients received the vaccine in a randomised clinical trial against the influenza virus."
GENERAL_EN = "The band played their first concert in a small club and later toured across Europe."


def prototype_taxonomy(tmp: Path) -> Path:
    """The shipped taxonomy with one classifier for every language: the embedding prototypes."""
    raw = yaml.safe_load(default_taxonomy_path().read_text("utf-8"))
    raw["classification"]["classifiers"] = [{"name": "embedding", "type": "embedding"}]
    path = tmp / "prototypes.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def minilm_labeler(minilm_path: Path, tmp_path_factory: pytest.TempPathFactory) -> SingleClassifierLabeler:
    tax = load_taxonomy(prototype_taxonomy(tmp_path_factory.mktemp("tax")))
    return build_labeler(tax, embedding_model=str(minilm_path), cache_dir=tmp_path_factory.mktemp("cache"))


def test_default_labeler_routes_english_to_the_head_and_the_rest_to_prototypes(
    minilm_path: Path, tmp_path: Path
) -> None:
    labeler = build_labeler(load_taxonomy(), embedding_model=str(minilm_path), cache_dir=tmp_path)
    examples = [
        _example("q1", "en", LEGAL_EN),
        _example("q1", "de", "Das Berufungsgericht entschied, dass der Mietvertrag nichtig war."),
        _example("q3", "de", "Die Patienten erhielten den Impfstoff in einer klinischen Studie."),
    ]
    examples[0].title = "Lease"
    counts = label_examples(examples, labeler)
    assert counts["pivot"] == 2 and counts["own_language"] == 1
    en, de, own = (e.provenance for e in examples)
    assert en == de and en["route"] == "en" and en["labeler"] == "head"
    assert en["classifiers"]["head"]["type"] == "embedding-head" and en["delta"] == 1.0
    assert examples[0].domains == ["legal"] and examples[1].domains == ["legal"]
    assert own["route"] == "other" and own["labeler"] == "embedding" and own["label_source"] == "own:de"
    assert labeler.provenance()["routes"].keys() == {"en", "other"}


def test_languages_claimed_twice_are_a_config_error(tmp_path: Path) -> None:
    raw = yaml.safe_load(default_taxonomy_path().read_text("utf-8"))
    raw["classification"]["classifiers"][1]["languages"] = ["en", "de"]
    path = tmp_path / "tax.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match="'en' is routed to two classifier groups"):
        build_labeler(load_taxonomy(path), cache_dir=tmp_path)


def test_embedding_classifier_scores_are_cosines_to_prototypes(
    minilm_labeler: SingleClassifierLabeler,
) -> None:
    classifier: EmbeddingClassifier = minilm_labeler.classifier
    protos = classifier.prototypes
    assert protos.shape[0] == 4
    np.testing.assert_allclose(np.linalg.norm(protos, axis=1), 1.0, rtol=1e-5)
    scores = classifier.scores([LEGAL_EN, MEDICAL_EN, GENERAL_EN])
    names = classifier.domain_names
    assert names[int(np.argmax(scores[0]))] == "legal"
    assert names[int(np.argmax(scores[1]))] == "biomedical"
    assert np.all(scores <= 1.0 + 1e-5) and np.all(scores >= -1.0 - 1e-5)


def test_real_model_labels_clear_paragraphs(minilm_labeler: SingleClassifierLabeler) -> None:
    legal, medical, general = minilm_labeler.label([LEGAL_EN, MEDICAL_EN, GENERAL_EN], "en")
    assert legal.domains[0] == "legal"
    assert medical.domains[0] == "biomedical"
    assert general.domains == ["general"]
    assert set(legal.domain_scores) == {"biomedical", "legal", "finance", "science"}
    assert legal.classifier_scores == {"embedding": legal.domain_scores}


def test_pivot_propagates_english_labels(minilm_labeler: SingleClassifierLabeler) -> None:
    encoder: TextEncoder = minilm_labeler.classifier.encoder
    examples = [
        _example("q1", "en", LEGAL_EN),
        _example("q1", "de", "Das Berufungsgericht entschied, dass der Mietvertrag nichtig war."),
        _example("q1", "es", "El tribunal de apelación resolvió que el contrato era nulo.", q_lang="en"),
        _example("q2", "en", GENERAL_EN),
        _example("q2", "zh", "乐队在一家小俱乐部举办了第一场音乐会。"),
        # no English parallel: classified in its own language
        _example("q3", "de", "Die Patienten erhielten den Impfstoff in einer klinischen Studie."),
        # no English parallel but two languages: labelled once (from de) and shared with es
        _example("q4", "es", "El tribunal declaró nulo el contrato de arrendamiento."),
        _example("q4", "de", "Das Gericht erklärte den Mietvertrag für nichtig."),
    ]
    before = encoder.encoded_count
    counts = label_examples(examples, minilm_labeler)
    assert counts["pivot"] == 5 and counts["own_language"] == 3
    assert counts["pivot_contexts"] == 2 and counts["own_language_contexts"] == 2
    en, de, es = examples[:3]
    assert de.domains == en.domains == es.domains and en.domains[0] == "legal"
    assert de.domain_scores == en.domain_scores
    assert de.provenance["label_source"] == "pivot:en"
    assert examples[4].domains == examples[3].domains == ["general"]
    assert examples[5].provenance["label_source"] == "own:de"
    es_q4, de_q4 = examples[6:8]
    assert es_q4.domain_scores == de_q4.domain_scores and es_q4.provenance["label_source"] == "own:de"
    # only the two English contexts and the two German ones were embedded (cache was cold)
    assert encoder.encoded_count - before <= 4
    assert examples[0].provenance["thresholds"]["legal"] == load_taxonomy().domains["legal"].threshold


def test_embedding_cache_reused_across_encoders(minilm_path: Path, tmp_path: Path) -> None:
    first = TextEncoder(str(minilm_path), cache_dir=tmp_path)
    vectors = first.encode([LEGAL_EN, MEDICAL_EN, LEGAL_EN])
    assert first.encoded_count == 2  # duplicates encoded once
    second = TextEncoder(str(minilm_path), cache_dir=tmp_path)
    again = second.encode([MEDICAL_EN, LEGAL_EN])
    assert second.encoded_count == 0 and second._model is None  # served from disk, model never loaded
    np.testing.assert_array_equal(again, vectors[[1, 0]])


def test_unknown_embedding_model_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model not found"):
        TextEncoder(str(tmp_path / "no-such-model"), cache_dir=tmp_path, use_cache=False)
    encoder = TextEncoder("no-such-org/no-such-model", cache_dir=tmp_path, use_cache=False)
    with pytest.raises(ConfigError, match="cannot load sentence-transformers model"):
        encoder.encode(["x"])


class _Recording:
    """The real labeler, with a record of what the pivot store asked of it."""

    def __init__(self, labeler) -> None:
        self.labeler = labeler
        self.calls: list[tuple[str, str, int]] = []

    def prepare(self, texts, language, titles=None) -> None:
        self.calls.append(("prepare", language, len(texts)))
        self.labeler.prepare(texts, language, titles)

    def label(self, texts, language, titles=None):
        self.calls.append(("label", language, len(texts)))
        return self.labeler.label(texts, language, titles)

    def provenance(self, language=None):
        return self.labeler.provenance(language)


def test_the_pivot_labels_in_windows_after_the_labeler_has_seen_every_context(
    minilm_path: Path, tmp_path: Path
) -> None:
    """Windows of 2 give the labels of one window; one window gives the labels of labelling all at once."""
    from mlqa_domain.labeling.pivot_store import PivotStore

    labeler = build_labeler(load_taxonomy(), embedding_model=str(minilm_path), cache_dir=tmp_path)
    texts = [LEGAL_EN, MEDICAL_EN, GENERAL_EN, LEGAL_EN + " It was appealed.", MEDICAL_EN + " Doses varied."]
    examples = [_example(f"q{i}", "en", text) for i, text in enumerate(texts)]
    for i, example in enumerate(examples):
        example.title = ("Lease", "Vaccine", None, "", "Vaccine")[i]
    examples.append(_example("q0", "de", "Das Berufungsgericht entschied, dass der Mietvertrag nichtig war."))
    examples.append(_example("q9", "de", "Die Patienten erhielten den Impfstoff in einer klinischen Studie."))
    results = {}
    for window in (2, 100):
        recording = _Recording(labeler)
        with PivotStore() as store:
            for example in examples:
                store.add(example)
            labels = store.labels(recording, window=window)
            results[window] = [labels.of(e.id).labeling for e in examples]
        assert recording.calls[0] == ("prepare", "de", 1) and recording.calls[2] == ("prepare", "en", 5)
        assert max(n for kind, _, n in recording.calls if kind == "label") == min(window, 5)
    assert [r.domains for r in results[2]] == [r.domains for r in results[100]]
    for windowed, whole in zip(results[2], results[100], strict=True):
        assert windowed.domain_scores == pytest.approx(whole.domain_scores, abs=2e-6)
    ordered = sorted((e.context, e.title or "") for e in examples[:5])
    at_once = labeler.label([c for c, _ in ordered], "en", [t or None for _, t in ordered])
    by_key = dict(zip(ordered, at_once, strict=True))
    assert [by_key[e.context, e.title or ""] for e in examples[:5]] == results[100][:5]
