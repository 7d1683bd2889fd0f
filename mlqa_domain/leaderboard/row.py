"""One entry's line in the leaderboard table: what the columns of :mod:`mlqa_domain.leaderboard.columns`
read, and what :mod:`mlqa_domain.leaderboard.table` builds from the verified scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlqa_domain.leaderboard.schema import Entry


@dataclass
class Row:
    """One entry's line in the table (what the columns of ``columns.COLUMNS`` read)."""

    rank: int
    entry_id: str
    model: str
    revision: str | None
    base_model: str
    intermediate_tasks: list[str]
    submitter: str
    date: str
    harness_version: str
    n_configs: int
    n_seeds: int
    mlqa_f1: float | None
    mlqa_em: float | None
    entry: Entry = field(repr=False, compare=False)  # the stored entry the row comes from
    mlqa_f1_std: float | None = None  # SD over seeds (multi-seed entries)
    mlqa_count: int = 0
    domain_f1: dict[str, float | None] = field(default_factory=dict)
    language_f1: dict[str, float | None] = field(default_factory=dict)
    domain_gap: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, float]] = field(default_factory=dict)
