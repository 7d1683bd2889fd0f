"""Render the leaderboard as a static site: open index.html from disk, no server, no network."""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlqa_domain
from mlqa_domain.atomic import atomic_dir, check_output_dir, check_writable
from mlqa_domain.benchmark import aggregates
from mlqa_domain.errors import InputError, first_line
from mlqa_domain.leaderboard.columns import produced_by
from mlqa_domain.leaderboard.schema import Entry
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest
from mlqa_domain.leaderboard.table import Row, Table, store_table, table_json
from mlqa_domain.naming import public_dataset_name
from mlqa_domain.progress import track

if TYPE_CHECKING:
    from jinja2 import Environment

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
ASSETS = ("style.css", "sort.js")
OVERVIEW_TOP = 8
# the definitions the index page spells out (the rest are in leaderboard.json and the README)
PAGE_DEFINITIONS = ("mlqa", "domain", "gap", "count", "ci95", "min_detectable_f1")


@dataclass(frozen=True)
class RenderSettings:
    """Defaults of `bench leaderboard render`."""

    out: Path = Path("site")
    baseline: str | None = None  # the entry every page compares with (None: each entry's plain-SQuAD run)


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


def render_site(
    store: LeaderboardStore, out: str | Path = DEFAULTS.out, baseline: str | None = DEFAULTS.baseline
) -> Table:
    """Write index.html, one page per entry, PNG plots and leaderboard.json/.csv to ``out`` atomically
    (``out`` may be new, empty or an earlier rendered site, which holds :data:`SITE_MARKERS`).

    An entry that cannot be drawn is reported (a warning naming it) and left out of the site: one entry
    never stops the leaderboard from rendering. A write that fails (disk full, read-only) stops the render
    and leaves the earlier site as it was. Returns the table of the rows on the site."""
    check_output_dir(Path(out), _NOT_A_SITE, markers=SITE_MARKERS)
    check_writable(out)
    manifest = store.manifest()
    table = store_table(store, manifest)
    comparisons = Comparisons(store, manifest, table, baseline)
    with atomic_dir(out) as tmp:
        return write_site(tmp, manifest, table, comparisons)


SITE_MARKERS = ("index.html", "leaderboard.json")
_NOT_A_SITE = (
    "is not a rendered leaderboard (no index.html and leaderboard.json); not overwriting "
    "(choose another --out)"
)


class Comparisons:
    """Each entry's comparison with its baseline (computed once per pair, scores read once per entry)."""

    def __init__(
        self, store: LeaderboardStore, manifest: Manifest, table: Table, baseline: str | None
    ) -> None:
        from mlqa_domain.leaderboard.compare import find_entry

        self.store, self.manifest, self.table = store, manifest, table
        self.entries = [row.entry for row in table.rows]
        self.fixed = find_entry(self.entries, baseline, "--baseline") if baseline else None
        self._scores: dict[str, Any] = {}

    def baseline_of(self, entry: Entry) -> Entry | None:
        from mlqa_domain.leaderboard.compare import default_baseline

        if self.fixed is not None:  # none for itself, or when it is not on the site
            on_site = any(e.entry_id == self.fixed.entry_id for e in self.entries)
            return None if self.fixed.entry_id == entry.entry_id or not on_site else self.fixed
        return default_baseline(entry, self.entries)

    def leave_out(self, entry_ids: set[str]) -> None:
        """Entries the site could not draw are nobody's baseline (a --baseline among them: none is)."""
        self.entries = [e for e in self.entries if e.entry_id not in entry_ids]
        if self.fixed is not None and self.fixed.entry_id in entry_ids:
            logger.warning(
                "the --baseline entry %s is not on the site: pages show no comparison", self.fixed.entry_id
            )

    def _run(self, entry: Entry):
        from mlqa_domain.leaderboard.compare import entry_run, entry_scores

        if entry.entry_id not in self._scores:
            self._scores[entry.entry_id] = entry_scores(self.store, entry, self.manifest)
        return entry_run(entry, self._scores[entry.entry_id], self.manifest.general)

    def report(self, entry: Entry) -> tuple[Entry, dict[str, Any]] | None:
        """``(baseline, comparison)`` of ``entry``, or None when it has no baseline."""
        from mlqa_domain.benchmark.compare import compare_runs

        baseline = self.baseline_of(entry)
        if baseline is None:
            return None
        return baseline, compare_runs(self._run(entry), self._run(baseline))


def power_rows(table: Table) -> tuple[Row | None, list[dict[str, Any]]]:
    """The reference entry (rank 1) and, per monolingual domain config and aggregate, its questions and
    minimum detectable F1 difference (from that entry's per-question F1 SD)."""
    if not table.rows:
        return None, []
    reference = table.rows[0]
    verification = reference.entry.verification
    rows = [
        {"name": name, "count": p.count, "min_detectable_f1": p.min_detectable_f1}
        for name, p in sorted(verification.power.items())
        if aggregates.is_domain_config(name)
    ]
    rows += [
        {"name": name, "count": value.count, "min_detectable_f1": value.min_detectable_f1}
        for name, value in verification.aggregates.items()
    ]
    return reference, rows


def write_site(site: Path, manifest: Manifest, table: Table, comparisons: Comparisons | None = None) -> Table:
    """Everything the site holds, written into the directory ``site``; the table of the rows drawn."""
    from mlqa_domain.leaderboard import plots  # matplotlib: only when a site is written

    env = environment()
    common = {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": mlqa_domain.__version__,
        "fingerprint": manifest.dataset_fingerprint,
        "split": manifest.split,
        "protocol": manifest.protocol,
    }
    for sub in ("assets", "entries", "plots"):
        (site / sub).mkdir()
    for asset in ASSETS:
        shutil.copyfile(TEMPLATES / asset, site / "assets" / asset)
    drawn = _draw_entries(site, env, table.rows, common, comparisons)
    table = dataclasses.replace(table, rows=drawn)
    top = table.rows[:OVERVIEW_TOP]
    try:
        overview = plots.overview_gap_plot(top, table.gap_domains, site / "plots" / "domain-gap.png")
    except Exception as exc:  # noqa: BLE001 - the overview is an extra; the table still renders
        (site / "plots" / "domain-gap.png").unlink(missing_ok=True)
        if is_write_failure(exc, site):  # disk full, read-only: stop, keep the old site
            raise
        logger.warning("the overview plot cannot be drawn and is left out: %s", first_line(exc)[:200])
        overview = None
    reference, power = power_rows(table)
    index = env.get_template("index.html").render(
        root="",
        table=table,
        columns=table.columns("page"),
        dataset=public_dataset_name(manifest.dataset_location),
        overview_plot="plots/domain-gap.png" if overview else None,
        overview_count=len([r for r in top if r.domain_gap]),
        definitions={key: aggregates.DEFINITIONS[key] for key in PAGE_DEFINITIONS},
        power=power,
        power_reference=reference,
        **common,
    )
    (site / "index.html").write_text(index, "utf-8")
    (site / "leaderboard.json").write_text(table_json(table), "utf-8")
    (site / "leaderboard.csv").write_text(table.to_csv(), "utf-8")
    return table


def _draw_entries(
    site: Path, env: Environment, rows: list[Row], common: dict, comparisons: Comparisons | None
) -> list[Row]:
    """Every row's entry page; the rows drawn. A page whose baseline could not be drawn is drawn again
    with a baseline that is on the site (or none), so no page links to a missing one."""
    total = len(rows)
    drawn = [
        row
        for row in track(rows, "rendering entry pages")
        if _draw(site, env, row, total, common, comparisons)
    ]
    left_out = {row.entry_id for row in rows} - {row.entry_id for row in drawn}
    if not left_out or comparisons is None:
        return drawn
    before = {row.entry_id: comparisons.baseline_of(row.entry) for row in drawn}
    comparisons.leave_out(left_out)
    redraw = [row for row in drawn if before[row.entry_id] and before[row.entry_id].entry_id in left_out]
    for row in redraw:  # from scratch: its page, plots and the comparison plot with the missing entry
        for path in [
            *(site / "entries").glob(f"{row.entry_id}.*"),
            *(site / "plots").glob(f"{row.entry_id}-*"),
        ]:
            path.unlink()
    failed = {row.entry_id for row in redraw if not _draw(site, env, row, total, common, comparisons)}
    return [row for row in drawn if row.entry_id not in failed]


def _draw(
    site: Path, env: Environment, row: Row, total: int, common: dict, comparisons: Comparisons | None
) -> bool:
    """Write one entry's page and plots; when the entry cannot be drawn remove what it wrote, warn, and
    return False. A failed write (OSError: disk full, read-only) is no fault of the entry: it propagates."""
    before = _entry_files(site)
    try:
        write_entry_page(site, env, row, total, common, comparisons)
    except Exception as exc:  # noqa: BLE001 - one stored entry must never break the leaderboard
        if is_write_failure(exc, site):
            raise
        for path in _entry_files(site) - before:
            path.unlink(missing_ok=True)
        logger.warning(
            "entry %s (%s) cannot be drawn and is left out of the site: %s",
            row.entry_id,
            row.model,
            first_line(exc)[:200],
        )
        return False
    return True


# The filesystem refused a write: no entry is to blame, the render stops and the old site stays.
WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})


def is_write_failure(exc: BaseException, site: Path) -> bool:
    """True for an OSError of the site itself (a write into ``site``, or disk full / read-only
    anywhere), as opposed to an entry that cannot be drawn (a stored file that cannot be read)."""
    if not isinstance(exc, OSError):
        return False
    if exc.errno in WRITE_FAILURES:
        return True
    return any(
        isinstance(name, (str, bytes)) and Path(os.fsdecode(name)).resolve().is_relative_to(site.resolve())
        for name in (exc.filename, exc.filename2)
    )


def _entry_files(site: Path) -> set[Path]:
    """The files of the entry pages and plots written so far."""
    return {p for sub in ("entries", "plots") for p in (site / sub).iterdir()}


def write_entry_page(
    site: Path, env: Environment, row: Row, total: int, common: dict, comparisons: Comparisons | None = None
) -> None:
    """``entries/<id>.html`` and ``.json`` of one row's entry, its plots and its baseline comparison."""
    from mlqa_domain.benchmark.compare import forest_plot
    from mlqa_domain.leaderboard import plots

    entry, eid = row.entry, row.entry_id
    plots.f1_heatmap(entry, site / "plots" / f"{eid}-heatmap.png")
    gap_plot = plots.entry_gap_plot(entry, site / "plots" / f"{eid}-gap.png")
    (site / "entries" / f"{eid}.json").write_text(entry.model_dump_json(indent=2) + "\n", "utf-8")
    comparison = None
    try:
        found = comparisons.report(entry) if comparisons else None
    except InputError as exc:  # e.g. an older entry whose gold answers cannot be loaded here
        found = None
        comparison = {"error": str(exc)}
    if found:
        baseline, report = found
        plot = f"{eid}-vs-{baseline.entry_id}.png"
        forest_plot(report, site / "plots" / plot)
        comparison = {"baseline": baseline, "report": report, "plot": plot}
    matrix = aggregates.cross_lingual_matrix(
        {name: score.model_dump() for name, score in entry.verification.configs.items()}
    )
    crossed = any(q != ctx for ctx, cells in matrix["f1"].items() for q in cells)
    html = env.get_template("entry.html").render(
        root="../",
        entry=entry,
        sub=entry.submission,
        ver=entry.verification,
        row=row,
        total=total,
        produced_by=produced_by(row),
        settings={k: v for k, v in entry.submission.settings.model_dump().items() if v is not None},
        configs=sorted(entry.submission.configs.items()),
        gap_plot=gap_plot is not None,
        comparison=comparison,
        cross_lingual=matrix if crossed else None,
        definitions=aggregates.DEFINITIONS,
        **common,
    )
    (site / "entries" / f"{eid}.html").write_text(html, "utf-8")
