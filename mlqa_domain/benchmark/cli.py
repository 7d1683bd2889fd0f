"""`bench`: score QA checkpoints on every domain config, run STILTs baselines, keep the leaderboard."""

from __future__ import annotations

import typer

from mlqa_domain.benchmark import cli_run, cli_score, cli_stilts
from mlqa_domain.cli_utils import run_app
from mlqa_domain.leaderboard import cli as leaderboard_cli

app = typer.Typer(
    name="bench",
    help="Zero-shot cross-lingual QA benchmark on the domain splits of MLQA.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli_run.register(app)
cli_score.register(app)
cli_stilts.register(app)
leaderboard_cli.register(app)


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
