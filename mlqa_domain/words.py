"""Words of a text in its language, from spaCy's rule-based tokenizers (no model download).

``words(text, language)`` splits with the tokenizer of ``spacy.blank(language)``, built once per
language: punctuation and clitics become tokens of their own (``wasn't`` -> ``was``, ``n't``), Chinese
is split into characters (spaCy's default segmenter), and Vietnamese is segmented into words by
pyvi where it is installed (``hợp đồng`` is one word), into syllables otherwise. A language whose
spaCy tokenizer needs a package that is not installed (Japanese: SudachiPy, Thai: PyThaiNLP,
Korean: mecab-ko), or that spaCy does not know, falls back to the multi-language ``xx`` tokenizer.
"""

from __future__ import annotations

import logging
from functools import cache

from mlqa_domain.errors import first_line

logger = logging.getLogger(__name__)

MULTI_LANGUAGE = "xx"
# spaCy's Vietnamese tokenizer without pyvi: syllables (split at spaces), no word segmentation.
VIETNAMESE_SYLLABLES = {"nlp": {"tokenizer": {"use_pyvi": False}}}


@cache
def tokenizer(language: str):
    """spaCy's tokenizer for ``language`` (a callable text -> Doc), built once per language."""
    import spacy

    try:
        return spacy.blank(language).tokenizer
    except ImportError as exc:
        if language == "vi":
            logger.info("pyvi is not installed: Vietnamese is split into syllables, not words")
            return spacy.blank("vi", config=VIETNAMESE_SYLLABLES).tokenizer
        logger.info("no spaCy tokenizer for %r (%s); using the multi-language one", language, first_line(exc))
        return spacy.blank(MULTI_LANGUAGE).tokenizer


def words(text: str, language: str) -> list[str]:
    """The tokens of ``text`` as written (whitespace left out), by ``language``'s spaCy tokenizer."""
    return [token.text for token in tokenizer(language)(text) if not token.is_space]
