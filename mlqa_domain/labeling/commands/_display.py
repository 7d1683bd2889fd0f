"""Tables and reports the classifier and audit commands print."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from rich.table import Table

from mlqa_domain.cli_utils import out_console


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """A left-titled table: the first column left-aligned, the others right-aligned."""
    out = Table(title=title, title_justify="left")
    for number, column in enumerate(columns):
        out.add_column(column, justify="left" if number == 0 else "right")
    for row in rows:
        out.add_row(*[str(cell) for cell in row])
    return out


def _score(value: float | None, digits: int = 3) -> str:
    """A precision/recall/F1 value; an undefined one (NaN or null) as "—"."""
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _prf_row(label: str, m: dict[str, Any]) -> list[object]:
    return [
        label,
        _score(m["precision"]),
        _score(m["recall"]),
        _score(m["f1"]),
        m.get("support", ""),
        m.get("predicted", ""),
    ]


def prf_table(title: str, per_label: dict[str, dict], extra: dict[str, dict] | None = None) -> Table:
    """Precision / recall / F1 / support / predicted per label, then the ``extra`` rows in bold."""
    rows = [_prf_row(label, m) for label, m in per_label.items()]
    rows += [_prf_row(f"[bold]{name}[/]", m) for name, m in (extra or {}).items()]
    return table(title, ("label", "precision", "recall", "F1", "support", "predicted"), rows)


def confusion_table(title: str, confusion: dict[str, Any]) -> Table:
    """Rows gold, columns predicted."""
    labels = confusion["labels"]
    return table(
        title,
        ("gold \\ pred", *labels),
        ([label, *row] for label, row in zip(labels, confusion["matrix"], strict=True)),
    )


def _ci(m: dict[str, Any], key: str) -> str:
    low, high = m["ci95"][key]
    return f"{_score(m[key])} [{_score(low, 2)}, {_score(high, 2)}]"


def held_out_table(title: str, block: dict[str, dict[str, Any]]) -> Table:
    """Per domain: precision, recall and F1 with their 95% CIs, gold and predicted counts."""
    columns = ("domain", "precision [95% CI]", "recall [95% CI]", "F1 [95% CI]", "gold", "predicted")
    rows = (
        [domain, _ci(m, "precision"), _ci(m, "recall"), _ci(m, "f1"), m["support"], m["predicted"]]
        for domain, m in block.items()
    )
    return table(title, columns, rows)


def sweep_table(scorer: str, entry: dict[str, Any]) -> Table:
    """One scorer's threshold sweep; the τ in force is starred."""
    rows = []
    for domain, points in entry["sweep"].items():
        for point in points:
            mark = " *" if abs(point["tau"] - entry["thresholds"][domain]) < 1e-6 else ""
            rows.append(
                [
                    domain,
                    f"{point['tau']:.6g}{mark}",
                    _score(point["precision"]),
                    _score(point["recall"]),
                    _score(point["f1"]),
                    point["predicted"],
                ]
            )
    title = f"{scorer}: threshold sweep (one domain's τ moves)"
    return table(title, ("domain", "τ", "precision", "recall", "F1", "predicted"), rows)


def print_audit(report: dict[str, Any], show_sweep: bool) -> None:
    """Per scorer of a label audit: precision/recall/F1, confusion and (optionally) the sweep."""
    out_console.print(
        f"audit of {report['data']}: {report['items']} labelled item(s) from {report['labelled_ids']} id(s); "
        f"{report['unlabelled_ids']} unlabelled, {len(report['missing_ids'])} not in the data"
    )
    for scorer, entry in report["scorers"].items():
        metrics = entry["metrics"]
        extra = {"micro": metrics["micro"], "macro": metrics["macro"]}
        out_console.print(
            prf_table(f"{scorer}: per-domain precision / recall / F1", metrics["per_label"], extra)
        )
        title = f"{scorer}: confusion (rows gold, columns predicted; primary domain)"
        out_console.print(confusion_table(title, entry["confusion"]))
        if show_sweep and "sweep" in entry:
            out_console.print(sweep_table(scorer, entry))


def print_held_out(report: dict[str, Any], baseline: dict[str, Any] | None = None) -> None:
    """A domain head's nested held-out figures on the reference set (and the prototypes' as a baseline)."""
    settings = report["settings"]
    out_console.print(
        f"held-out evaluation: {report['paragraphs']} paragraphs, {report['articles']} articles, "
        f"{settings['folds']} outer folds grouped by article (thresholds chosen on inner folds for "
        f"precision >= {settings['min_precision']}); 'clear' leaves out paragraphs marked borderline"
    )
    for name, block in report["formats"].items():
        shown = "title. context" if name == "title_context" else "context only"
        out_console.print(held_out_table(f"head, input {shown}: clear paragraphs", block["clear"]))
        title = f"head, input {shown}: all paragraphs (borderline as labelled)"
        out_console.print(held_out_table(title, block["all"]))
    block = report["formats"]["title_context"]
    title = "head, title. context: clear paragraphs of the random pool (natural topic mix)"
    out_console.print(held_out_table(title, block["random_pool"]))
    title = "head, title. context: domain confusion (gold x predicted pairs)"
    out_console.print(confusion_table(title, block["confusion"]))
    if baseline:
        title = "prototypes (taxonomy τ/δ, context only): clear paragraphs"
        out_console.print(held_out_table(title, baseline["clear"]))
    folds = report["fold_thresholds"]
    taus = ", ".join(f"{d} {min(f[d] for f in folds):.2f}-{max(f[d] for f in folds):.2f}" for d in folds[0])
    out_console.print(f"thresholds chosen per outer fold: {taus}")
