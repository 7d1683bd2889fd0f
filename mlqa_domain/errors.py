"""User-facing errors: one line that names the file (or thing) and the problem."""

from __future__ import annotations

import errno
import re
import sqlite3
import tempfile
from pathlib import Path

# SQLite result codes that mean the disk, not the database: SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR,
# SQLITE_CANTOPEN
SQLITE_UNWRITABLE = frozenset({13, 8, 10, 14})
_OUT_OF_ROOM = (errno.ENOSPC, errno.EDQUOT)

# C0/C1 control characters (escape sequences, newlines, ...), bidi controls that reorder what follows, and
# lone surrogates (undecodable bytes of a command-line argument): never written raw to a terminal.
_TERMINAL_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


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


def visible_controls(text: str, keep: str = "") -> str:
    """``text`` with every control character (but those in ``keep``) spelled out as an escape (``\\x1b``,
    ``\\n``, ``\\u202e``): submitted strings printed to a terminal can neither drive it nor start a line."""

    def spell(match: re.Match[str]) -> str:
        char = match.group()
        return char if char in keep else char.encode("unicode_escape", "backslashreplace").decode()

    return _TERMINAL_UNSAFE.sub(spell, text)


def os_error_line(exc: OSError) -> str:
    """One line for an operating-system error: the file(s) it names and the system's reason; a full disk
    that names no file (a temporary file's write) says where temporary files go."""
    reason = exc.strerror or first_line(exc)
    files = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    if files:
        return f"{' -> '.join(files)}: {reason}"
    return f"{reason} ({temp_dir_hint()})" if exc.errno in _OUT_OF_ROOM else reason


def temp_dir_hint() -> str:
    """Where temporary files go, and how to move them."""
    return f"temporary files go to {tempfile.gettempdir()}; set TMPDIR to use another directory"


def is_unwritable_database(exc: BaseException) -> bool:
    """``exc`` is SQLite failing to write its file (full disk, read-only, I/O), not a damaged database."""
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) in SQLITE_UNWRITABLE


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its class name), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
