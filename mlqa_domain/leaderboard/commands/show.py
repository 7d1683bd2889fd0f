"""`bench leaderboard show`."""

from __future__ import annotations

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.leaderboard.commands._options import STORE
from mlqa_domain.leaderboard.terminal import DEFAULTS, ShowSettings


def show(
    leaderboard: str = STORE,
    top: int = typer.Option(DEFAULTS.top, "--top", min=1, metavar="N", help="How many rows."),
) -> None:
    """Print the top of the leaderboard."""
    from mlqa_domain.leaderboard.store import open_store
    from mlqa_domain.leaderboard.table import store_table
    from mlqa_domain.leaderboard.terminal import rich_table

    out_console.print(rich_table(store_table(open_store(leaderboard)), ShowSettings(top=top)))
