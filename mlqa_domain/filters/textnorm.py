"""Text normalisation shared by the dedup, contamination and length filters, and normalised words."""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

from mlqa_domain.words import words

_SPACE_RE = re.compile(r"\s+")
# Joins a text's words for one normalize_text call; not whitespace, not punctuation, so it survives.
_SEPARATOR = "\x00"


@cache
def _punctuation_table() -> dict[int, None]:
    """Every Unicode punctuation code point (categories P*), mapped to deletion."""
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)).startswith("P")}


def normalize_text(text: str) -> str:
    """NFKC, case-folded, punctuation removed, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_punctuation_table())
    return _SPACE_RE.sub(" ", text).strip()


def word_tokens(text: str, language: str) -> list[str]:
    """The words of ``text`` in ``language`` (:func:`mlqa_domain.words.words`), each normalised by
    :func:`normalize_text`; tokens that were only punctuation are left out."""
    pieces = normalize_text(_SEPARATOR.join(words(text, language))).split(_SEPARATOR)
    return [word for word in (piece.strip() for piece in pieces) if word]
