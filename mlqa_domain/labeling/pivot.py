"""Parallel alignment and the English pivot: label each MLQA id once, share the labels across languages.

The pivot assumes that instances sharing an ``id`` are the same question about the same passage in other
languages (true of MLQA and XQuAD). :func:`check_parallel` tests what can be tested of that without a
translation model, and the build warns with the ids that fail (their labels may be wrong):

* a year (1500-2099) in the English answer must appear in the other context (answers are translations,
  and years are written in digits in every MLQA language);
* two contexts that each mention at least two years must share one;
* the context lengths must be within a factor of :data:`MAX_LENGTH_RATIO` of each other, after the
  language's usual length relative to English (:data:`CHARS_PER_ENGLISH_CHAR`).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlqa_domain.example import Example
from mlqa_domain.labeling.ensemble import Labeling
from mlqa_domain.languages import PIVOT_LANGUAGE

logger = logging.getLogger(__name__)

# Characters of a context per character of its English parallel (Chinese and Japanese write far fewer).
CHARS_PER_ENGLISH_CHAR = {"zh": 0.3, "ja": 0.35, "ko": 0.45}
MAX_LENGTH_RATIO = 5.0
# Ids (with their reasons) named in build_info.json and the warning; all of them are counted.
SHOWN_SUSPECTS = 20
_YEAR = re.compile(r"(?<![0-9])(1[5-9][0-9]{2}|20[0-9]{2})(?![0-9])")
_NON_ASCII_DIGIT = re.compile(r"[^\x00-\x7f]")


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit (Arabic-Indic, Devanagari, full-width, ...) as an ASCII one."""
    if not _NON_ASCII_DIGIT.search(text):
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def years(text: str) -> set[str]:
    """The years (1500-2099, written in digits of any script) that ``text`` mentions."""
    return set(_YEAR.findall(_ascii_digits(text)))


_NO_YEARS: frozenset[str] = frozenset()


class PivotInstance:
    """What the pivot needs of one example: its languages, context and title, and (for a pivot-language
    one) the years its answers mention; no question, no answers, no labels."""

    __slots__ = ("context_language", "question_language", "context", "title", "answer_years")

    def __init__(
        self,
        context_language: str,
        question_language: str,
        context: str,
        title: str | None,
        answer_years: frozenset[str] | None = None,
    ) -> None:
        self.context_language = context_language
        self.question_language = question_language
        self.context = context
        self.title = title
        self.answer_years = answer_years or _NO_YEARS


Instance = Example | PivotInstance  # what the pivot reads of an example


def answer_years(instance: Instance) -> frozenset[str]:
    """The years an instance's answers mention (one shared empty set when none does)."""
    if isinstance(instance, PivotInstance):
        return instance.answer_years
    found = frozenset().union(*(years(text) for text in instance.answers.get("text", [])))
    return found or _NO_YEARS


def length_ratio(pivot: Instance, other: Instance) -> float:
    """How many times longer (> 1) or shorter (< 1) ``other``'s context is than expected from
    ``pivot``'s, taking each language's usual length per English character into account."""
    expected = CHARS_PER_ENGLISH_CHAR.get(other.context_language, 1.0) / CHARS_PER_ENGLISH_CHAR.get(
        pivot.context_language, 1.0
    )
    return (len(other.context) / max(len(pivot.context), 1)) / expected


def parallel_mismatch(pivot: Instance, other: Instance) -> str | None:
    """Why ``other`` looks like no translation of ``pivot`` (same id, another context language), or None
    when nothing that can be checked contradicts it."""
    lang = other.context_language
    pivot_answer_years = answer_years(pivot)
    context_years = years(other.context)
    if pivot_answer_years and not pivot_answer_years & context_years:
        year = min(pivot_answer_years)
        return f"the {pivot.context_language} answer's year {year} is not in the {lang} context"
    pivot_years = years(pivot.context)
    if len(pivot_years) >= 2 and len(context_years) >= 2 and not pivot_years & context_years:
        return f"the {pivot.context_language} and {lang} contexts mention years but share none"
    ratio = length_ratio(pivot, other)
    if not 1 / MAX_LENGTH_RATIO <= ratio <= MAX_LENGTH_RATIO:
        return f"the {lang} context is {ratio:.1f}x the expected length of the {pivot.context_language} one"
    return None


@dataclass
class ParallelCheck:
    """Ids whose instances contradict the parallel-id assumption of the pivot (see the module)."""

    checked: int = 0  # ids with a pivot instance and an instance in another context language
    suspects: dict[str, str] = field(default_factory=dict)  # id -> the first reason found

    def to_dict(self) -> dict[str, Any]:
        """For build_info.json: counts and the first :data:`SHOWN_SUSPECTS` ids with their reasons."""
        shown = dict(sorted(self.suspects.items())[:SHOWN_SUSPECTS])
        return {"checked_ids": self.checked, "suspect_ids": len(self.suspects), "examples": shown}


def check_parallel(
    groups: Mapping[str, Sequence[Instance]] | Iterable[tuple[str, Sequence[Instance]]],
    pivot: str = PIVOT_LANGUAGE,
) -> ParallelCheck:
    """Check every id that has a ``pivot`` instance against its instances in the other context languages
    (each distinct context once) and warn, naming the ids, when some do not look parallel. ``groups``:
    instances by id, or (id, instances) pairs one group at a time."""
    check = ParallelCheck()
    for gid, instances in groups.items() if isinstance(groups, Mapping) else groups:
        english = next((e for e in instances if e.context_language == pivot), None)
        others = {(e.context_language, e.context): e for e in instances if e.context_language != pivot}
        if english is None or not others:
            continue
        check.checked += 1
        for key in sorted(others):
            reason = parallel_mismatch(english, others[key])
            if reason is not None:
                check.suspects[gid] = reason
                break
    if check.suspects:
        named = "; ".join(f"{gid} ({why})" for gid, why in sorted(check.suspects.items())[:5])
        logger.warning(
            "%d of %d ids do not look parallel across languages, yet get their English labels through the "
            "pivot (check the sources' ids): %s%s",
            len(check.suspects),
            check.checked,
            named,
            " ..." if len(check.suspects) > 5 else "",
        )
    return check


def group_by_id(examples: Sequence[Example]) -> dict[str, list[Example]]:
    """Parallel instances (same ``id``) across languages and pairs."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[example.id].append(example)
    return groups


def representative(instances: Sequence[Instance], pivot: str = PIVOT_LANGUAGE) -> Instance:
    """The instance whose context labels a parallel group: the pivot-language one, else the first by
    context language (so a group without English still gets one set of labels)."""
    for example in instances:
        if example.context_language == pivot:
            return example
    return min(instances, key=lambda e: (e.context_language, e.question_language))


@dataclass(frozen=True)
class GroupLabel:
    """The labels every instance of one parallel group gets, and where they came from."""

    labeling: Labeling
    provenance: dict[str, Any]  # the labeler's provenance for the labelling language, + label_source


def provenance_json(example: Example) -> str:
    """Canonical JSON of an example's provenance (sorted keys, for byte-stable parquet)."""
    return json.dumps(example.provenance, sort_keys=True, ensure_ascii=False)
