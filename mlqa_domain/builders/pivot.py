"""Parallel alignment and the English pivot: label each MLQA id once, share the labels across languages."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

from mlqa_domain.builders.ensemble import Labeler, Labeling
from mlqa_domain.example import Example
from mlqa_domain.languages import PIVOT_LANGUAGE


def group_by_id(examples: Sequence[Example]) -> dict[str, list[Example]]:
    """Parallel instances (same ``id``) across languages and pairs."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[example.id].append(example)
    return groups


Key = tuple[str, str]  # (context, title or "")


def _label_unique(labeler: Labeler, keys: list[Key], language: str) -> dict[Key, Labeling]:
    """Label each distinct (context, title) once."""
    unique = sorted(set(keys))
    if not unique:
        return {}
    labels = labeler.label([c for c, _ in unique], language, [t or None for _, t in unique])
    return dict(zip(unique, labels, strict=True))


def representative(instances: Sequence[Example], pivot: str = PIVOT_LANGUAGE) -> Example:
    """The instance whose context labels a parallel group: the pivot-language one, else the first by
    context language (so a group without English still gets one set of labels)."""
    for example in instances:
        if example.context_language == pivot:
            return example
    return min(instances, key=lambda e: (e.context_language, e.question_language))


def label_examples(examples: Sequence[Example], labeler: Labeler, pivot: str = PIVOT_LANGUAGE) -> dict:
    """Set domains/scores/provenance on every example, in place; return counts of how they were labelled.

    Each parallel group (same ``id``) is labelled once, from its pivot-language (English) context where it
    has one, and every instance of the group gets those labels, so ``legal.de`` and ``legal.es`` hold the
    same questions. A group with no pivot instance is labelled from one of its own contexts (the first
    by language), in that language.
    """
    groups = group_by_id(examples)
    chosen = {gid: representative(insts, pivot) for gid, insts in groups.items()}
    keys_by_language: dict[str, list[Key]] = defaultdict(list)
    for rep in chosen.values():
        keys_by_language[rep.context_language].append(_key(rep))
    labels = {lang: _label_unique(labeler, keys, lang) for lang, keys in sorted(keys_by_language.items())}

    provenance = {lang: labeler.provenance(lang) for lang in labels}
    counts = {
        "pivot": 0,
        "own_language": 0,
        "pivot_contexts": len(labels.get(pivot, {})),
        "own_language_contexts": sum(len(v) for lang, v in labels.items() if lang != pivot),
    }
    for gid, insts in groups.items():
        rep = chosen[gid]
        labeling = labels[rep.context_language][_key(rep)]
        is_pivot = rep.context_language == pivot
        source = f"pivot:{pivot}" if is_pivot else f"own:{rep.context_language}"
        counts["pivot" if is_pivot else "own_language"] += len(insts)
        for example in insts:
            example.domains = list(labeling.domains)
            example.domain_scores = dict(labeling.domain_scores)
            example.classifier_scores = {k: dict(v) for k, v in labeling.classifier_scores.items()}
            example.provenance = {**provenance[rep.context_language], "label_source": source}
    return counts


def _key(example: Example) -> Key:
    return (example.context, example.title or "")


def provenance_json(example: Example) -> str:
    """Canonical JSON of an example's provenance (sorted keys, for byte-stable parquet)."""
    return json.dumps(example.provenance, sort_keys=True, ensure_ascii=False)
