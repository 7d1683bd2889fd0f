"""Filters that keep the data honest; each is a pipeline step over `Example`s with kept/dropped counts.

``build_filters(config)`` makes them from a mapping of filter name to options, e.g.::

    text_clean: {}                                   # control/bidi characters removed (offsets kept)
    answer_span: {}
    length: {max_context_chars: 20000}
    language_id: {min_confidence: 0.1}
    exact_dedup: {}
    near_dedup: {threshold: 0.95, action: drop}      # needs an encoder: `model: <id>` or the factory
    contamination: {paths: [cuad.json], ngram: 13}   # `embedding: true` or `model: <id>` adds cosine

They always run in their fixed ``order`` (the order above); a missing key turns that filter off.
A new filter is one module in this package with one ``@FILTERS.register(name)`` class (see base.py), or
an entry point in the group ``mlqa_domain.filters`` of another distribution; FILTERS imports both the
first time it is looked up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from mlqa_domain.errors import ConfigError
from mlqa_domain.filters.base import FILTERS, Drop, Filter, Flag, Verdict
from mlqa_domain.filters.report import filter_report, write_rejected

# Options build_filters turns into an encoder instead of passing them on.
ENCODER_OPTIONS = ("model", "cache_dir", "embedding")

__all__ = [
    "FILTERS",
    "Drop",
    "Filter",
    "Flag",
    "Verdict",
    "build_filters",
    "filter_order",
    "filter_report",
    "write_rejected",
]


def filter_order() -> list[str]:
    """Every registered filter's name, in the order filters run."""
    return sorted(FILTERS.names(), key=lambda name: FILTERS.get(name).order)


def _encoder(name: str, options: dict, encoder_factory: Callable[[], Any] | None) -> Any:
    """The encoder an embedding filter uses: ``model`` (+ ``cache_dir``) in its options, else the factory."""
    model = options.pop("model", None)
    cache_dir = options.pop("cache_dir", None)
    wanted = options.pop("embedding", FILTERS.get(name).encoder_use == "required")
    if model:
        from mlqa_domain.embeddings import TextEncoder

        return TextEncoder(str(model), cache_dir=cache_dir)
    if not wanted:
        return None
    if encoder_factory is None:
        raise ConfigError(f"filter {name} needs an embedding model: give `model: <sentence-transformers id>`")
    return encoder_factory()


def _options(name: str, raw: Any) -> dict[str, Any]:
    """Filter ``name``'s options as a dict; a ConfigError for a non-mapping or an option it does not take."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"filter {name}: options must be a mapping, got {type(raw).__name__}")
    factory = FILTERS.get(name)
    known = [p for p in inspect.signature(factory.__init__).parameters if p not in ("self", "encoder")]
    if factory.encoder_use != "none":
        known += ENCODER_OPTIONS
    unknown = sorted(map(str, set(raw) - set(known)))
    if unknown:
        raise ConfigError(
            f"filter {name}: unknown option(s) {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return dict(raw)


def build_filters(
    config: Mapping[str, Any] | None, encoder_factory: Callable[[], Any] | None = None
) -> list[Filter]:
    """Filters for ``config`` (filter name -> options mapping), in their fixed order.

    ``encoder_factory()`` supplies the sentence-transformers encoder (e.g. the labeler's) for
    near_dedup, and for contamination when its options say ``embedding: true``; an option
    ``model: <id>`` makes a separate encoder instead.
    """
    if config is None:
        return []
    if not isinstance(config, Mapping):
        raise ConfigError("filter config must be a mapping of filter name to options")
    for name in config:
        FILTERS.get(str(name))
    filters: list[Filter] = []
    for name in filter_order():
        if name not in config:
            continue
        options = _options(name, config[name])
        if FILTERS.get(name).encoder_use != "none":
            encoder = _encoder(name, options, encoder_factory)
            if encoder is not None:
                options["encoder"] = encoder
        try:
            filters.append(FILTERS.get(name)(**options))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"filter {name}: bad option value ({exc})") from None
    return filters
