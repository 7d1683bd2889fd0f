"""Language codes the project knows: MLQA's seven plus XQuAD's extra ones."""

from __future__ import annotations

from pathlib import Path

from mlqa_domain.errors import InputError
from mlqa_domain.registry import did_you_mean

MLQA_LANGUAGES: tuple[str, ...] = ("en", "de", "es", "ar", "hi", "vi", "zh")
XQUAD_EXTRA_LANGUAGES: tuple[str, ...] = ("el", "ru", "th", "tr", "ro")
KNOWN_LANGUAGES: frozenset[str] = frozenset(MLQA_LANGUAGES + XQUAD_EXTRA_LANGUAGES)
PIVOT_LANGUAGE = "en"


def check_language(code: str, where: str | Path | None = None) -> str:
    """Return ``code`` normalised to lower case, or raise an InputError naming ``where``."""
    norm = code.strip().lower()
    if norm not in KNOWN_LANGUAGES:
        known = ", ".join(sorted(KNOWN_LANGUAGES))
        hint = did_you_mean(norm, sorted(KNOWN_LANGUAGES))
        raise InputError(f"unknown language code {code!r} ({hint}known: {known})", where)
    return norm
