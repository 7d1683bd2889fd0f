"""Shared pieces of the filters: stats with a flagged count, grouped reasons, drop-or-flag actions."""

from __future__ import annotations

from dataclasses import dataclass

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.pipeline import BlockStats, Filter, Rejected

ACTIONS = ("drop", "flag")


@dataclass
class FilterStats(BlockStats):
    """BlockStats plus how many examples a filter flagged but kept."""

    flagged: int = 0

    def to_dict(self) -> dict:
        """JSON-friendly view."""
        return {**super().to_dict(), "flagged": self.flagged}


def check_action(action: str, filter_name: str) -> str:
    """``action`` if it is ``drop`` or ``flag``, else a ConfigError."""
    if action not in ACTIONS:
        raise ConfigError(f"{filter_name}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
    return action


class ReasonedFilter(Filter):
    """A Filter whose stats group reasons by a short key (the reason without per-example numbers).

    ``reject(example, reason, key)`` records the full reason for ``rejected/`` and counts ``key`` in the
    stats, so the dataset card can show e.g. ``context predicted en, declared de: 3``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stats = FilterStats(self.name)

    def problem(self, example: Example) -> tuple[str, str] | None:
        """(reason, stats key) to drop ``example``, or None to keep it (per-example filters)."""
        raise NotImplementedError

    def check(self, example: Example) -> str | None:
        found = self.problem(example)
        return None if found is None else found[0]

    def process(self, examples: list[Example]) -> list[Example]:
        kept = []
        for example in examples:
            found = self.problem(example)
            if found is None:
                kept.append(example)
            else:
                self.reject(example, *found)
        return kept

    def reject(self, example: Example, reason: str, key: str | None = None) -> None:
        """Record that ``example`` is dropped for ``reason`` (counted under ``key``)."""
        self.rejected.append(Rejected(example, self.name, reason))
        self.stats.dropped += 1
        self.stats.reasons[key or reason.split(":", 1)[0]] += 1

    def flag(self, example: Example, reason: str, key: str | None = None) -> None:
        """Keep ``example`` but add ``reason`` to its flags (counted under ``flagged: <key>``)."""
        example.flags.append(reason)
        self.stats.flagged += 1
        self.stats.reasons[f"flagged: {key or reason.split(':', 1)[0]}"] += 1

    def act(self, example: Example, reason: str, key: str, action: str) -> bool:
        """Drop or flag ``example`` per ``action``; True when it stays in the data."""
        if action == "flag":
            self.flag(example, reason, key)
            return True
        self.reject(example, reason, key)
        return False
