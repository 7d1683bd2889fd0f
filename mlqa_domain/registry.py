"""Registries of plug-ins (sources, classifiers, filters, task formats, task heads), as in lm-eval.

A built-in plug-in is one module in the registry's package with one decorator::

    from mlqa_domain.builders.sources import SOURCES

    @SOURCES.register("xquad")
    class XquadSource: ...

A plug-in of another installed distribution is an entry point in the registry's group (its name is the
plug-in's name, its value ``module:Class``), as pytest and lm-eval find theirs::

    [project.entry-points."mlqa_domain.filters"]
    my_filter = "my_package.my_filter:MyFilter"

A registry loads both lazily, once, the first time it is looked up or listed: every module of its package
(:func:`import_submodules`, so a new module is found without an edit elsewhere), then the entry points of
its group. Every entry is checked at registration against the registry's contract (a Protocol: the members
it must have; a class: the base it must subclass; either way no abstract method left). Unknown names, and
plug-ins that do not load or fit, are one-line ConfigErrors.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from mlqa_domain.errors import ConfigError, first_line

T = TypeVar("T")

# what Protocol classes carry besides the members they declare
_PROTOCOL_INTERNALS = frozenset({"_is_protocol", "_is_runtime_protocol", "__non_callable_proto_members__"})


def closest_name(name: object, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (a typo of it), or None when none is close."""
    close = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: object, candidates: Iterable[str]) -> str:
    """``did you mean 'legal.de'? `` for the closest candidate (with a trailing space), or ``""``: the one
    spelling of the hint in every "unknown ..." error (plug-ins, config names, languages, tasks, models)."""
    close = closest_name(name, candidates)
    return f"did you mean {close!r}? " if close else ""


def resolve(reference: str) -> Any:
    """The object an import reference ``package.module:Name`` names."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def protocol_members(protocol: type) -> list[str]:
    """The attributes and methods a ``typing.Protocol`` class (and the protocols it extends) declares."""
    members: list[str] = []
    for klass in reversed(protocol.__mro__):
        if not getattr(klass, "_is_protocol", False) or klass.__module__ == "typing":
            continue
        declared = [*getattr(klass, "__annotations__", {}), *vars(klass)]
        for name in declared:
            if not name.startswith("_") and name not in _PROTOCOL_INTERNALS and name not in members:
                members.append(name)
    return members


def contract_problem(entry: object, contract: type) -> str | None:
    """Why ``entry`` does not fit ``contract`` (a Protocol or a base class), or None when it does."""
    if not inspect.isclass(entry):
        return f"is not a class (its type is {type(entry).__name__})"
    if getattr(contract, "_is_protocol", False):
        missing = [name for name in protocol_members(contract) if not hasattr(entry, name)]
    elif issubclass(entry, contract):
        missing = []
    else:
        return f"is not a subclass of {contract.__module__}.{contract.__qualname__}"
    missing += sorted(set(getattr(entry, "__abstractmethods__", ())) - set(missing))
    return f"misses {', '.join(missing)}" if missing else None


def entry_point_origin(entry_point: EntryPoint) -> str:
    """Where it comes from: ``plug-in 'x' = 'pkg.mod:Class' (entry point group g, distribution d)``."""
    dist = entry_point.dist
    distribution = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    return (
        f"plug-in {entry_point.name!r} = {entry_point.value!r} "
        f"(entry point group {entry_point.group}, distribution {distribution})"
    )


class Registry(Generic[T]):
    """Name -> plug-in, for one kind of plug-in (``kind`` names it in error messages).

    ``contract``: what every entry must be (a Protocol or a base class; an import reference
    ``module:Name`` when the module holding the registry sits below the contract's). ``builtins``: the
    package whose modules register the built-in entries; ``group``: the entry-point group of plug-ins
    from other distributions. ``name_attribute``: the class attribute the registry sets to the name an
    entry is registered under (a class that sets it itself must set the same name).
    """

    def __init__(
        self,
        kind: str,
        *,
        contract: type | str | None = None,
        builtins: str | None = None,
        group: str | None = None,
        name_attribute: str | None = None,
    ) -> None:
        self.kind = kind
        self.contract = contract
        self.builtins = builtins
        self.group = group
        self.name_attribute = name_attribute
        self._entries: dict[str, T] = {}
        self._builtin_names: frozenset[str] = frozenset()
        self._loaded = False
        self._load_error: ConfigError | None = None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated class under ``name`` (checked against the contract)."""

        def add(entry: T) -> T:
            self._add(name, entry)
            return entry

        return add

    def _add(self, name: str, entry: T) -> None:
        """Register ``entry`` as ``name``; a ConfigError for a second entry of one name or a misfit."""
        if name in self._entries and self._entries[name] is not entry:
            raise ConfigError(f"{self.kind} {name!r} is registered twice")
        self._set_name(name, entry)
        contract = resolve(self.contract) if isinstance(self.contract, str) else self.contract
        problem = contract_problem(entry, contract) if contract is not None else None
        if problem:
            label = getattr(entry, "__qualname__", repr(entry))
            raise ConfigError(f"{self.kind} {name!r} ({label}) {problem}")
        self._entries[name] = entry

    def _set_name(self, name: str, entry: T) -> None:
        """Give ``entry`` its registered name in :attr:`name_attribute` (the single place it is written)."""
        if self.name_attribute is None or not inspect.isclass(entry):
            return
        own = vars(entry).get(self.name_attribute)
        if own is not None and own != name:
            raise ConfigError(
                f"{self.kind} {name!r} ({entry.__qualname__}) sets {self.name_attribute} = {own!r}: "
                "leave it to the registry, or use one name"
            )
        setattr(entry, self.name_attribute, name)

    def load(self) -> None:
        """Register the built-in entries and the plug-ins of other distributions (once; later calls
        repeat a failure)."""
        if self._load_error is not None:
            raise self._load_error
        if self._loaded:
            return
        self._loaded = True
        try:
            if self.builtins:
                import_submodules(self.builtins)
            self._builtin_names = frozenset(self._entries)
            if self.group:
                for entry_point in entry_points(group=self.group):
                    self._add_plugin(entry_point)
        except ConfigError as exc:
            self._load_error = exc
            raise

    def _add_plugin(self, entry_point: EntryPoint) -> None:
        """Register the plug-in ``entry_point`` names; a one-line ConfigError if it does not load or fit."""
        origin = entry_point_origin(entry_point)
        if entry_point.name in self._entries:
            owner = "a built-in" if entry_point.name in self._builtin_names else "another plug-in's"
            raise ConfigError(f"{origin}: its name clashes with {owner} {self.kind} {entry_point.name!r}")
        try:
            entry = entry_point.load()
        except Exception as exc:  # any error of foreign code: one line, no traceback
            problem = f"{type(exc).__name__}: {first_line(exc)}"
            raise ConfigError(f"{origin}: cannot be loaded ({problem})") from None
        try:
            self._add(entry_point.name, entry)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {exc.problem}") from None

    def get(self, name: str, where: str | None = None) -> T:
        """The plug-in called ``name``; an unknown name is a ConfigError with the closest names."""
        self.load()
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(self.unknown_message(name), where) from None

    def unknown_message(self, name: str) -> str:
        """``unknown <kind> 'x' (did you mean 'y'? known: ...)``."""
        hint = did_you_mean(name, self.names())
        return f"unknown {self.kind} {name!r} ({hint}known: {', '.join(self.names())})"

    def names(self) -> list[str]:
        """Registered names, sorted (registration order depends on what was imported first)."""
        self.load()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, plug-in) pairs, sorted by name."""
        self.load()
        return iter(sorted(self._entries.items(), key=lambda item: item[0]))

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._entries


def import_submodules(package: str) -> None:
    """Import every module of ``package`` (so their ``@register`` decorators run)."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
