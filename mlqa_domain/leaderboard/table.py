"""The leaderboard table: one row per entry, computed from the verified per-config scores.

Aggregates are unweighted means of verified per-config scores, defined as in `bench run`'s averages:
- overall: monolingual configs except ``all.*`` (the domains and ``general``);
- per domain: the monolingual configs of that domain (``general`` is a column; ``all`` is not);
- per language: every config except ``all.*`` whose *context* is in that language (cross-lingual too);
- domain gap: the domain's F1 minus general's, averaged over the language pairs with both, with a
  bootstrap 95% CI (computed at submission time from the per-question scores).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from mlqa_domain.configs import ALL, GENERAL, parse_config_name
from mlqa_domain.leaderboard.columns import Column, View, header_groups, row_json, table_columns
from mlqa_domain.leaderboard.schema import Entry
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 4) if values else None


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
    overall_f1: float | None
    overall_em: float | None
    entry: Entry = field(repr=False, compare=False)  # the stored entry the row comes from
    domain_f1: dict[str, float | None] = field(default_factory=dict)
    language_f1: dict[str, float | None] = field(default_factory=dict)
    domain_gap: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class Table:
    """All rows, ranked by overall F1, and the column sets they share."""

    rows: list[Row]
    domains: list[str]
    languages: list[str]
    gap_domains: list[str]
    total_configs: int

    def columns(self, view: View = "all") -> list[Column]:
        """The table's columns (``page``/``show``: the page's, the terminal's)."""
        return table_columns(self, view)

    def page_groups(self) -> list[tuple[str, int]]:
        """The page's header groups over its columns: ``(group, span)``."""
        return header_groups(self.columns("page"))

    def to_json(self) -> dict[str, Any]:
        """The ``leaderboard.json`` export."""
        return {
            "schema_version": 1,
            "columns": {
                "domains": self.domains,
                "languages": self.languages,
                "gap_domains": self.gap_domains,
            },
            "total_configs": self.total_configs,
            "entries": [row_json(row) for row in self.rows],
        }

    def csv_header(self) -> list[str]:
        """Flat column names of the CSV export."""
        return [name for column in self.columns() for name in column.csv_names()]

    def to_csv(self) -> str:
        """The ``leaderboard.csv`` export."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.csv_header())
        columns = self.columns()
        for row in self.rows:
            writer.writerow([cell for column in columns for cell in column.csv_cells(row)])
        return out.getvalue()


def domain_order(domains: set[str]) -> list[str]:
    """Domains alphabetically, ``general`` last."""
    return sorted(domains - {GENERAL}) + ([GENERAL] if GENERAL in domains else [])


def _aggregates(
    entry: Entry,
) -> tuple[list[tuple[float, float]], dict[str, list[float]], dict[str, list[float]]]:
    """(overall (F1, EM) pairs, F1s per domain, F1s per context language) of the verified scores."""
    by_domain: dict[str, list[float]] = {}
    by_language: dict[str, list[float]] = {}
    overall: list[tuple[float, float]] = []
    for name, score in entry.verification.configs.items():
        config = parse_config_name(name)
        if config.domain == ALL:
            continue
        by_language.setdefault(config.context_language, []).append(score.f1)
        if config.is_monolingual:
            by_domain.setdefault(config.domain, []).append(score.f1)
            overall.append((score.f1, score.exact_match))
    return overall, by_domain, by_language


def build_row(entry: Entry) -> Row:
    """Aggregate one entry's verified scores (rank is set by ``build_table``)."""
    scores = entry.verification.configs
    sub = entry.submission
    overall, by_domain, by_language = _aggregates(entry)
    return Row(
        rank=0,
        entry_id=entry.entry_id,
        model=sub.model.id,
        revision=sub.model.commit_hash or sub.model.revision,
        base_model=sub.model.base_model,
        intermediate_tasks=list(sub.model.intermediate_tasks),
        submitter=sub.submitter,
        date=sub.date.strftime("%Y-%m-%d"),
        harness_version=sub.harness.version,
        n_configs=len(scores),
        overall_f1=_mean([f1 for f1, _ in overall]),
        overall_em=_mean([em for _, em in overall]),
        domain_f1={d: _mean(v) for d, v in by_domain.items()},
        language_f1={lang: _mean(v) for lang, v in by_language.items()},
        domain_gap={
            d: {"f1_gap": g.f1_gap, "f1_ci95": list(g.f1_ci95), "languages": g.languages}
            for d, g in entry.verification.domain_gaps.items()
        },
        configs={
            name: {"exact_match": s.exact_match, "f1": s.f1, "count": s.count}
            for name, s in sorted(scores.items())
        },
        entry=entry,
    )


def build_table(entries: list[Entry], total_configs: int = 0) -> Table:
    """Rows ranked by overall F1 (then EM, then earlier submission first)."""
    rows = [build_row(e) for e in entries]
    rows.sort(key=lambda r: (-(r.overall_f1 or 0.0), -(r.overall_em or 0.0), r.date, r.entry_id))
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
    domains = domain_order({d for r in rows for d in r.domain_f1})
    languages = sorted({lang for r in rows for lang in r.language_f1})
    gap_domains = domain_order({d for r in rows for d in r.domain_gap})
    return Table(rows, domains, languages, gap_domains, total_configs)


def store_table(store: LeaderboardStore, manifest: Manifest | None = None) -> Table:
    """The table of every entry in ``store`` (``manifest``: the store's, when already read)."""
    manifest = manifest or store.manifest()
    return build_table(store.entries(), total_configs=len(manifest.configs))


def table_json(table: Table) -> str:
    """leaderboard.json text."""
    return json.dumps(table.to_json(), indent=2, ensure_ascii=False) + "\n"
