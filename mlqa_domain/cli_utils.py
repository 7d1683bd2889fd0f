"""Run a typer app so that user errors print one line instead of a traceback."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from mlqa_domain.errors import MlqaDomainError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def run_app(app: typer.Typer) -> None:
    """Invoke ``app``; an MlqaDomainError exits with status 2 and one ``error: ...`` line."""
    try:
        exit_code = app(standalone_mode=False)
        if isinstance(exit_code, int) and exit_code:
            sys.exit(exit_code)
    except MlqaDomainError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
