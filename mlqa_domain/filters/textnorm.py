"""Text normalisation and word tokens shared by the dedup and contamination filters."""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

# Scripts written without spaces between words: every character is a token of its own.
_CHAR_TOKEN = r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
_TOKEN_RE = re.compile(rf"{_CHAR_TOKEN}|(?:(?!{_CHAR_TOKEN})\S)+")
_SPACE_RE = re.compile(r"\s+")


@cache
def _punctuation_table() -> dict[int, None]:
    """Every Unicode punctuation code point (categories P*), mapped to deletion."""
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)).startswith("P")}


def normalize_text(text: str) -> str:
    """NFKC, case-folded, punctuation removed, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_punctuation_table())
    return _SPACE_RE.sub(" ", text).strip()


def word_tokens(text: str) -> list[str]:
    """Words of the normalised ``text`` (split at spaces and punctuation, combining marks kept).

    CJK, kana, hangul and Thai characters are tokens of their own, since those scripts do not put
    spaces between words.
    """
    return _TOKEN_RE.findall(normalize_text(text))
