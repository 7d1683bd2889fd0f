"""`mlqa-domain`: build, audit and publish the domain-specific MLQA dataset."""

from __future__ import annotations

import typer

from mlqa_domain.builders.commands import COMMANDS as BUILD_COMMANDS
from mlqa_domain.cli_utils import add_version_option, run_app
from mlqa_domain.labeling.commands import COMMANDS as LABELING_COMMANDS

app = typer.Typer(
    name="mlqa-domain",
    help="Build domain splits of MLQA (legal.de, biomedical.es, ...) as a Hugging Face dataset repo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
add_version_option(app)
for name, command in [*BUILD_COMMANDS, *LABELING_COMMANDS]:
    app.command(name)(command)


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
