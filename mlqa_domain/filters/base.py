"""The filter hook, the drop-or-flag verdicts, and the FILTERS registry.

A filter is one module with one decorated class; the registry gives it its name (``self.name``, the name
in the build's stats and ``rejected/``)::

    @FILTERS.register("length")
    class LengthFilter(Filter):
        order = 20  # where it runs among the filters

        def filter(self, example: Example) -> Verdict | None:
            ...  # None keeps the example, Drop(reason, key) drops it, Flag(reason, key) keeps and marks it

A filter that must see every example first (near-duplicates, contamination) also overrides
:meth:`Filter.prepare`. The filters run in ``order``; ``build_filters`` makes them from a config. A filter
of another distribution is an entry point in the group ``mlqa_domain.filters`` (see registry.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.pipeline import PipelineStep, SpilledList, batched
from mlqa_domain.registry import Registry

ACTIONS = ("drop", "flag")


@dataclass(frozen=True)
class Verdict:
    """What a filter says about an example it does not simply keep: ``reason``, counted under ``key``.

    ``key`` is the reason without per-example numbers (the dataset card shows e.g.
    ``context predicted en, declared de: 3``); by default the part of ``reason`` before its first ':'.
    """

    reason: str
    key: str | None = None


@dataclass(frozen=True)
class Drop(Verdict):
    """A filter's verdict: drop the example for ``reason``."""


@dataclass(frozen=True)
class Flag(Verdict):
    """A filter's verdict: keep the example but add ``reason`` to its flags."""


def check_action(action: str, filter_name: str) -> str:
    """``action`` if it is ``drop`` or ``flag``, else a ConfigError."""
    if action not in ACTIONS:
        raise ConfigError(f"{filter_name}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
    return action


def verdict(action: str, reason: str, key: str) -> Verdict:
    """:class:`Flag` when ``action`` is ``flag``, else :class:`Drop`."""
    return Flag(reason, key) if action == "flag" else Drop(reason, key)


class Filter(PipelineStep, ABC):
    """A step that keeps, drops or flags each example by :meth:`filter` (after :meth:`prepare`).

    ``name`` is set by the registry to the name the class is registered under."""

    name = "filter"
    kind = "filter"
    order: ClassVar[int] = 0
    # "required": the filter takes an `encoder` (sentence embeddings) it cannot run without;
    # "optional": it takes one when its options ask for embeddings; "none": it takes none.
    encoder_use: ClassVar[str] = "none"
    # How many examples prepare() sees at once: None, every example (a barrier, e.g. near-duplicates, whose
    # verdicts compare each context with every earlier one: past the first 1,000 they wait on disk and are
    # read back each time prepare iterates them); a number, batches of that many in memory (for a prepare
    # that judges each example on its own, e.g. language id).
    prepare_batch: ClassVar[int | None] = None

    def prepare(self, examples: Sequence[Example]) -> None:
        """Look at every example before :meth:`filter` is asked about any (default: nothing). ``examples``
        may be iterated more than once; keep what the verdicts need, not the examples."""

    @abstractmethod
    def filter(self, example: Example) -> Verdict | None:
        """None keeps ``example``; a :class:`Drop` drops it, a :class:`Flag` keeps it with a flag."""

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        """Yield the examples :meth:`filter` keeps (flagged ones too), one at a time; a filter with a
        :meth:`prepare` holds ``prepare_batch`` examples at once (every example when None: a barrier, whose
        examples wait on disk past the first 1,000)."""
        prepares = type(self).prepare is not Filter.prepare
        for batch in batched(data, self.prepare_batch if prepares else 1):
            if prepares:
                self.prepare(batch)
            for example in batch:
                found = self.filter(example)
                if isinstance(found, Flag):
                    self.flag(example, found.reason, found.key)
                elif found is not None:
                    self.reject(example, found.reason, found.key)
                    continue
                yield example
            if isinstance(batch, SpilledList):
                batch.close()


class FilterFactory(Protocol):
    """What FILTERS holds: a :class:`Filter` class, made with its options as keyword arguments."""

    name: str
    order: int
    encoder_use: str

    def __call__(self, **options: Any) -> Filter: ...


FILTERS: Registry[FilterFactory] = Registry(
    "filter",
    contract=Filter,
    builtins="mlqa_domain.filters",
    group="mlqa_domain.filters",
    name_attribute="name",
)
