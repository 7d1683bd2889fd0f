"""A build is a list of steps over `Example`s, each keeping its own stats (datatrove's PipelineStep).

A step takes the examples so far and returns the ones that go on: a reader adds examples, the
labeller changes them, a filter drops some (each drop recorded with its reason), the writer writes
them. ``Pipeline(steps).run()`` passes the examples through every step in order; each step's
:class:`StepStats` say what it saw, kept and dropped, why, and how long it took.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mlqa_domain.example import Example


@dataclass
class StepStats:
    """What one step saw, kept, dropped and flagged, why, and how long it took."""

    name: str
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    flagged: int = 0
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """JSON-friendly view."""
        return {
            "name": self.name,
            "seen": self.seen,
            "kept": self.kept,
            "dropped": self.dropped,
            "flagged": self.flagged,
            "reasons": dict(sorted(self.reasons.items())),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Rejected:
    """An example a step dropped, with the step's name and its reason."""

    example: Example
    filter: str
    reason: str


class PipelineStep:
    """One stage of a build. Subclasses set ``name`` and implement :meth:`run`."""

    name: str = "step"

    def __init__(self) -> None:
        self.stats = StepStats(self.name)
        self.rejected: list[Rejected] = []

    def run(self, examples: list[Example]) -> list[Example]:
        """The examples that go on (possibly changed, fewer or more)."""
        raise NotImplementedError

    def __call__(self, examples: Iterable[Example]) -> list[Example]:
        start = time.perf_counter()
        examples = list(examples)
        self.stats.seen += len(examples)
        out = self.run(examples)
        self.stats.kept += len(out)
        self.stats.seconds += time.perf_counter() - start
        return out

    def reject(self, example: Example, reason: str, key: str | None = None) -> None:
        """Record that ``example`` is dropped for ``reason`` (counted under ``key``: the reason without
        per-example numbers, by default the part before its first ':')."""
        self.rejected.append(Rejected(example, self.name, reason))
        self.stats.dropped += 1
        self.stats.reasons[key or reason.split(":", 1)[0]] += 1

    def flag(self, example: Example, reason: str, key: str | None = None) -> None:
        """Keep ``example`` but add ``reason`` to its flags (counted under ``flagged: <key>``)."""
        example.flags.append(reason)
        self.stats.flagged += 1
        self.stats.reasons[f"flagged: {key or reason.split(':', 1)[0]}"] += 1


class Pipeline:
    """Run steps in order; collect their stats and every example they rejected."""

    def __init__(self, steps: Sequence[PipelineStep]) -> None:
        self.steps = list(steps)

    def run(self, examples: Iterable[Example] = ()) -> list[Example]:
        """Pass ``examples`` (none: the first step reads them) through every step."""
        current = list(examples)
        for step in self.steps:
            current = step(current)
        return current

    @property
    def stats(self) -> list[StepStats]:
        """Per-step stats, in order."""
        return [step.stats for step in self.steps]

    @property
    def rejected(self) -> list[Rejected]:
        """Every example any step rejected."""
        return [r for step in self.steps for r in step.rejected]
