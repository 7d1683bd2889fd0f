"""A build is a list of steps over a stream of `Example`s, each counting its own stats (datatrove's
PipelineStep).

A step is a generator over an iterator of examples (:meth:`PipelineStep.run`): a reader adds examples,
the labeller changes them, a filter drops some (each drop recorded with its reason), the writer writes
them. ``Pipeline(steps).stream()`` chains the steps lazily, so an example can reach the writer before the
next one is read; each step's :class:`StepStats` (seen, kept, dropped, flagged, reasons, seconds) are
counted as the examples flow through it and are final once the stream is drained. A step that must see
every example before it can let the first one go (the English-pivot labeller) is a barrier: it says so
in its docstring and keeps no more than it needs in memory (the examples themselves can wait on disk,
in an :class:`ExampleSpill`).
"""

from __future__ import annotations

import itertools
import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from mlqa_domain.example import Example


@dataclass
class StepStats:
    """What one step saw, kept, dropped and flagged, why, and how long it took.

    ``kind`` says what the step is (``filter`` for the filters); ``details`` hold what a step reports
    besides its counts (the sources it read, how it labelled), for the build's record.
    """

    name: str
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    flagged: int = 0
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    kind: str = "step"
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-friendly view of the counts."""
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


# Items a SpilledList keeps in memory (a step's first rejected examples, the first examples a filter's
# barrier waits on); later ones wait on disk.
IN_MEMORY = 1000
T = TypeVar("T")


class SpilledList(Sequence[T], Generic[T]):
    """Items in the order added: the first ``in_memory`` in a list, the rest pickled to an
    :class:`ExampleSpill`, so a long run of them (a step's rejected examples, the examples a filter's
    barrier waits on) does not stay in memory. Iterating reads the spilled ones back one at a time (new
    objects each time); indexing past the list reads up to the item asked for."""

    def __init__(self, items: Iterable[T] = (), in_memory: int | None = None) -> None:
        self.in_memory = IN_MEMORY if in_memory is None else in_memory
        self._head: list[T] = []
        self._spill: ExampleSpill | None = None
        for item in items:
            self.append(item)

    def append(self, item: T) -> None:
        """Add ``item`` after the ones added before."""
        if len(self._head) < self.in_memory:
            self._head.append(item)
            return
        if self._spill is None:
            self._spill = ExampleSpill()
        self._spill.write(item)

    def __len__(self) -> int:
        return len(self._head) + (self._spill.count if self._spill else 0)

    def __iter__(self) -> Iterator[T]:
        yield from self._head
        if self._spill is not None:
            yield from self._spill.read()

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return list(self)[index]
        position = range(len(self))[index]  # IndexError past the end, negatives counted from it
        if position < len(self._head):
            return self._head[position]
        return next(itertools.islice(self, position, None))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment] (mutable, like a list)

    def close(self) -> None:
        """Forget every item and delete the spill."""
        self._head = []
        if self._spill is not None:
            self._spill.close()
            self._spill = None


class PipelineStep:
    """One stage of a build. Subclasses set ``name`` and implement :meth:`run` as a generator."""

    name: str = "step"
    kind: str = "step"

    def __init__(self) -> None:
        self.stats = StepStats(self.name, kind=self.kind)
        self.rejected: SpilledList[Rejected] = SpilledList()
        self._waited = 0.0  # seconds spent waiting on the step before this one

    def run(self, data: Iterator[Example]) -> Iterable[Example]:
        """Yield the examples that go on (possibly changed, fewer or more), pulling ``data`` as needed."""
        raise NotImplementedError

    def stream(self, data: Iterable[Example]) -> Iterator[Example]:
        """:meth:`run` over ``data``, lazily, counting what goes in (seen) and out (kept) and the seconds
        spent in this step (the time spent in the steps before it not included)."""
        out = iter(self.run(self._counted(iter(data))))
        while True:
            start, waited = time.perf_counter(), self._waited
            example = next(out, None)
            self.stats.seconds += time.perf_counter() - start - (self._waited - waited)
            if example is None:
                return
            self.stats.kept += 1
            yield example

    def _counted(self, data: Iterator[Example]) -> Iterator[Example]:
        while True:
            start = time.perf_counter()
            example = next(data, None)
            self._waited += time.perf_counter() - start
            if example is None:
                return
            self.stats.seen += 1
            yield example

    def __call__(self, examples: Iterable[Example]) -> list[Example]:
        """Run the step over ``examples`` on its own; the examples it keeps, as a list."""
        return list(self.stream(examples))

    def attach(self, pipeline: Pipeline) -> None:
        """Told which pipeline the step runs in (default: nothing to do). A sink that reports on the
        whole run (the build's writer) keeps it, to read the pipeline's stats once its input is drained."""

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
    """Chain steps over one stream of examples; it holds their stats and every example they rejected."""

    def __init__(self, steps: Sequence[PipelineStep]) -> None:
        self.steps = list(steps)
        for step in self.steps:
            step.attach(self)

    def stream(self, examples: Iterable[Example] = ()) -> Iterator[Example]:
        """``examples`` (none: the first step reads them) through every step, lazily."""
        current: Iterable[Example] = examples
        for step in self.steps:
            current = step.stream(current)
        return iter(current)

    def run(self, examples: Iterable[Example] = ()) -> list[Example]:
        """Drain :meth:`stream`; the examples that come out of the last step."""
        return list(self.stream(examples))

    @property
    def stats(self) -> list[StepStats]:
        """Per-step stats, in order (final once the stream is drained)."""
        return [step.stats for step in self.steps]

    def stats_of(self, name: str) -> StepStats:
        """The stats of the step called ``name``."""
        return next(stats for stats in self.stats if stats.name == name)

    @property
    def rejected(self) -> Iterator[Rejected]:
        """Every example any step rejected, step by step (spilled ones read back one at a time)."""
        return itertools.chain.from_iterable(step.rejected for step in self.steps)

    @property
    def rejected_count(self) -> int:
        """How many examples the steps rejected."""
        return sum(len(step.rejected) for step in self.steps)


def batched(data: Iterable[Example], size: int | None) -> Iterator[Sequence[Example]]:
    """``data`` in lists of ``size`` examples (the last one shorter); all of them at once when None, past
    the first :data:`IN_MEMORY` waiting on disk (a :class:`SpilledList`)."""
    if size is None:
        yield SpilledList(data)
        return
    batch: list[Example] = []
    for example in data:
        batch.append(example)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class ExampleSpill:
    """Examples waiting on disk (a temporary file, deleted on close), read back in the order written:
    a barrier holds them here rather than in memory. Writes and reads may interleave (each read keeps its
    own place). Use it as a context manager."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="mlqa-domain-spill-")  # noqa: SIM115 (closed in close)
        self._end = 0  # where the next example goes
        self.count = 0

    def write(self, example: Any) -> None:
        """Put ``example`` (or any picklable record) after the ones written before."""
        if self._file.tell() != self._end:  # a read moved the position
            self._file.seek(self._end)
        pickle.dump(example, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._end = self._file.tell()
        self.count += 1

    def read(self) -> Iterator[Any]:
        """Every example written before the read began, in order, one at a time (each a new object)."""
        self._file.flush()
        offset = 0
        for _ in range(self.count):
            if self._file.tell() != offset:  # another read or a write moved the position
                self._file.seek(offset)
            example = pickle.load(self._file)
            offset = self._file.tell()
            yield example

    def close(self) -> None:
        """Delete the file."""
        self._file.close()

    def __enter__(self) -> ExampleSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
