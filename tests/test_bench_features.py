"""QA features (offsets back to the context, overflow with stride) and padding-free batched inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.benchmark.features import prepare_validation_features
from mlqa_domain.benchmark.inference import predict_logits, prepare_model, resolve_device
from mlqa_domain.errors import ConfigError

CONTEXTS = [
    "The court ruled that the contract was void because the tenant had not signed the lease. "
    "The river flows through the old town and past the cathedral built in 1248.",
    "Der Vertrag ist nichtig, weil der Mieter den Mietvertrag nicht unterschrieben hat.",
    "法院裁定合同无效，因为租户没有签署租约。",
]
QUESTIONS = ["   When was the cathedral built?", "Wer?", "什么？"]
ANSWERS = ["1248", "Mieter", "合同"]


@pytest.fixture(scope="module")
def tokenizer(tiny_xlmr: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_xlmr)


def test_features_overflow_and_offsets_map_back_to_the_context(tokenizer) -> None:
    max_len, stride = 24, 6
    features = prepare_validation_features(QUESTIONS, CONTEXTS, tokenizer, max_len, stride)
    assert np.all(np.diff(features.example_index) >= 0)
    assert set(features.example_index.tolist()) == {0, 1, 2}
    assert features.lengths.max() <= max_len
    assert np.sum(features.example_index == 0) > 1  # the long context overflows

    for example, context in enumerate(CONTEXTS):
        rows = np.flatnonzero(features.example_index == example)
        covered = np.zeros(len(context), dtype=bool)
        windows = []
        for row in rows:
            mask = features.context_mask[row]
            offs = features.offsets[row][mask]
            assert np.all(np.diff(offs[:, 0]) >= 0) and np.all(offs[:, 1] >= offs[:, 0])
            for lo, hi in offs:
                covered[lo:hi] = True
            windows.append([tuple(o) for o in offs.tolist()])
            # The question tokens come first and are not part of the context.
            assert not mask[0] and mask.sum() < features.lengths[row]
        # Every non-space character of the context is in some feature.
        assert all(covered[i] for i, ch in enumerate(context) if not ch.isspace())
        # Consecutive windows overlap by exactly `stride` context tokens.
        for prev, nxt in zip(windows, windows[1:], strict=False):
            assert prev[-stride:] == nxt[:stride]

        # Round trip: the tokens covering the answer slice back to it.
        answer = ANSWERS[example]
        start_char = context.index(answer)
        end_char = start_char + len(answer)
        found = False
        for row in rows:
            offs, mask = features.offsets[row], features.context_mask[row]
            starts = np.flatnonzero(mask & (offs[:, 0] <= start_char) & (offs[:, 1] > start_char))
            ends = np.flatnonzero(mask & (offs[:, 0] < end_char) & (offs[:, 1] >= end_char))
            if len(starts) and len(ends):
                text = context[offs[starts[0], 0] : offs[ends[-1], 1]]
                assert answer in text and len(text.strip()) <= len(answer) + 4
                found = True
        assert found


def test_question_leading_whitespace_is_stripped(tokenizer) -> None:
    padded = prepare_validation_features(["   Wer?"], [CONTEXTS[1]], tokenizer)
    plain = prepare_validation_features(["Wer?"], [CONTEXTS[1]], tokenizer)
    assert np.array_equal(padded.input_ids[0], plain.input_ids[0])


def test_slow_tokenizer_is_refused() -> None:
    class Slow:
        is_fast = False

    with pytest.raises(TypeError, match="fast tokenizer"):
        prepare_validation_features(["q"], ["c"], Slow())


def test_dynamic_padding_gives_the_logits_of_unpadded_single_features(tiny_xlmr: Path, tokenizer) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering

    torch.manual_seed(0)
    model = prepare_model(
        AutoModelForQuestionAnswering.from_pretrained(tiny_xlmr), torch.device("cpu"), "fp32"
    )
    features = prepare_validation_features(QUESTIONS, CONTEXTS, tokenizer, 24, 6)
    batched_start, batched_end = predict_logits(model, features, tokenizer.pad_token_id, batch_size=4)
    single_start, single_end = predict_logits(model, features, tokenizer.pad_token_id, batch_size=1)
    lengths = features.lengths
    for row, length in enumerate(lengths):
        assert np.all(np.isneginf(batched_start[row, length:]))
        assert np.all(np.isfinite(batched_start[row, :length]))
        with torch.inference_mode():
            out = model(input_ids=torch.from_numpy(features.input_ids[row])[None])
        np.testing.assert_allclose(batched_start[row, :length], out.start_logits[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(batched_end[row, :length], out.end_logits[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(batched_start, single_start, atol=1e-5)
    np.testing.assert_allclose(batched_end, single_end, atol=1e-5)


def test_device_and_precision_checks() -> None:
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu")
    if not __import__("torch").cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            resolve_device("cuda")


def test_question_without_room_for_a_window_is_a_clear_error(tokenizer) -> None:
    from mlqa_domain.benchmark.features import QuestionTooLongError

    long_question = " ".join(["Wer hat den Vertrag unterschrieben?"] * 6)
    long_context = " ".join(CONTEXTS[:2] * 3)
    with pytest.raises(QuestionTooLongError, match="question 1 has") as info:
        prepare_validation_features(["Wer?", long_question], [long_context, long_context], tokenizer, 48, 16)
    assert info.value.index == 1
    # The same question with a context that fits needs no truncation and is fine.
    features = prepare_validation_features([long_question], ["Wer?"], tokenizer, 512, 16)
    assert len(features) == 1
