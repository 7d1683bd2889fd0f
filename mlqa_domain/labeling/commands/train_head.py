"""`mlqa-domain train-head`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.labeling.commands._display import print_held_out
from mlqa_domain.labeling.domain_head_training import DEFAULT_HEAD_MODEL, HeadSettings

DEFAULTS = HeadSettings()


Squad = Annotated[
    Path,
    typer.Option(
        "--squad",
        metavar="PATH",
        help="SQuAD-format file with the reference paragraphs (e.g. train-v1.1.json).",
    ),
]
Out = Annotated[Path, typer.Option("--out", metavar="PATH", help="Head file to write (.safetensors).")]
Reference = Annotated[Path | None, typer.Option(metavar="PATH", help="Reference labels (default: shipped).")]
Model = Annotated[str, typer.Option(metavar="MODEL", help="sentence-transformers model.")]
Kind = Annotated[
    str, typer.Option(metavar="KIND", help="logreg (one logistic regression per domain) or mlp.")
]
Strength = Annotated[float, typer.Option("--C", metavar="F", help="Inverse regularisation strength.")]
Folds = Annotated[int, typer.Option(metavar="N", help="Folds grouped by article.")]
MinPrecision = Annotated[
    float,
    typer.Option(
        metavar="F",
        help="Out-of-fold precision each domain's τ must reach (a margin over the 0.90 wanted held out).",
    ),
]
ThresholdPool = Annotated[
    str,
    typer.Option(metavar="POOL", help="Paragraphs that choose τ: all, or random (the natural topic mix)."),
]
KeepBorderline = Annotated[
    bool,
    typer.Option(
        "--keep-borderline", help="Train on paragraphs marked borderline too (default: leave them out)."
    ),
]
Seed = Annotated[int, typer.Option(metavar="N")]
Backend = Annotated[
    str, typer.Option("--embedding-backend", metavar="BACKEND", help="torch, onnx or onnx-int8.")
]
TaxonomyPath = Annotated[
    Path | None, typer.Option(metavar="PATH", help="Taxonomy whose domains the head scores.")
]
CacheDir = Annotated[Path | None, typer.Option(metavar="PATH", help="Embedding cache.")]
Report = Annotated[
    Path | None, typer.Option("--report", metavar="PATH", help="Write the held-out figures as JSON.")
]


def train_head(
    squad: Squad,
    out: Out,
    reference: Reference = None,
    embedding_model: Model = DEFAULT_HEAD_MODEL,
    kind: Kind = DEFAULTS.kind,
    strength: Strength = DEFAULTS.strength,
    folds: Folds = DEFAULTS.folds,
    min_precision: MinPrecision = DEFAULTS.min_precision,
    threshold_pool: ThresholdPool = DEFAULTS.threshold_pool,
    keep_borderline: KeepBorderline = not DEFAULTS.exclude_borderline,
    seed: Seed = DEFAULTS.seed,
    backend: Backend = DEFAULTS.embedding_backend,
    taxonomy: TaxonomyPath = None,
    cache_dir: CacheDir = None,
    report_out: Report = None,
) -> None:
    """Train a domain head on the hand-labelled reference set; print its held-out precision/recall."""
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.jsonio import finite_or_null
    from mlqa_domain.labeling.reference_audit import train_reference_head

    settings = HeadSettings(
        kind, strength, folds, min_precision, not keep_borderline, threshold_pool, seed, backend
    )
    head, report = train_reference_head(squad, embedding_model, settings, reference, taxonomy, cache_dir)
    print_held_out(report)
    head.save(out)
    shown = ", ".join(f"{d} {t:.3f}" for d, t in head.thresholds.items())
    out_console.print(f"wrote {out} ({out.stat().st_size} bytes); thresholds: {shown}")
    if report_out:
        write_text_atomic(report_out, json.dumps(finite_or_null(report), indent=2) + "\n")
        out_console.print(f"wrote {report_out}")
