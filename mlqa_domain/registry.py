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
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from mlqa_domain.errors import ConfigError

T = TypeVar("T")


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
        """``unknown <kind> 'x' (did you mean 'y'?; known: ...)``."""
        close = difflib.get_close_matches(str(name), list(self._entries), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
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
