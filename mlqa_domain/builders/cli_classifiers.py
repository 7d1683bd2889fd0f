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
    from mlqa_domain import progress
    from mlqa_domain.builders.classifiers.fasttext_classifier import TrainSettings, train_classifier

    settings = TrainSettings(epoch, lr, word_ngrams, dim, min_count, loss, seed, threads)
    with progress.task("training fastText"):
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
    labels: Path | None = typer.Option(
        None, "--labels", help='Hand labels: jsonl of {"id", "domains": [...]}.'
    ),
    squad: Path | None = typer.Option(
        None,
        "--squad",
        help="Audit the domain head on held-out articles of the reference set instead: the SQuAD-format "
        "file with its paragraphs (e.g. ../shared/data/squad-v1.1-train/train-v1.1.json).",
    ),
    head: Path | None = typer.Option(
        None, "--head", help="With --squad: the head (default: the shipped one)."
    ),
    reference: Path | None = typer.Option(None, "--reference", help="With --squad: reference labels."),
    taxonomy: Path | None = typer.Option(
        None, "--taxonomy", help="With --squad: taxonomy (prototype baseline)."
    ),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="With --squad: embedding cache."),
    split: list[str] | None = typer.Option(None, "--split", help="Only these splits (default: all)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the threshold sweep as a PNG."),
    json_out: Path | None = typer.Option(None, "--json", help="Write every number as JSON."),
    steps: int = typer.Option(11, "--steps", help="Thresholds per domain in the sweep."),
    sweep: bool = typer.Option(True, "--sweep/--no-sweep", help="Print the threshold sweep tables."),
    fit_calibration: Path | None = typer.Option(
        None, "--fit-calibration", help="Fit logistic calibrations on the sample; write them as YAML."
    ),
) -> None:
    """Precision/recall/F1, confusion matrix and threshold sweep of each classifier and the ensemble.

    With --labels: the labels of a built dataset against hand labels of its ids. With --squad: the
    domain head's training recipe on held-out articles of the hand-labelled reference set.
    """
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.builders.audit import fit_calibration as fit
    from mlqa_domain.builders.audit import plot_sweeps, run_audit

    if squad is not None:
        audit_reference(squad, head, reference, taxonomy, cache_dir, plot, json_out)
        return
    if labels is None:
        raise ConfigError(
            "give --labels (audit a built dataset) or --squad (audit the head on the reference set)"
        )
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


DEFAULT_HEAD_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def _embedded_reference(squad: Path, reference: Path | None, taxonomy: Path | None, model: str, cache_dir):
    """Reference labels joined with ``squad``, embedded with ``model``; and the encoder."""
    from mlqa_domain.builders.classifiers.embedding import TextEncoder
    from mlqa_domain.builders.head_training import embed_reference
    from mlqa_domain.builders.reference import join_reference, load_reference_labels
    from mlqa_domain.builders.taxonomy import load_taxonomy

    domains = load_taxonomy(taxonomy).domain_names
    items, missing = join_reference(squad, load_reference_labels(reference, known=domains))
    console.print(
        f"reference: {len(items)} labelled paragraphs from {len({i.title for i in items})} articles found in "
        f"{squad.name}" + (f" ({missing} labels have no paragraph in it)" if missing else "")
    )
    encoder = TextEncoder(model, cache_dir=cache_dir)
    return embed_reference(items, encoder, domains), encoder


def _ci(m: dict[str, Any], key: str) -> str:
    low, high = m["ci95"][key]
    return f"{m[key]:.3f} [{low:.2f}, {high:.2f}]"


def _held_out_table(title: str, block: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("domain", "precision [95% CI]", "recall [95% CI]", "F1 [95% CI]", "gold", "predicted"):
        table.add_column(column, justify="left" if column == "domain" else "right")
    for domain, m in block.items():
        table.add_row(
            domain,
            _ci(m, "precision"),
            _ci(m, "recall"),
            _ci(m, "f1"),
            str(m["support"]),
            str(m["predicted"]),
        )
    return table


def _confusion_table(title: str, confusion: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("gold \\ pred")
    for label in confusion["labels"]:
        table.add_column(label, justify="right")
    for label, row in zip(confusion["labels"], confusion["matrix"], strict=True):
        table.add_row(label, *[str(v) for v in row])
    return table


def _print_held_out(report: dict[str, Any], baseline: dict[str, Any] | None = None) -> None:
    settings = report["settings"]
    console.print(
        f"held-out evaluation: {report['paragraphs']} paragraphs, {report['articles']} articles, "
        f"{settings['folds']} outer folds grouped by article (thresholds chosen on inner folds for "
        f"precision >= {settings['min_precision']}); 'clear' leaves out paragraphs marked borderline"
    )
    for name, block in report["formats"].items():
        shown = "title. context" if name == "title_context" else "context only"
        console.print(_held_out_table(f"head, input {shown}: clear paragraphs", block["clear"]))
        console.print(
            _held_out_table(f"head, input {shown}: all paragraphs (borderline as labelled)", block["all"])
        )
    block = report["formats"]["title_context"]
    console.print(
        _held_out_table(
            "head, title. context: clear paragraphs of the random pool (natural topic mix)",
            block["random_pool"],
        )
    )
    console.print(
        _confusion_table(
            "head, title. context: domain confusion (gold x predicted pairs)", block["confusion"]
        )
    )
    if baseline:
        console.print(
            _held_out_table("prototypes (taxonomy τ/δ, context only): clear paragraphs", baseline["clear"])
        )
    folds = report["fold_thresholds"]
    taus = ", ".join(f"{d} {min(f[d] for f in folds):.2f}-{max(f[d] for f in folds):.2f}" for d in folds[0])
    console.print(f"thresholds chosen per outer fold: {taus}")


def train_head_command(
    squad: Path = typer.Option(
        ..., "--squad", help="SQuAD-format file with the reference paragraphs (e.g. train-v1.1.json)."
    ),
    out: Path = typer.Option(..., "--out", help="Head file to write (.safetensors)."),
    reference: Path | None = typer.Option(None, "--reference", help="Reference labels (default: shipped)."),
    embedding_model: str = typer.Option(
        DEFAULT_HEAD_MODEL, "--embedding-model", help="sentence-transformers model."
    ),
    kind: str = typer.Option("logreg", "--kind", help="logreg (one logistic regression per domain) or mlp."),
    strength: float = typer.Option(1.0, "--C", help="Inverse regularisation strength."),
    folds: int = typer.Option(5, "--folds", help="Folds grouped by article."),
    min_precision: float = typer.Option(
        0.92,
        "--min-precision",
        help="Out-of-fold precision each domain's τ must reach (a margin over the 0.90 wanted held out).",
    ),
    threshold_pool: str = typer.Option(
        "all", "--threshold-pool", help="Paragraphs that choose τ: all, or random (the natural topic mix)."
    ),
    keep_borderline: bool = typer.Option(
        False,
        "--keep-borderline",
        help="Train on paragraphs marked borderline too (default: leave them out).",
    ),
    seed: int = typer.Option(0, "--seed"),
    taxonomy: Path | None = typer.Option(None, "--taxonomy", help="Taxonomy whose domains the head scores."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Embedding cache."),
    report_out: Path | None = typer.Option(None, "--report", help="Write the held-out figures as JSON."),
) -> None:
    """Train a domain head on the hand-labelled reference set; print its held-out precision/recall."""
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.builders.head_training import HeadSettings, probe_embedding, train_head
    from mlqa_domain.builders.reference import GUIDELINES_VERSION, default_reference_path
    from mlqa_domain.builders.reference_audit import held_out_report, summary
    from mlqa_domain.hashing import sha256_file

    settings = HeadSettings(kind, strength, folds, min_precision, not keep_borderline, threshold_pool, seed)
    data, encoder = _embedded_reference(squad, reference, taxonomy, embedding_model, cache_dir)
    report, _ = held_out_report(data, settings)
    _print_held_out(report)
    reference_path = reference or default_reference_path()
    head, _ = train_head(
        data,
        embedding_model,
        probe_embedding(encoder),
        settings,
        info={
            "guidelines_version": GUIDELINES_VERSION,
            "reference": {"file": reference_path.name, "sha256": sha256_file(reference_path)},
            "held_out": {
                "method": f"nested {folds}-fold CV grouped by article; paragraphs not marked borderline",
                "title_context": summary(report["formats"]["title_context"]),
                "context": summary(report["formats"]["context"]),
            },
        },
    )
    head.save(out)
    shown = ", ".join(f"{d} {t:.3f}" for d, t in head.thresholds.items())
    console.print(f"wrote {out} ({out.stat().st_size} bytes); thresholds: {shown}")
    if report_out:
        write_text_atomic(report_out, json.dumps(report, indent=2) + "\n")
        console.print(f"wrote {report_out}")


def audit_reference(
    squad: Path,
    head_path: Path | None,
    reference: Path | None,
    taxonomy: Path | None,
    cache_dir: Path | None,
    plot: Path | None,
    json_out: Path | None,
) -> None:
    """Held-out figures of the (shipped) head's recipe, and of the prototypes, on the reference set."""
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.builders.classifiers.embedding import EmbeddingClassifier
    from mlqa_domain.builders.classifiers.head import DomainHead
    from mlqa_domain.builders.head_training import HeadSettings
    from mlqa_domain.builders.reference_audit import (
        evaluation_block,
        held_out_report,
        plot_reference_sweep,
        prototype_predictions,
    )
    from mlqa_domain.builders.taxonomy import default_taxonomy_path, load_taxonomy

    tax = load_taxonomy(taxonomy)
    if head_path is None:
        head_path = default_taxonomy_path().parent / "heads" / "minilm-l6-v2-domains.safetensors"
    head = DomainHead.load(head_path)
    settings = HeadSettings(**head.info.get("settings", {}))
    data, encoder = _embedded_reference(squad, reference, taxonomy, head.embedding_model, cache_dir)
    report, _ = held_out_report(data, settings)
    prototypes = EmbeddingClassifier.from_taxonomy(encoder, tax)
    baseline = evaluation_block(
        data.gold,
        prototype_predictions(data, prototypes, tax.thresholds, tax.classification.delta),
        data.borderline,
        data.groups,
        data.random_pool(),
        data.domains,
    )
    report["prototypes"] = baseline
    report["head"] = {"file": head_path.name, "thresholds": head.thresholds}
    _print_held_out(report, baseline)
    if plot:
        plot_reference_sweep(report, head.thresholds, plot)
        console.print(f"wrote {plot}")
    if json_out:
        write_text_atomic(json_out, json.dumps(report, indent=2) + "\n")
        console.print(f"wrote {json_out}")


def register(app: typer.Typer) -> None:
    """Add the classifier and audit commands to ``app``."""
    app.command("train-classifier")(train_classifier_command)
    app.command("train-head")(train_head_command)
    app.command("classifier-data")(classifier_data_command)
    app.command("audit")(audit_command)
    app.command("sample-for-audit")(sample_for_audit_command)
