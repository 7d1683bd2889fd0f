"""The official MLQA metric (facebookresearch/MLQA ``mlqa_evaluation_v1.py``), exactly, and fast.

``normalize_answer`` applies the official steps in the official order:

1. ``str.lower()``;
2. delete every punctuation character: Unicode category ``P*`` plus ASCII ``string.punctuation``
   (so ``$ + < = > ^ ` | ~`` go too, other symbols such as ``€ ° ©`` stay);
3. replace each language's "articles" by a space (en, es, de, vi regexes with ``\\b`` word
   boundaries; ar: every ``ال``, also inside words; none for hi and zh);
4. tokenise on whitespace (``str.split()``), except zh: every CJK char U+4E00-U+9FA5 is a token
   of its own and the runs between them are split on whitespace; tokens are re-joined by one space.

EM compares normalised strings; F1 is the token-multiset F1 (0 when no token is shared, so an
empty prediction against an empty gold has EM 1 and F1 0, as in the official script). Both are
maxima over the gold answers, taken separately; the file scores are ``100 * sum / total`` over all
gold questions, summed in gold order (a missing prediction scores 0), so the floats equal the
official script's bit for bit.
"""

from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlqa_domain.errors import InputError

if TYPE_CHECKING:
    import evaluate

METRIC_LANGUAGES: tuple[str, ...] = ("en", "es", "hi", "vi", "de", "ar", "zh")
"""The answer languages the official script knows (it raises for any other)."""

EVALUATE_METRIC_DIR = Path(__file__).resolve().parent / "mlqa_metric"

# Official article patterns, applied after lower-casing and punctuation removal; matches become " ".
_ARTICLE_PATTERNS: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
}
# The official Arabic rule is re.sub('\sال^|ال', ' ', text). Its first branch can never match
# (``^`` after three consumed characters), so it is exactly str.replace("ال", " ").
_ARABIC_ARTICLE = "\u0627\u0644"
# The official mixed segmentation's CJK test: re.search(r'[\u4e00-\u9fa5]', char).
_CJK_CHAR_SPLIT = re.compile("([\u4e00-\u9fa5])")

GoldInput = Mapping[str, Sequence[str]] | Iterable[tuple[str, Sequence[str]]]


def is_official_punctuation(char: str) -> bool:
    """The official per-character test: Unicode category P* or in ``string.punctuation``."""
    return unicodedata.category(char).startswith("P") or char in string.punctuation


@functools.cache
def punctuation_chars() -> frozenset[str]:
    """Every character the official script deletes as punctuation."""
    unicode_punct = (chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp))[0] == "P")
    return frozenset(unicode_punct).union(string.punctuation)


@functools.cache
def _punctuation_table() -> dict[int, None]:
    """A ``str.translate`` table that deletes every official punctuation character."""
    return dict.fromkeys(map(ord, punctuation_chars()))


def check_metric_language(lang: str, where: str | Path | None = None) -> str:
    """``lang`` lower-cased if the official metric knows it, else an InputError naming ``where``."""
    norm = lang.strip().lower() if isinstance(lang, str) else lang
    if norm not in METRIC_LANGUAGES:
        known = ", ".join(sorted(METRIC_LANGUAGES))
        raise InputError(f"unknown answer language {lang!r} for the MLQA metric (known: {known})", where)
    return norm


def _mixed_segmentation(text: str) -> list[str]:
    """Official zh tokens: each CJK char alone, whitespace-split runs in between.

    The official loop also makes each punctuation char a token of its own, but punctuation has
    already been deleted when this runs, so only the CJK split matters.
    """
    tokens: list[str] = []
    for index, piece in enumerate(_CJK_CHAR_SPLIT.split(text)):
        if index % 2:
            tokens.append(piece)
        else:
            tokens.extend(piece.split())
    return tokens


def _normalize_checked(text: str, lang: str) -> str:
    """``normalize_answer`` for a language already checked."""
    text = text.lower().translate(_punctuation_table())
    if lang == "ar":
        text = text.replace(_ARABIC_ARTICLE, " ")
    elif lang in _ARTICLE_PATTERNS:
        text = _ARTICLE_PATTERNS[lang].sub(" ", text)
    tokens = _mixed_segmentation(text) if lang == "zh" else text.split()
    return " ".join(tokens)


def normalize_answer(text: str, lang: str) -> str:
    """Lower-case, delete punctuation, remove articles, fix whitespace (official order and rules)."""
    return _normalize_checked(text, check_metric_language(lang))


def _f1_from_tokens(prediction_tokens: list[str], ground_truth_tokens: list[str]) -> float:
    """Token-multiset F1 with the official float operations (0 when nothing is shared)."""
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str, lang: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    lang = check_metric_language(lang)
    return float(_normalize_checked(prediction, lang) == _normalize_checked(ground_truth, lang))


def f1_score(prediction: str, ground_truth: str, lang: str) -> float:
    """Token-multiset F1 of the normalised strings, in 0..1."""
    lang = check_metric_language(lang)
    return _f1_from_tokens(
        _normalize_checked(prediction, lang).split(), _normalize_checked(ground_truth, lang).split()
    )


def _score_checked(prediction: str, ground_truths: Sequence[str], lang: str) -> tuple[float, float]:
    if not ground_truths:
        raise ValueError("a question needs at least one gold answer")
    prediction_norm = _normalize_checked(prediction, lang)
    prediction_tokens = prediction_norm.split()
    best_em = best_f1 = 0.0
    for ground_truth in ground_truths:
        gold_norm = _normalize_checked(ground_truth, lang)
        best_em = max(best_em, float(prediction_norm == gold_norm))
        best_f1 = max(best_f1, _f1_from_tokens(prediction_tokens, gold_norm.split()))
    return best_em, best_f1


def score_question(prediction: str, ground_truths: Sequence[str], lang: str) -> tuple[float, float]:
    """(EM, F1) of one prediction, each the maximum over ``ground_truths``, in 0..1."""
    return _score_checked(prediction, ground_truths, check_metric_language(lang))


def _gold_pairs(gold: GoldInput) -> list[tuple[str, Sequence[str]]]:
    if isinstance(gold, Mapping):
        return list(gold.items())
    return list(gold)


def _score_all(
    gold: GoldInput, predictions: Mapping[str, str], lang: str, report_unanswered: bool
) -> tuple[list[float], list[float]]:
    lang = check_metric_language(lang)
    em_scores: list[float] = []
    f1_scores: list[float] = []
    for question_id, ground_truths in _gold_pairs(gold):
        if question_id not in predictions:
            if report_unanswered:
                print(f"Unanswered question {question_id} will receive score 0.", file=sys.stderr)
            em_scores.append(0.0)
            f1_scores.append(0.0)
            continue
        if not ground_truths:
            raise InputError(f"question {question_id} has no gold answer")
        em, f1 = _score_checked(predictions[question_id], ground_truths, lang)
        em_scores.append(em)
        f1_scores.append(f1)
    return em_scores, f1_scores


def per_question_scores(
    gold: GoldInput, predictions: Mapping[str, str], lang: str
) -> tuple[list[float], list[float]]:
    """Per-question EM and F1 (0..1, in ``gold`` order; a missing prediction scores 0), for bootstraps.

    ``gold`` maps question id to its gold answer texts (or is a sequence of ``(id, answers)`` pairs,
    which keeps duplicated ids the way the official script counts them).
    """
    return _score_all(gold, predictions, lang, report_unanswered=False)


def _sequential_sum(values: Iterable[float]) -> float:
    """Left-to-right float sum, as the official ``+=`` loop (``sum()`` compensates since Python 3.12)."""
    total = 0.0
    for value in values:
        total += value
    return total


def file_score(values: Sequence[float]) -> float:
    """``100 * sum / count`` of per-question scores (0..1), summed as the official script sums them."""
    return 100.0 * _sequential_sum(values) / len(values)


def evaluate(gold: GoldInput, predictions: Mapping[str, str], lang: str) -> dict[str, float]:
    """``{"exact_match": 100 * mean EM, "f1": 100 * mean F1}`` over ALL gold questions.

    Like the official script, each unanswered question is reported on stderr and scores 0.
    """
    em_scores, f1_scores = _score_all(gold, predictions, lang, report_unanswered=True)
    if not em_scores:
        raise InputError("no gold questions to score")
    return {"exact_match": file_score(em_scores), "f1": file_score(f1_scores)}


def load_evaluate_metric(language: str | None = None, **load_kwargs: Any) -> evaluate.EvaluationModule:
    """The metric as an ``evaluate`` module, loaded offline from the local ``mlqa_metric`` directory.

    ``language`` becomes the config name (the default answer language); ``compute(language=...)``
    can override it.
    """
    import evaluate

    if language is not None:
        load_kwargs["config_name"] = check_metric_language(language)
    return evaluate.load(str(EVALUATE_METRIC_DIR), **load_kwargs)
