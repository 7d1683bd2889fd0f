"""SQuAD-v1-format readers: one file per language sharing question ids (XQuAD's ``xquad.{lang}.json``).

``parse_squad`` turns one parsed SQuAD document into Examples; the official MLQA reader reuses it. A
build reads a file's articles one at a time (:func:`squad_file_examples`), so SQuAD v1.1 train's 30 MB
are never parsed whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example
from mlqa_domain.jsonio import iter_list_items, scan_json_file
from mlqa_domain.languages import KNOWN_LANGUAGES, check_language
from mlqa_domain.squad_format import (
    SquadParagraph,
    is_squad_document,
    iter_article_paragraphs,
    iter_paragraphs,
    iter_questions,
)

from ._common import (
    decode_json,
    decode_json_or_lines,
    file_record,
    input_files,
    make_answers,
    normalize_split,
    read_input_bytes,
    require,
    require_id,
)
from .base import SOURCES, LoadedSource, SourceInfo, SourceOptions
from .hf_schema import is_hf_file

KIND = "squad-parallel"
DEFAULT_SPLIT = "test"


def parse_squad(
    data: Any,
    *,
    where: str | Path,
    split: str,
    context_language: str,
    question_language: str,
    source: str,
) -> list[Example]:
    """Examples of one SQuAD-v1 document (``data[].paragraphs[].qas[]``), in file order."""
    return list(
        paragraph_examples(
            iter_paragraphs(data, where),
            where=where,
            split=split,
            context_language=context_language,
            question_language=question_language,
            source=source,
        )
    )


def paragraph_examples(
    paragraphs: Iterable[SquadParagraph],
    *,
    where: str | Path,
    split: str,
    context_language: str,
    question_language: str,
    source: str,
) -> Iterator[Example]:
    """The Examples of SQuAD paragraphs, one question at a time, in order."""
    for paragraph in paragraphs:
        questions = list(iter_questions(paragraph, where))
        context = require(paragraph.record, "context", paragraph.label, where)
        title = paragraph.title if isinstance(paragraph.title, str) else None
        for question in questions:
            qid = require_id(question.qa, question.label, where)
            label = f"{question.label} (id {qid!r})"
            yield Example(
                id=qid,
                split=split,
                context_language=context_language,
                question_language=question_language,
                context=context,
                question=require(question.qa, "question", label, where),
                answers=_answers(question.qa, label, where),
                title=title,
                source=source,
            )


def _answers(qa: dict[str, Any], label: str, where: str | Path) -> dict[str, list]:
    """The HF-style answers of one question object (a missing ``answers`` key is an InputError)."""
    if "answers" not in qa:
        raise InputError(f"{label}: missing key 'answers'", where=where)
    return make_answers(qa["answers"], label, where)


def language_from_name(path: Path, fallback: str | None) -> str:
    """``de`` from ``xquad.de.json`` / ``<anything>.de.json``, else ``fallback``, else an InputError."""
    stem = path.name[: -len(".json")] if path.name.lower().endswith(".json") else path.stem
    candidate = stem.rsplit(".", 1)[-1].lower()
    if candidate in KNOWN_LANGUAGES:
        return candidate
    if fallback is not None:
        return check_language(fallback, where=path)
    if "." not in stem:
        raise InputError(
            "cannot tell the language: name the file <name>.<lang>.json or pass context_language", where=path
        )
    return check_language(candidate, where=path)


def read_squad_file(path: Path, *, language: str, split: str) -> tuple[list[Example], dict[str, Any]]:
    """Examples of one SQuAD file (question language = context language) and its file record."""
    scan = scan_input(path)
    return list(squad_file_examples(path, scan.streamable, language=language, split=split)), scan.record


@dataclass(frozen=True)
class InputScan:
    """A SQuAD file's record (path, bytes, sha256) and whether its articles can be read one at a time."""

    record: dict[str, Any]
    streamable: bool


def scan_input(path: Path) -> InputScan:
    """One pass over the file in chunks (:func:`scan_json_file`); a missing or unreadable file is an
    InputError as :func:`read_input_bytes` words it."""
    try:
        scan = scan_json_file(path, "data")
    except OSError:
        read_input_bytes(path)  # raises the file's InputError
        raise
    return InputScan(file_record(path, scanned=(scan.size, scan.sha256)), scan.streamable)


def squad_file_examples(path: Path, streamable: bool, *, language: str, split: str) -> Iterator[Example]:
    """The Examples of one SQuAD file in file order: its articles read one at a time when ``streamable``
    (so memory does not grow with the file), else the document parsed whole; a file without a question
    is an InputError."""
    if streamable:
        paragraphs = iter_article_paragraphs(iter_list_items(path, "data"), path)
    else:
        paragraphs = iter_paragraphs(decode_json(read_input_bytes(path), path), path)
    count = 0
    for example in paragraph_examples(
        paragraphs,
        where=path,
        split=split,
        context_language=language,
        question_language=language,
        source=path.name,
    ):
        count += 1
        yield example
    if not count:
        raise InputError("no questions in the file", where=path)


def squad_files(directory: Path) -> list[Path]:
    """The ``*.json`` files of a directory, sorted by name."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.name.lower().endswith(".json"))


@SOURCES.register(KIND)
class SquadParallelSource:
    """SQuAD-v1 files, one per language; ``context_language`` names a file's language where its name
    does not, and the split defaults to ``test``."""

    priority = 10
    inputs = "SQuAD-format <name>.<lang>.json files"

    def detect(self, spec: str) -> bool:
        """A directory of ``*.json`` files (none in the HF schema), or a SQuAD-format ``.json`` document."""
        path = Path(spec).expanduser()
        if path.is_dir():
            files = [p for p in path.iterdir() if p.is_file()]
            return bool(squad_files(path)) and not any(is_hf_file(p) for p in files)
        if not path.is_file() or not path.name.lower().endswith(".json") or is_hf_file(path):
            return False
        if scan_input(path).streamable:  # one JSON object with a 'data' list
            return True
        document, is_json_lines = decode_json_or_lines(read_input_bytes(path), path)
        return not is_json_lines and is_squad_document(document)

    def read(self, spec: str, options: SourceOptions) -> LoadedSource:
        """A SQuAD-format file or a directory of per-language files (``xquad.de.json`` ...)."""
        context, question = options.context_language, options.question_language
        if question and context and question != context:
            raise ConfigError("a SQuAD-format parallel set has its questions in the context language")
        files = input_files(spec, squad_files, "no SQuAD-format <name>.<lang>.json files in the directory")
        split = normalize_split(options.split or DEFAULT_SPLIT, where=spec)
        # one fallback language cannot name several files: then every file must carry its own
        language = context or question if len(files) == 1 else None
        wanted = options.language_set()
        selected: list[tuple[Path, str]] = []
        seen_languages: dict[str, Path] = {}
        for file in files:
            lang = language_from_name(file, language)
            if lang in seen_languages:
                raise InputError(
                    f"two files for language {lang!r} (also {seen_languages[lang].name})", where=file
                )
            seen_languages[lang] = file
            if wanted is None or lang in wanted:
                selected.append((file, lang))
        scans = [scan_input(file) for file, _ in selected]
        examples = (
            example
            for (file, lang), scan in zip(selected, scans, strict=True)
            for example in squad_file_examples(file, scan.streamable, language=lang, split=split)
        )
        return LoadedSource(examples, SourceInfo(KIND, spec, [scan.record for scan in scans]))
