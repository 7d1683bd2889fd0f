"""A pipeline of small blocks over `Example`s, each keeping its own stats (in the spirit of datatrove)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mlqa_domain.example import Example


@dataclass
class BlockStats:
    """What one block saw, kept and dropped, why, and how long it took."""

    name: str
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """JSON-friendly view."""
        return {
            "name": self.name,
            "seen": self.seen,
            "kept": self.kept,
            "dropped": self.dropped,
            "reasons": dict(sorted(self.reasons.items())),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Rejected:
    """An example a filter dropped, with the filter's name and its reason."""

    example: Example
    filter: str
    reason: str


class Block:
    """One step over a list of examples. Subclasses implement ``process``."""

    name: str = "block"

    def __init__(self) -> None:
        self.stats = BlockStats(self.name)

    def process(self, examples: list[Example]) -> list[Example]:
        """Return the examples that go on (possibly changed)."""
        raise NotImplementedError

    def __call__(self, examples: list[Example]) -> list[Example]:
        start = time.perf_counter()
        self.stats.seen += len(examples)
        out = self.process(examples)
        self.stats.kept += len(out)
        self.stats.seconds += time.perf_counter() - start
        return out


class Filter(Block):
    """A block that keeps or drops examples; each drop is recorded with its reason.

    Per-example filters implement ``check`` (``None`` = keep, else the reason); filters that need
    to see all examples at once (dedup, contamination) override ``process`` and call ``reject``.
    """

    name = "filter"

    def __init__(self) -> None:
        super().__init__()
        self.rejected: list[Rejected] = []

    def check(self, example: Example) -> str | None:
        """Reason to drop ``example``, or None to keep it."""
        raise NotImplementedError

    def reject(self, example: Example, reason: str) -> None:
        """Record that ``example`` is dropped for ``reason``."""
        self.rejected.append(Rejected(example, self.name, reason))
        self.stats.dropped += 1
        self.stats.reasons[reason.split(":", 1)[0]] += 1

    def process(self, examples: list[Example]) -> list[Example]:
        kept = []
        for example in examples:
            reason = self.check(example)
            if reason is None:
                kept.append(example)
            else:
                self.reject(example, reason)
        return kept


class Pipeline:
    """Run blocks in order; collect their stats and every rejected example."""

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = list(blocks)

    def run(self, examples: Iterable[Example]) -> list[Example]:
        """Pass ``examples`` through every block."""
        current = list(examples)
        for block in self.blocks:
            current = block(current)
        return current

    @property
    def stats(self) -> list[BlockStats]:
        """Per-block stats, in order."""
        return [block.stats for block in self.blocks]

    @property
    def rejected(self) -> list[Rejected]:
        """Every example any filter dropped."""
        return [r for block in self.blocks if isinstance(block, Filter) for r in block.rejected]
