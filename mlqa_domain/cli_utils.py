"""Run a typer app so that user errors print one line instead of a traceback."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.segment import Segment
from rich.table import Column, Table

import mlqa_domain
from mlqa_domain import progress
from mlqa_domain.errors import (
    InputError,
    MlqaDomainError,
    first_line,
    is_unwritable_database,
    os_error_line,
    temp_dir_hint,
    visible_controls,
)
from mlqa_domain.terminal_tables import natural_width


class SafeConsole(Console):
    """A rich console that writes no control character it was given as text: escape sequences, carriage
    returns or bidi controls in a submitted string (a model id in a table, a log line) are spelled out,
    while rich's own styling and line breaks pass."""

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control:
                yield segment
            else:
                yield Segment(visible_controls(segment.text, keep="\n\t"), segment.style)


err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True)
out_console = SafeConsole(highlight=False)


class RichReporter:
    """Shows library progress (:mod:`mlqa_domain.progress`) as transient rich bars on stderr.

    A bar disappears when its task ends, and the display itself runs only while some task does, so what
    a command prints afterwards (its summary) is the last thing left on the terminal.
    """

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self._tasks: list[tuple[str, TaskID]] = []

    def start(self, description: str, total: float | None) -> progress.Advance:
        if not self._tasks:
            self.bars.start()
        task_id = self.bars.add_task(description, total=total)
        self._tasks.append((description, task_id))
        return lambda n=1: self.bars.advance(task_id, n)

    def finish(self, description: str) -> None:
        for index in range(len(self._tasks) - 1, -1, -1):
            if self._tasks[index][0] == description:
                self.bars.remove_task(self._tasks.pop(index)[1])
                break
        if not self._tasks:
            self.bars.stop()  # transient: the finished display is erased


@dataclass
class _StageTimer:
    total: float | None
    started: float = field(default_factory=time.perf_counter)
    done: float = 0.0


class LogReporter:
    """Progress without a terminal (stderr piped or redirected): no bars, one log line per finished stage.

    Only outermost tasks are stages; a task started inside another (each config of `bench run` inside
    its run) is counted by its parent's line instead of getting its own.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("mlqa_domain.progress")
        self._tasks: list[tuple[str, _StageTimer]] = []

    def start(self, description: str, total: float | None) -> progress.Advance:
        timer = _StageTimer(total)
        self._tasks.append((description, timer))

        def advance(n: float = 1) -> None:
            timer.done += n

        return advance

    def finish(self, description: str) -> None:
        for index in range(len(self._tasks) - 1, -1, -1):
            if self._tasks[index][0] == description:
                _, timer = self._tasks.pop(index)
                if index == 0:
                    self.logger.info("%s: %s in %.1fs", description, _done_text(timer), _elapsed(timer))
                return


def _done_text(timer: _StageTimer) -> str:
    done = f"{timer.done:g}"
    return f"{done}/{timer.total:g}" if timer.total is not None else f"{done} done"


def _elapsed(timer: _StageTimer) -> float:
    return time.perf_counter() - timer.started


def progress_reporter(console: Console = err_console) -> progress.Reporter | None:
    """Transient bars on a terminal, one log line per stage otherwise; none when MLQA_DOMAIN_NO_PROGRESS
    is set."""
    if os.environ.get("MLQA_DOMAIN_NO_PROGRESS"):
        return None
    if not console.is_terminal:
        return LogReporter()
    description = Column(max_width=max(20, console.width // 2), no_wrap=True, overflow="ellipsis")
    bars = Progress(
        TextColumn("[bold blue]{task.description}", table_column=description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    return RichReporter(bars)


@contextlib.contextmanager
def rich_progress(console: Console = err_console) -> Iterator[None]:
    """Show the progress of library code on ``console`` (see :func:`progress_reporter`)."""
    reporter = progress_reporter(console)
    if reporter is None:
        yield
        return
    try:
        with progress.reporting(reporter):
            yield
    finally:
        if isinstance(reporter, RichReporter):
            reporter.bars.stop()  # a command that failed mid-task leaves no bar behind


# the --wide flag of every command that prints tables
WIDE = typer.Option(
    False,
    "--wide",
    help="Show every column of the tables, however wide (default: fit the terminal; the columns left out "
    "are named under each table).",
)


def table_width(wide: bool) -> int | None:
    """Terminal columns a table must fit: stdout's width (80 when piped), or None (every column) with
    ``--wide``."""
    return None if wide else out_console.width


def print_table(table: Table, wide: bool = False) -> None:
    """Print a table on stdout; with ``wide`` at its natural width, past the terminal's edge if need be."""
    width = max(natural_width(table, wrap_headers=False), out_console.width) if wide else out_console.width
    if width == out_console.width:
        out_console.print(table)
        return
    console = type(out_console)(
        file=out_console.file,
        width=width,
        highlight=False,
        color_system=out_console.color_system,
        force_terminal=out_console.is_terminal,
    )
    console.print(table)


class VisibleFormatter(logging.Formatter):
    """Log messages with control characters spelled out (a logged model id cannot drive the terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        return visible_controls(super().format(record))


def setup_logging(level: int = logging.INFO) -> None:
    """Library modules log through ``logging``; the CLI shows their records on stderr."""
    logger = logging.getLogger("mlqa_domain")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=err_console, show_time=False, show_path=False, markup=False)
        handler.setFormatter(VisibleFormatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


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


def quiet_library_progress() -> None:
    """Our commands show their own (transient) progress; hide the tqdm bars that `datasets` (per split),
    `huggingface_hub` and `transformers` ("Loading weights") would leave on stderr."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # if datasets is imported later
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read by huggingface_hub and transformers
    if "datasets" in sys.modules:
        from datasets.utils.tqdm import disable_progress_bars

        disable_progress_bars()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars as disable_hub_progress_bars

        disable_hub_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils.logging import disable_progress_bar

        disable_progress_bar()


def check_arguments_are_text(argv: list[str]) -> None:
    """Refuse command-line arguments that are not UTF-8 text (undecodable bytes arrive as lone surrogates
    and could be written into no JSON file or terminal); the error names the option."""
    for index, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            option = arg.split("=", 1)[0] if arg.startswith("--") else None
            if option is None and index and argv[index - 1].startswith("-"):
                option = argv[index - 1]
            raw = os.fsencode(arg)
            where = option or f"argument {index + 1}"
            raise InputError(f"not UTF-8 text: {raw!r}; give names and paths in UTF-8", where) from None


def print_error(message: str) -> None:
    """``error: <message>`` on stderr, on one line, control characters spelled out."""
    err_console.print(f"[bold red]error:[/] {escape(visible_controls(message))}", markup=True)


def run_app(app: typer.Typer) -> None:
    """Invoke ``app``; an MlqaDomainError exits with status 2 and one ``error: ...`` line, and so does an
    operating-system error (disk full, read-only filesystem), naming its file, and SQLite failing to write
    a temporary database (saying where temporary files go).

    Usage errors (unknown option, missing value) print click's usage message, without a traceback.
    """
    quiet_library_progress()
    setup_logging()
    try:
        check_arguments_are_text(sys.argv[1:])
        with rich_progress():
            exit_code = app(standalone_mode=False)
        if isinstance(exit_code, int) and exit_code:
            sys.exit(exit_code)
    except MlqaDomainError as exc:
        print_error(str(exc))
        sys.exit(2)
    except OSError as exc:  # the environment failed (disk full, read-only, ...): what a user can act on
        print_error(os_error_line(exc))
        sys.exit(2)
    except sqlite3.Error as exc:  # a build's temporary database (the embedding cache reports its own)
        if not is_unwritable_database(exc):
            raise
        print_error(f"cannot write a temporary database: {first_line(exc)} ({temp_dir_hint()})")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except _click_exception_types() as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"mlqa-domain {mlqa_domain.__version__}")
        raise typer.Exit()


def add_version_option(app: typer.Typer) -> None:
    """``--version`` on ``app`` (prints ``mlqa-domain X.Y.Z``; the same for `mlqa-domain` and `bench`)."""

    @app.callback()
    def _main(
        version: bool = typer.Option(
            False, "--version", is_eager=True, callback=_show_version, help="Show the version and exit."
        ),
    ) -> None:
        pass


def plain_metavars() -> None:
    """One metavar style in every --help: flags show none (typer >= 0.26 writes ``<bool>``), an option
    without a metavar shows its name in capitals (not ``<str>``), an argument only its upper-case name
    (not ``<path>`` beside it). Called when this module is imported."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # older typer: click's own help, already in this style
        return
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_mlqa_plain", False):
        return
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return self.metavar or None
        if self.metavar is None:
            return (self.name or "value").upper()
        return original(self, ctx)

    display_type_rich._mlqa_plain = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


plain_metavars()
