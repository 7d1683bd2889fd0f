"""`mlqa-domain build`: a pipeline of steps from the sources to the dataset repo.

    read (every source) -> label (English pivot) -> keep_languages (with --languages)
        -> one step per filter (answer_span, length, language_id, ...) -> write

Every step is a :class:`~mlqa_domain.pipeline.PipelineStep` with its own stats (seen, kept, dropped,
reasons, seconds); the filters' stats, without the seconds, go into build_info.json and the card.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import yaml

from mlqa_domain import __version__
from mlqa_domain.atomic import atomic_dir, check_writable
from mlqa_domain.builders.card import render_card
from mlqa_domain.builders.export import write_build_info, write_configs
from mlqa_domain.builders.sources import DEFAULT_MLQA_URL, SourceOptions, load_source
from mlqa_domain.dataset_repo import BUILD_INFO, CARD, REJECTED_DIR
from mlqa_domain.embeddings import TextEncoder
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example
from mlqa_domain.filters import Filter, build_filters, filter_report, write_rejected
from mlqa_domain.labeling.ensemble import Labeler
from mlqa_domain.labeling.labelers import build_labeler
from mlqa_domain.labeling.pivot import ParallelCheck, check_parallel, group_by_id, label_examples
from mlqa_domain.labeling.taxonomy import Taxonomy, load_taxonomy
from mlqa_domain.languages import PIVOT_LANGUAGE
from mlqa_domain.pipeline import Pipeline, PipelineStep, StepStats

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSettings:
    """What to build from what (the defaults of `mlqa-domain build`)."""

    sources: Sequence[str] = (DEFAULT_MLQA_URL,)
    out: Path = Path("mlqa-domain")
    taxonomy: Path | None = None
    embedding_model: str | None = None
    embedding_backend: str = "auto"
    filters: Path | None = None
    contamination: Sequence[str] = ()
    cache_dir: Path | None = None
    languages: Sequence[str] | None = None
    context_language: str | None = None
    question_language: str | None = None
    split: str | None = None
    sha256: str | None = None

    def source_options(self) -> SourceOptions:
        """What every source reader is told; with ``languages``, English is read too (for the pivot)."""
        return SourceOptions(
            context_language=self.context_language,
            question_language=self.question_language,
            split=self.split,
            cache_dir=self.cache_dir,
            languages=sorted({*self.languages, PIVOT_LANGUAGE}) if self.languages else None,
            expected_sha256=self.sha256,
        )


@dataclass
class BuildReport:
    """What a build produced, and each step's stats."""

    out: Path
    info: dict[str, Any]
    steps: list[StepStats]

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per config and split."""
        return self.info["configs"]


def default_filters_path() -> Path:
    """The filter config shipped with the package."""
    return Path(str(resources.files("mlqa_domain") / "data" / "filters.yaml"))


def load_filters_config(path: str | Path | None, contamination: Sequence[str] = ()) -> dict:
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


def check_output_dir(out: Path) -> None:
    """Refuse to replace anything but an earlier build: ``--out`` must be new, empty, or a build."""
    if out.exists() and not out.is_dir():
        raise InputError("output exists and is not a directory", out)
    if out.is_dir() and any(out.iterdir()) and not (out / BUILD_INFO).is_file():
        raise InputError(
            "output directory is not empty and is not an mlqa-domain build; choose another --out", out
        )


class ReadSources(PipelineStep):
    """Read every source, in the order given; their SourceInfo go into build_info.json."""

    name = "read"

    def __init__(self, specs: Sequence[str], options: SourceOptions) -> None:
        super().__init__()
        self.specs = list(specs)
        self.options = options
        self.infos: list[dict[str, Any]] = []

    def run(self, examples: list[Example]) -> list[Example]:
        out = list(examples)
        for spec in self.specs:
            loaded = load_source(spec, self.options)
            out.extend(loaded.examples)
            self.infos.append(loaded.info.to_dict())
            self.stats.seen += len(loaded.examples)
        logger.info("read %d examples from %d source(s)", len(out), len(self.specs))
        return out


class LabelExamples(PipelineStep):
    """Label every parallel group once, from its English instance where it has one (the pivot).

    It runs before the filters, over every example read, so that an id keeps its English labels in
    every language even when a filter drops its English instance (or English is not kept). Ids whose
    instances do not look parallel are counted as flagged and named in a warning (:func:`check_parallel`).
    """

    name = "label"

    def __init__(self, labeler: Labeler) -> None:
        super().__init__()
        self.labeler = labeler
        self.counts: dict[str, int] = {}
        self.parallel = ParallelCheck()

    def run(self, examples: list[Example]) -> list[Example]:
        self.parallel = check_parallel(group_by_id(examples))
        self.stats.flagged = len(self.parallel.suspects)
        self.counts = label_examples(examples, self.labeler)
        return examples


class KeepLanguages(PipelineStep):
    """Keep the examples whose context and question languages were asked for (English was read
    only for the pivot)."""

    name = "keep_languages"

    def __init__(self, languages: Sequence[str]) -> None:
        super().__init__()
        self.languages = frozenset(languages)

    def run(self, examples: list[Example]) -> list[Example]:
        kept = [e for e in examples if {e.context_language, e.question_language} <= self.languages]
        if len(kept) < len(examples):
            self.stats.dropped += len(examples) - len(kept)
            self.stats.reasons["language not asked for"] += len(examples) - len(kept)
        return kept


class WriteRepo(PipelineStep):
    """Write the dataset repo (parquet per config and split, build_info.json, card, rejected/) at
    ``out``: into a temp dir, moved into place at the end."""

    name = "write"

    def __init__(
        self,
        out: Path,
        taxonomy: Taxonomy,
        taxonomy_source: str,
        labeler: Labeler,
        read: ReadSources,
        label: LabelExamples,
        filters: Sequence[Filter],
    ) -> None:
        super().__init__()
        self.out = out
        self.taxonomy = taxonomy
        self.taxonomy_source = taxonomy_source
        self.labeler = labeler
        self.read, self.label, self.filters = read, label, list(filters)
        self.info: dict[str, Any] = {}

    def run(self, examples: list[Example]) -> list[Example]:
        if not examples:
            raise InputError("no example is left after the filters; nothing was written", self.out)
        rejected = [r for step in self.filters for r in step.rejected]
        logger.info("filters kept %d of %d", len(examples), len(examples) + len(rejected))
        with atomic_dir(self.out) as tmp:
            sizes: dict = {}
            counts = write_configs(tmp, examples, self.taxonomy.domain_names, self.taxonomy.general, sizes)
            self.info = write_build_info(tmp, self.build_info(examples, counts, sizes, len(rejected)))
            (tmp / CARD).write_text(render_card(self.info), encoding="utf-8")
            if rejected:
                write_rejected(rejected, tmp / REJECTED_DIR)
        return examples

    def build_info(self, kept: list[Example], counts: dict, sizes: dict, rejected: int) -> dict[str, Any]:
        """build_info.json without its fingerprint: no timings, so identical inputs give identical bytes."""
        tax = self.taxonomy
        return {
            "harness_version": __version__,
            "domains": tax.domain_names,
            "general": tax.general,
            "languages": sorted({e.context_language for e in kept} | {e.question_language for e in kept}),
            "configs": counts,
            "sizes": sizes,
            "sources": self.read.infos,
            "taxonomy": {"source": self.taxonomy_source, "fingerprint": tax.fingerprint()},
            "labeler": self.labeler.provenance(),
            "labeling": self.label.counts,
            "parallel_check": self.label.parallel.to_dict(),
            "label_evaluation": held_out_figures(self.labeler),
            "filters": [
                {k: v for k, v in f.items() if k != "seconds"}
                for f in filter_report(step.stats for step in self.filters)
            ],
            "examples": {"read": len(kept) + rejected, "kept": len(kept), "rejected": rejected},
        }


def held_out_figures(labeler: Labeler) -> dict[str, Any]:
    """Per classifier of the labeler that has them (a trained head): its held-out precision/recall."""
    figures = {}
    for classifier in labeler.classifiers:
        held_out = classifier.held_out()
        if held_out is not None:
            figures[classifier.name] = held_out
    return figures


def labeler_encoder(labeler: Labeler) -> TextEncoder:
    """The sentence-transformers encoder the labeler already uses (shared with embedding filters)."""
    for classifier in labeler.classifiers:
        if classifier.encoder is not None:
            return classifier.encoder
    raise ConfigError("embedding-based filters need an embedding classifier in the taxonomy")


def build_steps(settings: BuildSettings) -> list[PipelineStep]:
    """The steps of a build; configuration (output dir, taxonomy, filters) is checked here, before any
    source is read."""
    if not settings.sources:
        raise ConfigError("no --source given")
    out = Path(settings.out)
    check_output_dir(out)
    check_writable(out)
    tax = load_taxonomy(settings.taxonomy)
    model = str(settings.embedding_model) if settings.embedding_model else None
    labeler = build_labeler(
        tax, embedding_model=model, cache_dir=settings.cache_dir, embedding_backend=settings.embedding_backend
    )
    filters = build_filters(
        load_filters_config(settings.filters, settings.contamination),
        encoder_factory=lambda: labeler_encoder(labeler),
    )
    read = ReadSources(settings.sources, settings.source_options())
    label = LabelExamples(labeler)
    keep = [KeepLanguages(settings.languages)] if settings.languages else []
    write = WriteRepo(out, tax, str(settings.taxonomy or "default"), labeler, read, label, filters)
    return [read, label, *keep, *filters, write]


def run_build(settings: BuildSettings) -> BuildReport:
    """Build the dataset repo ``settings.out``; the report holds its build info and every step's stats."""
    steps = build_steps(settings)
    Pipeline(steps).run()
    write = cast(WriteRepo, steps[-1])
    return BuildReport(out=write.out, info=write.info, steps=[step.stats for step in steps])


def build_dataset(sources: Sequence[str], out: str | Path, **options: Any) -> BuildReport:
    """:func:`run_build` for Python callers: ``options`` are the other fields of :class:`BuildSettings`."""
    return run_build(BuildSettings(sources=list(sources), out=Path(out), **options))
