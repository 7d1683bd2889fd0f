"""Audit the domain labels of a built repo against a hand-labelled sample, and draw such a sample.

Labels are per MLQA id: the gold domains of an id apply to all its parallel instances. The audit
reads the ``all.<lang>`` configs, keeps one row per id when the id was labelled through the English
pivot (its instances share the scores) and one per id and context language otherwise, and scores,
from the stored per-classifier scores alone (no model is run):

* each classifier on its own (its raw scores with its own τ and δ, as in the provenance);
* the ensemble (the stored combination rule), when there are several classifiers.

Metrics treat the taxonomy domains plus ``general`` as labels of a multi-label task: per label
precision = TP / predicted, recall = TP / gold, F1 (:func:`mlqa_domain.stats.precision_recall_f1`: NaN
precision without predictions, NaN recall without gold, JSON ``null``); micro sums the counts over
labels, macro averages the defined values of the labels that occur in the gold or the predictions. The
confusion matrix crosses the primary (first) gold domain with the primary predicted one. The threshold
sweep moves one domain's τ at a time (the others fixed) and reports that domain's precision/recall/F1.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlqa_domain.configs import parse_config_name
from mlqa_domain.errors import ConfigError, InputError, first_line
from mlqa_domain.jsonio import iter_jsonl, parse_json
from mlqa_domain.labeling.classifiers.calibration import fit_logistic
from mlqa_domain.labeling.ensemble import SCORE_DIGITS, EnsembleRule, decide_domains
from mlqa_domain.languages import PIVOT_LANGUAGE
from mlqa_domain.stats import prf_scores

ENSEMBLE = "ensemble"
DEFAULT_DATA = "./mlqa-domain"


@dataclass(frozen=True)
class AuditSettings:
    """Which built repo (a directory or hub id) and splits to audit, and how finely to sweep τ."""

    data: str | Path = DEFAULT_DATA
    splits: Sequence[str] | None = None
    steps: int = 11  # thresholds per domain in the sweep

    def __post_init__(self) -> None:
        if self.steps < 2:
            raise ConfigError("--steps must be at least 2")


@dataclass(frozen=True)
class SampleSettings:
    """How many ids to draw for hand labelling, from which repo and splits, and what counts as near τ."""

    data: str | Path = DEFAULT_DATA
    splits: Sequence[str] | None = None
    n: int = 50
    seed: int = 0
    margin: float = 0.05  # near threshold: the best score within this of its τ

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError("--n must be at least 1")


@dataclass
class AuditItem:
    """One labelled unit: an id (and a context language when labelled in its own language)."""

    id: str
    context_language: str
    split: str
    title: str | None
    context: str
    domains: list[str]
    domain_scores: dict[str, float]
    classifier_scores: dict[str, dict[str, float]]
    rule: EnsembleRule
    label_source: str

    def raw(self) -> dict[str, dict[str, float]]:
        """Stored raw scores of every classifier of the rule."""
        return {m.name: dict(self.classifier_scores[m.name]) for m in self.rule.members}


def _repo_dir(data: str | Path) -> Path:
    path = Path(data)
    if path.is_dir():
        return path
    text = str(data)
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise InputError("dataset not found (neither a local directory nor ORG/NAME hub id)", data)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(text, repo_type="dataset", allow_patterns=["data/all.*/*.parquet"]))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        first = first_line(exc)
        raise InputError(f"cannot fetch the dataset from the hub: {first}", data) from None


def load_rows(data: str | Path, splits: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows of every monolingual ``all.<lang>`` config of a built repo (local dir or hub id)."""
    import pyarrow.parquet as pq

    repo = _repo_dir(data)
    files = sorted(
        p
        for p in (repo / "data").glob("all.*/*.parquet")
        if parse_config_name(p.parent.name).is_monolingual and (not splits or p.stem in splits)
    )
    if not files:
        raise InputError("no data/all.<lang>/<split>.parquet files (not a repo built by mlqa-domain?)", repo)
    rows = []
    for file in files:
        for row in pq.read_table(file).to_pylist():
            row["split"] = file.stem
            rows.append(row)
    return rows


def audit_items(rows: Sequence[Mapping[str, Any]]) -> list[AuditItem]:
    """One item per pivot-labelled id, one per id and context language otherwise (English first)."""
    rules: dict[str, EnsembleRule] = {}
    chosen: dict[tuple[str, str], AuditItem] = {}
    ordered = sorted(
        rows, key=lambda r: (r["context_language"] != PIVOT_LANGUAGE, r["context_language"], r["split"])
    )
    for row in ordered:
        text = row["provenance"]
        if text not in rules:
            rules[text] = EnsembleRule.from_provenance(text)
        source = parse_json(text, "provenance").get("label_source", "")
        key = (row["id"], "" if source.startswith("pivot") else row["context_language"])
        if key in chosen:
            continue
        chosen[key] = AuditItem(
            id=row["id"],
            context_language=row["context_language"],
            split=row["split"],
            title=row.get("title"),
            context=row["context"],
            domains=list(row["domains"]),
            domain_scores={k: v for k, v in (row.get("domain_scores") or {}).items() if v is not None},
            classifier_scores={k: dict(v) for k, v in (row.get("classifier_scores") or {}).items() if v},
            rule=rules[text],
            label_source=source,
        )
    return sorted(chosen.values(), key=lambda item: (item.id, item.context_language))


def read_gold(path: str | Path, known: Sequence[str]) -> tuple[dict[str, list[str]], int]:
    """``{id: domains}`` from a jsonl of ``{"id", "domains": [...]}`` (empty lists = not yet labelled)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("labels file not found", path)
    gold: dict[str, list[str]] = {}
    unlabelled = 0
    for number, record in iter_jsonl(path):
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise InputError(f'line {number}: expected an object with a string "id"', path)
        domains = record.get("domains")
        if isinstance(domains, str):
            domains = [domains]
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise InputError(f'line {number}: "domains" must be a list of domain names', path)
        unknown = sorted(set(domains) - set(known))
        if unknown:
            raise InputError(
                f"line {number}: unknown domain(s) {', '.join(unknown)} (known: {', '.join(known)})", path
            )
        if record["id"] in gold:
            raise InputError(f"line {number}: id {record['id']!r} labelled twice", path)
        if not domains:
            unlabelled += 1
            continue
        gold[record["id"]] = list(dict.fromkeys(domains))
    if not gold:
        raise InputError("no labelled examples (every 'domains' list is empty)", path)
    return gold, unlabelled


def scorer_names(rule: EnsembleRule) -> list[str]:
    """Each classifier, plus the ensemble when there are several."""
    names = [m.name for m in rule.members]
    return names if rule.combine == "single" else [*names, ENSEMBLE]


def predict(item: AuditItem, scorer: str, overrides: Mapping[str, float] | None = None) -> list[str]:
    """Labels of ``scorer`` on ``item`` (with τ overrides for some domains)."""
    rule = item.rule
    if scorer == ENSEMBLE or rule.combine == "single":
        if overrides:
            rule = rule.with_overrides(thresholds=dict(overrides))
        return rule.decide(item.raw()).domains
    member = rule.member(scorer)
    raw = item.raw()[scorer]
    scores = {d: raw[d] for d in rule.domains if raw.get(d) is not None}
    return decide_domains(scores, {**member.thresholds, **(overrides or {})}, member.delta, rule.general)


def score_of(item: AuditItem, scorer: str, domain: str) -> float | None:
    """The score ``scorer``'s τ for ``domain`` applies to (a classifier: raw; the ensemble: combined)."""
    if scorer == ENSEMBLE or item.rule.combine == "single":
        return item.rule.decide(item.raw()).combined.get(domain)
    return item.raw()[scorer].get(domain)


def threshold_of(rule: EnsembleRule, scorer: str, domain: str) -> float:
    """The τ in force for ``scorer`` and ``domain``."""
    if scorer == ENSEMBLE or rule.combine == "single":
        return rule.thresholds[domain]
    return rule.member(scorer).thresholds[domain]


def _counted_prf(tp: int, predicted: int, gold: int) -> dict[str, float]:
    """Precision, recall and F1 (NaN where undefined: :func:`mlqa_domain.stats.precision_recall_f1`)
    with the counts they come from."""
    return {**prf_scores(tp, predicted, gold), "support": gold, "predicted": predicted, "tp": tp}


def _mean_defined(values: Sequence[float]) -> float:
    """The mean of the defined (non-NaN) values; NaN when there is none."""
    defined = [value for value in values if not math.isnan(value)]
    return float(np.mean(defined)) if defined else math.nan


def multilabel_metrics(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict:
    """Per-label precision/recall/F1 plus micro and macro averages."""
    tp: Counter = Counter()
    n_pred: Counter = Counter()
    n_gold: Counter = Counter()
    for g, p in zip(gold, pred, strict=True):
        n_gold.update(set(g))
        n_pred.update(set(p))
        tp.update(set(g) & set(p))
    per_label = {label: _counted_prf(tp[label], n_pred[label], n_gold[label]) for label in labels}
    micro = _counted_prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    present = [label for label in labels if n_gold[label] or n_pred[label]]
    macro = {
        key: _mean_defined([per_label[label][key] for label in present])
        for key in ("precision", "recall", "f1")
    }
    exact = sum(set(g) == set(p) for g, p in zip(gold, pred, strict=True))
    return {
        "per_label": per_label,
        "micro": micro,
        "macro": macro,
        "exact_match": exact / len(gold) if gold else 0.0,
        "count": len(gold),
    }


def confusion_matrix(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict[str, Any]:
    """Counts of (primary gold, primary predicted); rows are gold, columns predicted."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g[0]]][index[p[0]]] += 1
    return {"labels": list(labels), "matrix": matrix}


def sweep_grid(values: Sequence[float], current: float, steps: int) -> list[float]:
    """``steps`` evenly spaced τ over the observed scores, plus the current τ."""
    if not values:
        return [round(current, SCORE_DIGITS)]
    low, high = float(min(values)), float(max(values))
    grid = {round(float(t), SCORE_DIGITS) for t in np.linspace(low, high, max(steps, 2))}
    grid.add(round(current, SCORE_DIGITS))
    return sorted(grid)


def threshold_sweep(
    items: Sequence[AuditItem], gold: Sequence[Sequence[str]], scorer: str, steps: int
) -> dict[str, list[dict[str, float]]]:
    """Per domain: precision/recall/F1 of that domain as its τ moves."""
    rule = items[0].rule
    out: dict[str, list[dict[str, float]]] = {}
    for domain in rule.domains:
        values = [s for s in (score_of(item, scorer, domain) for item in items) if s is not None]
        rows = []
        for tau in sweep_grid(values, threshold_of(rule, scorer, domain), steps):
            pred = [predict(item, scorer, {domain: tau}) for item in items]
            counts = multilabel_metrics(gold, pred, [domain])["per_label"][domain]
            rows.append({"tau": tau, **{k: counts[k] for k in ("precision", "recall", "f1", "predicted")}})
        out[domain] = rows
    return out


def run_audit(
    labels: str | Path, settings: AuditSettings, rows: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The whole audit report (JSON-friendly)."""
    data = settings.data
    items_all = audit_items(rows if rows is not None else load_rows(data, settings.splits))
    if not items_all:
        raise InputError("the dataset has no rows", data)
    rule = items_all[0].rule
    label_names = [*rule.domains, rule.general]
    gold_by_id, unlabelled = read_gold(labels, label_names)
    items = [item for item in items_all if item.id in gold_by_id]
    if not items:
        raise InputError("none of the labelled ids is in the dataset", labels)
    found = {item.id for item in items}
    missing = sorted(set(gold_by_id) - found)
    gold = [gold_by_id[item.id] for item in items]
    report: dict[str, Any] = {
        "data": str(data),
        "labels_file": str(labels),
        "labels": label_names,
        "combine": rule.combine,
        "labelled_ids": len(gold_by_id),
        "unlabelled_ids": unlabelled,
        "missing_ids": missing,
        "items": len(items),
        "scorers": {},
    }
    for scorer in scorer_names(rule):
        pred = [predict(item, scorer) for item in items]
        entry = {
            "metrics": multilabel_metrics(gold, pred, label_names),
            "confusion": confusion_matrix(gold, pred, label_names),
            "thresholds": {d: threshold_of(rule, scorer, d) for d in rule.domains},
        }
        if not (scorer == ENSEMBLE and rule.combine == "vote"):
            entry["sweep"] = threshold_sweep(items, gold, scorer, settings.steps)
        report["scorers"][scorer] = entry
    return report


def fit_calibration(labels: str | Path, settings: AuditSettings) -> dict[str, Any]:
    """Per classifier, per domain logistic calibration fitted on the labelled sample.

    Returns ``{classifier: {"type": "logistic", "slope": {...}, "center": {...}}}`` for the taxonomy's
    ``calibration`` keys; domains that can't be fitted (one class only, no positive slope) are left out.
    """
    items_all = audit_items(load_rows(settings.data, settings.splits))
    rule = items_all[0].rule
    gold_by_id, _ = read_gold(labels, [*rule.domains, rule.general])
    items = [item for item in items_all if item.id in gold_by_id]
    if not items:
        raise InputError("none of the labelled ids is in the dataset", labels)
    out: dict[str, Any] = {}
    for member in rule.members:
        slopes, centers = {}, {}
        for domain in rule.domains:
            pairs = [
                (item.raw()[member.name][domain], domain in gold_by_id[item.id])
                for item in items
                if item.raw()[member.name].get(domain) is not None
            ]
            fitted = fit_logistic([s for s, _ in pairs], [y for _, y in pairs]) if pairs else None
            if fitted:
                slopes[domain], centers[domain] = round(fitted[0], 4), round(fitted[1], 4)
        if slopes:
            out[member.name] = {"type": "logistic", "slope": slopes, "center": centers}
    return out


def plot_sweeps(report: Mapping[str, Any], path: str | Path) -> Path:
    """A PNG grid (scorer x domain) of precision/recall/F1 against τ, the τ in force dashed."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlqa_domain.atomic import write_bytes_atomic

    scorers = [(name, entry) for name, entry in report["scorers"].items() if "sweep" in entry]
    if not scorers:
        raise InputError("nothing to plot (a vote ensemble has no threshold sweep)")
    domains = list(scorers[0][1]["sweep"])
    fig, axes = plt.subplots(
        len(scorers), len(domains), figsize=(3.2 * len(domains), 2.6 * len(scorers)), squeeze=False
    )
    for row, (name, entry) in enumerate(scorers):
        for col, domain in enumerate(domains):
            ax = axes[row][col]
            points = entry["sweep"][domain]
            taus = [p["tau"] for p in points]
            for key, style in (("precision", "-o"), ("recall", "-s"), ("f1", "-^")):
                ax.plot(taus, [p[key] for p in points], style, markersize=3, label=key)
            ax.axvline(entry["thresholds"][domain], color="grey", linestyle="--", linewidth=1)
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(f"{name}: {domain}", fontsize=9)
            ax.set_xlabel("τ", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())
    return Path(path)


def near_threshold(item: AuditItem, margin: float) -> bool:
    """Whether the best combined score is within ``margin`` of the τ (vote: the quorum) it meets or misses."""
    if not item.domain_scores:
        return False
    best = max(item.domain_scores, key=lambda d: item.domain_scores[d])
    tau = item.rule.vote_quorum if item.rule.combine == "vote" else item.rule.thresholds[best]
    return abs(item.domain_scores[best] - tau) <= margin


def sample_for_audit(rows: Sequence[Mapping[str, Any]], settings: SampleSettings) -> list[dict[str, Any]]:
    """A stratified sample of ids: equal shares per primary predicted domain and for near-threshold items.

    One context per id (English when there is one). Shares a stratum can't fill go to the others.
    Each record has the context, predicted domains and scores, its stratum and an empty ``domains``.
    """
    by_id: dict[str, AuditItem] = {}
    for item in sorted(
        audit_items(rows), key=lambda i: (i.context_language != PIVOT_LANGUAGE, i.context_language)
    ):
        by_id.setdefault(item.id, item)
    items = sorted(by_id.values(), key=lambda item: item.id)
    strata: dict[str, list[AuditItem]] = defaultdict(list)
    for item in items:
        key = "near_threshold" if near_threshold(item, settings.margin) else f"predicted:{item.domains[0]}"
        strata[key].append(item)
    rng = random.Random(settings.seed)
    pools = {}
    for key in sorted(strata):
        pool = list(strata[key])
        rng.shuffle(pool)
        pools[key] = pool
    taken: dict[str, list[AuditItem]] = {key: [] for key in pools}
    remaining = min(settings.n, len(items))
    while remaining > 0:
        open_strata = [key for key in pools if pools[key]]
        share = max(1, remaining // len(open_strata))
        for key in open_strata:
            take = min(share, len(pools[key]), remaining)
            taken[key].extend(pools[key][:take])
            del pools[key][:take]
            remaining -= take
            if remaining == 0:
                break
    records = [
        {
            "id": item.id,
            "stratum": key,
            "context_language": item.context_language,
            "title": item.title,
            "context": item.context,
            "predicted": item.domains,
            "domain_scores": item.domain_scores,
            "classifier_scores": item.classifier_scores,
            "domains": [],
        }
        for key, chosen in taken.items()
        for item in chosen
    ]
    rng.shuffle(records)
    return records
