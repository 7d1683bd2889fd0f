"""Registries of plug-ins (sources, classifiers, filters, task formats, heads), as in lm-eval.

A plug-in is one module with one decorator::

    from mlqa_domain.builders.sources import SOURCES

    @SOURCES.register("xquad")
    class XquadSource: ...

Each registry's package imports all of its modules once (:func:`import_submodules`), so a new
module is found without an edit elsewhere. Unknown names are one-line errors with "did you mean".
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from mlqa_domain.errors import ConfigError

T = TypeVar("T")


def closest_name(name: object, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (a typo of it), or None when none is close."""
    close = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: object, candidates: Iterable[str]) -> str:
    """``did you mean 'legal.de'? `` for the closest candidate (with a trailing space), or ``""``: the one
    spelling of the hint in every "unknown ..." error (plug-ins, config names, languages, tasks, models)."""
    close = closest_name(name, candidates)
    return f"did you mean {close!r}? " if close else ""


class Registry(Generic[T]):
    """Name -> plug-in, for one kind of plug-in (``kind`` names it in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name`` (twice is a programming error)."""

        def add(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str, where: str | None = None) -> T:
        """The plug-in called ``name``; an unknown name is a ConfigError with the closest names."""
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(self.unknown_message(name), where) from None

    def unknown_message(self, name: str) -> str:
        """``unknown <kind> 'x' (did you mean 'y'? known: ...)``."""
        hint = did_you_mean(name, self._entries)
        return f"unknown {self.kind} {name!r} ({hint}known: {', '.join(self.names())})"

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, plug-in) pairs in registration order."""
        return iter(list(self._entries.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries


def import_submodules(package: str) -> None:
    """Import every module of ``package`` (so their ``@register`` decorators run)."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
