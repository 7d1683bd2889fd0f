"""Leaderboard entries as sides of a `bench compare`, and each entry page's baseline.

An entry's per-question scores (seed means) are its stored ``scores.json``, written when it was
verified; entries stored before that are re-scored from their stored predictions against the gold answers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlqa_domain.benchmark import protocol as protocols
from mlqa_domain.benchmark.aggregates import QuestionScores
from mlqa_domain.benchmark.compare import Run, mean_over_seeds
from mlqa_domain.benchmark.results import SCORES_FILE
from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import parse_json
from mlqa_domain.leaderboard.dataset_info import load_gold
from mlqa_domain.leaderboard.schema import Entry
from mlqa_domain.leaderboard.store import ENTRIES, LeaderboardStore, Manifest
from mlqa_domain.registry import did_you_mean


def find_entry(entries: Sequence[Entry], text: str, where: str) -> Entry:
    """The entry named ``text``: its id, a unique id prefix, or a unique model name."""
    for entry in entries:
        if entry.entry_id == text:
            return entry
    matches = [e for e in entries if e.entry_id.startswith(text)] or [
        e for e in entries if e.submission.model.id == text
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(e.entry_id for e in matches[:4])
        raise InputError(f"{text!r} names {len(matches)} entries ({ids}); give the entry id", where)
    names = [e.submission.model.id for e in entries] + [e.entry_id for e in entries]
    hint = did_you_mean(text, names)
    raise InputError(f"no entry {text!r} on the leaderboard ({hint}see `bench leaderboard show`)", where)


def _rescore(store: LeaderboardStore, entry: Entry, manifest: Manifest) -> dict[str, QuestionScores]:
    """Per-question scores of an entry stored without scores.json, from its stored predictions."""
    from mlqa_domain.benchmark.metric import per_question_scores

    runs = [(s.dir + "/", s.configs) for s in entry.submission.seeds or []] or [
        ("", entry.submission.configs)
    ]
    per_seed: list[dict[str, QuestionScores]] = [{} for _ in runs]
    for config in sorted(entry.submission.configs):
        gold = load_gold(manifest, config)
        for i, (prefix, claims) in enumerate(runs):
            path = f"{ENTRIES}/{entry.entry_id}/{prefix}{claims[config].predictions_file}"
            raw = store.read_bytes(path)
            if raw is None:
                raise InputError("stored predictions file is missing", f"{store.location}/{path}")
            em, f1 = per_question_scores(gold.answers, parse_json(raw, path), gold.language)
            per_seed[i][config] = QuestionScores(list(gold.answers), np.asarray(em), np.asarray(f1))
    return mean_over_seeds(per_seed, entry.entry_id)  # type: ignore[arg-type]


def entry_scores(
    store: LeaderboardStore, entry: Entry, manifest: Manifest | None = None
) -> dict[str, QuestionScores]:
    """The entry's per-question scores (seed means)."""
    path = f"{ENTRIES}/{entry.entry_id}/{SCORES_FILE}"
    raw = store.read_bytes(path)
    if raw is None:
        return _rescore(store, entry, manifest or store.manifest())
    data = parse_json(raw, f"{store.location}/{path}")
    return {name: QuestionScores.from_json(value) for name, value in data.items()}


def entry_run(entry: Entry, scores: dict[str, QuestionScores], general: str) -> Run:
    """An entry as one side of a comparison."""
    sub = entry.submission
    protocol = (
        protocols.Protocol(sub.protocol.name, sub.protocol.settings, sub.protocol.declared)
        if sub.protocol
        else protocols.of_results({"settings": sub.settings.model_dump()})
    )
    return Run(
        label=sub.model.id,
        source=entry.entry_id,
        fingerprint=sub.dataset.fingerprint,
        split=sub.dataset.split,
        scores=scores,
        seeds=sub.seed_values,
        general=general,
        model=sub.model.model_dump(),
        protocol=protocol,
    )


def default_baseline(entry: Entry, entries: Sequence[Entry]) -> Entry | None:
    """The plain-SQuAD run (no intermediate task) of the same base model, the earliest submitted; None when
    there is none or ``entry`` is it."""
    if not entry.submission.model.intermediate_tasks:
        return None
    base = entry.submission.model.base_model
    candidates = [
        e
        for e in entries
        if e.entry_id != entry.entry_id
        and e.submission.model.base_model == base
        and not e.submission.model.intermediate_tasks
    ]
    return min(candidates, key=lambda e: (e.submission.date, e.entry_id), default=None)
