"""`mlqa-domain build`: a pipeline of steps from the sources to the dataset repo.

    read (every source) -> label (English pivot) -> keep_languages (with --languages)
        -> one step per filter (answer_span, length, language_id, ...) -> write

Every step is a :class:`~mlqa_domain.pipeline.PipelineStep` with its own stats (seen, kept, dropped,
reasons, seconds); the filters' stats, without the seconds, go into build_info.json and the card.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import yaml

from mlqa_domain import __version__
from mlqa_domain.atomic import atomic_dir, check_output_dir, check_writable
from mlqa_domain.builders.card import render_card
from mlqa_domain.builders.export import ConfigTables, write_build_info
from mlqa_domain.builders.sources import DEFAULT_MLQA_URL, SourceOptions, stream_source
from mlqa_domain.dataset_repo import BUILD_INFO, CARD, REJECTED_DIR
from mlqa_domain.embeddings import TextEncoder
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example
from mlqa_domain.filters import build_filters, filter_report, write_rejected
from mlqa_domain.labeling.ensemble import Labeler
from mlqa_domain.labeling.labelers import build_labeler
from mlqa_domain.labeling.pivot import check_parallel
from mlqa_domain.labeling.pivot_store import PivotStore
from mlqa_domain.labeling.taxonomy import Taxonomy, load_taxonomy
from mlqa_domain.languages import PIVOT_LANGUAGE
from mlqa_domain.pipeline import ExampleSpill, Pipeline, PipelineStep, StepStats

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


class ReadSources(PipelineStep):
    """Read every source, in the order given, after the examples it is given; their SourceInfo go into
    its stats' details (``sources``), for build_info.json.

    A source is read as a stream (:func:`stream_source`): its file checksums first, then its examples one
    at a time as the next step pulls them (the SQuAD reader parses one article at a time).
    """

    name = "read"

    def __init__(self, specs: Sequence[str], options: SourceOptions) -> None:
        super().__init__()
        self.specs = list(specs)
        self.options = options

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        yield from data
        infos = self.stats.details.setdefault("sources", [])
        for spec in self.specs:
            loaded = stream_source(spec, self.options)
            infos.append(loaded.info.to_dict())
            for example in loaded.examples:
                self.stats.seen += 1
                yield example
        logger.info("read %d examples from %d source(s)", self.stats.seen, len(self.specs))


class LabelExamples(PipelineStep):
    """Label every parallel group once, from its English instance where it has one (the pivot).

    It runs before the filters, over every example read, so that an id keeps its English labels in
    every language even when a filter drops its English instance (or English is not kept). Ids whose
    instances do not look parallel are counted as flagged and named in a warning (:func:`check_parallel`).

    A barrier: an id's English instance may come after its other ones, so it waits for the end of the
    stream. What labelling needs (per id its instances' languages, context and title, each distinct text
    once) waits in a temporary database (:class:`PivotStore`) and the examples, as read and unlabelled,
    in a spill file (:class:`ExampleSpill`): neither is held in memory. Then it labels each unique
    representative context once, per language in windows after the labeler has seen them all (so the
    labels of an input of at most one window are those of labelling it at once), and reads the examples
    back in input order, setting their labels as each leaves. Its details (``labeling`` counts,
    ``parallel_check``) go into build_info.json.
    """

    name = "label"

    def __init__(self, labeler: Labeler) -> None:
        super().__init__()
        self.labeler = labeler

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        with ExampleSpill() as spill, PivotStore() as store:
            for example in data:
                store.add(example)
                spill.write(example)
            parallel = check_parallel(store.parallel_groups())
            self.stats.flagged = len(parallel.suspects)
            labels = store.labels(self.labeler)
            self.stats.details.update(labeling=labels.counts, parallel_check=parallel.to_dict())
            for example in spill.read():
                yield labels.apply(example)


class KeepLanguages(PipelineStep):
    """Keep the examples whose context and question languages were asked for (English was read
    only for the pivot)."""

    name = "keep_languages"

    def __init__(self, languages: Sequence[str]) -> None:
        super().__init__()
        self.languages = frozenset(languages)

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        for example in data:
            if {example.context_language, example.question_language} <= self.languages:
                yield example
            else:
                self.stats.dropped += 1
                self.stats.reasons["language not asked for"] += 1


class WriteRepo(PipelineStep):
    """Write the dataset repo (parquet per config and split, build_info.json, card, rejected/) at
    ``out``: into a temp dir, moved into place at the end.

    A sink: it takes each example into Arrow batches on disk as it comes (:class:`ConfigTables`), yields
    none (its ``kept`` counts the examples written), and once its input is drained reads what the build
    reports from the pipeline's stats (the sources read, the labelling, the filters) and rejected examples.
    """

    name = "write"

    def __init__(self, out: Path, taxonomy: Taxonomy, taxonomy_source: str, labeler: Labeler) -> None:
        super().__init__()
        self.out = out
        self.taxonomy = taxonomy
        self.taxonomy_source = taxonomy_source
        self.labeler = labeler
        self.pipeline: Pipeline | None = None
        self.info: dict[str, Any] = {}

    def attach(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        if self.pipeline is None:
            raise RuntimeError("WriteRepo runs in a Pipeline (it reports the pipeline's stats)")
        with ConfigTables(self.taxonomy.domain_names, self.taxonomy.general) as tables:
            languages: set[str] = set()
            for example in data:
                tables.add(example)
                languages.update((example.context_language, example.question_language))
            if not self.stats.seen:
                raise InputError("no example is left after the filters; nothing was written", self.out)
            rejected = self.pipeline.rejected_count
            logger.info("filters kept %d of %d", self.stats.seen, self.stats.seen + rejected)
            with atomic_dir(self.out) as tmp:
                sizes: dict = {}
                counts = tables.write(tmp, sizes)
                info = self.build_info(sorted(languages), counts, sizes, rejected)
                self.info = write_build_info(tmp, info)
                (tmp / CARD).write_text(render_card(self.info), encoding="utf-8")
                if rejected:
                    write_rejected(self.pipeline.rejected, tmp / REJECTED_DIR)
        self.stats.kept = self.stats.seen
        yield from ()

    def build_info(self, languages: list[str], counts: dict, sizes: dict, rejected: int) -> dict[str, Any]:
        """build_info.json without its fingerprint: no timings, so identical inputs give identical bytes."""
        assert self.pipeline is not None
        tax, kept = self.taxonomy, self.stats.seen
        label = self.pipeline.stats_of(LabelExamples.name).details
        filters = [stats for stats in self.pipeline.stats if stats.kind == "filter"]
        return {
            "harness_version": __version__,
            "domains": tax.domain_names,
            "general": tax.general,
            "languages": languages,
            "configs": counts,
            "sizes": sizes,
            "sources": self.pipeline.stats_of(ReadSources.name).details["sources"],
            "taxonomy": {"source": self.taxonomy_source, "fingerprint": tax.fingerprint()},
            "labeler": self.labeler.provenance(),
            "labeling": label["labeling"],
            "parallel_check": label["parallel_check"],
            "label_evaluation": held_out_figures(self.labeler),
            "filters": [{k: v for k, v in f.items() if k != "seconds"} for f in filter_report(filters)],
            "examples": {"read": kept + rejected, "kept": kept, "rejected": rejected},
        }


def held_out_figures(labeler: Labeler) -> dict[str, Any]:
    """Per classifier of the labeler that has them (a trained domain head): its held-out precision/recall."""
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
    check_output_dir(out, "is not an mlqa-domain build; choose another --out", markers=(BUILD_INFO,))
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
    write = WriteRepo(out, tax, str(settings.taxonomy or "default"), labeler)
    return [read, label, *keep, *filters, write]


def run_build(settings: BuildSettings) -> BuildReport:
    """Build the dataset repo ``settings.out``; the report holds its build info and every step's stats."""
    pipeline = Pipeline(build_steps(settings))
    pipeline.run()
    write = cast(WriteRepo, pipeline.steps[-1])
    return BuildReport(out=write.out, info=write.info, steps=pipeline.stats)


def build_dataset(sources: Sequence[str], out: str | Path, **options: Any) -> BuildReport:
    """:func:`run_build` for Python callers: ``options`` are the other fields of :class:`BuildSettings`."""
    return run_build(BuildSettings(sources=list(sources), out=Path(out), **options))
