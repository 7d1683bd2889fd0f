"""`mlqa-domain train-head`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mlqa_domain.builders.commands._display import print_held_out
from mlqa_domain.builders.head_training import DEFAULT_HEAD_MODEL, HeadSettings
from mlqa_domain.cli_utils import out_console

DEFAULTS = HeadSettings()


def train_head(
    squad: Path = typer.Option(
        ...,
        "--squad",
        metavar="PATH",
        help="SQuAD-format file with the reference paragraphs (e.g. train-v1.1.json).",
    ),
    out: Path = typer.Option(..., "--out", metavar="PATH", help="Head file to write (.safetensors)."),
    reference: Path | None = typer.Option(
        None, "--reference", metavar="PATH", help="Reference labels (default: shipped)."
    ),
    embedding_model: str = typer.Option(
        DEFAULT_HEAD_MODEL, "--embedding-model", metavar="MODEL", help="sentence-transformers model."
    ),
    kind: str = typer.Option(
        DEFAULTS.kind, "--kind", metavar="KIND", help="logreg (one logistic regression per domain) or mlp."
    ),
    strength: float = typer.Option(
        DEFAULTS.strength, "--C", metavar="F", help="Inverse regularisation strength."
    ),
    folds: int = typer.Option(DEFAULTS.folds, "--folds", metavar="N", help="Folds grouped by article."),
    min_precision: float = typer.Option(
        DEFAULTS.min_precision,
        "--min-precision",
        metavar="F",
        help="Out-of-fold precision each domain's τ must reach (a margin over the 0.90 wanted held out).",
    ),
    threshold_pool: str = typer.Option(
        DEFAULTS.threshold_pool,
        "--threshold-pool",
        metavar="POOL",
        help="Paragraphs that choose τ: all, or random (the natural topic mix).",
    ),
    keep_borderline: bool = typer.Option(
        not DEFAULTS.exclude_borderline,
        "--keep-borderline",
        help="Train on paragraphs marked borderline too (default: leave them out).",
    ),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", metavar="N"),
    taxonomy: Path | None = typer.Option(
        None, "--taxonomy", metavar="PATH", help="Taxonomy whose domains the head scores."
    ),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", metavar="PATH", help="Embedding cache."),
    report_out: Path | None = typer.Option(
        None, "--report", metavar="PATH", help="Write the held-out figures as JSON."
    ),
) -> None:
    """Train a domain head on the hand-labelled reference set; print its held-out precision/recall."""
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.builders.reference_audit import train_reference_head

    settings = HeadSettings(kind, strength, folds, min_precision, not keep_borderline, threshold_pool, seed)
    head, report = train_reference_head(squad, embedding_model, settings, reference, taxonomy, cache_dir)
    print_held_out(report)
    head.save(out)
    shown = ", ".join(f"{d} {t:.3f}" for d, t in head.thresholds.items())
    out_console.print(f"wrote {out} ({out.stat().st_size} bytes); thresholds: {shown}")
    if report_out:
        write_text_atomic(report_out, json.dumps(report, indent=2) + "\n")
        out_console.print(f"wrote {report_out}")
