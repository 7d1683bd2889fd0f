"""Span extraction on crafted logits: the vectorised search picks what the n-best rule says it should."""

from __future__ import annotations

import numpy as np

from mlqa_domain.benchmark.features import QAFeatures
from mlqa_domain.benchmark.spans import logits_to_answers

NEG = -np.inf


def make_features(example_index: list[int], offsets: list[list[tuple[int, int]]], masks: list[list[bool]]):
    """QAFeatures built by hand; rows padded to the longest feature."""
    width = max(len(m) for m in masks)
    offsets_array = np.zeros((len(masks), width, 2), dtype=np.int64)
    mask_array = np.zeros((len(masks), width), dtype=bool)
    for row, (offs, mask) in enumerate(zip(offsets, masks, strict=True)):
        offsets_array[row, : len(offs)] = offs
        mask_array[row, : len(mask)] = mask
    return QAFeatures(
        input_ids=[np.zeros(len(m), dtype=np.int64) for m in masks],
        token_type_ids=None,
        example_index=np.asarray(example_index, dtype=np.int64),
        offsets=offsets_array,
        context_mask=mask_array,
    )


def word_offsets(context: str) -> list[tuple[int, int]]:
    """Character offsets of whitespace-separated words."""
    spans, pos = [], 0
    for word in context.split(" "):
        spans.append((pos, pos + len(word)))
        pos += len(word) + 1
    return spans


def logits(values: dict[int, float], width: int, length: int | None = None) -> np.ndarray:
    row = np.zeros(width, dtype=np.float32)
    for pos, value in values.items():
        row[pos] = value
    if length is not None:
        row[length:] = NEG
    return row


def single_example(context: str, start: dict[int, float], end: dict[int, float], **kwargs) -> str:
    """Feature = [CLS] q [SEP] <context words> [SEP]; returns the answer."""
    words = word_offsets(context)
    offs = [(0, 0), (0, 1), (0, 0), *words, (0, 0)]
    mask = [False, False, False] + [True] * len(words) + [False]
    features = make_features([0], [offs], [mask])
    width = len(mask)
    answers = logits_to_answers(
        {"id": ["q1"], "context": [context]},
        features,
        logits(start, width)[None],
        logits(end, width)[None],
        **kwargs,
    )
    return answers["q1"]


CONTEXT = "the court ruled that the contract was void in 1999"
# token positions: the=3 court=4 ruled=5 that=6 the=7 contract=8 was=9 void=10 in=11 1999=12


def test_best_simple_span() -> None:
    assert single_example(CONTEXT, {8: 5.0}, {10: 5.0}) == "contract was void"


def test_end_before_start_is_masked() -> None:
    # The top start is after the top end; the best valid pair mixes second-best logits.
    answer = single_example(CONTEXT, {10: 9.0, 4: 3.0}, {5: 9.0, 12: 2.0})
    # candidates: (10,5) invalid; (10,12)=11; (4,5)=12; (4,12)=5 -> (4,5)
    assert answer == "court ruled"


def test_max_answer_length_cuts_long_spans() -> None:
    start, end = {3: 10.0, 11: 1.0}, {12: 10.0, 4: 1.0}
    assert single_example(CONTEXT, start, end, max_answer_length=30) == CONTEXT
    # (3,12) has 10 tokens: too long with max 5; (11,12)=11 beats (3,4)=11? equal -> earlier start wins
    assert single_example(CONTEXT, start, end, max_answer_length=5) == "the court"
    assert single_example(CONTEXT, {3: 10.0, 11: 2.0}, end, max_answer_length=5) == "in 1999"


def test_question_and_special_tokens_are_masked() -> None:
    # Huge logits on [CLS] (0), the question token (1) and [SEP] (2) must not win.
    answer = single_example(CONTEXT, {0: 50.0, 1: 40.0, 2: 30.0, 6: 1.0}, {0: 50.0, 1: 40.0, 6: 1.0})
    assert answer == "that"


def test_ties_are_deterministic_earliest_span_wins() -> None:
    for _ in range(3):
        assert single_example(CONTEXT, {4: 2.0, 8: 2.0}, {4: 2.0, 8: 2.0}) == "court"


def test_n_best_limits_candidates() -> None:
    # With n_best=1 only the top start (10) and top end (5) are candidates: no valid pair -> "".
    assert single_example(CONTEXT, {10: 9.0, 4: 3.0}, {5: 9.0, 12: 2.0}, n_best=1) == ""
    assert single_example(CONTEXT, {10: 9.0, 4: 3.0}, {5: 9.0, 12: 2.0}, n_best=2) == "court ruled"


def test_best_span_across_two_overlapping_features() -> None:
    context = "alpha beta gamma delta epsilon zeta"
    words = word_offsets(context)
    # feature 0 covers words 0-3, feature 1 covers words 2-5 (overlap gamma delta)
    offs0 = [(0, 0), *words[0:4], (0, 0)]
    offs1 = [(0, 0), *words[2:6], (0, 0)]
    mask = [False, True, True, True, True, False]
    features = make_features([0, 0], [offs0, offs1], [mask, mask])
    start = np.stack([logits({1: 3.0}, 6), logits({3: 4.0}, 6)])
    end = np.stack([logits({2: 3.0}, 6), logits({4: 4.0}, 6)])
    answers = logits_to_answers({"id": ["x"], "context": [context]}, features, start, end)
    assert answers == {"x": "epsilon zeta"}
    # Swap the strengths: the first feature's span wins.
    start[0] *= 4  # feature 0: 12 + 3 = 15 > 8
    answers = logits_to_answers({"id": ["x"], "context": [context]}, features, start, end)
    assert answers == {"x": "alpha beta"}


def test_chinese_offsets_slice_the_original_context() -> None:
    context = "北京是中国的首都，有很多人。"
    chars = [(i, i + 1) for i in range(len(context))]
    offs = [(0, 0), (0, 2), (0, 0), *chars, (0, 0)]
    mask = [False, False, False] + [True] * len(chars) + [False]
    features = make_features([0], [offs], [mask])
    # 中国 = chars 3,4 -> tokens 6,7 ; 首都 = chars 6,7 -> tokens 9,10
    start = logits({9: 5.0}, len(mask))[None]
    end = logits({10: 5.0}, len(mask))[None]
    answers = logits_to_answers({"id": ["z"], "context": [context]}, features, start, end)
    assert answers == {"z": "首都"}


def test_examples_without_features_or_valid_spans_get_empty_answers() -> None:
    words = word_offsets(CONTEXT)
    offs = [(0, 0), *words, (0, 0)]
    mask = [False] + [True] * len(words) + [False]
    features = make_features([1], [offs], [mask])  # example 0 has no feature at all
    width = len(mask)
    start = logits({3: 1.0}, width, length=width)[None]
    end = logits({2: 1.0}, width, length=width)[None]
    answers = logits_to_answers(
        {"id": ["a", "b"], "context": [CONTEXT, CONTEXT]}, features, start, end, n_best=1
    )
    assert answers == {"a": "", "b": ""}


def reference_answers(examples, features, start_logits, end_logits, n_best, max_answer_length):
    """utils_qa's per-example loop (no null answer), kept as the reference."""
    answers = {}
    pairs = zip(examples["id"], examples["context"], strict=True)
    for example_idx, (example_id, context) in enumerate(pairs):
        best = None
        for f in np.flatnonzero(features.example_index == example_idx):
            length = len(features.input_ids[f])
            s_logits, e_logits = start_logits[f, :length], end_logits[f, :length]
            for s in np.argsort(s_logits)[::-1][:n_best]:
                for e in np.argsort(e_logits)[::-1][:n_best]:
                    if not (features.context_mask[f, s] and features.context_mask[f, e]):
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    score = float(s_logits[s]) + float(e_logits[e])
                    if best is None or score > best[0]:
                        best = (score, features.offsets[f, s, 0], features.offsets[f, e, 1])
        answers[example_id] = "" if best is None else context[best[1] : best[2]]
    return answers


def test_matches_the_per_example_reference_loop_on_random_logits() -> None:
    rng = np.random.default_rng(7)
    contexts, ids, example_index, offsets, masks, lengths = [], [], [], [], [], []
    for ex in range(30):
        context = " ".join(f"w{ex}_{i}" for i in range(rng.integers(5, 60)))
        words = word_offsets(context)
        contexts.append(context)
        ids.append(f"id{ex}")
        pos = 0
        while True:  # windows of up to 20 words, stride 8
            window = words[pos : pos + 20]
            offsets.append([(0, 0), (0, 1), (0, 0), *window, (0, 0)])
            masks.append([False, False, False] + [True] * len(window) + [False])
            example_index.append(ex)
            lengths.append(len(masks[-1]))
            if pos + 20 >= len(words):
                break
            pos += 8
    features = make_features(example_index, offsets, masks)
    width = features.context_mask.shape[1]
    start = rng.normal(size=(len(masks), width)).astype(np.float32)
    end = rng.normal(size=(len(masks), width)).astype(np.float32)
    for row, length in enumerate(lengths):
        start[row, length:] = NEG
        end[row, length:] = NEG
    examples = {"id": ids, "context": contexts}
    for n_best, max_len in [(20, 30), (5, 3), (3, 10)]:
        got = logits_to_answers(examples, features, start, end, n_best=n_best, max_answer_length=max_len)
        assert got == reference_answers(examples, features, start, end, n_best, max_len)
