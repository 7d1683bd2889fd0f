"""`bench leaderboard show`."""

from __future__ import annotations

import typer

from mlqa_domain.cli_utils import WIDE, print_table, table_width
from mlqa_domain.leaderboard.commands._options import STORE
from mlqa_domain.leaderboard.terminal import DEFAULTS, ShowSettings


def show(
    leaderboard: str = STORE,
    top: int = typer.Option(DEFAULTS.top, "--top", min=1, metavar="N", help="How many rows."),
    wide: bool = WIDE,
) -> None:
    """Print the top of the leaderboard."""
    from mlqa_domain.leaderboard.store import open_store
    from mlqa_domain.leaderboard.table import store_table
    from mlqa_domain.leaderboard.terminal import rich_table

    settings = ShowSettings(top=top, width=table_width(wide))
    print_table(rich_table(store_table(open_store(leaderboard)), settings), wide)
