"""Readers that turn source files into `Example` records.

``load_source(spec)`` picks the reader from what ``spec`` is:

- ``mlqa-official``: a URL (http(s)://, file://; downloaded to the cache), ``MLQA_V1.zip``, an
  extracted ``MLQA_V1/`` directory, or one ``dev-context-xx-question-yy.json`` file;
- ``hf-mlqa``: ``*.jsonl`` / ``*.parquet`` / ``mlqa.<ctx>.<q>.<split>.json`` files in the Hugging
  Face ``mlqa`` schema, or a directory of them;
- ``squad-parallel``: SQuAD-v1 files, one per language (``xquad.de.json``), or a directory of them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from mlqa_domain.errors import ConfigError, InputError

from ._common import LoadedSource, SourceInfo, decode_json_or_lines, read_input_bytes
from .download import (
    DEFAULT_MLQA_URL,
    MLQA_V1_ZIP_BYTES,
    MLQA_V1_ZIP_SHA256,
    default_cache_dir,
    fetch,
    is_url,
)
from .hf_schema import is_hf_file, read_hf_schema
from .mlqa_official import PAIR_FILE_RE, find_pair_files, read_mlqa_official
from .squad_parallel import is_squad_document, parse_squad, read_squad_parallel, squad_files

__all__ = [
    "DEFAULT_MLQA_URL",
    "KINDS",
    "MLQA_V1_ZIP_BYTES",
    "MLQA_V1_ZIP_SHA256",
    "LoadedSource",
    "SourceInfo",
    "default_cache_dir",
    "detect_kind",
    "fetch",
    "load_source",
    "parse_squad",
]

KINDS: tuple[str, ...] = ("mlqa-official", "hf-mlqa", "squad-parallel")


def _json_file_kind(path: Path) -> str:
    """``squad-parallel`` for a SQuAD document, else ``hf-mlqa`` (a JSON list or JSON lines)."""
    data = read_input_bytes(path)
    document, is_json_lines = decode_json_or_lines(data, path)
    if is_json_lines:
        return "hf-mlqa"
    return "squad-parallel" if is_squad_document(document) else "hf-mlqa"


def detect_kind(spec: str | Path) -> str:
    """Which reader ``spec`` needs (one of KINDS); a missing or unrecognised input is an InputError."""
    if is_url(str(spec)):
        return "mlqa-official"
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError("no such file or directory", where=spec)
    if path.is_dir():
        if find_pair_files(path):
            return "mlqa-official"
        files = [p for p in path.iterdir() if p.is_file()]
        if any(is_hf_file(p) for p in files):
            return "hf-mlqa"
        if squad_files(path):
            return "squad-parallel"
        raise InputError(
            "no recognised files: expected MLQA_V1 dev/test files, mlqa.<ctx>.<q>.<split>.jsonl|parquet "
            "files, or SQuAD-format <name>.<lang>.json files",
            where=path,
        )
    name = path.name.lower()
    if PAIR_FILE_RE.match(path.name) or name.endswith(".zip"):
        return "mlqa-official"
    if is_hf_file(path):
        return "hf-mlqa"
    if name.endswith(".json"):
        return _json_file_kind(path)
    if zipfile.is_zipfile(path):
        return "mlqa-official"
    raise InputError("unrecognised input (expected .zip, .json, .jsonl, .parquet or a directory)", where=path)


def _check_ids(loaded: LoadedSource) -> None:
    """Ids key alignment and predictions: one id may occur once per split and language pair."""
    seen: set[tuple[str, str, str, str]] = set()
    for example in loaded.examples:
        key = (example.split, example.context_language, example.question_language, example.id)
        if key in seen:
            raise InputError(
                f"duplicate id {example.id!r} in {example.source} ({example.split}, "
                f"context {example.context_language}, question {example.question_language})",
                where=loaded.info.location,
            )
        seen.add(key)


def load_source(
    spec: str,
    *,
    context_language: str | None = None,
    question_language: str | None = None,
    split: str | None = None,
    cache_dir: str | Path | None = None,
    languages: Sequence[str] | None = None,
    kind: str | None = None,
    expected_sha256: str | None = None,
) -> LoadedSource:
    """Read a source into Examples (deterministic order) plus its SourceInfo with file checksums.

    For ``mlqa-official`` the language/split options keep only matching pairs; for ``hf-mlqa`` they
    name the languages/split of files whose name does not (``mlqa.<ctx>.<q>.<split>.<ext>``); for
    ``squad-parallel`` ``context_language`` names a file's language when its name does not and
    ``split`` defaults to ``test``. ``languages`` keeps only pairs whose two languages are listed.
    ``kind`` skips auto-detection; ``expected_sha256`` checks a downloaded or local MLQA zip.
    """
    kind = kind or detect_kind(spec)
    if kind == "mlqa-official":
        loaded = read_mlqa_official(
            spec,
            languages=languages,
            split=split,
            context_language=context_language,
            question_language=question_language,
            cache_dir=cache_dir,
            expected_sha256=expected_sha256,
        )
    elif kind == "hf-mlqa":
        loaded = read_hf_schema(
            spec,
            context_language=context_language,
            question_language=question_language,
            split=split,
            languages=languages,
        )
    elif kind == "squad-parallel":
        if question_language and context_language and question_language != context_language:
            raise ConfigError("a SQuAD-format parallel set has its questions in the context language")
        loaded = read_squad_parallel(
            spec, language=context_language or question_language, split=split, languages=languages
        )
    else:
        raise ConfigError(f"unknown source kind {kind!r} (known: {', '.join(KINDS)})")
    if not loaded.examples:
        raise InputError("no examples match the language/split options", where=spec)
    _check_ids(loaded)
    return loaded
