"""Extractive QA (SQuAD, CUAD, ...): canonical rows ``id, title, question, context, answers{text,
answer_start}`` (the HF ``squad`` schema; MRQA ``detected_answers`` converted), trained as
``run_qa.py`` does: overlapping context windows whose answer positions point at the CLS token when the
answer is outside the window."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import datasets
import numpy as np
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from mlqa_domain.benchmark import metric
from mlqa_domain.benchmark.features import (
    QAFeatures,
    context_sequence_id,
    prepare_validation_features,
    tokenize_windows,
)
from mlqa_domain.benchmark.spans import logits_to_answers
from mlqa_domain.errors import InputError
from mlqa_domain.training.formats._common import BaseFormat, Columns, as_text, get_path, map_features
from mlqa_domain.training.formats.base import TASK_FORMATS, Evaluation, Featurization
from mlqa_domain.training.task_registry import TaskSpec

EXTRACTIVE_QA = "extractive_qa"
# Intermediate and target QA tasks are English: their validation answers are scored with its rules.
VALIDATION_LANGUAGE = "en"
_FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "title": datasets.Value("string"),
        "question": datasets.Value("string"),
        "context": datasets.Value("string"),
        "answers": {
            "text": datasets.Sequence(datasets.Value("string")),
            "answer_start": datasets.Sequence(datasets.Value("int32")),
        },
    }
)


def normalise_answers(value: Any, context: str) -> dict[str, list]:
    """HF squad answers from the squad schema, a list of answer dicts, or MRQA ``detected_answers``."""
    if isinstance(value, list):  # list of {"text", "answer_start"} or of MRQA {"text", "char_spans"}
        value = {key: [item.get(key) for item in value] for key in ("text", "answer_start", "char_spans")}
    if not isinstance(value, Mapping):
        raise ValueError("answers must be a struct")
    if value.get("answer_start") is not None and all(s is not None for s in value.get("answer_start") or []):
        texts, starts = list(value.get("text") or []), [int(s) for s in value.get("answer_start") or []]
        if len(texts) != len(starts):
            raise ValueError("answers.text and answers.answer_start differ in length")
        for text, start in zip(texts, starts, strict=True):
            if context[start : start + len(text)] != text:  # a wrong offset would train on the wrong span
                raise ValueError(f"answer {text!r} is not at offset {start} of the context")
        return {"text": texts, "answer_start": starts}
    spans = value.get("char_spans")
    if spans is None:
        raise ValueError("answers need answer_start (squad) or char_spans (MRQA)")
    texts, starts = [], []
    for span in spans:  # MRQA: {"start": [...], "end": [...]} per answer, inclusive end
        if isinstance(span, list):  # list of {"start": s, "end": e}
            span = {"start": [s["start"] for s in span], "end": [s["end"] for s in span]}
        for start, end in zip(span["start"], span["end"], strict=True):
            texts.append(context[int(start) : int(end) + 1])
            starts.append(int(start))
    return {"text": texts, "answer_start": starts}


def answer_positions(offsets: list, sequence_ids: list, answers: Mapping, context_id: int, cls_index: int):
    """(start token, end token) of the first answer in one window; both ``cls_index`` when it is outside."""
    if not answers["answer_start"]:
        return cls_index, cls_index
    start_char = answers["answer_start"][0]
    end_char = start_char + len(answers["text"][0])
    first = sequence_ids.index(context_id)
    last = len(sequence_ids) - 1 - sequence_ids[::-1].index(context_id)
    if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
        return cls_index, cls_index
    token = first
    while token <= last and offsets[token][0] <= start_char:
        token += 1
    start = token - 1
    token = last
    while token >= first and offsets[token][1] >= end_char:
        token -= 1
    return start, token + 1


def prepare_qa_train_features(
    examples: Mapping[str, list], tokenizer: PreTrainedTokenizerBase, max_seq_length: int, doc_stride: int
) -> dict[str, list]:
    """``run_qa.py``'s ``prepare_train_features``: windows with start/end token positions (CLS if absent)."""
    questions = [q.lstrip() for q in examples["question"]]
    tokenized = tokenize_windows(tokenizer, questions, examples["context"], max_seq_length, doc_stride)
    sample_mapping = tokenized.pop("overflow_to_sample_mapping")
    offset_mapping = tokenized.pop("offset_mapping")
    context_id = context_sequence_id(tokenizer)
    starts, ends, has_answer = [], [], []
    for i, offsets in enumerate(offset_mapping):
        input_ids = tokenized["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        answers = examples["answers"][sample_mapping[i]]
        start, end = answer_positions(offsets, tokenized.sequence_ids(i), answers, context_id, cls_index)
        starts.append(start)
        ends.append(end)
        has_answer.append(start != cls_index or end != cls_index)
    tokenized["start_positions"] = starts
    tokenized["end_positions"] = ends
    tokenized["has_answer"] = has_answer
    return dict(tokenized)


def sample_negatives(features: Dataset, ratio: float, seed: int) -> Dataset:
    """Keep every window with the answer and at most ``ratio`` times as many without it (CUAD style)."""
    flags = np.asarray(features["has_answer"], dtype=bool)
    positives, negatives = np.flatnonzero(flags), np.flatnonzero(~flags)
    keep_n = min(len(negatives), int(math.ceil(ratio * len(positives))))
    rng = np.random.default_rng(seed)
    kept = np.sort(np.concatenate([positives, rng.choice(negatives, size=keep_n, replace=False)]))
    return features.select(kept.tolist())


@TASK_FORMATS.register(EXTRACTIVE_QA)
class ExtractiveQA(BaseFormat):
    """SQuAD-style extractive QA: the target format of STILTs, scored by `bench run`."""

    name = EXTRACTIVE_QA
    head = "question_answering"
    columns = {"question": True, "context": True, "answers": True, "id": False, "title": False}
    windowed = True
    metrics = ("exact_match", "f1")
    selection_metric = "f1"

    def check_spec(self, spec: TaskSpec) -> None:
        """Windows must move forward: the stride below the window length."""
        if spec.hparams.doc_stride >= spec.hparams.max_seq_length:
            raise ValueError(
                f"hparams.doc_stride ({spec.hparams.doc_stride}) must be below max_seq_length "
                f"({spec.hparams.max_seq_length})"
            )

    def to_canonical(self, spec: TaskSpec, data: Dataset, label_names: list[str] | None) -> Dataset:
        """Rows in the HF squad schema (an answer not at its offset is an InputError)."""
        cols = Columns(spec, data.column_names)
        q, c, a = cols.require("question"), cols.require("context"), cols.require("answers")
        id_col, title_col = cols.source("id"), cols.source("title")

        def convert(row: dict, index: int) -> dict:
            context = as_text(get_path(row, c))
            try:
                answers = normalise_answers(get_path(row, a), context)
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"row {index}: bad answers: {exc}", cols.where) from None
            return {
                "id": str(get_path(row, id_col)) if id_col else f"{spec.name}-{index}",
                "title": as_text(get_path(row, title_col)) if title_col else "",
                "question": as_text(get_path(row, q)).strip(),
                "context": context,
                "answers": answers,
            }

        return data.map(convert, with_indices=True, remove_columns=data.column_names, features=_FEATURES)

    def featurize(self, data: Dataset, tokenizer: PreTrainedTokenizerBase, how: Featurization) -> Dataset:
        """Training windows with answer positions; optionally fewer windows without the answer."""
        features = map_features(
            data,
            prepare_qa_train_features,
            tokenizer,
            f"QA features {how.description}".strip(),
            max_seq_length=how.max_seq_length,
            doc_stride=how.doc_stride,
        )
        if how.negative_feature_ratio is not None:
            features = sample_negatives(features, how.negative_feature_ratio, how.seed)
        return features.remove_columns("has_answer")

    def evaluation(self, data: Dataset, tokenizer: PreTrainedTokenizerBase, how: Featurization) -> Evaluation:
        """Training-style windows (answer positions give the validation loss) scored by SQuAD EM / F1 of the
        answers decoded from the predicted logits, as `bench run` decodes them (n-best spans per example)."""
        features = self.featurize(data, tokenizer, Featurization(how.max_seq_length, how.doc_stride))
        windows = prepare_validation_features(
            data["question"], data["context"], tokenizer, how.max_seq_length, how.doc_stride
        )
        lengths = np.fromiter(
            (len(ids) for ids in features["input_ids"]), dtype=np.int64, count=len(features)
        )
        if len(windows) != len(features) or not np.array_equal(windows.lengths, lengths):
            raise RuntimeError("validation windows differ between the loss and the metric tokenisation")
        return Evaluation(features, QAMetrics(data, windows))


class QAMetrics:
    """EM / F1 (0-100) of the answers the Trainer's start/end logits give for validation windows."""

    def __init__(self, data: Dataset, windows: QAFeatures) -> None:
        self.examples = {"id": list(data["id"]), "context": list(data["context"])}
        self.gold = [
            (qid, answers["text"])
            for qid, answers in zip(data["id"], data["answers"], strict=True)
            if answers["text"]
        ]
        self.windows = windows

    def __call__(self, eval_pred) -> dict[str, float]:
        """Metrics of an ``EvalPrediction`` whose predictions are ``(start_logits, end_logits)``."""
        start, end = (_fit(logits, self.windows.context_mask) for logits in eval_pred.predictions[:2])
        answers = logits_to_answers(self.examples, self.windows, start, end)
        if not self.gold:
            return {"exact_match": 0.0, "f1": 0.0}
        scores = metric.evaluate(self.gold, answers, VALIDATION_LANGUAGE)
        return {"exact_match": scores["exact_match"], "f1": scores["f1"]}


def _fit(logits: np.ndarray, context_mask: np.ndarray) -> np.ndarray:
    """Logits cut or padded (``-inf``) to the windows' width (the Trainer pads batches to their longest).

    Positions past a window's own tokens are outside its context mask, so they never become answers.
    """
    width = context_mask.shape[1]
    out = np.full((len(context_mask), width), -np.inf, dtype=np.float32)
    common = min(width, logits.shape[1])
    out[:, :common] = logits[:, :common]
    return out
