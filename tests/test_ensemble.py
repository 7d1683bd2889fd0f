"""Calibration, the ensemble (weighted mean and vote), relabel from stored scores, and an ensemble build."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from mlqa_domain.errors import ConfigError
from mlqa_domain.labeling.classifiers.calibration import Calibration, LabelMap, fit_logistic
from mlqa_domain.labeling.classifiers.fasttext_classifier import TrainSettings, train_classifier
from mlqa_domain.labeling.ensemble import EnsembleRule, MemberRule, labeling_of, relabel
from mlqa_domain.labeling.labelers import build_labeler
from mlqa_domain.labeling.taxonomy import load_taxonomy


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# ---------------------------------------------------------------- calibration and label maps


def test_logistic_calibration_is_half_at_its_center() -> None:
    cal = Calibration.logistic({"legal": 10.0}, {"legal": 0.3})
    assert cal.probability("legal", 0.3) == 0.5
    assert cal.probability("legal", 0.4) == pytest.approx(sigmoid(1.0))
    assert cal.probability("legal", -5.0) == pytest.approx(sigmoid(-53.0))  # no overflow
    assert Calibration.from_dict(cal.to_dict()) == cal
    assert Calibration.identity().apply({"a": 1.2, "b": 0.3}) == {"a": 1.0, "b": 0.3}


def test_calibration_from_config_defaults_and_errors() -> None:
    domains = ["legal", "finance"]
    taus = {"legal": 0.3, "finance": 0.35}
    default = Calibration.from_config(None, domains, taus, "logistic")
    assert default.center == taus and default.slope == {"legal": 20.0, "finance": 20.0}
    custom = Calibration.from_config({"slope": 5, "center": {"legal": 0.2}}, domains, taus, "logistic")
    assert custom.slope == {"legal": 5.0, "finance": 5.0} and custom.center == {"legal": 0.2, "finance": 0.35}
    assert Calibration.from_config(None, domains, taus, "identity").kind == "identity"
    for bad, message in (
        ("platt", "unknown calibration type"),
        ({"slope": -1}, "positive"),
        ({"center": {"sports": 0.1}}, "unknown domain"),
    ):
        with pytest.raises(ConfigError, match=message):
            Calibration.from_config(bad, domains, taus, "logistic")


def test_fit_logistic_recovers_the_boundary() -> None:
    scores = np.linspace(0.0, 0.6, 61)
    rng = np.random.default_rng(0)
    labels = rng.random(61) < np.array([sigmoid(15 * (s - 0.3)) for s in scores])
    slope, center = fit_logistic(scores, labels)
    assert 0.22 < center < 0.38 and slope > 3
    assert fit_logistic([0.1, 0.2], [True, True]) is None  # one class only


def test_label_map() -> None:
    by_name = LabelMap.build(["Legal", "general", "noise"], ["legal", "general"])
    assert by_name.mapping == {"Legal": "legal", "general": "general"}
    assert by_name.apply({"Legal": 0.7, "general": 0.2, "noise": 0.1}) == {"legal": 0.7, "general": 0.2}


# ---------------------------------------------------------------- combination rules by hand

DOMAINS = ["legal", "biomedical", "science"]
EMB_TAUS = {"legal": 0.3, "biomedical": 0.3, "science": 0.3}


def _rule(combine: str, quorum: float = 0.5) -> EnsembleRule:
    emb = MemberRule(
        "emb",
        2.0,
        Calibration.logistic(dict.fromkeys(DOMAINS, 10.0), EMB_TAUS),
        EMB_TAUS,
        0.05,
        {"type": "embedding"},
    )
    ft = MemberRule(
        "ft", 1.0, Calibration.identity(), dict.fromkeys(DOMAINS, 0.5), 0.05, {"type": "fasttext"}
    )
    return EnsembleRule(combine, DOMAINS, [emb, ft], dict.fromkeys(DOMAINS, 0.5), 0.1, "general", quorum)


# ft covers no science (no such label in the model): its dict lacks the key
RAW = {
    "emb": {"legal": 0.40, "biomedical": 0.35, "science": 0.10},
    "ft": {"legal": 0.20, "biomedical": 0.70, "general": 0.10},
}


def test_weighted_mean_by_hand() -> None:
    decision = _rule("weighted_mean").decide(RAW)
    p_emb = {"legal": sigmoid(1.0), "biomedical": sigmoid(0.5), "science": sigmoid(-2.0)}
    assert decision.calibrated["emb"] == pytest.approx(p_emb, abs=1e-6)
    assert decision.calibrated["ft"] == {"legal": 0.2, "biomedical": 0.7}
    legal = (2 * sigmoid(1.0) + 0.2) / 3  # 0.5540
    biomedical = (2 * sigmoid(0.5) + 0.7) / 3  # 0.6484
    science = sigmoid(-2.0)  # only emb scores science
    assert decision.combined == pytest.approx(
        {"legal": legal, "biomedical": biomedical, "science": science}, abs=1e-6
    )
    # both ≥ 0.5; legal is 0.094 below the best, within δ = 0.1
    assert decision.domains == ["biomedical", "legal"]
    narrower = _rule("weighted_mean").with_overrides(delta=0.05).decide(RAW)
    assert narrower.domains == ["biomedical"]
    stricter = _rule("weighted_mean").with_overrides(thresholds={"biomedical": 0.7, "legal": 0.6}).decide(RAW)
    assert stricter.domains == ["general"]


def test_vote_by_hand() -> None:
    # emb alone: legal 0.40 and biomedical 0.35 pass τ 0.3 and are within 0.05 -> votes legal, biomedical
    # ft alone: biomedical 0.70 ≥ 0.5 -> votes biomedical
    decision = _rule("vote").decide(RAW)
    assert decision.combined == {"legal": pytest.approx(2 / 3, abs=1e-6), "biomedical": 1.0, "science": 0.0}
    assert decision.domains == ["biomedical", "legal"]  # 2/3 > 0.5 is a weighted majority
    assert _rule("vote", quorum=0.7).decide(RAW).domains == ["biomedical"]
    equal = _rule("vote").with_overrides(weights={"emb": 1.0})
    assert equal.decide(RAW).domains == ["biomedical"]  # legal has 1/2 of the weight: no majority
    # science: only emb scores it, so emb alone decides it
    raw = {"emb": {"legal": 0.1, "biomedical": 0.1, "science": 0.5}, "ft": {"legal": 0.1, "biomedical": 0.1}}
    assert _rule("vote").decide(raw).domains == ["science"]


def test_rule_provenance_round_trip() -> None:
    for combine in ("weighted_mean", "vote"):
        rule = _rule(combine)
        again = EnsembleRule.from_provenance(json.dumps(rule.to_provenance(), sort_keys=True))
        assert again.decide(RAW) == rule.decide(RAW)
        assert again.to_provenance() == rule.to_provenance()


def test_labeling_keeps_raw_and_calibrated_scores() -> None:
    labeling = labeling_of(_rule("weighted_mean"), RAW)
    assert labeling.classifier_scores["emb"] == RAW["emb"] and labeling.classifier_scores["ft"] == RAW["ft"]
    assert set(labeling.classifier_scores) == {"emb", "ft", "emb:calibrated", "ft:calibrated"}
    assert set(labeling.domain_scores) == set(DOMAINS)


# ---------------------------------------------------------------- real classifiers from a taxonomy

LEGAL = "The appeals court held that the lease was void because the landlord breached the statute."
MEDICAL = "The patients received the vaccine in a randomised clinical trial against the influenza virus."
FINANCE = "The central bank raised interest rates and bank shares fell on the stock market."
GENERAL = "The band played their first concert in a small club and later toured across Europe."
MIXED = "The court ordered the hospital to pay damages after the patient died of an infection."
TEXTS = [LEGAL, MEDICAL, FINANCE, GENERAL, MIXED]


@pytest.fixture(scope="module")
def fasttext_model(fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ft") / "domain.bin"
    settings = TrainSettings(valid_fraction=0.0, epoch=40, dim=16, word_ngrams=2)
    train_classifier(fixtures_dir / "classifiers" / "domain_train.txt", out, settings)
    return out


def write_taxonomy(path: Path, classification: dict, thresholds: dict | None = None) -> Path:
    raw = yaml.safe_load(load_taxonomy().model_dump_json())
    raw.pop("source")
    raw["classification"] = classification
    for domain, tau in (thresholds or {}).items():
        raw["domains"][domain]["threshold"] = tau
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def ensemble_classification(minilm: Path, fasttext_model: Path, combine: str = "weighted_mean") -> dict:
    return {
        "delta": 0.1,
        "combine": combine,
        "thresholds": 0.5,
        "classifiers": [
            # each classifier's own δ (used when it votes) is set apart from the ensemble's δ
            {"name": "embedding", "type": "embedding", "model": str(minilm), "weight": 1.0, "delta": 0.08},
            {
                "name": "fasttext",
                "type": "fasttext",
                "model": fasttext_model.name,
                "weight": 1.0,
                "delta": 0.1,
            },
        ],
    }


def _rows(labeler, texts: list[str]) -> list[dict]:
    """Rows as the build stores them (provenance as canonical JSON)."""
    provenance = json.dumps(labeler.provenance(), sort_keys=True)
    return [
        {
            "domains": lab.domains,
            "domain_scores": lab.domain_scores,
            "classifier_scores": lab.classifier_scores,
            "provenance": provenance,
        }
        for lab in labeler.label(texts, "en")
    ]


def test_ensemble_from_taxonomy_and_relabel_equals_fresh_run(
    minilm_path: Path, fasttext_model: Path, tmp_path: Path
) -> None:
    # the fastText model path is relative to the taxonomy file
    tax_path = write_taxonomy(
        fasttext_model.parent / "tax.yaml", ensemble_classification(minilm_path, fasttext_model)
    )
    cache = tmp_path / "cache"
    labeler = build_labeler(load_taxonomy(tax_path), cache_dir=cache)
    assert labeler.name == "ensemble" and [c.name for c in labeler.classifiers] == ["embedding", "fasttext"]
    rows = _rows(labeler, TEXTS)
    assert [r["domains"][0] for r in rows[:4]] == ["legal", "biomedical", "finance", "general"]
    prov = json.loads(rows[0]["provenance"])
    assert prov["classifiers"]["embedding"]["calibration"]["type"] == "logistic"
    legal_tau = load_taxonomy().domains["legal"].threshold
    assert prov["classifiers"]["embedding"]["calibration"]["center"]["legal"] == legal_tau  # the domain τ
    assert prov["classifiers"]["fasttext"]["calibration"] == {"type": "identity"}
    assert len(prov["classifiers"]["fasttext"]["sha256"]) == 64 and prov["combine"] == "weighted_mean"
    assert set(rows[0]["classifier_scores"]["fasttext"]) == {"biomedical", "legal", "finance", "general"}

    # no overrides: the stored labels come back
    again = relabel(rows)
    assert [r["domains"] for r in again] == [r["domains"] for r in rows]
    assert [r["domain_scores"] for r in again] == [r["domain_scores"] for r in rows]

    # new ensemble τ/δ, a vote, new embedding τ: each equals a fresh run of the models with that config
    base = ensemble_classification(minilm_path, fasttext_model)
    emb_taus = {"legal": 0.2, "finance": 0.2}
    vote_own_taus = {**base, "combine": "vote"}
    vote_own_taus["classifiers"] = [
        {**base["classifiers"][0], "thresholds": emb_taus},
        base["classifiers"][1],
    ]
    new_taus = {"legal": 0.35, "biomedical": 0.7, "finance": 0.5, "science": 0.5}
    cases = [
        (
            {"thresholds": {"legal": 0.35, "biomedical": 0.7}, "delta": 0.3},
            {**base, "thresholds": new_taus, "delta": 0.3},
        ),
        ({"combine": "vote"}, {**base, "combine": "vote"}),
        ({"combine": "vote", "classifier_thresholds": {"embedding": emb_taus}}, vote_own_taus),
    ]
    for overrides, classification in cases:
        fresh_tax = write_taxonomy(fasttext_model.parent / "fresh.yaml", classification)
        fresh_rows = _rows(build_labeler(load_taxonomy(fresh_tax), cache_dir=cache), TEXTS)
        relabelled = relabel(rows, **overrides)
        assert [r["domains"] for r in relabelled] == [r["domains"] for r in fresh_rows], overrides
        assert [r["domain_scores"] for r in relabelled] == [r["domain_scores"] for r in fresh_rows]
        fresh_prov = json.loads(fresh_rows[0]["provenance"])
        new_prov = json.loads(relabelled[0]["provenance"])
        for key in ("thresholds", "delta", "combine", "classifiers"):
            assert new_prov[key] == fresh_prov[key], key


def test_single_embedding_relabel_equals_fresh_run(minilm_path: Path, tmp_path: Path) -> None:
    prototypes = {"delta": 0.08, "classifiers": [{"name": "embedding", "type": "embedding"}]}
    taxonomy = load_taxonomy(write_taxonomy(tmp_path / "p.yaml", prototypes))
    labeler = build_labeler(taxonomy, embedding_model=str(minilm_path), cache_dir=tmp_path)
    rows = _rows(labeler, TEXTS)
    assert rows[0]["classifier_scores"] == {"embedding": rows[0]["domain_scores"]}  # the classic layout
    assert json.loads(rows[0]["provenance"])["labeler"] == "embedding"
    taus = {"legal": 0.45, "biomedical": 0.2, "finance": 0.25, "science": 0.3}
    fresh = _rows(
        build_labeler(
            load_taxonomy(write_taxonomy(tmp_path / "t.yaml", {**prototypes, "delta": 0.05}, taus)),
            embedding_model=str(minilm_path),
            cache_dir=tmp_path,
        ),
        TEXTS,
    )
    relabelled = relabel(rows, thresholds=taus, delta=0.05)
    assert [r["domains"] for r in relabelled] == [r["domains"] for r in fresh]
    assert json.loads(relabelled[0]["provenance"])["thresholds"] == taus


@pytest.mark.parametrize(
    ("classification", "message"),
    [
        ({"classifiers": [{"name": "a", "type": "embedding"}, {"name": "a", "type": "embedding"}]}, "unique"),
        ({"classifiers": [{"name": "a b", "type": "embedding"}]}, "letters, digits"),
        ({"classifiers": [{"name": "a", "type": "embedding", "weight": 0}]}, "weight must be positive"),
        ({"classifiers": [{"name": "f", "type": "fasttext"}]}, "needs a 'model'"),
        ({"classifiers": [{"name": "f", "type": "fasttext", "model": "nope.bin"}]}, "not found"),
        (
            {"classifiers": [{"name": "a", "type": "embedding", "thresholds": {"sports": 1}}]},
            "unknown domain",
        ),
    ],
)
def test_bad_classifier_config(tmp_path: Path, classification: dict, message: str) -> None:
    path = write_taxonomy(tmp_path / "tax.yaml", classification)
    with pytest.raises(ConfigError, match=message):
        build_labeler(load_taxonomy(path), cache_dir=tmp_path)


def test_bad_ensemble_config(minilm_path: Path, fasttext_model: Path, tmp_path: Path) -> None:
    classification = {**ensemble_classification(minilm_path, fasttext_model), "quorum": 0.5}
    path = write_taxonomy(fasttext_model.parent / "bad.yaml", classification)
    with pytest.raises(ConfigError, match="unknown key"):
        build_labeler(load_taxonomy(path), cache_dir=tmp_path)


# ---------------------------------------------------------------- an ensemble in `build`

DE = {
    "q1": "Das Berufungsgericht entschied, dass der Mietvertrag nichtig war, weil er das Gesetz verletzte.",
    "q2": "Die Patienten erhielten den Impfstoff in einer randomisierten klinischen Studie gegen Grippe.",
}


def _write_source(root: Path) -> list[str]:
    def row(id_: str, context: str) -> dict:
        answer = context.split()[1]
        return {
            "id": id_,
            "context": context,
            "question": "What?",
            "answers": {"text": [answer], "answer_start": [context.index(answer)]},
        }

    root.mkdir(parents=True, exist_ok=True)
    en = root / "mlqa.en.en.test.jsonl"
    en.write_text("".join(json.dumps(row(f"q{i + 1}", t)) + "\n" for i, t in enumerate(TEXTS)))
    de = root / "mlqa.de.de.test.jsonl"
    de.write_text("".join(json.dumps(row(i, t), ensure_ascii=False) + "\n" for i, t in DE.items()))
    return [str(en), str(de)]


def test_ensemble_build_provenance_round_trips(
    minilm_path: Path, fasttext_model: Path, tmp_path: Path
) -> None:
    import datasets

    from mlqa_domain.builders.build import build_dataset

    tax = write_taxonomy(
        fasttext_model.parent / "build.yaml", ensemble_classification(minilm_path, fasttext_model)
    )
    filters = tmp_path / "filters.yaml"
    filters.write_text("answer_span: {}\n")
    out = tmp_path / "repo"
    build_dataset(
        _write_source(tmp_path / "src"), out, taxonomy=tax, filters=filters, cache_dir=tmp_path / "cache"
    )

    expected = build_labeler(load_taxonomy(tax), cache_dir=tmp_path / "cache")
    rows_en = datasets.load_dataset(str(out), "all.en", split="test").to_list()
    rows_de = datasets.load_dataset(str(out), "all.de", split="test").to_list()
    assert len(rows_en) == 5 and len(rows_de) == 2
    by_id = {r["id"]: r for r in rows_en}
    for row in rows_en + rows_de:
        provenance = json.loads(row["provenance"])
        assert provenance.pop("label_source") == "pivot:en"
        assert provenance == json.loads(json.dumps(expected.provenance()))
        assert row["classifier"] == "ensemble"
        assert set(row["classifier_scores"]) == {
            "embedding",
            "embedding:calibrated",
            "fasttext",
            "fasttext:calibrated",
        }
    # German rows carry the labels and scores of their English parallel
    for row in rows_de:
        assert row["domains"] == by_id[row["id"]]["domains"]
        assert row["classifier_scores"] == by_id[row["id"]]["classifier_scores"]
    assert by_id["q1"]["domains"][0] == "legal" and by_id["q2"]["domains"][0] == "biomedical"
    # a fresh run of the models gives what the build stored
    fresh = expected.label(TEXTS, "en")
    for i, labeling in enumerate(fresh):
        row = by_id[f"q{i + 1}"]
        assert row["domains"] == labeling.domains
        assert row["domain_scores"] == labeling.domain_scores
        assert row["classifier_scores"]["fasttext"] == labeling.classifier_scores["fasttext"]
    # re-thresholding the loaded rows gives the stored labels back, and legal.en holds them
    assert [r["domains"] for r in relabel(rows_en)] == [r["domains"] for r in rows_en]
    legal = datasets.load_dataset(str(out), "legal.en", split="test")
    assert sorted(legal["id"]) == sorted(r["id"] for r in rows_en if "legal" in r["domains"])


def test_each_classifier_type_checks_its_thresholds_against_its_own_score_range(
    minilm_path: Path, fasttext_model: Path, tmp_path: Path
) -> None:
    """A cosine τ may be negative; a probability classifier's τ must lie in [0, 1]."""
    from mlqa_domain.errors import ConfigError

    base = ensemble_classification(minilm_path, fasttext_model)
    embedding, fasttext = base["classifiers"]
    taus = dict.fromkeys(load_taxonomy().domain_names, -0.2)
    cosine = write_taxonomy(
        fasttext_model.parent / "cosine.yaml",
        {**base, "classifiers": [{**embedding, "thresholds": taus}, fasttext]},
    )
    labeler = build_labeler(load_taxonomy(cosine), cache_dir=tmp_path)
    assert labeler.label(TEXTS[:1], "en")[0].domains  # built and labels (every cosine is above -0.2)
    probability = write_taxonomy(
        fasttext_model.parent / "prob.yaml",
        {**base, "classifiers": [embedding, {**fasttext, "thresholds": taus}]},
    )
    with pytest.raises(
        ConfigError, match=r"classifier 'fasttext' thresholds for \w+ is -0.2; it must be in \[0, 1\]"
    ):
        build_labeler(load_taxonomy(probability), cache_dir=tmp_path)
