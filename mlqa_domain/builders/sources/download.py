"""Cached, checksummed downloads (http(s):// and file://) for the source readers.

A download streams into a temp file next to its cache path with a progress bar, is checked against
the expected size and sha256, and is then moved into place. The next run reuses the cached file
after checking its checksum again (against the known value, else the one recorded at download time).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mlqa_domain import progress
from mlqa_domain.atomic import write_text_atomic
from mlqa_domain.embeddings import default_cache_dir
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes, sha256_file

from ._common import one_line

logger = logging.getLogger(__name__)

DEFAULT_MLQA_URL = "https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip"
# From the Hugging Face `mlqa` dataset script (datasets/mlqa/dataset_infos.json, download_checksums).
MLQA_V1_ZIP_BYTES = 75_719_050
MLQA_V1_ZIP_SHA256 = "246e8089933d13007fe80684d5c5c0713d6834cf8b3b4a0ec7c66f0a0d2baac8"
KNOWN_DOWNLOADS: dict[str, tuple[int, str]] = {DEFAULT_MLQA_URL: (MLQA_V1_ZIP_BYTES, MLQA_V1_ZIP_SHA256)}

URL_SCHEMES = ("http", "https", "file")
CHUNK_BYTES = 1 << 20
USER_AGENT = "mlqa-domain"


@dataclass(frozen=True)
class Download:
    """A file in the download cache: where it is, its size and sha256, and whether it was reused."""

    url: str
    path: Path
    bytes: int
    sha256: str
    reused: bool

    def file_record(self) -> dict:
        """``{"path", "bytes", "sha256", "url"}`` for SourceInfo.files."""
        return {"path": str(self.path), "bytes": self.bytes, "sha256": self.sha256, "url": self.url}


def is_url(spec: str | Path) -> bool:
    """True for http://, https:// and file:// addresses."""
    return isinstance(spec, str) and urllib.parse.urlparse(spec).scheme.lower() in URL_SCHEMES


def cache_path(url: str, cache_dir: str | Path | None = None) -> Path:
    """Where ``url`` is cached: ``<cache root>/downloads/<hash of the url>/<file name>``."""
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name or "download"
    return root / "downloads" / sha256_bytes(url.encode("utf-8"))[:16] / name


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _cached(target: Path, url: str, sha256: str | None, size: int | None) -> Download | None:
    """The cached download if it is there and still matches its checksum; a bad copy is removed."""
    if not target.is_file():
        return None
    sidecar = _sidecar(target)
    want = sha256 or (sidecar.read_text().strip() if sidecar.is_file() else None)
    actual_size = target.stat().st_size
    digest = sha256_file(target)
    if (want is None or digest == want) and (size is None or actual_size == size):
        if not sidecar.is_file():
            write_text_atomic(sidecar, digest + "\n")
        return Download(url, target, actual_size, digest, reused=True)
    logger.warning("cached %s fails its checksum; downloading it again", target)
    target.unlink(missing_ok=True)
    sidecar.unlink(missing_ok=True)
    return None


def _stream(url: str, tmp: Path, label: str) -> tuple[int, str]:
    """Copy ``url`` into ``tmp`` with a progress bar; returns (bytes, sha256)."""
    digest = hashlib.sha256()
    size = 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with progress.task(f"Downloading {label}", total) as advance:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    advance(len(chunk))
    except urllib.error.HTTPError as exc:
        raise InputError(f"download failed: HTTP {exc.code} {one_line(exc.reason)}", where=url) from None
    except urllib.error.URLError as exc:
        raise InputError(f"download failed: {one_line(exc.reason)}", where=url) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"download failed: {one_line(exc)}", where=url) from None
    return size, digest.hexdigest()


def fetch(
    url: str,
    *,
    cache_dir: str | Path | None = None,
    expected_sha256: str | None = None,
    expected_size: int | None = None,
) -> Download:
    """Download ``url`` into the cache (or reuse the cached copy) and check its size and sha256.

    For a known URL (the official MLQA zip) the known size and sha256 are used unless given.
    A download that fails the check is deleted and raises an InputError naming the URL.
    """
    known_size, known_sha = KNOWN_DOWNLOADS.get(url, (None, None))
    sha256 = (expected_sha256 or known_sha or "").lower() or None
    size = expected_size if expected_size is not None else (known_size if sha256 == known_sha else None)
    target = cache_path(url, cache_dir)
    cached = _cached(target, url, sha256, size)
    if cached is not None:
        return cached
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.part-", dir=target.parent)
    except OSError as exc:
        raise InputError(f"cannot write the download cache: {one_line(exc)}", where=target.parent) from None
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        actual_size, digest = _stream(url, tmp, target.name)
        if size is not None and actual_size != size:
            raise InputError(f"size mismatch: expected {size} bytes, got {actual_size} (not kept)", where=url)
        if sha256 is not None and digest != sha256:
            raise InputError(
                f"checksum mismatch: expected sha256 {sha256}, got {digest} (not kept)", where=url
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache file is ordinary data
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    write_text_atomic(_sidecar(target), digest + "\n")
    return Download(url, target, actual_size, digest, reused=False)
