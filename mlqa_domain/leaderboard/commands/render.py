"""`bench leaderboard render`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.leaderboard.commands._options import STORE
from mlqa_domain.leaderboard.render import DEFAULTS


def render(
    leaderboard: str = STORE,
    out: Path = typer.Option(
        DEFAULTS.out, "--out", "-o", metavar="DIR", help="Directory for the static site."
    ),
    baseline: str | None = typer.Option(
        DEFAULTS.baseline,
        "--baseline",
        metavar="ENTRY",
        help="Entry every page compares with (entry id or model name; default: each entry's plain-SQuAD "
        "run of the same base model).",
    ),
) -> None:
    """Write the static site: sortable table, per-entry pages, plots, leaderboard.json/.csv."""
    from mlqa_domain.leaderboard.render import render_site
    from mlqa_domain.leaderboard.store import open_store

    table = render_site(open_store(leaderboard), out, baseline=baseline)
    out_console.print(f"wrote {out / 'index.html'} ({len(table.rows)} entries)")
