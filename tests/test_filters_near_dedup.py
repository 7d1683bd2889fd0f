"""Near-duplicate contexts: the blocked cosine search, and the filter with the real MiniLM encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.embeddings import TextEncoder
from mlqa_domain.example import Example
from mlqa_domain.filters import build_filters, filter_report
from mlqa_domain.filters.dedup import NearDuplicateFilter, near_duplicate_representatives

LEASE = "The court ruled that the contract was void because the tenant had not signed the lease."
LEASE_EDIT = "The court ruled that the contract was void because the tenant had never signed the lease."
PATIENT = "The patient was treated with antibiotics after the infection spread to the lungs."
RIVER = "The river flows through the old town and past the cathedral built in 1248."


def make(
    id: str, context: str, question: str = "What happened?", split: str = "test", lang: str = "en"
) -> Example:
    return Example(
        id=id,
        split=split,
        context_language=lang,
        question_language="en",
        context=context,
        question=question,
        answers={"text": [context[:3]], "answer_start": [0]},
    )


def brute_force(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Reference: each row's earliest earlier kept row at cosine >= threshold, by plain loops."""
    kept: list[int] = []
    representative = np.full(len(vectors), -1)
    for i, row in enumerate(vectors):
        match = next((j for j in kept if float(row @ vectors[j]) >= threshold), None)
        if match is None:
            kept.append(i)
        else:
            representative[i] = match
    return representative


@pytest.mark.parametrize("block_size", [1, 3, 16, 1000])
def test_blocked_search_matches_brute_force(block_size: int):
    rng = np.random.default_rng(7)
    for _ in range(5):
        centres = rng.normal(size=(12, 8))
        vectors = centres[rng.integers(0, 12, size=60)] + rng.normal(scale=0.3, size=(60, 8))
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        representative, cosine = near_duplicate_representatives(vectors, 0.9, block_size=block_size)
        np.testing.assert_array_equal(representative, brute_force(vectors, 0.9))
        dup = representative >= 0
        assert dup.any() and (~dup).any()
        np.testing.assert_allclose(
            cosine[dup], (vectors[dup] * vectors[representative[dup]]).sum(1), atol=1e-5
        )
        assert (cosine[dup] >= 0.9).all()


def test_chains_point_at_kept_rows_only():
    """b is near a, c near b but not a: b goes (points at a); c stays, since b was not kept."""
    angles = np.radians([0.0, 15.0, 30.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    threshold = float(np.cos(np.radians(20)))
    for block_size in (1, 2, 3):
        representative, _ = near_duplicate_representatives(vectors, threshold, block_size)
        assert representative.tolist() == [-1, 0, -1]


@pytest.fixture(scope="module")
def encoder(minilm_path: Path, tmp_path_factory: pytest.TempPathFactory) -> TextEncoder:
    return TextEncoder(str(minilm_path), cache_dir=tmp_path_factory.mktemp("embedding-cache"))


def test_near_duplicate_contexts_lose_their_questions(encoder: TextEncoder):
    examples = [
        make("a1", LEASE, "Who had not signed?"),
        make("a2", LEASE, "What was void?"),  # same context: a different question, kept
        make("p", PATIENT),
        make("e1", LEASE_EDIT, "Who had never signed?"),
        make("e2", LEASE_EDIT, "What did the court rule?"),
        make("r", RIVER),
        make("v", LEASE_EDIT, split="validation"),  # other split: not compared with test
        make("de", LEASE_EDIT, lang="de"),  # other language pair: not compared
    ]
    near = NearDuplicateFilter(encoder, threshold=0.95)
    kept = near(examples)
    assert [e.id for e in kept] == ["a1", "a2", "p", "r", "v", "de"]
    assert [r.example.id for r in near.rejected] == ["e1", "e2"]
    assert near.rejected[0].reason.startswith("near-duplicate: context cosine 0.9")
    assert near.rejected[0].reason.endswith(">= 0.95 with the context of a1")
    [report] = filter_report([near.stats])
    assert (report["seen"], report["kept"], report["dropped"]) == (8, 6, 2)
    assert report["reasons"] == {"near-duplicate context (cosine >= 0.95)": 2}

    encoded = encoder.encoded_count
    strict = NearDuplicateFilter(encoder, threshold=0.99)
    assert strict(examples) == examples and strict.rejected == []
    assert encoder.encoded_count == encoded  # embeddings came from the cache


def test_flag_action_keeps_and_marks(encoder: TextEncoder):
    examples = [make("a", LEASE), make("b", LEASE_EDIT), make("c", RIVER)]
    [near] = build_filters({"near_dedup": {"action": "flag"}}, encoder_factory=lambda: encoder)
    assert near(examples) == examples
    assert examples[0].flags == [] and examples[2].flags == []
    [flag] = examples[1].flags
    assert flag.startswith("near-duplicate: context cosine") and flag.endswith("with the context of a")
    assert near.stats.flagged == 1 and near.stats.dropped == 0 and near.rejected == []
    assert filter_report([near.stats])[0]["reasons"] == {
        "flagged: near-duplicate context (cosine >= 0.95)": 1
    }


def test_model_option_builds_its_own_encoder(minilm_path: Path, tmp_path: Path):
    [near] = build_filters({"near_dedup": {"model": str(minilm_path), "cache_dir": str(tmp_path)}})
    assert isinstance(near.encoder, TextEncoder) and near.encoder.model_id == str(minilm_path)
    assert near([make("x", RIVER)]) == [make("x", RIVER)]  # one context: nothing to compare, no model load
