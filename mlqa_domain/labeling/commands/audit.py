"""`mlqa-domain audit`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.errors import ConfigError
from mlqa_domain.labeling.audit import AuditSettings
from mlqa_domain.labeling.commands._display import print_audit, print_held_out

DEFAULTS = AuditSettings()


def _write_json(path: Path, report: dict) -> None:
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.jsonio import finite_or_null

    write_text_atomic(path, json.dumps(finite_or_null(report), indent=2, ensure_ascii=False) + "\n")
    out_console.print(f"wrote {path}")


def _audit_labels(
    labels: Path, settings: AuditSettings, show_sweep: bool, plot: Path | None, json_out: Path | None
) -> dict:
    """Audit the labels of a built repo against hand labels; print, plot and write the report."""
    from mlqa_domain.labeling.audit import plot_sweeps, run_audit

    report = run_audit(labels, settings)
    print_audit(report, show_sweep)
    if json_out:
        _write_json(json_out, report)
    if plot:
        plot_sweeps(report, plot)
        out_console.print(f"wrote {plot}")
    return report


def _fit_calibration(labels: Path, settings: AuditSettings, out: Path) -> None:
    """Fit logistic calibrations on the labelled sample and write them as YAML."""
    import yaml

    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.labeling.audit import fit_calibration

    fitted = fit_calibration(labels, settings)
    text = "# Paste under each classifier of classification.classifiers as its `calibration:`\n"
    write_text_atomic(out, text + yaml.safe_dump(fitted, sort_keys=True))
    out_console.print(f"wrote {out} ({', '.join(fitted) or 'nothing could be fitted'})")


def _audit_reference(
    squad: Path,
    head: Path | None,
    reference: Path | None,
    taxonomy: Path | None,
    cache_dir: Path | None,
    embedding_backend: str | None,
    plot: Path | None,
    json_out: Path | None,
) -> None:
    """The domain head's recipe and the prototypes on held-out reference articles: print, plot, write."""
    from mlqa_domain.labeling.reference_audit import audit_reference, plot_reference_sweep

    report, domain_head = audit_reference(squad, head, reference, taxonomy, cache_dir, embedding_backend)
    print_held_out(report, report["prototypes"])
    if plot:
        plot_reference_sweep(report, domain_head.thresholds, plot)
        out_console.print(f"wrote {plot}")
    if json_out:
        _write_json(json_out, report)


def audit(
    data: str = typer.Option(str(DEFAULTS.data), metavar="PATH", help="Built dataset repo (dir or hub id)."),
    labels: Path | None = typer.Option(
        None, metavar="PATH", help='Hand labels: jsonl of {"id", "domains": [...]}.'
    ),
    squad: Path | None = typer.Option(
        None,
        metavar="PATH",
        help="Audit the domain head on held-out articles of the reference set instead: the SQuAD-format "
        "file with its paragraphs (e.g. ../shared/data/squad-v1.1-train/train-v1.1.json).",
    ),
    head: Path | None = typer.Option(
        None, metavar="PATH", help="With --squad: the head (default: the shipped one)."
    ),
    reference: Path | None = typer.Option(None, metavar="PATH", help="With --squad: reference labels."),
    taxonomy: Path | None = typer.Option(
        None, metavar="PATH", help="With --squad: taxonomy (prototype baseline)."
    ),
    cache_dir: Path | None = typer.Option(None, metavar="PATH", help="With --squad: embedding cache."),
    embedding_backend: str | None = typer.Option(
        None,
        metavar="BACKEND",
        help=(
            "With --squad: the backend a build serves the head with (torch, onnx, onnx-int8); the head "
            "stays trained on its own, held-out paragraphs are scored as a build would (default: the head's)."
        ),
    ),
    split: list[str] | None = typer.Option(None, metavar="SPLIT", help="Only these splits (default: all)."),
    plot: Path | None = typer.Option(None, metavar="PATH", help="Write the threshold sweep as a PNG."),
    json_out: Path | None = typer.Option(None, "--json", metavar="PATH", help="Write every number as JSON."),
    steps: int = typer.Option(DEFAULTS.steps, metavar="N", help="Thresholds per domain in the sweep."),
    sweep: bool = typer.Option(True, "--sweep/--no-sweep", help="Print the threshold sweep tables."),
    fit_calibration: Path | None = typer.Option(
        None, metavar="PATH", help="Fit logistic calibrations on the sample; write them as YAML."
    ),
) -> None:
    """Precision/recall/F1, confusion matrix and threshold sweep of each classifier and the ensemble.

    With --labels: the labels of a built dataset against hand labels of its ids. With --squad: the
    domain head's training recipe on held-out articles of the hand-labelled reference set.
    """
    if squad is not None:
        _audit_reference(squad, head, reference, taxonomy, cache_dir, embedding_backend, plot, json_out)
        return
    if labels is None:
        raise ConfigError(
            "give --labels (audit a built dataset) or --squad (audit the head on the reference set)"
        )
    settings = AuditSettings(data=data, splits=split or None, steps=steps)
    _audit_labels(labels, settings, sweep, plot, json_out)
    if fit_calibration:
        _fit_calibration(labels, settings, fit_calibration)
