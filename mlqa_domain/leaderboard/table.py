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

from mlqa_domain.leaderboard.schema import Entry

ALL = "all"
GENERAL = "general"


def split_config(name: str) -> tuple[str, str, str]:
    """``legal.de.en`` -> (domain, context language, language pair ``de.en``)."""
    domain, _, pair = name.partition(".")
    return domain, pair.split(".")[0], pair


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 4) if values else None


@dataclass
class Row:
    """One entry's line in the table."""

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
    domain_f1: dict[str, float | None] = field(default_factory=dict)
    language_f1: dict[str, float | None] = field(default_factory=dict)
    domain_gap: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for leaderboard.json."""
        return dict(self.__dict__)


@dataclass
class Table:
    """All rows, ranked by overall F1, and the column sets they share."""

    rows: list[Row]
    domains: list[str]
    languages: list[str]
    gap_domains: list[str]
    total_configs: int

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
            "entries": [row.to_json() for row in self.rows],
        }

    def csv_header(self) -> list[str]:
        """Flat column names of the CSV export."""
        return (
            ["rank", "entry_id", "model", "revision", "base_model", "intermediate_tasks", "submitter", "date"]
            + ["harness_version", "n_configs", "overall_f1", "overall_em"]
            + [f"f1_{d}" for d in self.domains]
            + [f"f1_lang_{lang}" for lang in self.languages]
            + [c for d in self.gap_domains for c in (f"gap_{d}", f"gap_{d}_ci_low", f"gap_{d}_ci_high")]
        )

    def to_csv(self) -> str:
        """The ``leaderboard.csv`` export."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.csv_header())
        for r in self.rows:
            gaps = []
            for d in self.gap_domains:
                gap = r.domain_gap.get(d)
                gaps += [gap["f1_gap"], gap["f1_ci95"][0], gap["f1_ci95"][1]] if gap else ["", "", ""]
            writer.writerow(
                [r.rank, r.entry_id, r.model, r.revision or "", r.base_model, ";".join(r.intermediate_tasks)]
                + [
                    r.submitter,
                    r.date,
                    r.harness_version,
                    r.n_configs,
                    _blank(r.overall_f1),
                    _blank(r.overall_em),
                ]
                + [_blank(r.domain_f1.get(d)) for d in self.domains]
                + [_blank(r.language_f1.get(lang)) for lang in self.languages]
                + gaps
            )
        return out.getvalue()


def _blank(value: float | None) -> Any:
    return "" if value is None else value


def domain_order(domains: set[str]) -> list[str]:
    """Domains alphabetically, ``general`` last."""
    return sorted(domains - {GENERAL}) + ([GENERAL] if GENERAL in domains else [])


def build_row(entry: Entry) -> Row:
    """Aggregate one entry's verified scores (rank is set by ``build_table``)."""
    scores = entry.verification.configs
    sub = entry.submission
    by_domain: dict[str, list[float]] = {}
    by_language: dict[str, list[float]] = {}
    overall: list[tuple[float, float]] = []
    for name, score in scores.items():
        domain, context_language, pair = split_config(name)
        if domain == ALL:
            continue
        by_language.setdefault(context_language, []).append(score.f1)
        if "." not in pair:
            by_domain.setdefault(domain, []).append(score.f1)
            overall.append((score.f1, score.exact_match))
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


def table_json(table: Table) -> str:
    """leaderboard.json text."""
    return json.dumps(table.to_json(), indent=2, ensure_ascii=False) + "\n"
