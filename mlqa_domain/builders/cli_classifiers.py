"""CLI commands for domain classifiers: training data, fastText training, label audit and audit samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mlqa_domain.errors import ConfigError

console = Console(highlight=False)


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def _prf_table(
    title: str, per_label: dict[str, dict[str, float]], extra: dict[str, dict] | None = None
) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("label", "precision", "recall", "F1", "support", "predicted"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, m in per_label.items():
        table.add_row(
            label,
            _fmt(m["precision"]),
            _fmt(m["recall"]),
            _fmt(m["f1"]),
            str(m["support"]),
            str(m["predicted"]),
        )
    for name, m in (extra or {}).items():
        table.add_row(
            f"[bold]{name}[/]",
            _fmt(m["precision"]),
            _fmt(m["recall"]),
            _fmt(m["f1"]),
            str(m.get("support", "")),
            str(m.get("predicted", "")),
        )
    return table


def train_classifier_command(
    data: Path = typer.Option(
        ..., "--data", help="`__label__<domain> text` lines, or jsonl with text/labels."
    ),
    out: Path = typer.Option(..., "--out", help="Where to write the fastText model (.bin)."),
    valid_fraction: float = typer.Option(0.2, "--valid-fraction", help="Share held out for evaluation."),
    epoch: int = typer.Option(25, "--epoch"),
    lr: float = typer.Option(0.5, "--lr"),
    word_ngrams: int = typer.Option(2, "--wordNgrams", "--word-ngrams", help="Longest word n-gram used."),
    dim: int = typer.Option(50, "--dim"),
    min_count: int = typer.Option(1, "--min-count"),
    loss: str = typer.Option(
        "softmax", "--loss", help="softmax (one domain per text), ova (multi-label), hs."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out split and of fastText."),
    threads: int = typer.Option(1, "--threads", help="1 gives the same model on every run."),
) -> None:
    """Train a supervised fastText domain classifier and report precision/recall on a held-out split."""
    from mlqa_domain.builders.classifiers.fasttext_classifier import TrainSettings, train_classifier
    from mlqa_domain.progress import make_progress

    settings = TrainSettings(epoch, lr, word_ngrams, dim, min_count, loss, seed, threads)
    with make_progress() as progress:
        progress.add_task("training fastText", total=None)
        report = train_classifier(data, out, settings, valid_fraction)
    labels = ", ".join(f"{k}: {v}" for k, v in report.label_counts.items())
    console.print(f"trained on {report.train_count} texts ({labels}); held out {report.valid_count}")
    if report.valid_count:
        metrics = report.valid_metrics
        console.print(_prf_table("held-out precision / recall (top-1 prediction)", metrics["per_label"]))
        console.print(f"held-out accuracy: {metrics['accuracy']:.3f}")
    console.print(f"wrote {report.out} (report: {report.out}.json)")


def classifier_data_command(
    task: list[str] = typer.Option(
        ..., "--task", help="NAME=PATH: a domain, general or a linked task (cuad, squad, ...)."
    ),
    out: Path = typer.Option(..., "--out", help="Training file to write (`__label__<domain> text`)."),
    max_per_label: int | None = typer.Option(None, "--max-per-label", help="Keep at most N texts per label."),
    seed: int = typer.Option(0, "--seed", help="Seed of the shuffling."),
    min_chars: int = typer.Option(20, "--min-chars"),
    max_chars: int = typer.Option(2000, "--max-chars", help="Longer texts are cut into chunks of this size."),
    text_field: str | None = typer.Option(None, "--field", help="Text column to read (default: auto)."),
    taxonomy: Path | None = typer.Option(
        None, "--taxonomy", help="Taxonomy YAML (default: the shipped one)."
    ),
) -> None:
    """Build a fastText training file from local copies of the intermediate-task datasets."""
    from mlqa_domain.builders.taxonomy import load_taxonomy
    from mlqa_domain.builders.training_data import build_training_file, parse_task

    tax = load_taxonomy(taxonomy)
    tasks = [parse_task(value, tax) for value in task]
    report = build_training_file(tasks, out, max_per_label, seed, min_chars, max_chars, text_field)
    table = Table(title=f"training texts in {report.out}", title_justify="left")
    table.add_column("label")
    table.add_column("texts", justify="right")
    for label, count in report.per_label.items():
        table.add_row(label, str(count))
    console.print(table)
    console.print(f"dropped {report.duplicates} duplicate and {report.too_short} too-short texts")


def _print_audit(report: dict[str, Any], show_sweep: bool) -> None:
    console.print(
        f"audit of {report['data']}: {report['items']} labelled item(s) from {report['labelled_ids']} id(s); "
        f"{report['unlabelled_ids']} unlabelled, {len(report['missing_ids'])} not in the data"
    )
    for scorer, entry in report["scorers"].items():
        metrics = entry["metrics"]
        console.print(
            _prf_table(
                f"{scorer}: per-domain precision / recall / F1",
                metrics["per_label"],
                {"micro": metrics["micro"], "macro": metrics["macro"]},
            )
        )
        confusion = entry["confusion"]
        table = Table(
            title=f"{scorer}: confusion (rows gold, columns predicted; primary domain)", title_justify="left"
        )
        table.add_column("gold \\ pred")
        for label in confusion["labels"]:
            table.add_column(label, justify="right")
        for label, row in zip(confusion["labels"], confusion["matrix"], strict=True):
            table.add_row(label, *[str(v) for v in row])
        console.print(table)
        if show_sweep and "sweep" in entry:
            sweep = Table(title=f"{scorer}: threshold sweep (one domain's τ moves)", title_justify="left")
            for column in ("domain", "τ", "precision", "recall", "F1", "predicted"):
                sweep.add_column(column, justify="left" if column == "domain" else "right")
            for domain, points in entry["sweep"].items():
                for point in points:
                    mark = " *" if abs(point["tau"] - entry["thresholds"][domain]) < 1e-6 else ""
                    sweep.add_row(
                        domain,
                        f"{point['tau']:.6g}{mark}",
                        _fmt(point["precision"]),
                        _fmt(point["recall"]),
                        _fmt(point["f1"]),
                        str(point["predicted"]),
                    )
            console.print(sweep)


def audit_command(
    data: str = typer.Option("./mlqa-domain", "--data", help="Built dataset repo (dir or hub id)."),
    labels: Path = typer.Option(..., "--labels", help='Hand labels: jsonl of {"id", "domains": [...]}.'),
    split: list[str] | None = typer.Option(None, "--split", help="Only these splits (default: all)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the threshold sweep as a PNG."),
    json_out: Path | None = typer.Option(None, "--json", help="Write every number as JSON."),
    steps: int = typer.Option(11, "--steps", help="Thresholds per domain in the sweep."),
    sweep: bool = typer.Option(True, "--sweep/--no-sweep", help="Print the threshold sweep tables."),
    fit_calibration: Path | None = typer.Option(
        None, "--fit-calibration", help="Fit logistic calibrations on the sample; write them as YAML."
    ),
) -> None:
    """Precision/recall/F1, confusion matrix and threshold sweep of each classifier and the ensemble."""
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.builders.audit import fit_calibration as fit
    from mlqa_domain.builders.audit import plot_sweeps, run_audit

    if steps < 2:
        raise ConfigError("--steps must be at least 2")
    report = run_audit(data, labels, split or None, steps)
    _print_audit(report, sweep)
    if json_out:
        write_text_atomic(json_out, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {json_out}")
    if plot:
        plot_sweeps(report, plot)
        console.print(f"wrote {plot}")
    if fit_calibration:
        import yaml

        fitted = fit(data, labels, split or None)
        text = (
            "# Paste under each classifier of classification.classifiers as its `calibration:`\n"
            + yaml.safe_dump(fitted, sort_keys=True)
        )
        write_text_atomic(fit_calibration, text)
        console.print(f"wrote {fit_calibration} ({', '.join(fitted) or 'nothing could be fitted'})")


def sample_for_audit_command(
    data: str = typer.Option("./mlqa-domain", "--data", help="Built dataset repo (dir or hub id)."),
    n: int = typer.Option(50, "--n", help="Number of ids to sample."),
    out: Path = typer.Option(..., "--out", help="jsonl to write (fill in each `domains`)."),
    seed: int = typer.Option(0, "--seed"),
    margin: float = typer.Option(0.05, "--margin", help="'Near threshold': best score within this of its τ."),
    split: list[str] | None = typer.Option(None, "--split", help="Only these splits (default: all)."),
) -> None:
    """Draw a stratified sample (per predicted domain and near the threshold) for people to label."""
    from collections import Counter

    from mlqa_domain.atomic import atomic_file
    from mlqa_domain.builders.audit import load_rows, sample_for_audit

    if n < 1:
        raise ConfigError("--n must be at least 1")
    records = sample_for_audit(load_rows(data, split or None), n, seed, margin)
    with atomic_file(out) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    counts = Counter(r["stratum"] for r in records)
    console.print(
        f"wrote {len(records)} ids to {out} ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}); "
        "fill in each `domains` list, then run `mlqa-domain audit --labels`"
    )


def register(app: typer.Typer) -> None:
    """Add the classifier and audit commands to ``app``."""
    app.command("train-classifier")(train_classifier_command)
    app.command("classifier-data")(classifier_data_command)
    app.command("audit")(audit_command)
    app.command("sample-for-audit")(sample_for_audit_command)
