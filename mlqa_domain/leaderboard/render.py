"""Render the leaderboard as a static site: open index.html from disk, no server, no network."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import mlqa_domain
from mlqa_domain.atomic import atomic_dir
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest
from mlqa_domain.leaderboard.table import Row, Table, store_table, table_json
from mlqa_domain.progress import track

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).with_name("templates")
ASSETS = ("style.css", "sort.js")
OVERVIEW_TOP = 8


@dataclass(frozen=True)
class RenderSettings:
    """Defaults of `bench leaderboard render`."""

    out: Path = Path("site")


DEFAULTS = RenderSettings()


def environment() -> Environment:
    """Jinja environment with HTML autoescaping of every user string."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_site(store: LeaderboardStore, out: str | Path = DEFAULTS.out) -> Table:
    """Write index.html, one page per entry, PNG plots and leaderboard.json/.csv to ``out`` atomically."""
    manifest = store.manifest()
    table = store_table(store, manifest)
    with atomic_dir(out) as tmp:
        write_site(tmp, manifest, table)
    return table


def write_site(site: Path, manifest: Manifest, table: Table) -> None:
    """Everything the site holds, written into the directory ``site``."""
    from mlqa_domain.leaderboard import plots  # matplotlib: only when a site is written

    env = environment()
    common = {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": mlqa_domain.__version__,
        "fingerprint": manifest.dataset_fingerprint,
        "split": manifest.split,
    }
    for sub in ("assets", "entries", "plots"):
        (site / sub).mkdir()
    for asset in ASSETS:
        shutil.copyfile(TEMPLATES / asset, site / "assets" / asset)
    for row in track(table.rows, "rendering entry pages"):
        write_entry_page(site, env, row, len(table.rows), common)
    top = table.rows[:OVERVIEW_TOP]
    overview = plots.overview_gap_plot(top, table.gap_domains, site / "plots" / "domain-gap.png")
    index = env.get_template("index.html").render(
        root="",
        table=table,
        columns=table.columns("page"),
        dataset=manifest.dataset_location,
        overview_plot="plots/domain-gap.png" if overview else None,
        overview_count=len([r for r in top if r.domain_gap]),
        **common,
    )
    (site / "index.html").write_text(index, "utf-8")
    (site / "leaderboard.json").write_text(table_json(table), "utf-8")
    (site / "leaderboard.csv").write_text(table.to_csv(), "utf-8")


def write_entry_page(site: Path, env: Environment, row: Row, total: int, common: dict) -> None:
    """``entries/<id>.html`` and ``.json`` of one row's entry, and its plots."""
    from mlqa_domain.leaderboard import plots

    entry, eid = row.entry, row.entry_id
    plots.f1_heatmap(entry, site / "plots" / f"{eid}-heatmap.png")
    gap_plot = plots.entry_gap_plot(entry, site / "plots" / f"{eid}-gap.png")
    (site / "entries" / f"{eid}.json").write_text(entry.model_dump_json(indent=2) + "\n", "utf-8")
    html = env.get_template("entry.html").render(
        root="../",
        entry=entry,
        sub=entry.submission,
        ver=entry.verification,
        row=row,
        total=total,
        settings=entry.submission.settings.model_dump(),
        configs=sorted(entry.submission.configs.items()),
        gap_plot=gap_plot is not None,
        **common,
    )
    (site / "entries" / f"{eid}.html").write_text(html, "utf-8")
