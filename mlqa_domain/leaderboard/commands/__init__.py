"""The leaderboard's commands, one per module: `bench submit` and `bench leaderboard
init|submit|render|show` (`submit` there is `bench submit`)."""

from __future__ import annotations

from collections.abc import Callable

from mlqa_domain.leaderboard.commands.init import init
from mlqa_domain.leaderboard.commands.render import render
from mlqa_domain.leaderboard.commands.show import show
from mlqa_domain.leaderboard.commands.submit import submit

COMMANDS: list[tuple[str, Callable]] = [("submit", submit)]
GROUPS: list[tuple[str, str, list[tuple[str, Callable]]]] = [
    (
        "leaderboard",
        "Create, render and show the leaderboard of verified submissions.",
        # `bench leaderboard submit` is `bench submit`, where a newcomer looks for it first
        [("init", init), ("submit", submit), ("render", render), ("show", show)],
    )
]
