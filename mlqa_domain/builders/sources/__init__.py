"""Readers that turn source files into `Example` records, one registered source per kind of input.

``load_source(spec)`` (``stream_source(spec)``: one example at a time) asks each source (by ascending
priority) whether ``spec`` is its input:

- ``mlqa-official``: a URL (http(s)://, file://; downloaded to the cache), ``MLQA_V1.zip``, an
  extracted ``MLQA_V1/`` directory, or one ``dev-context-xx-question-yy.json`` file;
- ``squad-parallel``: SQuAD-v1 files, one per language (``xquad.de.json``), or a directory of them;
- ``hf-mlqa``: ``*.jsonl`` / ``*.parquet`` / ``mlqa.<ctx>.<q>.<split>.json`` files in the Hugging
  Face ``mlqa`` schema, or a directory of them.

A new kind of input is one module in this package with one ``@SOURCES.register(name)`` class
(see base.py), or an entry point in the group ``mlqa_domain.sources`` of another distribution; SOURCES
imports both the first time it is looked up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from mlqa_domain.errors import InputError
from mlqa_domain.example import Example

from .base import SOURCES, LoadedSource, Source, SourceInfo, SourceOptions
from .download import DEFAULT_MLQA_URL, MLQA_V1_ZIP_BYTES, MLQA_V1_ZIP_SHA256, default_cache_dir, fetch
from .squad_parallel import parse_squad

__all__ = [
    "DEFAULT_MLQA_URL",
    "MLQA_V1_ZIP_BYTES",
    "MLQA_V1_ZIP_SHA256",
    "SOURCES",
    "LoadedSource",
    "Source",
    "SourceInfo",
    "SourceOptions",
    "default_cache_dir",
    "detect_kind",
    "fetch",
    "load_source",
    "parse_squad",
    "stream_source",
]


def detect_kind(spec: str | Path) -> str:
    """The name of the source that reads ``spec``; a missing or unrecognised input is an InputError."""
    ordered = sorted(SOURCES.items(), key=lambda item: item[1].priority)
    for name, source in ordered:
        if source().detect(str(spec)):
            return name
    path = Path(spec).expanduser()
    expected = "; ".join(source.inputs for _, source in ordered)
    if not path.exists():
        raise InputError("no such file or directory", where=spec)
    if path.is_dir():
        raise InputError(f"no recognised files: expected {expected}", where=path)
    raise InputError(f"unrecognised input (expected {expected})", where=path)


def _checked(examples: Iterable[Example], spec: str) -> Iterator[Example]:
    """``examples`` as they come, checked: ids key alignment and predictions, so one id may occur once
    per split and language pair; a source with no example at all is an InputError at its end."""
    seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for example in examples:
        ids = seen[(example.split, example.context_language, example.question_language)]
        if example.id in ids:
            raise InputError(
                f"duplicate id {example.id!r} in {example.source} ({example.split}, "
                f"context {example.context_language}, question {example.question_language})",
                where=spec,
            )
        ids.add(example.id)
        yield example
    if not seen:
        raise InputError("no examples match the language/split options", where=spec)


def stream_source(
    spec: str, options: SourceOptions | None = None, *, kind: str | None = None
) -> LoadedSource:
    """Read a source as a stream: its SourceInfo (file checksums) at once, its Examples (deterministic
    order) one at a time as they are pulled, checked as they come (a duplicate id, or no example at
    all, is an InputError then). ``kind`` (a registered source name) skips detection."""
    source = SOURCES.get(kind or detect_kind(spec))()
    loaded = source.read(str(spec), options or SourceOptions())
    return LoadedSource(_checked(loaded.examples, str(spec)), loaded.info)


def load_source(spec: str, options: SourceOptions | None = None, *, kind: str | None = None) -> LoadedSource:
    """Read a source into a list of Examples (deterministic order) plus its SourceInfo with file checksums
    (:func:`stream_source`, held whole). ``kind`` (a registered source name) skips detection."""
    loaded = stream_source(spec, options, kind=kind)
    return LoadedSource(list(loaded.examples), loaded.info)
