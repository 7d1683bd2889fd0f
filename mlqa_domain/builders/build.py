"""`mlqa-domain build`: sources -> domain labels (English pivot) -> filters -> dataset repo."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mlqa_domain import __version__
from mlqa_domain.atomic import atomic_dir
from mlqa_domain.builders.card import render_card
from mlqa_domain.builders.export import BUILD_INFO, write_build_info, write_configs
from mlqa_domain.builders.labelers import build_labeler
from mlqa_domain.builders.pivot import label_examples
from mlqa_domain.builders.sources import load_source
from mlqa_domain.builders.taxonomy import Taxonomy, load_taxonomy
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example
from mlqa_domain.filters import build_filters, filter_report, write_rejected
from mlqa_domain.languages import PIVOT_LANGUAGE
from mlqa_domain.pipeline import Filter, Pipeline

logger = logging.getLogger(__name__)


def default_filters_path() -> Path:
    """The filter config shipped with the package."""
    return Path(str(resources.files("mlqa_domain") / "data" / "filters.yaml"))


def load_filters_config(path: str | Path | None, contamination: list[str] | None = None) -> dict:
    """Filter config from YAML (shipped default when None), plus contamination paths."""
    path = Path(path) if path else default_filters_path()
    if not path.is_file():
        raise ConfigError("filter config not found", path)
    try:
        config = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError:
        raise ConfigError("invalid YAML", path) from None
    if not isinstance(config, dict):
        raise ConfigError("filter config must be a mapping of filter name to options", path)
    if contamination:
        entry = dict(config.get("contamination") or {})
        entry["paths"] = [*entry.get("paths", []), *contamination]
        config["contamination"] = entry
    return config


@dataclass
class BuildReport:
    """What a build produced and how long it took."""

    out: Path
    info: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per config and split."""
        return self.info["configs"]


def check_output_dir(out: Path) -> None:
    """Refuse to replace anything but an earlier build: ``--out`` must be new, empty, or a build."""
    if out.exists() and not out.is_dir():
        raise InputError("output exists and is not a directory", out)
    if out.is_dir() and any(out.iterdir()) and not (out / BUILD_INFO).is_file():
        raise InputError(
            "output directory is not empty and is not an mlqa-domain build; choose another --out", out
        )


def build_dataset(
    sources: list[str],
    out: str | Path,
    taxonomy: str | Path | None = None,
    embedding_model: str | None = None,
    filters: str | Path | None = None,
    contamination: list[str] | None = None,
    cache_dir: str | Path | None = None,
    languages: list[str] | None = None,
    context_language: str | None = None,
    question_language: str | None = None,
    split: str | None = None,
    expected_sha256: str | None = None,
) -> BuildReport:
    """Build the dataset repo at ``out`` (written to a temp dir, moved into place at the end).

    Configuration (taxonomy, filters, output dir) is checked before any source is read. With
    ``languages``, English is read as well so the pivot can label every id, then left out of the output.
    """
    if not sources:
        raise ConfigError("no --source given")
    out = Path(out)
    check_output_dir(out)
    seconds: dict[str, float] = {}
    tax = load_taxonomy(taxonomy)
    labeler = build_labeler(
        tax, embedding_model=str(embedding_model) if embedding_model else None, cache_dir=cache_dir
    )
    filter_blocks = build_filters(
        load_filters_config(filters, contamination), encoder_factory=lambda: _encoder_of(labeler)
    )
    read_languages = sorted({*languages, PIVOT_LANGUAGE}) if languages else None

    start = time.perf_counter()
    examples: list[Example] = []
    source_infos = []
    for spec in sources:
        loaded = load_source(
            spec,
            context_language=context_language,
            question_language=question_language,
            split=split,
            cache_dir=cache_dir,
            languages=read_languages,
            expected_sha256=expected_sha256,
        )
        examples.extend(loaded.examples)
        source_infos.append(loaded.info.to_dict())
    seconds["read"] = time.perf_counter() - start
    logger.info("read %d examples from %d source(s)", len(examples), len(sources))

    report = write_dataset(
        examples,
        out,
        tax,
        labeler,
        filter_blocks,
        source_infos,
        taxonomy_source=str(taxonomy or "default"),
        keep_languages=languages,
    )
    report.seconds = {**seconds, **report.seconds}
    return report


def write_dataset(
    examples: list[Example],
    out: str | Path,
    tax: Taxonomy,
    labeler,
    filter_blocks: list[Filter],
    source_infos: list[dict],
    taxonomy_source: str = "default",
    keep_languages: list[str] | None = None,
) -> BuildReport:
    """Label (English pivot), filter and write ``examples`` as the dataset repo at ``out``.

    Labelling comes first, over every example read, so that an id keeps its English labels in every
    language even when a filter drops its English instance (or English is not kept in the output).
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    labeling_counts = label_examples(examples, labeler)
    seconds["label"] = time.perf_counter() - start
    if keep_languages:
        keep = set(keep_languages)
        examples = [e for e in examples if e.context_language in keep and e.question_language in keep]

    start = time.perf_counter()
    pipeline = Pipeline(filter_blocks)
    kept = pipeline.run(examples)
    seconds["filter"] = time.perf_counter() - start
    logger.info("filters kept %d of %d", len(kept), len(examples))
    if not kept:
        raise InputError("no example is left after the filters; nothing was written", out)

    start = time.perf_counter()
    out = Path(out)
    with atomic_dir(out) as tmp:
        sizes: dict = {}
        counts = write_configs(tmp, kept, tax.domain_names, tax.general, sizes)
        info = {
            "harness_version": __version__,
            "domains": tax.domain_names,
            "general": tax.general,
            "languages": sorted({e.context_language for e in kept} | {e.question_language for e in kept}),
            "configs": counts,
            "sizes": sizes,
            "sources": source_infos,
            "taxonomy": {"source": taxonomy_source, "fingerprint": tax.fingerprint()},
            "labeler": labeler.provenance(),
            "labeling": labeling_counts,
            "label_evaluation": held_out_figures(labeler),
            # per-filter seconds stay out, so identical inputs give an identical build_info.json
            "filters": [
                {k: v for k, v in f.items() if k != "seconds"} for f in filter_report(pipeline.stats)
            ],
            "examples": {"read": len(examples), "kept": len(kept), "rejected": len(pipeline.rejected)},
        }
        info = write_build_info(tmp, info)
        (tmp / "README.md").write_text(render_card(info), encoding="utf-8")
        if pipeline.rejected:
            write_rejected(pipeline.rejected, tmp / "rejected")
    seconds["write"] = time.perf_counter() - start
    return BuildReport(out=out, info=info, seconds=seconds)


def held_out_figures(labeler) -> dict[str, Any]:
    """Per trained head of the labeler: its held-out precision/recall on the reference set."""
    figures = {}
    for classifier in labeler.classifiers:
        head = getattr(classifier, "head", None)
        if head is not None and "held_out" in head.info:
            figures[classifier.name] = head.info["held_out"]
    return figures


def _encoder_of(labeler):
    """The sentence-transformers encoder the labeler already uses (shared with embedding filters)."""
    classifiers = getattr(labeler, "classifiers", None) or [getattr(labeler, "classifier", None)]
    for classifier in classifiers:
        encoder = getattr(classifier, "encoder", None)
        if encoder is not None:
            return encoder
    raise ConfigError("embedding-based filters need an embedding classifier in the taxonomy")
