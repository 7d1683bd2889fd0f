"""Write outputs atomically: build in a temp path next to the target, then move into place.

Temp paths are hidden siblings of the target named after the writing process and machine
(``.NAME.tmp-PID.HOST_XXXX``, ``.NAME.old-PID.HOST``); the next write to the same target removes those a
killed run left behind: its process is gone (on this machine), or, written by another machine or by an
older version without these names, it is over an hour old. Files and directories get the umask's mode.

A directory replaces an earlier one in one atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``), so a
kill at any moment leaves the old or the new output in place. Where the exchange is not available the
swap takes two renames; a kill between them leaves the old output as ``.NAME.old-PID.HOST``, and the next
write (or :func:`remove_stale_temps`) moves it back before anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from mlqa_domain.errors import InputError, os_error_line

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


def write_failed(exc: OSError, target: Path) -> InputError:
    """The one-line error of an output that could not be written (it is left as it was)."""
    return InputError(f"not written, the earlier output is unchanged ({os_error_line(exc)})", target)


def _make_parent(target: Path) -> None:
    """Create the parent directory, or say in one line why it can't be."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output's parent directory ({exc.strerror})", target) from None


def output_path(target: str | Path) -> Path:
    """``target`` as an absolute path that can be replaced: not empty, not the current directory and
    not one of its parents (replacing those would pull the directory out from under the shell)."""
    if not str(target).strip():
        raise InputError("the output path is empty; name a new directory or file", repr(str(target)))
    path = Path(os.path.abspath(target))
    cwd = Path(os.path.abspath(os.getcwd()))
    if path == cwd or path in cwd.parents:
        raise InputError(
            "the output is the current directory (or holds it) and cannot be replaced; name a new "
            "directory, e.g. ./out",
            target,
        )
    return path


def check_writable(target: str | Path) -> Path:
    """Check, before any work, that ``target`` can be written: its nearest existing directory takes a
    new file (not read-only, not someone else's). Returns :func:`output_path` of ``target``."""
    path = output_path(target)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError("the output's parent is not a directory", path)
    try:
        fd, probe = tempfile.mkstemp(prefix=_prefix(path), dir=parent)
    except OSError as exc:
        raise InputError(f"cannot write here ({exc.strerror or exc})", parent) from None
    os.close(fd)
    os.unlink(probe)
    return path


def check_output_dir(
    out: Path,
    not_ours: str,
    *,
    markers: Sequence[str] = (),
    known: Callable[[str], bool] | None = None,
) -> bool:
    """The one guard of an output directory: ``out`` must be new, empty, or ours. True when it holds an
    earlier output of ours (the caller replaces, resumes or compares it: an identity check and
    ``--force`` are the caller's), False when it is new or empty.

    Ours: it holds every file in ``markers``, or (with ``known``) every entry's name is ``known``.
    Anything else is an InputError ``output directory is not empty and <not_ours>``; with ``known`` it
    names up to three of the other entries.
    """
    if not out.exists():
        return False
    if not out.is_dir():
        raise InputError("output exists and is not a directory", out)
    names = sorted(entry.name for entry in out.iterdir())
    if not names:
        return False
    if markers and all((out / marker).is_file() for marker in markers):
        return True
    strangers = [name for name in names if known is None or not known(name)]
    if not strangers:
        return True
    shown = f" ({', '.join(strangers[:3])})" if known is not None else ""
    raise InputError(f"output directory is not empty and {not_ours}{shown}", out)


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


def _stale(path: Path, prefix_length: int) -> bool:
    """True when the writer that named ``path`` is gone: its process on this machine has ended, or (another
    machine's, or a name without a pid) the path is over an hour old."""
    rest = path.name[prefix_length:]
    match = _PID.match(rest)
    host = rest[match.end() :].split("_", 1)[0] if match else ""
    if match and host == _host():  # this machine's process: ask it
        return not _alive(int(match.group(1)))
    try:
        return time.time() - path.lstat().st_mtime >= LEGACY_STALE_SECONDS
    except OSError:
        return False


def _restore_old_output(target: Path, olds: list[Path]) -> None:
    """A swap killed between its two renames left no ``target``, only the old output as ``.NAME.old-*``:
    move the newest such copy back into place."""
    if os.path.lexists(target) or not olds:
        return
    newest = max(olds, key=lambda p: p.lstat().st_mtime)
    try:
        os.rename(newest, target)
    except OSError as exc:
        logger.warning("cannot restore %s from %s, left by a killed run: %s", target, newest, exc.strerror)
        return
    logger.warning("restored %s from %s, left by a run killed while replacing it", target, newest.name)


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove the temp files/dirs (``.NAME.tmp-*``, ``.NAME.old-*``) that a killed writer of ``target``
    left next to it: those whose process on this machine is gone, the others once an hour old. When a
    killed swap left no ``target`` but its old copy, that copy is first moved back to ``target``."""
    target = Path(target)
    prefixes = (f".{target.name}.tmp-", f".{target.name}.old-")
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefixes)]
    except OSError:
        return []
    stale = [p for p in candidates if _stale(p, len(prefixes[0]))]
    _restore_old_output(target, [p for p in stale if p.name.startswith(prefixes[1])])
    removed = []
    for path in stale:
        if not os.path.lexists(path):  # moved back into place
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


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the filesystem cannot, and nothing was changed."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Move the finished ``tmp`` onto ``target``; an earlier ``target`` is exchanged atomically (then
    removed from ``tmp``'s name), or, where that is not possible, moved aside first."""
    if not os.path.lexists(target):
        os.replace(tmp, target)
        return
    if exchange_paths(tmp, target):  # tmp now holds the old output
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}.{_host()}"
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temp directory; on success it replaces ``target``, on error it is removed (and
    ``target`` is left as it was)."""
    target = output_path(target)
    _make_parent(target)
    remove_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(target), dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the output should not be
        yield tmp
        _swap_into_place(tmp, target)
    except OSError as exc:  # disk full, read-only, ...: one line naming the output, which is untouched
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_failed(exc, target) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """Open a temp file next to ``target`` for writing; it is moved onto ``target`` on success."""
    target = output_path(target)
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
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_failed(exc, target) from None
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
