"""What a filter has seen, on disk: the first value added under each key, in a private temporary SQLite
database (deleted on close), so a filter that remembers every example it kept (``exact_dedup``) does not
grow a build's memory with its input."""

from __future__ import annotations

import sqlite3
import zlib

_PENDING_ROWS = 1024  # keys held in memory before one executemany writes them
# A fixed 1 MiB bit set of the keys' CRC-32s (modulo its size) in front of the database: a key whose bit is
# clear was never added, so most lookups of new keys need no query (until millions of keys fill it).
_BITS = 1 << 23


class SeenKeys:
    """A map from keys (short ``bytes``, e.g. digests) to the first ``str`` value added under each.

    Additions wait in a small dict and are written in batches; :meth:`get` sees them either way.
    SQLite keeps a bounded page cache (2 MB by default) of a table that may be larger; the memory is
    constant in the number of keys.
    """

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._pending: dict[bytes, str] = {}
        self._bits = bytearray(_BITS // 8)

    @staticmethod
    def _slot(key: bytes) -> tuple[int, int]:
        bit = zlib.crc32(key) % _BITS
        return bit >> 3, 1 << (bit & 7)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect("")  # a private temporary database on disk, deleted on close
            self._db.execute("CREATE TABLE seen (key BLOB PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        return self._db

    def get(self, key: bytes) -> str | None:
        """The first value added under ``key``, or None."""
        byte, mask = self._slot(key)
        return self._stored(key) if self._bits[byte] & mask else None

    def _stored(self, key: bytes) -> str | None:
        """``key``'s value, from the pending additions or the database."""
        found = self._pending.get(key)
        if found is None and self._db is not None:
            row = self._db.execute("SELECT value FROM seen WHERE key = ?", (key,)).fetchone()
            found = row[0] if row else None
        return found

    def add(self, key: bytes, value: str) -> None:
        """Remember ``value`` under ``key`` unless a value was added under it before (the first one stays)."""
        byte, mask = self._slot(key)
        if self._bits[byte] & mask and self._stored(key) is not None:
            return
        self._bits[byte] |= mask
        self._pending[key] = value
        if len(self._pending) >= _PENDING_ROWS:
            self._write_pending()

    def _write_pending(self) -> None:
        self._connection().executemany("INSERT INTO seen VALUES (?, ?)", self._pending.items())
        self._pending = {}

    def close(self) -> None:
        """Forget everything and delete the database."""
        if self._db is not None:
            self._db.close()
            self._db = None
        self._pending = {}
        self._bits = bytearray(_BITS // 8)
