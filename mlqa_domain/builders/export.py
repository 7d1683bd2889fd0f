"""Write the examples as a Hugging Face dataset repo: parquet per config/split, card, build info."""

from __future__ import annotations

import json
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mlqa_domain.configs import ALL, ConfigName
from mlqa_domain.dataset_repo import BUILD_INFO, DATA_DIR, dataset_fingerprint
from mlqa_domain.example import SPLITS, Example
from mlqa_domain.labeling.pivot import provenance_json
from mlqa_domain.naming import public_file_name


def configs_of(example: Example, general: str) -> list[ConfigName]:
    """Every config an example belongs to: one per domain (or general), plus ``all``."""
    ctx, q = example.context_language, example.question_language
    domains = example.domains or [general]
    return [ConfigName(d, ctx, q) for d in domains] + [ConfigName(ALL, ctx, q)]


def group_into_configs(
    examples: Sequence[Example], general: str
) -> dict[ConfigName, dict[str, list[Example]]]:
    """config -> split -> examples (input order kept)."""
    grouped: dict[ConfigName, dict[str, list[Example]]] = defaultdict(lambda: defaultdict(list))
    for example in examples:
        for config in configs_of(example, general):
            grouped[config][example.split].append(example)
    return grouped


def _sorted_nested(value):
    if isinstance(value, dict):
        return {k: _sorted_nested(value[k]) for k in sorted(value)}
    return value


def arrow_schema(domain_names: Sequence[str], classifier_scores_type: pa.DataType) -> pa.Schema:
    """The parquet schema of every config."""
    return pa.schema(
        [
            ("id", pa.string()),
            ("title", pa.string()),
            ("context", pa.string()),
            ("question", pa.string()),
            ("answers", pa.struct([("text", pa.list_(pa.string())), ("answer_start", pa.list_(pa.int32()))])),
            ("context_language", pa.string()),
            ("question_language", pa.string()),
            ("domains", pa.list_(pa.string())),
            ("domain_scores", pa.struct([(d, pa.float64()) for d in domain_names])),
            ("classifier", pa.string()),
            ("classifier_scores", classifier_scores_type),
            ("provenance", pa.string()),
            ("flags", pa.list_(pa.string())),
            ("source", pa.string()),
        ]
    )


def classifier_scores_type(examples: Sequence[Example]) -> pa.DataType:
    """Arrow type of the per-classifier scores (same keys for every example of a build)."""
    sample = next((e.classifier_scores for e in examples if e.classifier_scores), {})
    if not sample:
        return pa.struct([])
    return pa.array([_sorted_nested(sample)]).type


def to_table(examples: Sequence[Example], schema: pa.Schema) -> pa.Table:
    """One arrow table for a config/split."""
    domain_names = [f.name for f in schema.field("domain_scores").type]
    columns = {
        "id": [e.id for e in examples],
        "title": [e.title for e in examples],
        "context": [e.context for e in examples],
        "question": [e.question for e in examples],
        "answers": [
            {"text": list(e.answers["text"]), "answer_start": [int(s) for s in e.answers["answer_start"]]}
            for e in examples
        ],
        "context_language": [e.context_language for e in examples],
        "question_language": [e.question_language for e in examples],
        "domains": [list(e.domains) for e in examples],
        "domain_scores": [{d: e.domain_scores.get(d) for d in domain_names} for e in examples],
        "classifier": [e.provenance.get("labeler", "") for e in examples],
        "classifier_scores": [_sorted_nested(e.classifier_scores) for e in examples],
        "provenance": [provenance_json(e) for e in examples],
        "flags": [list(e.flags) for e in examples],
        "source": [e.source for e in examples],
    }
    return pa.Table.from_pydict(columns, schema=schema)


# deterministic parquet: fixed compression, no pandas metadata, no statistics timestamps
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
}


def write_parquet(table: pa.Table, path: Path) -> None:
    """``table`` as one parquet file (one row group up to a million rows) with :data:`PARQUET_OPTIONS`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **PARQUET_OPTIONS)


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A writer of ``path`` with :data:`PARQUET_OPTIONS`, a row group per ``write_table`` (a file written
    by one ``write_table`` call has the bytes :func:`write_parquet` gives it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)


def config_sort_key(config: ConfigName) -> tuple:
    """all first, then domains, general last; monolingual before cross-lingual."""
    return (
        config.domain != ALL,
        config.domain,
        not config.is_monolingual,
        config.context_language,
        config.question_language,
    )


def _no_empty_validity(array: pa.Array) -> pa.Array:
    """``array`` (offset 0) without the all-valid null bitmaps ``take`` allocates, at every level, so its
    ``nbytes`` are those of the array built from the rows in one go (the parquet bytes are the same
    either way)."""
    buffers = array.buffers()
    if pa.types.is_struct(array.type):
        children = [_no_empty_validity(array.field(i)) for i in range(array.type.num_fields)]
        own = buffers[:1]
    elif pa.types.is_list(array.type):
        children = [_no_empty_validity(array.values)]
        own = buffers[:2]
    else:
        children, own = [], buffers
    if array.null_count == 0:
        own = [None, *own[1:]]
    return pa.Array.from_buffers(array.type, len(array), own, array.null_count, 0, children or None)


@contextmanager
def system_memory_pool() -> Iterator[None]:
    """Arrow allocations made from Python inside go to the system allocator (restored on exit): it hands
    a freed buffer back to the OS, where Arrow's default pool (mimalloc) keeps it, so the writer's
    transient copies (a batch of rows, a row group) do not stay in the build's resident memory. The
    buffers are the same bytes either way. Arrow's C++ code (parquet's encoder) allocates from the pool
    pyarrow picked at import; the console scripts make that the system allocator too
    (:mod:`mlqa_domain.entry`)."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


# Rows per parquet row group. A config/split of up to this many rows is one row group (every config of
# MLQA's per-language dev and test sets, and of a domain split, is); a larger one is several, so the
# writer holds one row group's rows at a time, not the config's. Readers (datasets, pandas, DuckDB) see the
# same table either way.
ROW_GROUP_ROWS = 10_000


class RowSpill:
    """The rows of a build as Arrow record batches in a temporary IPC file (deleted on close), read back
    one column at a time: the writer keeps row numbers in memory, not rows."""

    def __init__(self, schema: pa.Schema) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="mlqa-domain-rows-")
        self.path = Path(self._dir.name) / "rows.arrow"
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(self._sink, schema)
        self._readers: dict[int, pa.ipc.RecordBatchFileReader] = {}  # column index -> reader of it alone
        self.starts: list[int] = []  # the first row number of each batch
        self.rows = 0

    def append(self, table: pa.Table) -> None:
        """Put ``table``'s rows (one chunk) after the rows written before, as one batch."""
        assert self._writer is not None, "the spill is being read"
        for batch in table.to_batches():
            self.starts.append(self.rows)
            self._writer.write_batch(batch)
            self.rows += batch.num_rows

    def column(self, rows: np.ndarray, index: int) -> pa.Array:
        """Column ``index`` of the rows numbered ``rows`` (ascending), as one array: only that column is
        read from the file, batch by batch."""
        reader = self._reader_of(index)
        batch_of = np.searchsorted(np.asarray(self.starts, dtype=np.int64), rows, side="right") - 1
        bounds = np.flatnonzero(np.diff(batch_of)) + 1
        parts = []
        for part_rows, part_batch in zip(np.split(rows, bounds), np.split(batch_of, bounds), strict=True):
            if not len(part_rows):
                continue
            number = int(part_batch[0])
            values = reader.get_batch(number).column(0)
            local = part_rows - self.starts[number]
            parts.append(values if len(local) == len(values) else values.take(local))
        return pa.concat_arrays(parts)

    def _reader_of(self, index: int) -> pa.ipc.RecordBatchFileReader:
        """A reader of column ``index`` alone (the file is closed for writing on the first read)."""
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None
        if index not in self._readers:
            options = pa.ipc.IpcReadOptions(included_fields=[index])
            self._readers[index] = pa.ipc.open_file(pa.OSFile(str(self.path), "rb"), options=options)
        return self._readers[index]

    def close(self) -> None:
        """Delete the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._sink.close()
        self._readers = {}
        self._dir.cleanup()


class ConfigTables:
    """The rows of every config and split, gathered from a stream of examples: the rows on disk, once each
    in stream order (:class:`RowSpill`), and in memory per config and split the numbers of its rows.

    Examples are held only until ``flush_every`` of them have come (then they become one Arrow batch of
    rows on disk and are let go; 512 keeps the Python lists :func:`to_table` builds small). :meth:`write`
    writes one parquet file per config and split, in row groups of ``row_group_rows`` rows read back from
    the spill a column at a time, so it holds one row group at a time; a file of one row group has the
    bytes of a table made in one go. Arrow allocates in the system pool here (:func:`system_memory_pool`),
    which hands the C heap's free pages back after each row group. A row that belongs to
    several configs (``all.en`` and its domains) is spilled once. Use it as a context manager, or call
    :meth:`write` (which closes it).
    """

    def __init__(
        self,
        domain_names: Sequence[str],
        general: str,
        flush_every: int = 512,
        row_group_rows: int = ROW_GROUP_ROWS,
    ) -> None:
        self.domain_names = list(domain_names)
        self.general = general
        self.flush_every = flush_every
        self.row_group_rows = row_group_rows
        self._pending: list[Example] = []
        self._spill: RowSpill | None = None
        self._flushed = 0  # rows in the spill
        self._rows: dict[ConfigName, dict[str, array]] = defaultdict(lambda: defaultdict(lambda: array("q")))
        self._schema: pa.Schema | None = None

    def __enter__(self) -> ConfigTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the spilled rows."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def add(self, example: Example) -> None:
        """Take one example (in output order)."""
        row = self._flushed + len(self._pending)
        for config in configs_of(example, self.general):
            self._rows[config][example.split].append(row)
        self._pending.append(example)
        if len(self._pending) >= self.flush_every:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        """Turn the pending examples into one Arrow batch on disk, once the schema is known: the classifier
        scores' type comes from the first example that has them (all examples of a build have the same
        keys)."""
        if not self._pending:
            return
        with system_memory_pool():
            self._flush_pending(final)

    def _flush_pending(self, final: bool) -> None:
        """:meth:`_flush`'s work, in the system memory pool."""
        if self._schema is None:
            if not final and not any(e.classifier_scores for e in self._pending):
                return
            self._schema = arrow_schema(self.domain_names, classifier_scores_type(self._pending))
            self._spill = RowSpill(self._schema)
        assert self._spill is not None
        self._spill.append(to_table(self._pending, self._schema))
        self._flushed += len(self._pending)
        self._pending = []

    def write(self, repo_dir: Path, sizes: dict | None = None) -> dict[str, dict[str, int]]:
        """Write ``data/<config>/<split>.parquet`` for every config; return row counts per config and split.

        When ``sizes`` is given it is filled with ``{config: {split: {num_bytes, parquet_bytes}}}``.
        """
        try:
            self._flush(final=True)
            with system_memory_pool():
                return self._write(repo_dir, sizes)
        finally:
            self.close()

    def _write(self, repo_dir: Path, sizes: dict | None) -> dict[str, dict[str, int]]:
        """:meth:`write`'s work, in the system memory pool."""
        counts: dict[str, dict[str, int]] = {}
        for config in sorted(self._rows, key=config_sort_key):
            counts[config.name] = {}
            splits = self._rows.pop(config)
            for split in SPLITS:
                if not splits.get(split):
                    continue
                rows = np.frombuffer(splits.pop(split), dtype=np.int64)
                path = repo_dir / DATA_DIR / config.name / f"{split}.parquet"
                num_bytes = self._write_file(rows, path)
                counts[config.name][split] = len(rows)
                if sizes is not None:
                    sizes.setdefault(config.name, {})[split] = {
                        "num_bytes": num_bytes,
                        "parquet_bytes": path.stat().st_size,
                    }
        return counts

    def _write_file(self, rows: np.ndarray, path: Path) -> int:
        """Write the rows numbered ``rows`` to ``path`` in row groups; return their Arrow size in bytes.

        A row group is gathered column by column (:meth:`RowSpill.column`), so besides the group itself
        only one column's parts are in memory, and the group is let go before the next is gathered."""
        assert self._spill is not None and self._schema is not None
        num_bytes = 0
        with parquet_writer(path, self._schema) as writer:
            for start in range(0, len(rows), self.row_group_rows):
                group_rows = rows[start : start + self.row_group_rows]
                columns = [
                    _no_empty_validity(self._spill.column(group_rows, index))
                    for index in range(len(self._schema))
                ]
                group = pa.Table.from_arrays(columns, schema=self._schema)
                del columns
                writer.write_table(group, row_group_size=group.num_rows)
                num_bytes += group.nbytes
                del group
                pa.default_memory_pool().release_unused()  # the system pool: the C heap's free pages go back
        return num_bytes


def write_configs(
    repo_dir: Path,
    examples: Iterable[Example],
    domain_names: Sequence[str],
    general: str,
    sizes: dict[str, dict[str, dict[str, int]]] | None = None,
) -> dict[str, dict[str, int]]:
    """Write ``data/<config>/<split>.parquet`` for every config (see :class:`ConfigTables`); return row
    counts per config and split, and fill ``sizes`` when given."""
    with ConfigTables(domain_names, general) as tables:
        for example in examples:
            tables.add(example)
        return tables.write(repo_dir, sizes)


def public_info(info: dict) -> dict:
    """``info`` without local paths: the taxonomy file by its name (sources and classifiers name
    themselves publicly already, see ``SourceInfo.to_dict`` and the classifiers' ``provenance``)."""
    taxonomy = info.get("taxonomy")
    if isinstance(taxonomy, dict) and taxonomy.get("source") not in (None, "default"):
        info = {**info, "taxonomy": {**taxonomy, "source": public_file_name(taxonomy["source"])}}
    return info


def write_build_info(repo_dir: Path, info: dict) -> dict:
    """Add the fingerprint and write ``build_info.json`` (public names only)."""
    info = {"dataset_fingerprint": dataset_fingerprint(repo_dir), **public_info(info)}
    (repo_dir / BUILD_INFO).write_text(
        json.dumps(info, indent=2, ensure_ascii=False, sort_keys=False) + "\n", "utf-8"
    )
    return info
