"""The leaderboard table: one row per entry, from the verified per-config scores.

Every aggregate is defined once, in :mod:`mlqa_domain.benchmark.aggregates` (as in `bench run`):
- ``mlqa_f1`` / ``mlqa_em``: the headline, the mean over languages of ``all.<lang>``;
- ``domain_f1``: the mean over languages of ``<domain>.<lang>`` (``general`` too);
- ``language_f1``: ``all.<lang>`` per language (the headline's parts);
- ``domain_gap``: domain F1 minus general F1 over the languages with both, with its bootstrap 95% CI
  (computed at submission time from the per-question scores).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from mlqa_domain.benchmark import aggregates
from mlqa_domain.configs import ALL, GENERAL, parse_config_name
from mlqa_domain.leaderboard.columns import Column, View, header_groups, row_json, table_columns
from mlqa_domain.leaderboard.row import Row
from mlqa_domain.leaderboard.schema import Entry
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest


@dataclass
class Table:
    """All rows, ranked by MLQA F1, and the column sets they share."""

    rows: list[Row]
    domains: list[str]
    languages: list[str]
    gap_domains: list[str]
    total_configs: int
    general: str = GENERAL

    def columns(self, view: View = "all") -> list[Column]:
        """The table's columns (``page``/``show``: the page's, the terminal's)."""
        return table_columns(self, view)

    def page_groups(self) -> list[tuple[str, int, bool]]:
        """The page's header groups over its columns: ``(group, span, behind the details toggle)``."""
        return header_groups(self.columns("page"))

    def to_json(self) -> dict[str, Any]:
        """The ``leaderboard.json`` export."""
        return {
            "schema_version": 2,
            "columns": {
                "domains": self.domains,
                "languages": self.languages,
                "gap_domains": self.gap_domains,
            },
            "definitions": dict(aggregates.DEFINITIONS),
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
            writer.writerow([csv_safe(cell) for column in columns for cell in column.csv_cells(row)])
        return out.getvalue()


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, with a ``'`` in front (numbers as they are)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def domain_order(domains: set[str], general: str = GENERAL) -> list[str]:
    """Domains alphabetically, the general label last."""
    return aggregates.domain_order(domains, general)


def entry_aggregates(entry: Entry, general: str = GENERAL) -> dict[str, dict[str, Any]]:
    """The entry's aggregates: as verified, or (older entries) from its verified config scores."""
    if entry.verification.aggregates:
        return {name: value.model_dump() for name, value in entry.verification.aggregates.items()}
    configs = {name: score.model_dump() for name, score in entry.verification.configs.items()}
    return aggregates.aggregate_scores(configs, general)


def build_row(entry: Entry, general: str = GENERAL) -> Row:
    """Aggregate one entry's verified scores (rank is set by ``build_table``)."""
    scores = entry.verification.configs
    sub = entry.submission
    values = entry_aggregates(entry, general)
    headline = values.get(aggregates.HEADLINE) or {}
    seeds = entry.verification.seeds
    spread = (seeds.aggregates.get(aggregates.HEADLINE) or {}).get("f1") if seeds else None
    languages = {}
    for name, score in scores.items():
        config = parse_config_name(name)
        if config.domain == ALL and config.is_monolingual:
            languages[config.context_language] = round(score.f1, aggregates.DIGITS)
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
        n_seeds=len(sub.seeds or []) or 1,
        mlqa_f1=headline.get("f1"),
        mlqa_em=headline.get("exact_match"),
        mlqa_f1_std=spread.std if spread else None,
        mlqa_count=int(headline.get("count") or 0),
        domain_f1={
            name.removeprefix(aggregates.DOMAIN_PREFIX): value["f1"]
            for name, value in values.items()
            if name.startswith(aggregates.DOMAIN_PREFIX)
        },
        language_f1=languages,
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


def build_table(entries: list[Entry], total_configs: int = 0, general: str = GENERAL) -> Table:
    """Rows ranked by MLQA F1 (then EM, then earlier submission first)."""
    rows = [build_row(e, general) for e in entries]
    rows.sort(key=lambda r: (-(r.mlqa_f1 or 0.0), -(r.mlqa_em or 0.0), r.date, r.entry_id))
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
    domains = domain_order({d for r in rows for d in r.domain_f1}, general)
    languages = sorted({lang for r in rows for lang in r.language_f1})
    gap_domains = domain_order({d for r in rows for d in r.domain_gap}, general)
    return Table(rows, domains, languages, gap_domains, total_configs, general)


def store_table(store: LeaderboardStore, manifest: Manifest | None = None) -> Table:
    """The table of every entry in ``store`` (``manifest``: the store's, when already read)."""
    manifest = manifest or store.manifest()
    return build_table(store.entries(), total_configs=len(manifest.configs), general=manifest.general)


def table_json(table: Table) -> str:
    """leaderboard.json text."""
    return json.dumps(table.to_json(), indent=2, ensure_ascii=False) + "\n"
