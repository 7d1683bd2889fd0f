"""Run a typer app so that user errors print one line instead of a traceback."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from mlqa_domain.errors import MlqaDomainError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _click_exception_types() -> tuple[type[BaseException], ...]:
    """Usage-error classes: typer >= 0.26 vendors its own click, older typer uses click itself."""
    import click

    types: list[type[BaseException]] = [click.exceptions.ClickException]
    try:
        from typer._click.exceptions import ClickException as VendoredClickException

        types.append(VendoredClickException)
    except ImportError:
        pass
    return tuple(types)


def quiet_datasets_progress() -> None:
    """Our commands show their own rich progress; hide `datasets`' per-split tqdm bars on stderr."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # if datasets is imported later
    if "datasets" in sys.modules:
        from datasets.utils.tqdm import disable_progress_bars

        disable_progress_bars()


def run_app(app: typer.Typer) -> None:
    """Invoke ``app``; an MlqaDomainError exits with status 2 and one ``error: ...`` line.

    Usage errors (unknown option, missing value) print click's usage message, without a traceback.
    """
    quiet_datasets_progress()
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
    except _click_exception_types() as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
