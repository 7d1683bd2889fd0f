"""The top of the leaderboard as a rich table for the terminal (`bench leaderboard show`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table as RichTable
from rich.text import Text

from mlqa_domain.errors import visible_controls
from mlqa_domain.leaderboard.columns import Column
from mlqa_domain.leaderboard.table import Table


@dataclass(frozen=True)
class ShowSettings:
    """Options of `bench leaderboard show`."""

    top: int = 10  # how many rows


DEFAULTS = ShowSettings()


def _style(column: Column) -> dict[str, Any]:
    if column.numeric:
        return {"justify": "right", "no_wrap": column.kind != "gap", "overflow": "fold"}
    if column.kind == "entry":
        return {"overflow": "fold", "min_width": 12}
    return {"overflow": "fold"}


def rich_table(table: Table, settings: ShowSettings = DEFAULTS) -> RichTable:
    """The leaderboard's first ``settings.top`` rows, in the columns marked for the terminal."""
    out = RichTable(title=f"MLQA-Domain leaderboard ({len(table.rows)} entries)", title_justify="left")
    columns = table.columns("show")
    for column in columns:
        out.add_column(column.terminal_label, **_style(column))
    for row in table.rows[: settings.top]:
        # submitted strings: no markup, control characters spelled out (before the widths are measured)
        out.add_row(*(Text(visible_controls(column.text(row))) for column in columns))
    if not table.rows:
        out.caption = "no entries yet"
    return out
