"""`mlqa-domain classifier-data`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.labeling.commands._display import table
from mlqa_domain.labeling.training_data import TRAINING_DATA as DEFAULTS
from mlqa_domain.labeling.training_data import TrainingDataSettings


def classifier_data(
    task: list[str] = typer.Option(
        ...,
        "--task",
        metavar="NAME=PATH",
        help="NAME=PATH: a domain, general or a linked task (cuad, squad, ...).",
    ),
    out: Path = typer.Option(
        ..., "--out", metavar="PATH", help="Training file to write (`__label__<domain> text`)."
    ),
    max_per_label: int | None = typer.Option(
        DEFAULTS.max_per_label, "--max-per-label", metavar="N", help="Keep at most N texts per label."
    ),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", metavar="N", help="Seed of the shuffling."),
    min_chars: int = typer.Option(DEFAULTS.min_chars, "--min-chars", metavar="N"),
    max_chars: int = typer.Option(
        DEFAULTS.max_chars, "--max-chars", metavar="N", help="Longer texts are cut into chunks of this size."
    ),
    text_field: str | None = typer.Option(
        DEFAULTS.text_field, "--field", metavar="NAME", help="Text column to read (default: auto)."
    ),
    taxonomy: Path | None = typer.Option(
        None, "--taxonomy", metavar="PATH", help="Taxonomy YAML (default: the shipped one)."
    ),
) -> None:
    """Build a fastText training file from local copies of the intermediate-task datasets."""
    from mlqa_domain.labeling.taxonomy import load_taxonomy
    from mlqa_domain.labeling.training_data import build_training_file, parse_task

    tax = load_taxonomy(taxonomy)
    tasks = [parse_task(value, tax) for value in task]
    settings = TrainingDataSettings(max_per_label, seed, min_chars, max_chars, text_field)
    report = build_training_file(tasks, out, settings)
    out_console.print(table(f"training texts in {report.out}", ("label", "texts"), report.per_label.items()))
    out_console.print(f"dropped {report.duplicates} duplicate and {report.too_short} too-short texts")
