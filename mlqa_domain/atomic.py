"""Write outputs atomically: build in a temp path next to the target, then move into place.

Temp paths are hidden siblings of the target named after the writing process and machine
(``.NAME.tmp-PID.HOST_XXXX``, ``.NAME.old-PID.HOST``); the next write to the same target removes those a
killed run left behind: its process is gone (on this machine), or, written by another machine or by an
older version without these names, it is over an hour old. Files and directories get the umask's mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from mlqa_domain.errors import InputError

logger = logging.getLogger(__name__)

# Leftovers whose process cannot be asked (another machine's, or named without a pid) are stale after this.
LEGACY_STALE_SECONDS = 3600
_PID = re.compile(r"^(\d+)\.")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _umask() -> int:
    """The process umask: read from /proc where there is one (setting it to read it back races with
    other threads creating files), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _make_parent(target: Path) -> None:
    """Create the parent directory, or say in one line why it can't be."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output's parent directory ({exc.strerror})", target) from None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove the temp files/dirs (``.NAME.tmp-*``, ``.NAME.old-*``) that a killed writer of ``target``
    left next to it: those whose process on this machine is gone, the others once an hour old."""
    target = Path(target)
    prefixes = (f".{target.name}.tmp-", f".{target.name}.old-")
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefixes)]
    except OSError:
        return []
    removed = []
    for path in candidates:
        rest = path.name[len(prefixes[0]) :]
        match = _PID.match(rest)
        host = rest[match.end() :].split("_", 1)[0] if match else ""
        if match and host == _host():  # this machine's process: ask it
            if _alive(int(match.group(1))):
                continue
        else:
            try:
                if time.time() - path.lstat().st_mtime < LEGACY_STALE_SECONDS:
                    continue
            except OSError:
                continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if not path.exists():
            logger.info("removed %s, left by a killed run", path)
            removed.append(path)
    return removed


def _prefix(target: Path) -> str:
    return f".{target.name}.tmp-{os.getpid()}.{_host()}_"


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temp directory; on success it replaces ``target``, on error it is removed."""
    target = Path(target)
    _make_parent(target)
    remove_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(target), dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the output should not be
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}.{_host()}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """Open a temp file next to ``target`` for writing; it is moved onto ``target`` on success."""
    target = Path(target)
    _make_parent(target)
    remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(prefix=_prefix(target), dir=target.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it owner-only; the output should not be
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_file(target) as handle:
        handle.write(text)


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_file(target, "wb") as handle:
        handle.write(data)
