"""`mlqa-domain train-classifier`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.labeling.classifiers.fasttext_classifier import TrainSettings
from mlqa_domain.labeling.commands._display import prf_table

DEFAULTS = TrainSettings()


def train_classifier(
    data: Path = typer.Option(
        ..., "--data", metavar="PATH", help="`__label__<domain> text` lines, or jsonl with text/labels."
    ),
    out: Path = typer.Option(..., "--out", metavar="PATH", help="Where to write the fastText model (.bin)."),
    valid_fraction: float = typer.Option(
        DEFAULTS.valid_fraction, "--valid-fraction", metavar="F", help="Share held out for evaluation."
    ),
    epoch: int = typer.Option(DEFAULTS.epoch, "--epoch", metavar="N"),
    lr: float = typer.Option(DEFAULTS.lr, "--lr", metavar="F"),
    word_ngrams: int = typer.Option(
        DEFAULTS.word_ngrams, "--wordNgrams", "--word-ngrams", metavar="N", help="Longest word n-gram used."
    ),
    dim: int = typer.Option(DEFAULTS.dim, "--dim", metavar="N"),
    min_count: int = typer.Option(DEFAULTS.min_count, "--min-count", metavar="N"),
    loss: str = typer.Option(
        DEFAULTS.loss, "--loss", metavar="LOSS", help="softmax (one domain per text), ova (multi-label), hs."
    ),
    seed: int = typer.Option(
        DEFAULTS.seed, "--seed", metavar="N", help="Seed of the held-out split and of fastText."
    ),
    threads: int = typer.Option(
        DEFAULTS.threads, "--threads", metavar="N", help="1 gives the same model on every run."
    ),
) -> None:
    """Train a supervised fastText domain classifier and report precision/recall on a held-out split."""
    from mlqa_domain import progress
    from mlqa_domain.labeling.classifiers.fasttext_classifier import train_classifier as train

    settings = TrainSettings(valid_fraction, epoch, lr, word_ngrams, dim, min_count, loss, seed, threads)
    with progress.task("training fastText"):
        report = train(data, out, settings)
    labels = ", ".join(f"{k}: {v}" for k, v in report.label_counts.items())
    out_console.print(f"trained on {report.train_count} texts ({labels}); held out {report.valid_count}")
    if report.valid_count:
        metrics = report.valid_metrics
        out_console.print(prf_table("held-out precision / recall (top-1 prediction)", metrics["per_label"]))
        out_console.print(f"held-out accuracy: {metrics['accuracy']:.3f}")
    out_console.print(f"wrote {report.out} (report: {report.out}.json)")
