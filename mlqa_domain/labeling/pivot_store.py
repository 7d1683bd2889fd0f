"""The pivot labeller's state on disk: per id its instances, each distinct text once, and the labels.

A build labels every parallel group (same ``id``) once, from its English instance where it has one, and
that instance may come after the group's other ones, so labelling waits for the end of the input. What it
needs until then (per id each instance's languages, context, title and answer years; each distinct
context and title text once) and what it makes (a representative context per id, one
:class:`~mlqa_domain.labeling.ensemble.Labeling` per distinct context) live in a private temporary SQLite
database (deleted on close), so the memory of a build does not grow with its input. The contexts of a
language are labelled in windows of :data:`LABEL_WINDOW`, in sorted order, after the labeler has seen
them all (:meth:`Labeler.prepare`: encoders embed every text in the batches of one call), so an input of
at most one window gets exactly the labels of labelling everything at once.
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any, overload

from mlqa_domain.example import Example
from mlqa_domain.labeling.ensemble import Labeler, Labeling
from mlqa_domain.labeling.pivot import GroupLabel, PivotInstance, answer_years, representative
from mlqa_domain.languages import PIVOT_LANGUAGE

# Distinct contexts scored per labeler call: bounds the vectors and labels held at once.
LABEL_WINDOW = 4096
_INSERT_ROWS = 1000  # instances written per executemany
_MEMO = 64  # recent texts whose row ids are remembered (an input repeats a context for its questions)

_SCHEMA = """
CREATE TABLE texts (tid INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, text BLOB NOT NULL);
CREATE TABLE instances (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, context_language TEXT NOT NULL,
    question_language TEXT NOT NULL, context INTEGER NOT NULL, title INTEGER, years TEXT NOT NULL);
CREATE TABLE keys (
    key INTEGER PRIMARY KEY, language TEXT NOT NULL, context INTEGER NOT NULL, title INTEGER,
    UNIQUE (language, context, title));
CREATE TABLE reps (id TEXT PRIMARY KEY, key INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE ordered (pos INTEGER PRIMARY KEY, key INTEGER NOT NULL);
CREATE TABLE labels (key INTEGER PRIMARY KEY, labeling BLOB NOT NULL);
"""


def _encode(text: str) -> bytes:
    """UTF-8 (a lone surrogate kept): byte order is code-point order, so SQLite sorts as Python does."""
    return text.encode("utf-8", "surrogatepass")


def _decode(blob: bytes) -> str:
    return blob.decode("utf-8", "surrogatepass")


class PivotStore:
    """Instances of a stream, grouped by id on disk, and their labels; use it as a context manager.

    :meth:`add` every example, then :meth:`parallel_groups` (for :func:`check_parallel`) and
    :meth:`labels` (the labels per id, :class:`PivotLabels`).
    """

    def __init__(self, pivot: str = PIVOT_LANGUAGE) -> None:
        self.pivot = pivot
        self._db = sqlite3.connect("")  # a private temporary database on disk, deleted on close
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple] = []
        self._memo: OrderedDict[str, int] = OrderedDict()

    def add(self, example: Example) -> None:
        """Take what the pivot needs of ``example``."""
        years = ",".join(sorted(answer_years(example))) if example.context_language == self.pivot else ""
        title = self._text_id(example.title) if example.title else None
        row = (
            example.id,
            example.context_language,
            example.question_language,
            self._text_id(example.context),
            title,
            years,
        )
        self._pending.append(row)
        if len(self._pending) >= _INSERT_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany(
            "INSERT INTO instances (id, context_language, question_language, context, title, years) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            self._pending,
        )
        self._pending.clear()

    def _text_id(self, text: str) -> int:
        """The row of ``text`` in ``texts`` (added when new)."""
        found = self._memo.get(text)
        if found is not None:
            self._memo.move_to_end(text)
            return found
        blob = _encode(text)
        digest = hashlib.blake2b(blob, digest_size=16).digest()
        row = self._db.execute("SELECT tid FROM texts WHERE digest = ?", (digest,)).fetchone()
        tid = (
            row[0]
            if row
            else self._db.execute("INSERT INTO texts (digest, text) VALUES (?, ?)", (digest, blob)).lastrowid
        )
        self._memo[text] = tid
        if len(self._memo) > _MEMO:
            self._memo.popitem(last=False)
        return tid

    def _groups(self, sql: str, params: tuple = ()) -> Iterator[tuple[str, list[tuple]]]:
        """(id, rows) per id, one id at a time, from ``sql`` (rows led by the id, ordered by id, seq)."""
        self._flush()
        self._db.execute("CREATE INDEX IF NOT EXISTS by_id ON instances (id, seq)")
        rows = self._db.execute(sql, params)
        for gid, group in itertools.groupby(rows, key=lambda row: row[0]):
            yield gid, list(group)

    def parallel_groups(self) -> Iterator[tuple[str, list[PivotInstance]]]:
        """The ids with a pivot-language instance and one in another context language, each with its
        instances (one group at a time): what :func:`check_parallel` checks."""
        sql = (
            "SELECT i.id, i.context_language, i.question_language, c.text, i.years FROM instances i "
            "JOIN texts c ON c.tid = i.context WHERE i.id IN (SELECT id FROM instances GROUP BY id "
            "HAVING COUNT(DISTINCT context_language) > 1 AND SUM(context_language = ?) > 0) "
            "ORDER BY i.id, i.seq"
        )
        for gid, rows in self._groups(sql, (self.pivot,)):
            yield (
                gid,
                [
                    PivotInstance(
                        lang, qlang, _decode(text), None, frozenset(years.split(",")) if years else None
                    )
                    for _, lang, qlang, text, years in rows
                ],
            )

    def labels(self, labeler: Labeler, window: int = LABEL_WINDOW) -> PivotLabels:
        """Label each id's representative context (each distinct one once, per language, in windows of
        ``window`` after the labeler has seen them all) and return the labels per id."""
        counts = self._choose_representatives()
        languages = [
            row[0] for row in self._db.execute("SELECT DISTINCT language FROM keys ORDER BY language")
        ]
        for language in languages:
            self._label_language(labeler, language, window)
        contexts = dict(self._db.execute("SELECT language, COUNT(*) FROM keys GROUP BY language"))
        counts["pivot_contexts"] = contexts.get(self.pivot, 0)
        counts["own_language_contexts"] = sum(n for lang, n in contexts.items() if lang != self.pivot)
        provenance = {lang: labeler.provenance(lang) for lang in languages}
        return PivotLabels(self, provenance, counts)

    def _choose_representatives(self) -> dict[str, int]:
        """Each id's representative instance as a row of ``reps`` (its key: language, context, title);
        how many instances are labelled from a pivot-language context and how many from their own."""
        counts = {"pivot": 0, "own_language": 0}
        keys: dict[tuple, int] = {}
        sql = "SELECT id, context_language, question_language, context, title FROM instances ORDER BY id, seq"
        batch: list[tuple[str, int]] = []
        for gid, rows in self._groups(sql):
            chosen = representative([_Languages(row) for row in rows], self.pivot).row
            key = (chosen[1], chosen[3], chosen[4])
            if key not in keys:
                keys[key] = self._db.execute(
                    "INSERT INTO keys (language, context, title) VALUES (?, ?, ?)", key
                ).lastrowid
            counts["pivot" if chosen[1] == self.pivot else "own_language"] += len(rows)
            batch.append((gid, keys[key]))
            if len(batch) >= _INSERT_ROWS:
                self._db.executemany("INSERT INTO reps VALUES (?, ?)", batch)
                batch.clear()
        self._db.executemany("INSERT INTO reps VALUES (?, ?)", batch)
        return counts

    def _label_language(self, labeler: Labeler, language: str, window: int) -> None:
        """Label the distinct contexts of ``language`` in (context, title) order, ``window`` at a time."""
        self._db.execute("DELETE FROM ordered")
        self._db.execute(
            "INSERT INTO ordered (key) SELECT k.key FROM keys k JOIN texts c ON c.tid = k.context "
            "LEFT JOIN texts t ON t.tid = k.title WHERE k.language = ? "
            "ORDER BY c.text, coalesce(t.text, X'')",
            (language,),
        )
        contexts, titles = _Column(self._db, "context"), _Column(self._db, "title")
        labeler.prepare(contexts, language, titles)
        for start in range(0, len(contexts), window):
            labelings = labeler.label(
                contexts[start : start + window], language, titles[start : start + window]
            )
            keys = [
                row[0]
                for row in self._db.execute(
                    "SELECT key FROM ordered WHERE pos > ? ORDER BY pos LIMIT ?", (start, window)
                )
            ]
            self._db.executemany(
                "INSERT INTO labels VALUES (?, ?)",
                (
                    (key, pickle.dumps(labeling, pickle.HIGHEST_PROTOCOL))
                    for key, labeling in zip(keys, labelings, strict=True)
                ),
            )

    def representative_key(self, gid: str) -> tuple[int, str]:
        """The key and language of id ``gid``'s representative context."""
        return self._db.execute(
            "SELECT r.key, k.language FROM reps r JOIN keys k ON k.key = r.key WHERE r.id = ?", (gid,)
        ).fetchone()

    def labeling(self, key: int) -> Labeling:
        """The labels of the context ``key``."""
        (blob,) = self._db.execute("SELECT labeling FROM labels WHERE key = ?", (key,)).fetchone()
        return pickle.loads(blob)

    def close(self) -> None:
        """Delete the database."""
        self._db.close()

    def __enter__(self) -> PivotStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Languages:
    """An instance row as :func:`representative` reads it (its context and question languages)."""

    __slots__ = ("row", "context_language", "question_language")

    def __init__(self, row: tuple) -> None:
        self.row = row
        self.context_language = row[1]
        self.question_language = row[2]


class _Column(Sequence[str | None]):
    """The contexts (or titles, None for none) of the ``ordered`` keys, read from the store by position."""

    def __init__(self, db: sqlite3.Connection, part: str) -> None:
        self._db = db
        self._part = part
        self._length = db.execute("SELECT COUNT(*) FROM ordered").fetchone()[0]

    def __len__(self) -> int:
        return self._length

    def _rows(self, start: int, stop: int) -> list[str | None]:
        rows = self._db.execute(
            f"SELECT t.text FROM ordered o JOIN keys k ON k.key = o.key LEFT JOIN texts t "
            f"ON t.tid = k.{self._part} WHERE o.pos > ? AND o.pos <= ? ORDER BY o.pos",
            (start, stop),
        )
        return [None if blob is None else _decode(blob) for (blob,) in rows]

    @overload
    def __getitem__(self, index: int) -> str | None: ...
    @overload
    def __getitem__(self, index: slice) -> list[str | None]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            rows = self._rows(start, stop) if stop > start else []
            return rows if step == 1 else rows[::step]
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError(index)
        return self._rows(position, position + 1)[0]

    def __iter__(self) -> Iterator[str | None]:
        for start in range(0, self._length, _INSERT_ROWS):
            yield from self._rows(start, start + _INSERT_ROWS)


class PivotLabels:
    """The labels of a :class:`PivotStore`'s ids: :meth:`apply` sets its group's labels on an example."""

    def __init__(
        self, store: PivotStore, provenance: dict[str, dict[str, Any]], counts: dict[str, int]
    ) -> None:
        self.store = store
        self.provenance = provenance
        self.counts = counts
        self._last: tuple[int, GroupLabel] | None = None  # the questions of a context come together

    def of(self, gid: str) -> GroupLabel:
        """The labels of id ``gid``'s group, and where they came from."""
        key, language = self.store.representative_key(gid)
        if self._last is None or self._last[0] != key:
            source = f"pivot:{self.store.pivot}" if language == self.store.pivot else f"own:{language}"
            labels = self.store.labeling(key)
            self._last = (key, GroupLabel(labels, {**self.provenance[language], "label_source": source}))
        return self._last[1]

    def apply(self, example: Example) -> Example:
        """Set the labels of ``example``'s group on it (copies, so no two examples share a dict)."""
        found = self.of(example.id)
        example.domains = list(found.labeling.domains)
        example.domain_scores = dict(found.labeling.domain_scores)
        example.classifier_scores = {k: dict(v) for k, v in found.labeling.classifier_scores.items()}
        example.provenance = dict(found.provenance)
        return example


def label_examples(examples: Sequence[Example], labeler: Labeler, pivot: str = PIVOT_LANGUAGE) -> dict:
    """Set domains/scores/provenance on every example, in place; return counts of how they were labelled.

    Each parallel group (same ``id``) is labelled once, from its pivot-language (English) context where it
    has one, and every instance of the group gets those labels, so ``legal.de`` and ``legal.es`` hold the
    same questions. A group with no pivot instance is labelled from one of its own contexts (the first
    by language), in that language.
    """
    with PivotStore(pivot) as store:
        for example in examples:
            store.add(example)
        labels = store.labels(labeler)
        for example in examples:
            labels.apply(example)
        return labels.counts
