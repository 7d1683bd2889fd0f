"""Reader for the official MLQA v1 release: ``MLQA_V1.zip``, its extracted directory, or a URL.

Files are ``dev/dev-context-xx-question-yy.json`` and ``test/test-context-xx-question-yy.json``
(SQuAD v1 format, 49 context/question language pairs per split). Zip members are read directly, each
capped in size and compression ratio (MLQA's largest member is about 10 MB, compressed about 4:1) so that
a zip bomb stops with one line instead of filling the memory.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.example import Example
from mlqa_domain.languages import check_language
from mlqa_domain.progress import track

from ._common import (
    SPLIT_ORDER,
    decode_json,
    file_record,
    normalize_split,
    one_line,
    read_input_bytes,
)
from .base import SOURCES, LoadedSource, SourceInfo, SourceOptions
from .download import fetch, is_url
from .squad_parallel import parse_squad

KIND = "mlqa-official"
# A member inflating past either limit is refused (MLQA_V1.zip's largest is ~10 MB at ~4:1).
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
RATIO_FREE_BYTES = 1024 * 1024  # small members may compress better (a JSON of repeated keys)
_CHUNK = 1024 * 1024
PAIR_FILE_RE = re.compile(r"^(?P<split>dev|test)-context-(?P<ctx>[^-/]+)-question-(?P<q>[^-/]+)\.json$")


@dataclass(frozen=True)
class PairFile:
    """One ``<split>-context-<ctx>-question-<q>.json`` file (a path or a zip member name)."""

    split: str
    context_language: str
    question_language: str
    name: str

    @property
    def order(self) -> tuple[int, str, str]:
        return (SPLIT_ORDER[self.split], self.context_language, self.question_language)


def pair_file(name: str, where: str | Path) -> PairFile | None:
    """The PairFile of a path or member name, or None when its base name is not an MLQA file."""
    match = PAIR_FILE_RE.match(name.rsplit("/", 1)[-1])
    if match is None:
        return None
    return PairFile(
        normalize_split(match["split"], where),
        check_language(match["ctx"], where=where),
        check_language(match["q"], where=where),
        name,
    )


@dataclass(frozen=True)
class PairFilter:
    """Which pairs to read: languages (both sides), one split, one context / question language."""

    languages: frozenset[str] | None = None
    split: str | None = None
    context_language: str | None = None
    question_language: str | None = None

    @classmethod
    def of(cls, options: SourceOptions) -> PairFilter:
        """The pairs the language and split options ask for (each option checked)."""
        context, question, split = options.context_language, options.question_language, options.split
        return cls(
            options.language_set(),
            normalize_split(split, where="split option") if split else None,
            check_language(context, where="context_language option") if context else None,
            check_language(question, where="question_language option") if question else None,
        )

    def keeps(self, pair: PairFile) -> bool:
        if self.languages is not None and not (
            pair.context_language in self.languages and pair.question_language in self.languages
        ):
            return False
        if self.split is not None and pair.split != self.split:
            return False
        if self.context_language is not None and pair.context_language != self.context_language:
            return False
        return self.question_language is None or pair.question_language == self.question_language


def select_pairs(pairs: list[PairFile], wanted: PairFilter, where: str | Path, what: str) -> list[PairFile]:
    """The wanted pairs in (split, context, question) order; none at all, or duplicates, are errors."""
    if not pairs:
        raise InputError(
            f"no MLQA_V1 files (dev/dev-context-xx-question-yy.json, test/test-context-...) in the {what}",
            where=where,
        )
    by_key: dict[tuple[int, str, str], PairFile] = {}
    for pair in pairs:
        if pair.order in by_key:
            raise InputError(f"two files for the same pair: {by_key[pair.order].name} and {pair.name}", where)
        by_key[pair.order] = pair
    selected = [by_key[key] for key in sorted(by_key) if wanted.keeps(by_key[key])]
    if not selected:
        raise InputError(f"no MLQA_V1 files in the {what} match the language/split options", where=where)
    return selected


def _read_pairs(
    pairs: list[PairFile], read: Callable[[PairFile], bytes], where_of: Callable[[PairFile], str]
) -> list[Example]:
    examples: list[Example] = []
    for pair in track(pairs, "Reading MLQA v1"):
        where = where_of(pair)
        examples.extend(
            parse_squad(
                decode_json(read(pair), where),
                where=where,
                split=pair.split,
                context_language=pair.context_language,
                question_language=pair.question_language,
                source=pair.name.rsplit("/", 1)[-1],
            )
        )
    return examples


def member_size_limit(info: zipfile.ZipInfo) -> int:
    """The most bytes a member may inflate to: :data:`MAX_MEMBER_BYTES`, and above
    :data:`RATIO_FREE_BYTES` no more than :data:`MAX_COMPRESSION_RATIO` times its compressed size."""
    return min(MAX_MEMBER_BYTES, max(RATIO_FREE_BYTES, info.compress_size * MAX_COMPRESSION_RATIO))


def read_zip_member(archive: zipfile.ZipFile, name: str, where: str) -> bytes:
    """The bytes of one zip member, read in chunks and stopped as soon as it inflates past
    :func:`member_size_limit` (whatever its header claims); corrupt or unreadable data is a one-line
    InputError naming the member."""
    info = archive.getinfo(name)
    limit = member_size_limit(info)

    def too_large(size: int) -> InputError:
        return InputError(
            f"zip member inflates to {size} bytes or more from {info.compress_size} (limits: "
            f"{MAX_MEMBER_BYTES} bytes, {MAX_COMPRESSION_RATIO}:1); refusing a possible zip bomb",
            where,
        )

    if info.file_size > limit:
        raise too_large(info.file_size)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if size > limit:  # a header that understates the size
                    raise too_large(size)
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"corrupt zip member: {one_line(exc)}", where=where) from None
    return b"".join(chunks)


def read_mlqa_zip(path: Path, wanted: PairFilter) -> list[Example]:
    """Examples of the MLQA files inside a zip, read member by member."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip file: {one_line(exc)}", where=path) from None
    with archive:
        pairs = [p for p in (pair_file(n, f"{path}:{n}") for n in archive.namelist()) if p is not None]
        selected = select_pairs(pairs, wanted, path, "zip")

        def read(pair: PairFile) -> bytes:
            return read_zip_member(archive, pair.name, f"{path}:{pair.name}")

        return _read_pairs(selected, read, lambda pair: f"{path}:{pair.name}")


def find_pair_files(directory: Path) -> list[PairFile]:
    """MLQA files in ``directory``, ``directory/{dev,test}`` and ``directory/MLQA_V1/{dev,test}``."""
    candidates = [directory, directory / "MLQA_V1"]
    folders = [c for base in candidates for c in (base, base / "dev", base / "test") if c.is_dir()]
    pairs = []
    for folder in folders:
        for file in sorted(folder.iterdir()):
            if file.is_file():
                pair = pair_file(str(file), file)
                if pair is not None:
                    pairs.append(pair)
    return pairs


def read_mlqa_files(pairs: list[PairFile]) -> tuple[list[Example], list[dict[str, Any]]]:
    """Examples and file records of MLQA files on disk."""
    records: dict[str, dict[str, Any]] = {}

    def read(pair: PairFile) -> bytes:
        data = read_input_bytes(Path(pair.name))
        records[pair.name] = file_record(pair.name, data)
        return data

    examples = _read_pairs(pairs, read, lambda pair: pair.name)
    return examples, [records[pair.name] for pair in pairs]


@SOURCES.register(KIND)
class MlqaOfficialSource:
    """The official MLQA v1 release; the language and split options keep only matching pairs."""

    priority = 0
    inputs = "MLQA_V1.zip, an MLQA_V1/ directory or a URL, or dev|test-context-<ctx>-question-<q>.json files"

    def detect(self, spec: str) -> bool:
        """A URL, a directory with MLQA pair files, a pair file, or a zip."""
        if is_url(spec):
            return True
        path = Path(spec).expanduser()
        if path.is_dir():
            return bool(find_pair_files(path))
        if not path.is_file():
            return False
        named = bool(PAIR_FILE_RE.match(path.name)) or path.name.lower().endswith(".zip")
        return named or zipfile.is_zipfile(path)

    def read(self, spec: str, options: SourceOptions) -> LoadedSource:
        """Official MLQA v1 from a URL (downloaded to the cache), a zip, a directory or one pair file."""
        wanted = PairFilter.of(options)
        if is_url(spec):
            download = fetch(spec, cache_dir=options.cache_dir, expected_sha256=options.expected_sha256)
            examples = read_mlqa_zip(download.path, wanted)
            return LoadedSource(examples, SourceInfo(KIND, spec, [download.file_record()]))
        path = Path(spec).expanduser()
        if not path.exists():
            raise InputError("no such file or directory", where=spec)
        single = None if path.is_dir() else pair_file(str(path), path)
        if path.is_dir() or single is not None:
            pairs = find_pair_files(path) if single is None else [single]
            selected = select_pairs(pairs, wanted, path, "file" if single else "directory")
            examples, records = read_mlqa_files(selected)
            return LoadedSource(examples, SourceInfo(KIND, spec, records))
        record = file_record(path)
        if options.expected_sha256 and record["sha256"] != options.expected_sha256.lower():
            problem = f"checksum mismatch: expected sha256 {options.expected_sha256}, got {record['sha256']}"
            raise InputError(problem, where=path)
        return LoadedSource(read_mlqa_zip(path, wanted), SourceInfo(KIND, spec, [record]))
