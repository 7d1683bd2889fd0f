"""What a source is: the SOURCES registry, the reader protocol and the options every reader gets.

A source is one module in this package with one decorated class::

    @SOURCES.register("xquad")
    class XquadSource:
        priority = 30                  # detection asks sources in ascending priority
        inputs = "xquad.<lang>.json files"

        def detect(self, spec: str) -> bool: ...
        def read(self, spec: str, options: SourceOptions) -> LoadedSource: ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlqa_domain.example import Example
from mlqa_domain.languages import check_language
from mlqa_domain.registry import Registry


@dataclass
class SourceInfo:
    """What was read: the reader kind, the spec as given, and every input file with its checksum."""

    kind: str
    location: str
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (for build_info.json and the dataset card)."""
        return {"kind": self.kind, "location": self.location, "files": [dict(f) for f in self.files]}


@dataclass
class LoadedSource:
    """The examples of one source, in a deterministic order, and where they came from."""

    examples: list[Example]
    info: SourceInfo


@dataclass(frozen=True)
class SourceOptions:
    """What a build tells every reader; each reader uses the options that mean something for it.

    ``context_language`` / ``question_language`` / ``split`` name what a file's name does not (or,
    for the official release, keep only that language / split); ``languages`` keeps only pairs whose
    two languages are listed; ``cache_dir`` holds downloads; ``expected_sha256`` checks a zip.
    """

    context_language: str | None = None
    question_language: str | None = None
    split: str | None = None
    cache_dir: str | Path | None = None
    languages: Sequence[str] | None = None
    expected_sha256: str | None = None

    def language_set(self) -> frozenset[str] | None:
        """The ``languages`` option as a set of checked codes (None: no restriction)."""
        if self.languages is None:
            return None
        return frozenset(check_language(code, where="languages option") for code in self.languages)


class Source(Protocol):
    """A reader of one kind of input into Examples."""

    priority: int
    inputs: str

    def detect(self, spec: str) -> bool:
        """Whether ``spec`` (a path or URL) is this source's input (asked by ascending priority)."""
        ...

    def read(self, spec: str, options: SourceOptions) -> LoadedSource:
        """The examples of ``spec`` in a deterministic order, and its SourceInfo with file checksums."""
        ...


SOURCES: Registry[type[Source]] = Registry("source kind")
