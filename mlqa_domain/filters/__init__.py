"""Filters that keep the data honest; each is a block over `Example`s with kept/dropped counts.

``build_filters(config)`` makes them from a mapping of filter name to options, e.g.::

    answer_span: {}
    length: {max_context_chars: 20000}
    language_id: {min_confidence: 0.1}
    exact_dedup: {}
    near_dedup: {threshold: 0.95, action: drop}      # needs an encoder: `model: <id>` or the factory
    contamination: {paths: [cuad.json], ngram: 13}   # `embedding: true` or `model: <id>` adds cosine

They always run in the order above; a missing key turns that filter off.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from mlqa_domain.errors import ConfigError
from mlqa_domain.filters.answer_span import AnswerSpanFilter
from mlqa_domain.filters.base import FilterStats, ReasonedFilter
from mlqa_domain.filters.contamination import ContaminationFilter
from mlqa_domain.filters.dedup import ExactDuplicateFilter, NearDuplicateFilter
from mlqa_domain.filters.language_id import LanguageIdFilter
from mlqa_domain.filters.length import LengthFilter
from mlqa_domain.filters.report import filter_report, write_rejected
from mlqa_domain.pipeline import Filter

FILTER_CLASSES: dict[str, type[ReasonedFilter]] = {
    "answer_span": AnswerSpanFilter,
    "length": LengthFilter,
    "language_id": LanguageIdFilter,
    "exact_dedup": ExactDuplicateFilter,
    "near_dedup": NearDuplicateFilter,
    "contamination": ContaminationFilter,
}
FILTER_ORDER: tuple[str, ...] = tuple(FILTER_CLASSES)
# Options build_filters turns into an encoder instead of passing them on.
ENCODER_OPTIONS = ["model", "cache_dir", "embedding"]
EMBEDDING_FILTERS = ("near_dedup", "contamination")

__all__ = [
    "FILTER_CLASSES",
    "FILTER_ORDER",
    "AnswerSpanFilter",
    "ContaminationFilter",
    "ExactDuplicateFilter",
    "FilterStats",
    "LanguageIdFilter",
    "LengthFilter",
    "NearDuplicateFilter",
    "build_filters",
    "filter_report",
    "write_rejected",
]


def _encoder(name: str, options: dict, encoder_factory: Callable[[], Any] | None, required: bool):
    """The encoder an embedding filter uses: ``model`` (+ ``cache_dir``) in its options, else the factory."""
    model = options.pop("model", None)
    cache_dir = options.pop("cache_dir", None)
    wanted = options.pop("embedding", required)
    if model:
        from mlqa_domain.builders.classifiers.embedding import TextEncoder

        return TextEncoder(str(model), cache_dir=cache_dir)
    if not wanted:
        return None
    if encoder_factory is None:
        raise ConfigError(f"filter {name} needs an embedding model: give `model: <sentence-transformers id>`")
    return encoder_factory()


def _check_options(name: str, options: Mapping[str, Any]) -> None:
    """ConfigError naming any option filter ``name`` does not take."""
    known = [
        p for p in inspect.signature(FILTER_CLASSES[name].__init__).parameters if p not in ("self", "encoder")
    ]
    if name in EMBEDDING_FILTERS:
        known += ENCODER_OPTIONS
    unknown = sorted(map(str, set(options) - set(known)))
    if unknown:
        raise ConfigError(
            f"filter {name}: unknown option(s) {', '.join(unknown)} (known: {', '.join(known)})"
        )


def build_filters(
    config: Mapping[str, Any] | None, encoder_factory: Callable[[], Any] | None = None
) -> list[Filter]:
    """Filters for ``config`` (filter name -> options mapping), in the fixed order ``FILTER_ORDER``.

    ``encoder_factory()`` supplies the sentence-transformers encoder (e.g. the labeler's) for
    near_dedup, and for contamination when its options say ``embedding: true``; an option
    ``model: <id>`` makes a separate encoder instead.
    """
    if config is None:
        return []
    if not isinstance(config, Mapping):
        raise ConfigError("filter config must be a mapping of filter name to options")
    unknown = sorted(set(config) - set(FILTER_ORDER))
    if unknown:
        raise ConfigError(
            f"unknown filter(s) {', '.join(map(str, unknown))} (known: {', '.join(FILTER_ORDER)})"
        )
    filters: list[Filter] = []
    for name in FILTER_ORDER:
        if name not in config:
            continue
        options = config[name]
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise ConfigError(f"filter {name}: options must be a mapping, got {type(options).__name__}")
        options = dict(options)
        _check_options(name, options)
        if name in EMBEDDING_FILTERS:
            encoder = _encoder(name, options, encoder_factory, required=name == "near_dedup")
            if encoder is not None:
                options["encoder"] = encoder
        try:
            filters.append(FILTER_CLASSES[name](**options))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"filter {name}: bad option value ({exc})") from None
    return filters
