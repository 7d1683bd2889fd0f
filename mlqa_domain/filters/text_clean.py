"""Text cleaning: control and bidi-override characters never reach the published dataset.

Rule (one place): in the context, the question, the answers and the title, every control character
(Unicode category Cc: C0, DEL and C1, NUL included) except tab, line feed and carriage return, and every
bidi embedding/override/isolate character (U+202A-U+202E, U+2066-U+2069) is **removed**. The example is
kept and flagged (``text-clean: removed N control/bidi character(s) from question, context``), and
every ``answer_start`` is moved to where its answer now starts, so answer offsets stay valid. Removing,
not rejecting: stray control characters come with otherwise good Wikipedia text, and the bidi
*marks* (U+200E, U+200F, U+061C) that real Arabic text needs are left alone.

An example is **rejected** (with the reason) only when nothing is left to ask or answer: a question, a
context or an answer that is empty or blank once cleaned (a question of NUL bytes).
"""

from __future__ import annotations

import re

from mlqa_domain.example import Example
from mlqa_domain.filters.base import FILTERS, Drop, Filter, Flag, Verdict

# Cc minus \t \n \r, and the bidi embeddings (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI PDI).
UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` without control and bidi-override characters (see the module docstring)."""
    return UNWANTED.sub("", text)


def _new_offsets(text: str) -> list[int]:
    """For each index of ``text`` (and its end), the index it has once cleaned."""
    offsets, kept = [], 0
    for char in text:
        offsets.append(kept)
        if not UNWANTED.match(char):
            kept += 1
    offsets.append(kept)
    return offsets


@FILTERS.register("text_clean")
class TextCleanFilter(Filter):
    """Remove control and bidi-override characters (offsets kept valid); drop what is left blank."""

    order = 5  # before answer_span, which checks the moved offsets

    def filter(self, example: Example) -> Verdict | None:
        """Clean ``example`` in place; a Flag when something was removed, a Drop when a text is blank."""
        removed: dict[str, int] = {}
        for field in ("question", "context", "title"):
            value = getattr(example, field)
            if isinstance(value, str) and UNWANTED.search(value):
                cleaned = clean_text(value)
                removed[field] = len(value) - len(cleaned)
                if field == "context":
                    self._move_answers(example, value)
                setattr(example, field, cleaned)
        answers = example.answers or {}
        texts = answers.get("text")
        if texts and any(isinstance(t, str) and UNWANTED.search(t) for t in texts):
            cleaned = [clean_text(t) if isinstance(t, str) else t for t in texts]
            removed["answers"] = sum(len(a) - len(b) for a, b in zip(texts, cleaned, strict=True))
            example.answers = {**answers, "text": cleaned}
        for field in ("question", "context"):
            if not getattr(example, field).strip():
                reason = f"text-clean: {field} is blank once control characters are removed"
                return Drop(reason, f"blank {field}")
        if any(isinstance(t, str) and not t.strip() for t in (example.answers or {}).get("text") or []):
            return Drop("text-clean: an answer is blank once control characters are removed", "blank answer")
        if not removed:
            return None
        count = sum(removed.values())
        return Flag(
            f"text-clean: removed {count} control/bidi character(s) from {', '.join(removed)}",
            "control/bidi characters removed",
        )

    @staticmethod
    def _move_answers(example: Example, context: str) -> None:
        """Move each in-range ``answer_start`` of the uncleaned ``context`` to its cleaned position."""
        answers = example.answers or {}
        starts = answers.get("answer_start")
        if not starts:
            return
        offsets = _new_offsets(context)
        moved = [
            offsets[s] if isinstance(s, int) and not isinstance(s, bool) and 0 <= s < len(offsets) else s
            for s in starts
        ]
        example.answers = {**answers, "answer_start": moved}
