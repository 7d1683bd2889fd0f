"""The option every leaderboard command takes (``-l`` means ``--leaderboard`` in every `bench` command)."""

from __future__ import annotations

import typer

STORE = typer.Option(
    ...,
    "--leaderboard",
    "-l",
    metavar="STORE",
    help="Leaderboard store: a local directory or hf://datasets/ORG/NAME.",
)
