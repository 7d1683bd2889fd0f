"""`mlqa-domain build`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlqa_domain.builders.build import BuildReport, BuildSettings
from mlqa_domain.cli_utils import out_console
from mlqa_domain.configs import parse_config_name

DEFAULTS = BuildSettings()


def _split_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def config_table(counts: dict[str, dict[str, int]]) -> Table:
    """Rows per monolingual config and split."""
    table = Table(title="examples per config (monolingual; see README.md for every config)")
    for column in ("config", "validation", "test"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for name, splits in counts.items():
        if parse_config_name(name).is_monolingual:
            table.add_row(name, str(splits.get("validation", 0)), str(splits.get("test", 0)))
    return table


def step_table(report: BuildReport) -> Table:
    """What every step of the build saw, kept and dropped, and how long it took."""
    table = Table(title="build steps")
    for column in ("step", "seen", "kept", "dropped", "flagged", "seconds"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for stats in report.steps:
        table.add_row(
            stats.name,
            str(stats.seen),
            str(stats.kept),
            str(stats.dropped),
            str(stats.flagged),
            f"{stats.seconds:.2f}",
        )
    return table


SOURCE_HELP = (
    "MLQA_V1.zip, an MLQA_V1/ dir, a URL, HF-schema jsonl/parquet files, or an XQuAD-style dir. Repeat for "
    "several. Default: the official MLQA_V1.zip (downloaded once, checksum-verified)."
)
BACKEND_HELP = "auto (onnx-int8 on the CPU, torch on a GPU), onnx-int8, onnx or torch (fp32)."
Sources = Annotated[list[str] | None, typer.Option("--source", "-s", metavar="PATH", help=SOURCE_HELP)]
Out = Annotated[Path, typer.Option("--out", "-o", metavar="PATH", help="Output dataset repo directory.")]
TaxonomyPath = Annotated[
    Path | None, typer.Option(metavar="PATH", help="Taxonomy YAML (default: the shipped one).")
]
Model = Annotated[
    str | None,
    typer.Option(
        metavar="MODEL", help="sentence-transformers hub id or local dir; overrides the taxonomy's model."
    ),
]
Backend = Annotated[str, typer.Option(metavar="BACKEND", help=BACKEND_HELP)]
FiltersPath = Annotated[
    Path | None, typer.Option(metavar="PATH", help="Filter config YAML (default: the shipped one).")
]
Contamination = Annotated[
    list[Path] | None,
    typer.Option(metavar="PATH", help="Intermediate-task data file to check for overlap (repeatable)."),
]
CacheDir = Annotated[Path | None, typer.Option(metavar="PATH", help="Cache for downloads and embeddings.")]
Languages = Annotated[str | None, typer.Option(metavar="CODES", help="Only these languages, e.g. en,de,es.")]
ContextLanguage = Annotated[
    str | None, typer.Option(metavar="LANG", help="For HF-schema/SQuAD files without it in the name.")
]
QuestionLanguage = Annotated[
    str | None, typer.Option(metavar="LANG", help="For HF-schema files without it in the name.")
]
Split = Annotated[
    str | None, typer.Option(metavar="SPLIT", help="validation or test, for files without it in the name.")
]
Sha256 = Annotated[
    str | None, typer.Option(metavar="HEX", help="Expected sha256 of a downloaded or local zip.")
]


def build(
    source: Sources = None,
    out: Out = DEFAULTS.out,
    taxonomy: TaxonomyPath = DEFAULTS.taxonomy,
    embedding_model: Model = DEFAULTS.embedding_model,
    embedding_backend: Backend = DEFAULTS.embedding_backend,
    filters: FiltersPath = DEFAULTS.filters,
    contamination: Contamination = None,
    cache_dir: CacheDir = DEFAULTS.cache_dir,
    languages: Languages = None,
    context_language: ContextLanguage = DEFAULTS.context_language,
    question_language: QuestionLanguage = DEFAULTS.question_language,
    split: Split = DEFAULTS.split,
    sha256: Sha256 = DEFAULTS.sha256,
) -> None:
    """Build the domain-specific MLQA dataset repo (load it with datasets.load_dataset(OUT, "legal.de"))."""
    from mlqa_domain.builders.build import run_build

    settings = BuildSettings(
        sources=source or list(DEFAULTS.sources), out=out, taxonomy=taxonomy, embedding_model=embedding_model,
        embedding_backend=embedding_backend, filters=filters,
        contamination=[str(path) for path in contamination or DEFAULTS.contamination], cache_dir=cache_dir,
        languages=_split_list(languages), context_language=context_language,
        question_language=question_language, split=split, sha256=sha256,
    )  # fmt: skip
    report = run_build(settings)
    out_console.print(config_table(report.counts))
    out_console.print(step_table(report))
    seconds = sum(stats.seconds for stats in report.steps)
    out_console.print(f"wrote {len(report.counts)} configs to {report.out} ({seconds:.1f}s)")
    out_console.print(f"dataset fingerprint {report.info['dataset_fingerprint']}")
