"""`bench`: score QA checkpoints on every domain config, run STILTs baselines, keep the leaderboard."""

from __future__ import annotations

import typer

from mlqa_domain.benchmark.commands import COMMANDS
from mlqa_domain.benchmark.commands import GROUPS as BENCHMARK_GROUPS
from mlqa_domain.cli_utils import add_version_option, run_app
from mlqa_domain.leaderboard.commands import COMMANDS as LEADERBOARD_COMMANDS
from mlqa_domain.leaderboard.commands import GROUPS as LEADERBOARD_GROUPS
from mlqa_domain.training.commands import COMMANDS as TRAINING_COMMANDS

HELP = "Zero-shot cross-lingual QA benchmark on the domain splits of MLQA."
app = typer.Typer(
    name="bench", help=HELP, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
)
add_version_option(app)
for command_name, command in [*COMMANDS, *TRAINING_COMMANDS, *LEADERBOARD_COMMANDS]:
    app.command(command_name)(command)
for group_name, group_help, group_commands in [*BENCHMARK_GROUPS, *LEADERBOARD_GROUPS]:
    group = typer.Typer(
        name=group_name, help=group_help, no_args_is_help=True, pretty_exceptions_enable=False
    )
    for command_name, command in group_commands:
        group.command(command_name)(command)
    app.add_typer(group, name=group_name)


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
