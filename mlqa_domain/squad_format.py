"""The one walker of SQuAD-format documents (SQuAD v1.1, XQuAD, MLQA's official files):

``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers": [...]}]}]}]}``

:func:`iter_paragraphs` yields each paragraph with its article's title (:func:`iter_article_paragraphs`
does it for articles as a stream reads them), :func:`iter_questions` the
questions of one paragraph and :func:`iter_squad` every question of a document, in file order. The
structure (objects and lists down to each question) is checked here, every problem an InputError that
says where it is (``data[0].paragraphs[2]: every paragraph needs a 'qas' list``); the fields of a
paragraph or question (context, id, question, answers) are checked by the caller, which knows which
it needs and how strictly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError

NOT_SQUAD = "not SQuAD format: expected a JSON object with a 'data' list"


def is_squad_document(data: Any) -> bool:
    """True for a SQuAD-format document: an object with a ``data`` list."""
    return isinstance(data, dict) and isinstance(data.get("data"), list)


@dataclass(frozen=True)
class SquadParagraph:
    """One paragraph object of a SQuAD document and where it is."""

    label: str  # data[a].paragraphs[p]
    title: Any  # its article's "title" as stored (None when the article has none)
    record: dict[str, Any]

    @property
    def context(self) -> Any:
        """The paragraph's ``context`` as stored (None when missing)."""
        return self.record.get("context")


@dataclass(frozen=True)
class SquadQuestion:
    """One question object of a SQuAD document, with its paragraph."""

    label: str  # data[a].paragraphs[p].qas[q]
    paragraph: SquadParagraph
    qa: dict[str, Any]

    @property
    def title(self) -> Any:
        """The article's title as stored."""
        return self.paragraph.title

    @property
    def context(self) -> Any:
        """The paragraph's context as stored."""
        return self.paragraph.context


def iter_paragraphs(document: Any, where: str | Path | None) -> Iterator[SquadParagraph]:
    """Every paragraph of a SQuAD document, in file order (each article an object with a
    ``paragraphs`` list of objects)."""
    if not is_squad_document(document):
        raise InputError(NOT_SQUAD, where)
    return iter_article_paragraphs(document["data"], where)


def iter_article_paragraphs(articles: Iterable[Any], where: str | Path | None) -> Iterator[SquadParagraph]:
    """Every paragraph of the articles of a SQuAD document's ``data`` list (a list, or the articles as a
    stream reads them), in file order."""
    for article_index, article in enumerate(articles):
        article_label = f"data[{article_index}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InputError(f"{article_label}: every article needs a 'paragraphs' list", where)
        for paragraph_index, paragraph in enumerate(article["paragraphs"]):
            label = f"{article_label}.paragraphs[{paragraph_index}]"
            if not isinstance(paragraph, dict):
                raise InputError(f"{label}: every paragraph must be an object", where)
            yield SquadParagraph(label, article.get("title"), paragraph)


def iter_questions(
    paragraph: SquadParagraph, where: str | Path | None, *, qas_required: bool = True
) -> Iterator[SquadQuestion]:
    """The questions of one paragraph (its ``qas`` list of objects; a paragraph without ``qas`` has
    none unless ``qas_required``)."""
    qas = paragraph.record.get("qas", None if qas_required else [])
    if not isinstance(qas, list):
        raise InputError(f"{paragraph.label}: every paragraph needs a 'qas' list", where)
    for index, qa in enumerate(qas):
        label = f"{paragraph.label}.qas[{index}]"
        if not isinstance(qa, dict):
            raise InputError(f"{label}: every question must be an object", where)
        yield SquadQuestion(label, paragraph, qa)


def iter_squad(
    document: Any, where: str | Path | None, *, qas_required: bool = True
) -> Iterator[SquadQuestion]:
    """Every question of a SQuAD document, in file order."""
    for paragraph in iter_paragraphs(document, where):
        yield from iter_questions(paragraph, where, qas_required=qas_required)
