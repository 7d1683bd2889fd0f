"""`mlqa-domain`: build, audit and publish the domain-specific MLQA dataset."""

from __future__ import annotations

import typer

from mlqa_domain.builders import cli_build, cli_classifiers
from mlqa_domain.cli_utils import run_app

app = typer.Typer(
    name="mlqa-domain",
    help="Build domain splits of MLQA (legal.de, biomedical.es, ...) as a Hugging Face dataset repo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli_build.register(app)
cli_classifiers.register(app)


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
