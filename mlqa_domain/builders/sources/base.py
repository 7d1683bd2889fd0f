"""What a source is: the SOURCES registry, the reader protocol and the options every reader gets.

A source is one module in this package with one decorated class::

    @SOURCES.register("xquad")
    class XquadSource:
        priority = 30                  # detection asks sources in ascending priority
        inputs = "xquad.<lang>.json files"

        def detect(self, spec: str) -> bool: ...
        def read(self, spec: str, options: SourceOptions) -> LoadedSource: ...

Registering checks the class has every member of :class:`Source`. A source of another distribution is an
entry point in the group ``mlqa_domain.sources`` (see registry.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlqa_domain.example import Example
from mlqa_domain.languages import check_language
from mlqa_domain.naming import is_url, public_file_name
from mlqa_domain.registry import Registry

# the public dataset each source kind reads (the card's ``source_datasets``)
SOURCE_DATASETS = {"mlqa-official": "mlqa", "hf-mlqa": "mlqa"}


@dataclass
class SourceInfo:
    """What was read: the reader kind, the spec as given, and every input file with its checksum.

    ``location`` and the files' paths are local (for error messages); :meth:`to_dict`, what build_info.json
    and the card publish, names them by URL or file name with size and sha256, never by local path."""

    kind: str
    location: str
    files: list[dict[str, Any]] = field(default_factory=list)

    def dataset(self) -> str:
        """The public dataset read: ``mlqa``, ``xquad`` (files named ``xquad.*``) or ``squad``."""
        if self.kind in SOURCE_DATASETS:
            return SOURCE_DATASETS[self.kind]
        names = [public_file_name(f.get("path", "")).lower() for f in self.files]
        names.append(public_file_name(self.location).lower())
        return "xquad" if any(name.startswith("xquad") for name in names) else "squad"

    def _public_file(self, record: dict[str, Any]) -> dict[str, Any]:
        path = str(record.get("path", ""))
        root = Path(self.location).expanduser()
        name = public_file_name(path)
        if not is_url(path) and root.is_dir():
            with contextlib.suppress(ValueError):  # a file outside the directory keeps its plain name
                name = Path(path).expanduser().resolve().relative_to(root.resolve()).as_posix()
        public = {"path": name, "bytes": record.get("bytes"), "sha256": record.get("sha256")}
        if record.get("url"):
            public["url"] = public_file_name(record["url"])
        return public

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly public view (for build_info.json and the dataset card)."""
        return {
            "kind": self.kind,
            "dataset": self.dataset(),
            "location": public_file_name(self.location),
            "files": [self._public_file(f) for f in self.files],
        }


@dataclass
class LoadedSource:
    """The examples of one source, in a deterministic order, and where they came from. A reader may give
    them as a list or as a one-pass iterator that reads its input as it is pulled (the SQuAD reader
    does); ``load_source`` always gives a list."""

    examples: Iterable[Example]
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
    """A reader of one kind of input into Examples (what every SOURCES entry must have)."""

    priority: int
    inputs: str

    def detect(self, spec: str) -> bool:
        """Whether ``spec`` (a path or URL) is this source's input (asked by ascending priority)."""
        ...

    def read(self, spec: str, options: SourceOptions) -> LoadedSource:
        """The examples of ``spec`` in a deterministic order, and its SourceInfo with file checksums."""
        ...


SOURCES: Registry[type[Source]] = Registry(
    "source kind", contract=Source, builtins="mlqa_domain.builders.sources", group="mlqa_domain.sources"
)
