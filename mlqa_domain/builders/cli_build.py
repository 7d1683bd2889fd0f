"""`mlqa-domain build` and `mlqa-domain push`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mlqa_domain.builders.configs import parse_config_name
from mlqa_domain.builders.sources import DEFAULT_MLQA_URL
from mlqa_domain.cli_utils import out_console as console


def _split_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def summary_table(counts: dict[str, dict[str, int]]) -> Table:
    """Rows per monolingual config and split."""
    table = Table(title="examples per config (monolingual; see README.md for every config)")
    for column in ("config", "validation", "test"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for name, splits in counts.items():
        if parse_config_name(name).is_monolingual:
            table.add_row(name, str(splits.get("validation", 0)), str(splits.get("test", 0)))
    return table


def build(
    source: list[str] = typer.Option(
        [DEFAULT_MLQA_URL],
        "--source",
        "-s",
        help="MLQA_V1.zip, an MLQA_V1/ dir, a URL, HF-schema jsonl/parquet files, or an XQuAD-style dir. "
        "Repeat for several. Default: the official MLQA_V1.zip (downloaded once, checksum-verified).",
    ),
    out: Path = typer.Option(Path("mlqa-domain"), "--out", "-o", help="Output dataset repo directory."),
    taxonomy: Path | None = typer.Option(None, help="Taxonomy YAML (default: the shipped one)."),
    embedding_model: str | None = typer.Option(
        None, help="sentence-transformers hub id or local dir; overrides the taxonomy's model."
    ),
    filters: Path | None = typer.Option(None, help="Filter config YAML (default: the shipped one)."),
    contamination: list[str] | None = typer.Option(
        None, help="Intermediate-task data file to check for overlap (repeatable)."
    ),
    cache_dir: Path | None = typer.Option(None, help="Cache for downloads and embeddings."),
    languages: str | None = typer.Option(None, help="Only these languages, e.g. en,de,es."),
    context_language: str | None = typer.Option(
        None, help="For HF-schema/SQuAD files without it in the name."
    ),
    question_language: str | None = typer.Option(None, help="For HF-schema files without it in the name."),
    split: str | None = typer.Option(None, help="validation or test, for files without it in the name."),
    sha256: str | None = typer.Option(None, help="Expected sha256 of a downloaded or local zip."),
) -> None:
    """Build the domain-specific MLQA dataset repo (load it with datasets.load_dataset(OUT, "legal.de"))."""
    from mlqa_domain.builders.build import build_dataset

    report = build_dataset(
        sources=source,
        out=out,
        taxonomy=taxonomy,
        embedding_model=embedding_model,
        filters=filters,
        contamination=contamination,
        cache_dir=cache_dir,
        languages=_split_list(languages),
        context_language=context_language,
        question_language=question_language,
        split=split,
        expected_sha256=sha256,
    )
    console.print(summary_table(report.counts))
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
    console.print(f"wrote {len(report.counts)} configs to {report.out} ({timing})")
    console.print(f"dataset fingerprint {report.info['dataset_fingerprint']}")


def push(
    repo_id: str = typer.Option(..., help="Hub dataset repo, ORG/NAME."),
    data: Path = typer.Option(Path("mlqa-domain"), help="The built dataset repo directory."),
    private: bool = typer.Option(False, help="Create the repo as private."),
    token: str | None = typer.Option(None, envvar="HF_TOKEN", help="Hub token (default: HF_TOKEN / login)."),
    revision: str | None = typer.Option(None, help="Branch to push to."),
) -> None:
    """Upload a built dataset repo to the Hugging Face hub."""
    from mlqa_domain.builders.push import push_dataset

    url = push_dataset(data, repo_id, private=private, token=token, revision=revision)
    console.print(f"pushed {data} to {repo_id}: {url}")


def register(app: typer.Typer) -> None:
    """Add the build and push commands."""
    app.command("build")(build)
    app.command("push")(push)
