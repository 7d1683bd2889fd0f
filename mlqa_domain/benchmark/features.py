"""Tokenise (question, context) pairs into model features the way transformers' ``run_qa.py`` does.

Long contexts overflow into several features that overlap by ``doc_stride`` tokens; only the context is
truncated (``only_second``, or ``only_first`` for tokenizers that pad on the left); each token keeps its
character offsets into the original context, and a mask says which tokens belong to the context (the
``sequence_ids`` test of ``run_qa.py``, where other offsets are set to ``None``). Nothing is padded here:
inference pads each batch to its own longest feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerBase

from mlqa_domain.benchmark.settings import DOC_STRIDE, MAX_SEQ_LENGTH

# Tokenise in slices so a large config does not hold every Python-side encoding at once.
_TOKENIZE_CHUNK = 1000


@dataclass
class QAFeatures:
    """Unpadded model inputs plus what span extraction needs, one row per feature."""

    input_ids: list[np.ndarray]
    token_type_ids: list[np.ndarray] | None
    example_index: np.ndarray  # (features,) index of the example each feature came from
    offsets: np.ndarray  # (features, max_len, 2) char offsets into the context
    context_mask: np.ndarray  # (features, max_len) True where the token is part of the context

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens of each feature."""
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self.input_ids))


class QuestionTooLongError(ValueError):
    """A question leaves no more than ``doc_stride`` tokens for the context."""

    def __init__(self, index: int, question_tokens: int, max_length: int, doc_stride: int) -> None:
        self.index = index
        super().__init__(
            f"question {index} has {question_tokens} tokens: with max_seq_length {max_length} the context "
            f"window is not longer than doc_stride {doc_stride}"
        )


def check_question_room(
    questions: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    doc_stride: int,
    offset: int = 0,
) -> None:
    """Raise QuestionTooLongError unless every question leaves more than ``doc_stride`` context tokens.

    (The tokenizer itself would panic on such a pair instead of raising a normal error.)
    """
    if not questions:
        return
    special = tokenizer.num_special_tokens_to_add(pair=True)
    encoded = tokenizer([q.lstrip() for q in questions], add_special_tokens=False)["input_ids"]
    lengths = np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(encoded))
    too_long = np.flatnonzero(max_length - special - lengths <= doc_stride)
    if len(too_long):
        index = int(too_long[0])
        raise QuestionTooLongError(index + offset, int(lengths[index]), max_length, doc_stride)


def context_sequence_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The sequence id of the context in a (question, context) pair (the context goes second unless the
    tokenizer pads on the left)."""
    return 1 if tokenizer.padding_side == "right" else 0


def tokenize_windows(
    tokenizer: PreTrainedTokenizerBase,
    questions: list[str],
    contexts: list[str],
    max_length: int,
    doc_stride: int,
):
    """``run_qa.py``'s tokenisation: each (question, context) pair cut into overlapping context windows,
    with character offsets and no padding."""
    context_first = context_sequence_id(tokenizer) == 0
    return tokenizer(
        contexts if context_first else questions,
        questions if context_first else contexts,
        truncation="only_first" if context_first else "only_second",
        max_length=max_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )


def effective_max_length(tokenizer: PreTrainedTokenizerBase, max_seq_length: int) -> int:
    """The feature length actually used: ``max_seq_length`` clamped to what the tokenizer's model takes."""
    return min(int(max_seq_length), int(tokenizer.model_max_length))


def prepare_validation_features(
    questions: Sequence[str],
    contexts: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int = MAX_SEQ_LENGTH,
    doc_stride: int = DOC_STRIDE,
) -> QAFeatures:
    """Features for extractive QA evaluation (``run_qa.py``'s ``prepare_validation_features``, unpadded).

    Questions are stripped of leading whitespace (some have lots of it and it wastes context room).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError("a fast tokenizer is needed (character offsets)")
    context_id = context_sequence_id(tokenizer)
    max_length = effective_max_length(tokenizer, max_seq_length)
    input_ids: list[np.ndarray] = []
    token_type_ids: list[np.ndarray] | None = []
    example_index: list[np.ndarray] = []
    offsets: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for lo in range(0, len(questions), _TOKENIZE_CHUNK):
        chunk_questions = [q.lstrip() for q in questions[lo : lo + _TOKENIZE_CHUNK]]
        chunk_contexts = list(contexts[lo : lo + _TOKENIZE_CHUNK])
        try:
            encoded = tokenize_windows(tokenizer, chunk_questions, chunk_contexts, max_length, doc_stride)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # tokenizers panics (pyo3 PanicException is a BaseException)
            # A question that leaves no room for a stride-sized window makes the tokenizer fail (even panic).
            check_question_room(chunk_questions, tokenizer, max_length, doc_stride, offset=lo)
            raise ValueError(f"tokenizer failed: {exc}") from None
        example_index.append(np.asarray(encoded["overflow_to_sample_mapping"], dtype=np.int64) + lo)
        input_ids.extend(np.asarray(ids, dtype=np.int64) for ids in encoded["input_ids"])
        if token_type_ids is not None and "token_type_ids" in encoded:
            token_type_ids.extend(np.asarray(t, dtype=np.int64) for t in encoded["token_type_ids"])
        else:
            token_type_ids = None
        for i, feature_offsets in enumerate(encoded["offset_mapping"]):
            offsets.append(np.asarray(feature_offsets, dtype=np.int64).reshape(-1, 2))
            # None (special tokens) becomes nan, so the comparison is False there.
            sequence_ids = np.array(encoded.sequence_ids(i), dtype=np.float64)
            masks.append(sequence_ids == context_id)
    offsets_array, mask_array = _padded(offsets, masks)
    return QAFeatures(
        input_ids=input_ids,
        token_type_ids=token_type_ids,
        example_index=np.concatenate(example_index) if example_index else np.zeros(0, dtype=np.int64),
        offsets=offsets_array,
        context_mask=mask_array,
    )


def _padded(offsets: list[np.ndarray], masks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature offsets and context masks as (features, longest, ...) arrays, zero-padded."""
    width = max((len(mask) for mask in masks), default=0)
    offsets_array = np.zeros((len(masks), width, 2), dtype=np.int64)
    mask_array = np.zeros((len(masks), width), dtype=bool)
    for row, (feature_offsets, mask) in enumerate(zip(offsets, masks, strict=True)):
        offsets_array[row, : len(mask)] = feature_offsets
        mask_array[row, : len(mask)] = mask
    return offsets_array, mask_array
