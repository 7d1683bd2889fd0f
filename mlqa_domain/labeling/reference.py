"""The hand-labelled reference set: domain labels of real Wikipedia paragraphs, joined with their text.

Labels are stored without any text, keyed by article title + sha256 of the context (UTF-8), with the
version of ``docs/labelling-guidelines.md`` each label was made under. :func:`join_reference` joins
them with a SQuAD-format file (the rebuilt ``squad-v1.1-train/train-v1.1.json`` or the official
``train-v1.1.json``) to get the paragraphs back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_text
from mlqa_domain.jsonio import iter_jsonl, read_json
from mlqa_domain.squad_format import is_squad_document, iter_paragraphs

REFERENCE_FILE = "squad-train-domains.jsonl"
GUIDELINES_VERSION = "1.1"


def default_reference_path() -> Path:
    """The reference labels shipped with the package."""
    return Path(str(resources.files("mlqa_domain") / "data" / "reference" / REFERENCE_FILE))


def display_title(title: str | None) -> str:
    """A Wikipedia article title as text (``Rule_of_law`` -> ``Rule of law``)."""
    return (title or "").replace("_", " ").strip()


def classifier_input(context: str, title: str | None) -> str:
    """What a title-aware classifier reads: ``title. context`` when there is a title, else the context."""
    shown = display_title(title)
    return f"{shown}. {context}" if shown else context


@dataclass(frozen=True)
class ReferenceLabel:
    """The hand label of one paragraph (no text: the key is title + context sha256)."""

    title: str
    context_sha256: str
    domains: tuple[str, ...]
    borderline: tuple[str, ...]
    guidelines_version: str
    annotation: str
    pool: str

    @property
    def key(self) -> tuple[str, str]:
        """(title, context sha256)."""
        return (self.title, self.context_sha256)


@dataclass(frozen=True)
class ReferenceItem:
    """A reference label with its paragraph."""

    label: ReferenceLabel
    context: str

    @property
    def title(self) -> str:
        """The article title as stored in the SQuAD file."""
        return self.label.title

    def is_positive(self, domain: str) -> bool:
        """Whether the hand label includes ``domain``."""
        return domain in self.label.domains


def load_reference_labels(
    path: str | Path | None = None, known: Sequence[str] | None = None
) -> list[ReferenceLabel]:
    """The labels of a reference file (the shipped one when ``path`` is None)."""
    path = Path(path) if path else default_reference_path()
    if not path.is_file():
        raise InputError("reference labels file not found", path)
    labels: list[ReferenceLabel] = []
    seen: set[tuple[str, str]] = set()
    for number, record in iter_jsonl(path):
        try:
            label = ReferenceLabel(
                title=str(record["title"]),
                context_sha256=str(record["context_sha256"]),
                domains=tuple(record["domains"]),
                borderline=tuple(record.get("borderline", ())),
                guidelines_version=str(record["guidelines_version"]),
                annotation=str(record.get("annotation", "")),
                pool=str(record.get("pool", "")),
            )
        except (KeyError, TypeError):
            raise InputError(
                f"line {number}: expected title, context_sha256, domains and guidelines_version", path
            ) from None
        if known is not None:
            unknown = sorted((set(label.domains) | set(label.borderline)) - set(known))
            if unknown:
                raise InputError(f"line {number}: unknown domain(s) {', '.join(unknown)}", path)
        if label.key in seen:
            raise InputError(f"line {number}: paragraph labelled twice", path)
        seen.add(label.key)
        labels.append(label)
    if not labels:
        raise InputError("no labels in the reference file", path)
    return labels


def squad_paragraphs(path: str | Path) -> dict[tuple[str, str], str]:
    """``{(title, context sha256): context}`` of every paragraph of a SQuAD-format JSON file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("SQuAD-format file not found", path)
    try:
        document = read_json(path)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None
    if not is_squad_document(document):
        raise InputError('not a SQuAD-format file (no top-level "data" list)', path)
    paragraphs: dict[tuple[str, str], str] = {}
    for paragraph in iter_paragraphs(document, path):
        context = paragraph.context
        if paragraph.title is None or not isinstance(context, str):
            raise InputError("an article lacks title/paragraphs/context", path)
        paragraphs[(str(paragraph.title), sha256_text(context))] = context
    return paragraphs


def join_reference(
    squad_file: str | Path, labels: Sequence[ReferenceLabel] | None = None
) -> tuple[list[ReferenceItem], int]:
    """Reference items whose paragraph is in ``squad_file``, and how many labels found no paragraph."""
    labels = list(labels) if labels is not None else load_reference_labels()
    paragraphs = squad_paragraphs(squad_file)
    items = [ReferenceItem(label, paragraphs[label.key]) for label in labels if label.key in paragraphs]
    if not items:
        raise InputError("no labelled paragraph of the reference set is in this file", squad_file)
    return items, len(labels) - len(items)
