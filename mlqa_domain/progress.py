"""Progress reporting for library code, shown only where a command-line interface asks for it.

Library code reports work with :func:`track` (iterate) or :func:`task` (advance by hand); both do
nothing unless a reporter is installed. The CLI installs a rich progress bar
(``mlqa_domain.cli_utils.rich_progress``), so only the CLI owns consoles and bars.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Protocol, TypeVar

T = TypeVar("T")
Advance = Callable[[float], None]


class Reporter(Protocol):
    """Something that shows the progress of named tasks."""

    def start(self, description: str, total: float | None) -> Advance:
        """Begin a task; return the function that advances it."""
        ...

    def finish(self, description: str) -> None:
        """End the task started with ``description``."""
        ...


_reporter: ContextVar[Reporter | None] = ContextVar("mlqa_domain_progress_reporter", default=None)


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Send the progress of library code run inside this block to ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


@contextlib.contextmanager
def task(description: str, total: float | None = None) -> Iterator[Advance]:
    """A task advanced by hand (``advance(n)``); a no-op when nothing reports progress."""
    reporter = _reporter.get()
    if reporter is None:
        yield lambda n=1: None
        return
    advance = reporter.start(description, total)
    try:
        yield advance
    finally:
        reporter.finish(description)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items``, reporting one step per item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total) as advance:
        for item in items:
            yield item
            advance(1)
