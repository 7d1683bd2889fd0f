"""Parallel alignment and the English pivot: label each MLQA id once, share the labels across languages."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

from mlqa_domain.builders.labeling import Labeler, Labeling
from mlqa_domain.example import Example
from mlqa_domain.languages import PIVOT_LANGUAGE


def group_by_id(examples: Sequence[Example]) -> dict[str, list[Example]]:
    """Parallel instances (same ``id``) across languages and pairs."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[example.id].append(example)
    return groups


def pivot_context(instances: Sequence[Example], pivot: str = PIVOT_LANGUAGE) -> str | None:
    """The pivot-language context of a parallel group, if the group has one."""
    for example in instances:
        if example.context_language == pivot:
            return example.context
    return None


def _label_unique(labeler: Labeler, texts: list[str], language: str) -> dict[str, Labeling]:
    unique = sorted(set(texts))
    return dict(zip(unique, labeler.label(unique, language), strict=True)) if unique else {}


def label_examples(examples: Sequence[Example], labeler: Labeler, pivot: str = PIVOT_LANGUAGE) -> dict:
    """Set domains/scores/provenance on every example, in place; return counts of how they were labelled.

    Where a parallel group has a pivot-language (English) context, that context is classified once and
    every instance of the group gets its labels, so ``legal.de`` and ``legal.es`` hold the same questions.
    Groups with no pivot instance are classified in their own context language.
    """
    groups = group_by_id(examples)
    pivot_of = {gid: pivot_context(insts, pivot) for gid, insts in groups.items()}
    pivot_labels = _label_unique(labeler, [c for c in pivot_of.values() if c is not None], pivot)

    own_texts: dict[str, list[str]] = defaultdict(list)
    for gid, insts in groups.items():
        if pivot_of[gid] is None:
            for example in insts:
                own_texts[example.context_language].append(example.context)
    own_labels = {lang: _label_unique(labeler, texts, lang) for lang, texts in sorted(own_texts.items())}

    base = labeler.provenance()
    counts = {"pivot": 0, "own_language": 0, "pivot_contexts": len(pivot_labels)}
    counts["own_language_contexts"] = sum(len(v) for v in own_labels.values())
    for gid, insts in groups.items():
        for example in insts:
            if pivot_of[gid] is not None:
                labeling, source = pivot_labels[pivot_of[gid]], f"pivot:{pivot}"
                counts["pivot"] += 1
            else:
                labeling = own_labels[example.context_language][example.context]
                source = f"own:{example.context_language}"
                counts["own_language"] += 1
            example.domains = list(labeling.domains)
            example.domain_scores = dict(labeling.domain_scores)
            example.classifier_scores = {k: dict(v) for k, v in labeling.classifier_scores.items()}
            example.provenance = {**base, "label_source": source}
    return counts


def provenance_json(example: Example) -> str:
    """Canonical JSON of an example's provenance (sorted keys, for byte-stable parquet)."""
    return json.dumps(example.provenance, sort_keys=True, ensure_ascii=False)
