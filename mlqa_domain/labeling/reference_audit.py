"""Figures of a domain classifier against the reference set: precision, recall, F1 with CIs, confusion.

Precision and recall are per domain over paragraphs (multi-label: a paragraph may be gold and
predicted for several domains). 95% CIs come from a bootstrap over *articles* (paragraphs of one
article are not independent evidence). ``clear`` drops, for each domain, the paragraphs marked
borderline for that domain; ``random pool`` keeps only the paragraphs drawn at random (the natural
mix of topics, without the paragraphs retrieval proposed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlqa_domain.configs import GENERAL
from mlqa_domain.embeddings import TextEncoder
from mlqa_domain.hashing import sha256_file
from mlqa_domain.labeling.classifiers.domain_head import DomainHead
from mlqa_domain.labeling.domain_head_training import (
    EmbeddedReference,
    HeadSettings,
    NestedResult,
    embed_reference,
    nested_evaluation,
    precision_curve,
    probe_embedding,
    train_head,
)
from mlqa_domain.labeling.reference import (
    GUIDELINES_VERSION,
    default_reference_path,
    join_reference,
    load_reference_labels,
)
from mlqa_domain.labeling.taxonomy import default_taxonomy_path, load_taxonomy
from mlqa_domain.stats import cluster_resample_sums, percentile_ci, precision_recall_f1, seed_for

logger = logging.getLogger(__name__)
SHIPPED_HEAD = "heads/minilm-l6-v2-domains.safetensors"  # beside the shipped taxonomy


def domain_metrics(
    gold: np.ndarray,
    predicted: np.ndarray,
    groups: np.ndarray,
    domains: Sequence[str],
    keep: np.ndarray | None = None,
    n_resamples: int = 1000,
) -> dict[str, dict[str, Any]]:
    """Per domain: precision, recall, F1, counts and article-bootstrap 95% CIs.

    ``keep`` (n, n_domains) bool leaves paragraphs out of one domain's figures (e.g. borderline ones).
    """
    articles, article_index = np.unique(groups, return_inverse=True)
    out: dict[str, dict[str, Any]] = {}
    for k, domain in enumerate(domains):
        mask = np.ones(len(gold), dtype=bool) if keep is None else keep[:, k]
        g, p = gold[mask, k], predicted[mask, k]
        counts = np.zeros((len(articles), 3))
        np.add.at(counts, article_index[mask], np.stack([g & p, p, g], axis=1).astype(float))
        precision, recall, f1 = (float(v) for v in precision_recall_f1(*counts.sum(axis=0)))
        draws = cluster_resample_sums(counts, n_resamples, seed_for(domain))
        ci_p, ci_r, ci_f = precision_recall_f1(draws[:, 0], draws[:, 1], draws[:, 2])
        out[domain] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "tp": int(counts[:, 0].sum()),
            "predicted": int(counts[:, 1].sum()),
            "support": int(counts[:, 2].sum()),
            "paragraphs": int(mask.sum()),
            "ci95": {
                "precision": percentile_ci(ci_p),
                "recall": percentile_ci(ci_r),
                "f1": percentile_ci(ci_f),
            },
        }
    return out


def domain_confusion(
    gold: np.ndarray, predicted: np.ndarray, domains: Sequence[str], general: str = GENERAL
) -> dict[str, Any]:
    """Counts of (gold label, predicted label) pairs; a paragraph with no domain counts as ``general``.

    A paragraph adds one to every pair of its gold and predicted labels, so the diagonal counts
    agreements and the rest shows which domain is mistaken for which.
    """
    labels = [*domains, general]
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for g_row, p_row in zip(gold, predicted, strict=True):
        g_set = np.flatnonzero(g_row).tolist() or [len(domains)]
        p_set = np.flatnonzero(p_row).tolist() or [len(domains)]
        for i in g_set:
            for j in p_set:
                matrix[i, j] += 1
    return {"labels": labels, "matrix": matrix.tolist()}


def sweep(
    scores: np.ndarray,
    gold: np.ndarray,
    domains: Sequence[str],
    keep: np.ndarray | None = None,
    steps: int = 41,
) -> dict[str, list]:
    """Per domain, precision/recall/F1 at τ on a fixed grid over [0, 1] (probabilities)."""
    out: dict[str, list] = {}
    for k, domain in enumerate(domains):
        mask = np.ones(len(gold), dtype=bool) if keep is None else keep[:, k]
        rows = []
        for tau in np.linspace(0.0, 1.0, steps):
            predicted = scores[mask, k] >= tau
            tp = int((predicted & gold[mask, k]).sum())
            precision, recall, f1 = (
                float(v) for v in precision_recall_f1(tp, predicted.sum(), gold[mask, k].sum())
            )
            rows.append(
                {
                    "tau": round(float(tau), 4),
                    "precision": precision,
                    "recall": recall,
                    "f1": f1,
                    "predicted": int(predicted.sum()),
                }
            )
        out[domain] = rows
    return out


def recall_at_precision(scores: np.ndarray, gold: np.ndarray, target: float) -> float:
    """The best recall any τ reaches with precision ≥ ``target`` (0 if none): the curve's ceiling."""
    _, precision, recall = precision_curve(scores, gold)
    ok = precision >= target
    return float(recall[ok].max()) if ok.any() else 0.0


def evaluation_block(
    gold: np.ndarray,
    predicted: np.ndarray,
    borderline: np.ndarray,
    groups: np.ndarray,
    random_pool: np.ndarray,
    domains: Sequence[str],
    n_resamples: int = 1000,
) -> dict[str, Any]:
    """Figures of one prediction matrix: clear paragraphs, all paragraphs, clear paragraphs of the
    random pool; and the confusion."""
    return {
        "clear": domain_metrics(gold, predicted, groups, domains, keep=~borderline, n_resamples=n_resamples),
        "all": domain_metrics(gold, predicted, groups, domains, n_resamples=n_resamples),
        "random_pool": domain_metrics(
            gold[random_pool],
            predicted[random_pool],
            groups[random_pool],
            domains,
            keep=~borderline[random_pool],
            n_resamples=n_resamples,
        ),
        "confusion": domain_confusion(gold, predicted, domains),
    }


def summary(block: dict[str, Any], view: str = "clear") -> dict[str, dict[str, Any]]:
    """Per domain precision/recall/F1 with CIs of one view, rounded (for the head metadata and the card)."""
    out = {}
    for domain, m in block[view].items():
        out[domain] = {
            "precision": round(m["precision"], 3),
            "recall": round(m["recall"], 3),
            "f1": round(m["f1"], 3),
            "support": m["support"],
            "ci95": {k: [round(v[0], 3), round(v[1], 3)] for k, v in m["ci95"].items()},
        }
    return out


def held_out_report(
    data: EmbeddedReference,
    settings: HeadSettings,
    n_resamples: int = 1000,
    served: dict[str, np.ndarray] | None = None,
    refine_margin: float = 0.0,
) -> tuple[dict[str, Any], NestedResult]:
    """Nested, article-grouped evaluation of training a domain head with ``settings`` (see
    domain_head_training); with ``served``, held-out predictions come from those vectors as a build would
    serve them."""
    nested = nested_evaluation(data, settings, served, refine_margin)
    pool = data.random_pool()
    formats = {
        name: evaluation_block(
            data.gold, nested.predictions[name], data.borderline, data.groups, pool, data.domains, n_resamples
        )
        for name in nested.predictions
    }
    ceiling = {
        name: {
            d: round(
                recall_at_precision(
                    probs[~data.borderline[:, k], k],
                    data.gold[~data.borderline[:, k], k],
                    settings.min_precision,
                ),
                3,
            )
            for k, d in enumerate(data.domains)
        }
        for name, probs in nested.probabilities.items()
    }
    report = {
        "settings": {**settings.__dict__},
        "paragraphs": len(data.items),
        "articles": int(len(np.unique(data.groups))),
        "random_pool_paragraphs": int(pool.sum()),
        "positives": {d: int(data.gold[:, k].sum()) for k, d in enumerate(data.domains)},
        "borderline": {d: int(data.borderline[:, k].sum()) for k, d in enumerate(data.domains)},
        "formats": formats,
        "fold_thresholds": nested.fold_thresholds,
        "best_recall_at_target_precision": ceiling,
        "sweep": sweep(nested.probabilities["title_context"], data.gold, data.domains, keep=~data.borderline),
    }
    return report, nested


def prototype_predictions(data: EmbeddedReference, classifier, thresholds, delta: float) -> np.ndarray:
    """(n, n_domains) labels of a prototype (embedding) classifier on the reference contexts."""
    from mlqa_domain.labeling.ensemble import decide_domains

    scores = classifier.scores([item.context for item in data.items])
    predicted = np.zeros(data.gold.shape, dtype=bool)
    for i, row in enumerate(scores):
        chosen = decide_domains(dict(zip(data.domains, map(float, row), strict=True)), thresholds, delta)
        for k, domain in enumerate(data.domains):
            predicted[i, k] = domain in chosen
    return predicted


def plot_reference_sweep(report: dict[str, Any], thresholds: dict[str, float], path) -> None:
    """PNG: per domain, held-out precision and recall against τ, the shipped τ dashed, the target dotted."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlqa_domain.atomic import write_bytes_atomic

    domains = list(report["sweep"])
    fig, axes = plt.subplots(1, len(domains), figsize=(3.4 * len(domains), 3.0), squeeze=False)
    target = report["settings"]["min_precision"]
    for ax, domain in zip(axes[0], domains, strict=True):
        points = report["sweep"][domain]
        taus = [p["tau"] for p in points]
        for key, style in (("precision", "-o"), ("recall", "-s"), ("f1", "-^")):
            ax.plot(taus, [p[key] for p in points], style, markersize=2.5, label=key)
        ax.axvline(thresholds[domain], color="grey", linestyle="--", linewidth=1)
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(domain, fontsize=9)
        ax.set_xlabel("τ (head probability)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("held-out articles (nested CV), clear paragraphs", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())


def embedded_reference(
    squad: Path,
    reference: Path | None,
    taxonomy: Path | None,
    model: str,
    cache_dir: Path | None,
    backend: str = "torch",
) -> tuple[EmbeddedReference, TextEncoder]:
    """The reference labels joined with ``squad`` and embedded with ``model``; and the encoder."""
    domains = load_taxonomy(taxonomy).domain_names
    items, missing = join_reference(squad, load_reference_labels(reference, known=domains))
    logger.info(
        "reference: %d labelled paragraphs from %d articles found in %s%s",
        len(items),
        len({i.title for i in items}),
        squad.name,
        f" ({missing} labels have no paragraph in it)" if missing else "",
    )
    encoder = TextEncoder(model, cache_dir=cache_dir, backend=backend)
    return embed_reference(items, encoder, domains), encoder


def train_reference_head(
    squad: Path,
    embedding_model: str,
    settings: HeadSettings,
    reference: Path | None = None,
    taxonomy: Path | None = None,
    cache_dir: Path | None = None,
) -> tuple[DomainHead, dict[str, Any]]:
    """A head trained on every reference paragraph, and the held-out report of its recipe."""
    data, encoder = embedded_reference(
        squad, reference, taxonomy, embedding_model, cache_dir, settings.embedding_backend
    )
    report, _ = held_out_report(data, settings)
    reference_path = reference or default_reference_path()
    info = {
        "guidelines_version": GUIDELINES_VERSION,
        "reference": {"file": reference_path.name, "sha256": sha256_file(reference_path)},
        "held_out": {
            "method": f"nested {settings.folds}-fold CV grouped by article; paragraphs not marked borderline",
            "title_context": summary(report["formats"]["title_context"]),
            "context": summary(report["formats"]["context"]),
        },
    }
    head, _ = train_head(data, embedding_model, probe_embedding(encoder), settings, info=info)
    return head, report


def audit_reference(
    squad: Path,
    head_path: Path | None = None,
    reference: Path | None = None,
    taxonomy: Path | None = None,
    cache_dir: Path | None = None,
    embedding_backend: str | None = None,
) -> tuple[dict[str, Any], DomainHead]:
    """Held-out figures of the (shipped) head's recipe, and of the prototypes, on the reference set.

    The head is trained and tuned on the backend it was shipped with (``settings.embedding_backend``);
    ``embedding_backend`` is the route a build serves it with: when it differs (e.g. onnx-int8),
    held-out paragraphs are scored from that backend's vectors with the build's refinement margin.
    """
    from mlqa_domain.labeling.classifiers.domain_head import REFINE_MARGIN
    from mlqa_domain.labeling.classifiers.embedding import EmbeddingClassifier

    tax = load_taxonomy(taxonomy)
    head_path = head_path or default_taxonomy_path().parent / SHIPPED_HEAD
    head = DomainHead.load(head_path)
    settings = HeadSettings(**head.info.get("settings", {}))
    data, encoder = embedded_reference(
        squad, reference, taxonomy, head.embedding_model, cache_dir, settings.embedding_backend
    )
    served, margin = None, 0.0
    if embedding_backend and embedding_backend != settings.embedding_backend:
        served_data, _ = embedded_reference(
            squad, reference, taxonomy, head.embedding_model, cache_dir, embedding_backend
        )
        served = served_data.inputs
        margin = REFINE_MARGIN if embedding_backend == "onnx-int8" else 0.0
    report, _ = held_out_report(data, settings, served=served, refine_margin=margin)
    report["settings"]["served_backend"] = embedding_backend or settings.embedding_backend
    report["settings"]["refine_margin"] = margin
    prototypes = EmbeddingClassifier.from_taxonomy(encoder, tax)
    report["prototypes"] = evaluation_block(
        data.gold,
        prototype_predictions(data, prototypes, tax.thresholds, tax.classification.delta),
        data.borderline,
        data.groups,
        data.random_pool(),
        data.domains,
    )
    report["head"] = {"file": head_path.name, "thresholds": head.thresholds}
    return report, head
