"""The hand-labelled reference set, the supervised domain head, its held-out evaluation and routing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.hashing import sha256_text
from mlqa_domain.labeling.classifiers.domain_head import DomainHead, HeadClassifier
from mlqa_domain.labeling.domain_head_training import (
    HeadSettings,
    article_folds,
    choose_threshold,
    embed_reference,
    fit_layers,
    nested_evaluation,
)
from mlqa_domain.labeling.reference import (
    GUIDELINES_VERSION,
    classifier_input,
    default_reference_path,
    join_reference,
    load_reference_labels,
)
from mlqa_domain.labeling.reference_audit import domain_metrics

REPO_ROOT = Path(__file__).resolve().parents[1]
SQUAD_TRAIN = REPO_ROOT.parent / "shared" / "data" / "squad-v1.1-train" / "train-v1.1.json"
DOMAINS = ["biomedical", "legal", "finance", "science"]


@pytest.fixture(scope="module")
def squad_train() -> Path:
    """The real SQuAD v1.1 train paragraphs in ../shared (skips when absent)."""
    if not SQUAD_TRAIN.is_file():
        pytest.skip("../shared/data/squad-v1.1-train/train-v1.1.json not found")
    return SQUAD_TRAIN


def test_shipped_reference_set_meets_its_promises():
    labels = load_reference_labels(known=DOMAINS)
    assert len(labels) >= 2000
    assert len({label.title for label in labels}) >= 300
    for domain in DOMAINS:
        clear = sum(domain in lab.domains and domain not in lab.borderline for lab in labels)
        assert clear >= 150, domain
    assert {label.guidelines_version for label in labels} <= {"1.0", "1.1"}
    assert any(label.borderline for label in labels)
    text = default_reference_path().read_text(encoding="utf-8")
    assert '"context"' not in text  # labels only, no copied paragraph text
    guidelines = (REPO_ROOT / "docs" / "labelling-guidelines.md").read_text(encoding="utf-8")
    assert f"**Version: {GUIDELINES_VERSION}**" in guidelines


def _write_labels(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_join_with_a_squad_file_by_title_and_context_hash(tmp_path):
    squad = tmp_path / "squad.json"
    contexts = ["The court held the statute void.", "Cells divide by mitosis."]
    squad.write_text(
        json.dumps(
            {"data": [{"title": "Law_x", "paragraphs": [{"context": c, "qas": []} for c in contexts]}]}
        ),
        encoding="utf-8",
    )
    labels = _write_labels(
        tmp_path / "labels.jsonl",
        [
            {
                "title": "Law_x",
                "context_sha256": sha256_text(contexts[0]),
                "domains": ["legal"],
                "borderline": [],
                "guidelines_version": "1.1",
            },
            {
                "title": "Law_x",
                "context_sha256": sha256_text("not in the file"),
                "domains": [],
                "guidelines_version": "1.1",
            },
        ],
    )
    items, missing = join_reference(squad, load_reference_labels(labels, known=DOMAINS))
    assert missing == 1
    assert [(i.title, i.context, i.label.domains) for i in items] == [("Law_x", contexts[0], ("legal",))]
    assert classifier_input(items[0].context, items[0].title) == "Law x. The court held the statute void."


@pytest.mark.parametrize(
    "rows, problem",
    [
        (
            [{"title": "A", "context_sha256": "x", "domains": ["law"], "guidelines_version": "1"}],
            "unknown domain",
        ),
        ([{"title": "A", "domains": [], "guidelines_version": "1"}], "expected title, context_sha256"),
        (
            [{"title": "A", "context_sha256": "x", "domains": [], "guidelines_version": "1"}] * 2,
            "labelled twice",
        ),
        ([], "no labels"),
    ],
)
def test_bad_reference_files_are_one_line_errors(tmp_path, rows, problem):
    path = _write_labels(tmp_path / "labels.jsonl", rows)
    with pytest.raises(InputError, match=problem):
        load_reference_labels(path, known=DOMAINS)


def test_join_refuses_a_file_that_is_not_squad(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(InputError, match="not a SQuAD-format file"):
        join_reference(bad)


def _head(dim: int = 8) -> DomainHead:
    rng = np.random.default_rng(0)
    return DomainHead(
        domains=DOMAINS,
        layers=[(rng.normal(size=(4, dim)).astype(np.float32), np.zeros(4, dtype=np.float32))],
        thresholds={d: 0.5 for d in DOMAINS},
        embedding_model="some/model",
        probe=rng.normal(size=dim).astype(np.float32),
        info={"guidelines_version": "1.1"},
    )


def test_head_round_trips_through_safetensors(tmp_path):
    head = _head()
    path = head.save(tmp_path / "head.safetensors")
    again = DomainHead.load(path)
    x = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    np.testing.assert_allclose(again.probabilities(x), head.probabilities(x), rtol=1e-6)
    assert again.thresholds == head.thresholds and again.embedding_model == "some/model"
    assert path.stat().st_size < 4096


def test_a_file_that_is_not_a_head_is_a_clear_error(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(b"not safetensors at all")
    with pytest.raises(ConfigError, match="not a safetensors domain head"):
        DomainHead.load(path)
    with pytest.raises(ConfigError, match="not found"):
        DomainHead.load(tmp_path / "missing.safetensors")


def test_head_for_another_embedding_model_is_a_clear_error(tmp_path, tiny_sbert, minilm_path):
    """A head trained on all-MiniLM-L6-v2 embeddings refuses to run on another model's."""
    from mlqa_domain.embeddings import TextEncoder
    from mlqa_domain.labeling.domain_head_training import probe_embedding

    minilm = TextEncoder(str(minilm_path), use_cache=False)
    head = _head(dim=384)
    head.probe = probe_embedding(minilm)
    head.embedding_model = "sentence-transformers/all-MiniLM-L6-v2"
    path = head.save(tmp_path / "head.safetensors")
    ok = HeadClassifier(path, minilm, domains=DOMAINS)
    assert ok.scores(["Cells divide by mitosis."], "en").shape == (1, 4)
    other = HeadClassifier(path, TextEncoder(str(tiny_sbert), use_cache=False), domains=DOMAINS)
    with pytest.raises(ConfigError, match="trained on embeddings of sentence-transformers/all-MiniLM-L6-v2"):
        other.scores(["Cells divide by mitosis."], "en")


def test_threshold_is_the_lowest_tau_that_reaches_the_precision_target():
    scores = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    gold = np.array([1, 1, 1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    assert choose_threshold(scores, gold, 0.9) == pytest.approx(0.6)  # at 0.4 precision is 7/8
    assert choose_threshold(scores, gold, 0.85) == pytest.approx(0.4)  # 7/8 >= 0.85, 0.3 gives 7/9
    assert choose_threshold(scores, gold, 1.0) == pytest.approx(0.6)
    # unreachable target: the τ of the best precision among τ with enough predictions
    assert choose_threshold(scores, ~gold, 0.99) == pytest.approx(0.2)


def test_folds_never_split_an_article():
    groups = np.repeat(np.arange(20), 5)
    folds = article_folds(groups, 5, seed=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(100))
    owners = [set(groups[f]) for f in folds]
    for i in range(5):
        for j in range(i + 1, 5):
            assert not owners[i] & owners[j]


@pytest.mark.slow
def test_head_trained_on_a_small_subset_beats_prototypes_on_held_out_articles(squad_train, minilm_path):
    """Train on the labelled paragraphs of some articles, test on other articles: the head wins."""
    from mlqa_domain.embeddings import TextEncoder
    from mlqa_domain.labeling.classifiers.embedding import EmbeddingClassifier
    from mlqa_domain.labeling.reference_audit import prototype_predictions
    from mlqa_domain.labeling.taxonomy import load_taxonomy

    items, _ = join_reference(squad_train)
    titles = sorted({item.title for item in items})
    rng = np.random.default_rng(0)
    rng.shuffle(titles)
    train_titles, test_titles = set(titles[:150]), set(titles[150:230])
    chosen = [i for i in items if i.title in train_titles | test_titles and i.label.pool != "random2"]
    encoder = TextEncoder(str(minilm_path))
    data = embed_reference(chosen, encoder, DOMAINS)
    train = np.array([item.title in train_titles for item in chosen])
    use = ~data.borderline[train]
    layers = fit_layers(data.inputs["title_context"][train], data.gold[train], use=use)
    head = DomainHead(DOMAINS, layers, {d: 0.5 for d in DOMAINS}, "m", np.zeros(384))
    test = ~train
    held_out = data.subset(np.flatnonzero(test))
    head_pred = head.probabilities(held_out.inputs["title_context"]) >= 0.5
    tax = load_taxonomy()
    prototypes = EmbeddingClassifier.from_taxonomy(encoder, tax)
    proto_pred = prototype_predictions(held_out, prototypes, tax.thresholds, tax.classification.delta)
    keep = ~held_out.borderline

    def macro_f1(pred):
        m = domain_metrics(held_out.gold, pred, held_out.groups, DOMAINS, keep=keep, n_resamples=10)
        return np.mean([m[d]["f1"] for d in DOMAINS])

    head_f1, proto_f1 = macro_f1(head_pred), macro_f1(proto_pred)
    assert head_f1 > proto_f1 + 0.1, (head_f1, proto_f1)


def test_nested_evaluation_predicts_every_item_from_a_head_that_never_saw_its_article():
    rng = np.random.default_rng(0)
    n, dim = 120, 6
    gold = np.zeros((n, 4), dtype=bool)
    gold[np.arange(n), rng.integers(0, 4, n)] = True
    x = gold.astype(np.float32) @ rng.normal(size=(4, dim)).astype(np.float32) + rng.normal(0, 0.3, (n, dim))
    from mlqa_domain.labeling.domain_head_training import EmbeddedReference

    data = EmbeddedReference(
        items=[None] * n,
        domains=DOMAINS,
        inputs={"title_context": x, "context": x},
        gold=gold,
        borderline=np.zeros_like(gold),
        groups=np.repeat(np.arange(30), 4),
    )
    result = nested_evaluation(data, HeadSettings(folds=3, min_precision=0.8))
    assert len(result.fold_thresholds) == 3
    m = domain_metrics(gold, result.predictions["title_context"], data.groups, DOMAINS, n_resamples=20)
    assert all(m[d]["f1"] > 0.8 for d in DOMAINS)
    assert all(m[d]["ci95"]["precision"][0] <= m[d]["precision"] for d in DOMAINS)
