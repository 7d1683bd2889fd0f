"""User-facing errors: one line that names the file (or thing) and the problem."""

from __future__ import annotations

from pathlib import Path


class MlqaDomainError(Exception):
    """An error caused by bad input or configuration; the CLI prints it as one line, no traceback."""

    def __init__(self, problem: str, where: str | Path | None = None) -> None:
        self.where = str(where) if where is not None else None
        self.problem = problem
        super().__init__(f"{self.where}: {problem}" if self.where else problem)


class InputError(MlqaDomainError):
    """A malformed, missing or inconsistent input file."""


class ConfigError(MlqaDomainError):
    """An unknown config, bad option value or invalid taxonomy."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its class name), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
