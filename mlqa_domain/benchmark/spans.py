"""Turn start/end logits into answer strings: vectorised n-best span search over all features of an example.

Semantics follow transformers' ``utils_qa.postprocess_qa_predictions`` (without null answers): for every
feature take the ``n_best`` highest start and end logits, keep the pairs that lie inside the context with
``start <= end`` and at most ``max_answer_length`` tokens, score them ``start_logit + end_logit`` and keep the
best pair over all features of the example. The text is sliced from the original context with the character
offsets, so it is exact for every script (no ``get_final_text`` detokenisation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mlqa_domain.benchmark.features import QAFeatures

# Features are scored in chunks so the n_best x n_best candidate tensor stays small.
_CHUNK_FEATURES = 2048


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    n_best: int = 20,
    max_answer_length: int = 30,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best valid (start, end) token pair of every feature and its score (``-inf`` when there is none).

    ``start_logits``/``end_logits``/``context_mask`` have shape (features, tokens); positions past a
    feature's length must hold ``-inf`` logits. Ties go to the earlier start, then the earlier end.
    """
    n_features, n_tokens = start_logits.shape
    k = max(1, min(n_best, n_tokens))
    starts = np.empty(n_features, dtype=np.int64)
    ends = np.empty(n_features, dtype=np.int64)
    scores = np.empty(n_features, dtype=np.float64)
    for lo in range(0, n_features, _CHUNK_FEATURES):
        hi = min(lo + _CHUNK_FEATURES, n_features)
        s, e, sc = _best_spans_chunk(
            start_logits[lo:hi], end_logits[lo:hi], context_mask[lo:hi], k, max_answer_length
        )
        starts[lo:hi], ends[lo:hi], scores[lo:hi] = s, e, sc
    return starts, ends, scores


def _top_k_positions(logits: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest logits of each row, in increasing position order."""
    if k >= logits.shape[1]:
        return np.broadcast_to(np.arange(logits.shape[1]), logits.shape).copy()
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    return np.sort(top, axis=1)


def _best_spans_chunk(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    k: int,
    max_answer_length: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.arange(start_logits.shape[0])[:, None]
    start_pos = _top_k_positions(start_logits, k)  # (F, k)
    end_pos = _top_k_positions(end_logits, k)  # (F, k)
    start_val = start_logits[rows, start_pos].astype(np.float64)
    end_val = end_logits[rows, end_pos].astype(np.float64)

    length = end_pos[:, None, :] - start_pos[:, :, None] + 1  # (F, k, k)
    valid = (
        context_mask[rows, start_pos][:, :, None]
        & context_mask[rows, end_pos][:, None, :]
        & (length >= 1)
        & (length <= max_answer_length)
    )
    score = np.where(valid, start_val[:, :, None] + end_val[:, None, :], -np.inf)
    flat_best = score.reshape(score.shape[0], -1).argmax(axis=1)  # first maximum: earliest start, then end
    best_start_slot, best_end_slot = np.divmod(flat_best, k)
    best_score = score.reshape(score.shape[0], -1)[rows[:, 0], flat_best]
    return start_pos[rows[:, 0], best_start_slot], end_pos[rows[:, 0], best_end_slot], best_score


def logits_to_answers(
    examples: Mapping[str, Sequence],
    features: QAFeatures,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    n_best: int = 20,
    max_answer_length: int = 30,
) -> dict[str, str]:
    """Answer text for every example id (``""`` when no valid span exists).

    ``examples`` holds ``id`` and ``context`` columns; ``features`` came from ``prepare_validation_features``
    on the same examples; the logits have one row per feature, padded with ``-inf`` past each feature.
    """
    ids = list(examples["id"])
    contexts = examples["context"]
    answers = dict.fromkeys(ids, "")
    n_features = len(features.example_index)
    if n_features == 0:
        return answers
    width = start_logits.shape[1]
    context_mask = features.context_mask[:, :width]
    offsets = features.offsets[:, :width]
    if start_logits.shape != context_mask.shape or end_logits.shape != context_mask.shape:
        raise ValueError(f"logits of shape {start_logits.shape} do not match {context_mask.shape} features")

    starts, ends, scores = best_spans(start_logits, end_logits, context_mask, n_best, max_answer_length)

    # Best feature per example: highest score, earliest feature on ties (lexsort is stable).
    order = np.lexsort((np.arange(n_features), -scores, features.example_index))
    example_of_sorted = features.example_index[order]
    first = np.flatnonzero(np.r_[True, example_of_sorted[1:] != example_of_sorted[:-1]])
    best_features = order[first]
    best_features = best_features[np.isfinite(scores[best_features])]

    char_start = offsets[best_features, starts[best_features], 0]
    char_end = offsets[best_features, ends[best_features], 1]
    for example_idx, lo, hi in zip(
        features.example_index[best_features].tolist(), char_start.tolist(), char_end.tolist(), strict=True
    ):
        answers[ids[example_idx]] = contexts[example_idx][lo:hi]
    return answers
