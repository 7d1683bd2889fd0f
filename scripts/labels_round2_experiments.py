"""Labels round 2: held-out precision/recall of head recipes on the reference set (issue 22).

Every variant is measured with the same nested, article-grouped protocol as `mlqa-domain train-head`
(outer 5-fold CV by article; thresholds chosen on inner out-of-fold scores at the precision target;
figures on held-out articles, paragraphs not marked borderline; 95% CIs over articles), on the
``title. context`` input a build serves. Prints one line per variant and domain: precision and recall
with CIs on clear paragraphs, and on the clear paragraphs of the random pools (the natural topic mix).

* ``chunks-*``: each paragraph's context is split into sentences (spaCy's sentencizer) and grouped
  into two-sentence pieces, each embedded like the paragraph (``title. piece``, or the bare piece for
  the context-only input); the head reads ``[paragraph ; mean(pieces) ; max(pieces)]``. Also prints the
  encoder cost: pieces per paragraph, tokens, and seconds against the paragraph encode (uncached, on a
  sample, in the same run).
* ``mlp-C1-platt`` / ``mlp-C1-isotonic``: per domain, a calibrator fitted on the inner out-of-fold
  scores of each outer fold maps the scores; τ is chosen on the calibrated inner scores at the same
  precision target and applied to the calibrated held-out scores. Also counts the paragraphs whose label
  set differs from the uncalibrated head's (same folds, same fits).

    python scripts/labels_round2_experiments.py --squad train-v1.1.json [--variants logreg-C1,mlp-C1]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlqa_domain.embeddings import TextEncoder
from mlqa_domain.labeling.domain_head_training import (
    EmbeddedReference,
    HeadSettings,
    article_folds,
    choose_thresholds,
    fitter,
    out_of_fold,
    route_probabilities,
    training_matrix,
)
from mlqa_domain.labeling.reference import classifier_input
from mlqa_domain.labeling.reference_audit import embedded_reference, evaluation_block, held_out_report

MODEL = "sentence-transformers/all-MiniLM-L6-v2"

VARIANTS = {
    "logreg-C0.5": HeadSettings(kind="logreg", strength=0.5),
    "logreg-C1": HeadSettings(kind="logreg", strength=1.0),
    "logreg-C2": HeadSettings(kind="logreg", strength=2.0),
    "logreg-C4": HeadSettings(kind="logreg", strength=4.0),
    "mlp-C1": HeadSettings(kind="mlp", strength=1.0),
    "logreg-C1-random-tau": HeadSettings(kind="logreg", strength=1.0, threshold_pool="random"),
    "logreg-C1-p0.91": HeadSettings(kind="logreg", strength=1.0, min_precision=0.91),
}
# the head reads [paragraph ; mean(pieces) ; max(pieces)] (1,152 dimensions)
CHUNK_VARIANTS = {
    "chunks-mlp-C1": HeadSettings(kind="mlp", strength=1.0),
    "chunks-logreg-C1": HeadSettings(kind="logreg", strength=1.0),
}
# the shipped recipe, its scores calibrated per domain on inner folds before τ is chosen
CALIBRATED_VARIANTS = {
    "mlp-C1-platt": (HeadSettings(kind="mlp", strength=1.0), "platt"),
    "mlp-C1-isotonic": (HeadSettings(kind="mlp", strength=1.0), "isotonic"),
}
ALL_VARIANTS = [*VARIANTS, *CHUNK_VARIANTS, *CALIBRATED_VARIANTS]
SENTENCES_PER_PIECE = 2


def sentence_pieces(contexts: Sequence[str], per_piece: int = SENTENCES_PER_PIECE) -> list[list[str]]:
    """Each context cut into pieces of ``per_piece`` consecutive sentences (spaCy's sentencizer)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    pieces = []
    for doc in nlp.pipe(contexts, batch_size=256):
        sentences = [s.text.strip() for s in doc.sents if s.text.strip()]
        groups = [" ".join(sentences[i : i + per_piece]) for i in range(0, len(sentences), per_piece)]
        pieces.append(groups or [doc.text])
    return pieces


def piece_texts(data: EmbeddedReference, pieces: list[list[str]]) -> dict[str, list[list[str]]]:
    """Per input format, the texts of each paragraph's pieces (``title. piece`` / the bare piece)."""
    return {
        "title_context": [
            [classifier_input(p, item.title) for p in group]
            for item, group in zip(data.items, pieces, strict=True)
        ],
        "context": pieces,
    }


def chunked_reference(
    data: EmbeddedReference, encoder: TextEncoder, pieces: list[list[str]]
) -> EmbeddedReference:
    """``data`` with every input ``[paragraph ; mean(pieces) ; max(pieces)]`` (pieces encoded, cached)."""
    inputs = {}
    for name, groups in piece_texts(data, pieces).items():
        flat = [text for group in groups for text in group]
        vectors = encoder.encode(flat, show_progress=True)
        bounds = np.cumsum([0, *map(len, groups)])
        mean = np.stack([vectors[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
        peak = np.stack([vectors[a:b].max(axis=0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
        inputs[name] = np.hstack([data.inputs[name], mean, peak]).astype(np.float32)
    return EmbeddedReference(data.items, data.domains, inputs, data.gold, data.borderline, data.groups)


def encoder_cost(
    data: EmbeddedReference, pieces: list[list[str]], sample: int, repeats: int = 2
) -> dict[str, Any]:
    """What the pieces cost a build (``title. context`` input): pieces and tokens per paragraph over
    every paragraph, and uncached fp32 encoder seconds of ``sample`` paragraphs against their pieces
    (alternated ``repeats`` times, after a warm-up, so both see the same machine load)."""
    encoder = TextEncoder(MODEL, backend="torch", use_cache=False)
    paragraphs = [classifier_input(item.context, item.title) for item in data.items]
    titled = piece_texts(data, pieces)["title_context"]
    flat = [text for group in titled for text in group]
    tokenizer, limit = encoder.model.tokenizer, encoder.model.max_seq_length

    def tokens(texts: list[str]) -> int:
        return sum(len(ids) for ids in tokenizer(texts, truncation=True, max_length=limit)["input_ids"])

    paragraph_tokens, piece_tokens = tokens(paragraphs), tokens(flat)
    chosen = np.random.default_rng(0).choice(
        len(paragraphs), size=min(sample, len(paragraphs)), replace=False
    )
    some_paragraphs = [paragraphs[i] for i in chosen]
    some_pieces = [text for i in chosen for text in titled[i]]
    encoder.encode(some_paragraphs[:64])  # warm-up: model load, first batches
    seconds = {"paragraphs": 0.0, "pieces": 0.0}
    for _ in range(repeats):
        for kind, texts in (("paragraphs", some_paragraphs), ("pieces", some_pieces)):
            started = time.perf_counter()
            encoder.encode(texts)
            seconds[kind] += time.perf_counter() - started
    return {
        "paragraphs": len(paragraphs),
        "pieces": len(flat),
        "pieces_per_paragraph": len(flat) / len(paragraphs),
        "piece_tokens_over_paragraph_tokens": piece_tokens / paragraph_tokens,
        "timed_paragraphs": len(chosen),
        "timed_pieces": len(some_pieces),
        "seconds": {k: v / repeats for k, v in seconds.items()},
        "piece_seconds_over_paragraph_seconds": seconds["pieces"] / seconds["paragraphs"],
    }


class Calibrator:
    """Per domain, a monotone map of head probabilities: Platt (logistic on the logit) or isotonic."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.models: list[Any] = []

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))[:, None]

    def fit(self, scores: np.ndarray, gold: np.ndarray, counted: np.ndarray) -> Calibrator:
        """Fit one map per domain column on the ``counted`` rows."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        self.models = []
        for k in range(scores.shape[1]):
            s, y = scores[counted[:, k], k], gold[counted[:, k], k]
            if self.method == "platt":
                model = LogisticRegression(C=1e6, max_iter=5000).fit(self._logit(s), y)
            elif self.method == "isotonic":
                model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
            else:
                raise ValueError(f"unknown calibration {self.method!r}")
            self.models.append(model)
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """The calibrated scores, (n, n_domains)."""
        columns = []
        for k, model in enumerate(self.models):
            if self.method == "platt":
                columns.append(model.predict_proba(self._logit(scores[:, k]))[:, 1])
            else:
                columns.append(model.predict(scores[:, k]))
        return np.stack(columns, axis=1)


def _identity(scores: np.ndarray) -> np.ndarray:
    return scores


def calibrated_nested(
    data: EmbeddedReference, settings: HeadSettings, methods: Sequence[str]
) -> dict[str, dict[str, np.ndarray]]:
    """``nested_evaluation`` with each calibration in ``methods`` (and ``raw``, none) on the same folds
    and fits: per method and input format, the (n, n_domains) held-out predictions."""
    fit, n_folds, seed = fitter(settings), settings.folds, settings.seed
    methods = ["raw", *methods]
    predictions = {m: {f: np.zeros(data.gold.shape, dtype=bool) for f in data.inputs} for m in methods}
    everything = np.arange(len(data.items))
    for number, test in enumerate(article_folds(data.groups, n_folds, seed)):
        train = data.subset(np.setdiff1d(everything, test))
        inner = article_folds(train.groups, n_folds, seed + number + 1)
        oof = out_of_fold(train, inner, fit)
        layers = fit(*training_matrix(train))
        held_out = {
            name: route_probabilities(layers, np.zeros(0), x[test], None, 0.0)
            for name, x in data.inputs.items()
        }
        # the calibrators see the rows the thresholds are chosen on: every format, no borderline rows
        pooled = np.vstack([oof[f] for f in oof])
        gold = np.vstack([train.gold for _ in oof])
        counted = np.vstack([~train.borderline for _ in oof])
        if settings.threshold_pool == "random":
            counted &= np.vstack([train.random_pool()[:, None] for _ in oof])
        for method in methods:
            calibrate = (
                _identity if method == "raw" else Calibrator(method).fit(pooled, gold, counted).transform
            )
            thresholds = choose_thresholds({f: calibrate(p) for f, p in oof.items()}, train, settings)
            tau = np.array([thresholds[d] for d in data.domains])
            for name, probs in held_out.items():
                predictions[method][name][test] = calibrate(probs) >= tau
        print(f"  outer fold {number + 1}/{n_folds}", flush=True)
    return predictions


def print_block(name: str, block: dict[str, Any], domains: Sequence[str]) -> None:
    """One line per domain: clear precision/recall with CIs, and the random pool's."""
    for domain in domains:
        clear, pool = block["clear"][domain], block["random_pool"][domain]
        ci = clear["ci95"]
        print(
            f"{name:22s} {domain:10s} P {clear['precision']:.3f} [{ci['precision'][0]:.2f}, "
            f"{ci['precision'][1]:.2f}]  R {clear['recall']:.3f} [{ci['recall'][0]:.2f}, "
            f"{ci['recall'][1]:.2f}]  n+ {clear['support']:4d} | random pool P {pool['precision']:.3f} "
            f"R {pool['recall']:.3f} n+ {pool['support']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--reference", type=Path, default=None, help="labels file (default: shipped)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"of {', '.join(ALL_VARIANTS)}")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="embedding cache (default: the package's)"
    )
    parser.add_argument("--cost-sample", type=int, default=500, help="paragraphs timed for the chunk cost")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = args.variants.split(",")
    unknown = [n for n in names if n not in ALL_VARIANTS]
    if unknown:
        parser.error(f"unknown variants {', '.join(unknown)} (known: {', '.join(ALL_VARIANTS)})")
    data, encoder = embedded_reference(args.squad, args.reference, None, MODEL, args.cache_dir, "torch")
    pool = data.random_pool()
    print(f"{len(data.items)} paragraphs, {int(pool.sum())} in the random pools")
    results: dict[str, Any] = {}
    chunked, cost, calibrated = None, None, {}
    for name in names:
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        if name in CALIBRATED_VARIANTS:
            settings, method = CALIBRATED_VARIANTS[name]
            if method not in calibrated:  # one nested run (the slow MLP fits) serves every calibration
                wanted = sorted(
                    {m for n, (s, m) in CALIBRATED_VARIANTS.items() if n in names and s == settings}
                )
                calibrated.update(calibrated_nested(data, settings, wanted))
                raw_block = evaluation_block(
                    data.gold,
                    calibrated["raw"]["title_context"],
                    data.borderline,
                    data.groups,
                    pool,
                    data.domains,
                )
                print_block("(uncalibrated)", raw_block, data.domains)
            predicted, raw = calibrated[method]["title_context"], calibrated["raw"]["title_context"]
            block = evaluation_block(data.gold, predicted, data.borderline, data.groups, pool, data.domains)
            changed = (predicted != raw).any(axis=1)
            extra = {
                "changed_label_sets": int(changed.sum()),
                "changed_clear_labels": {
                    d: int(((predicted[:, k] != raw[:, k]) & ~data.borderline[:, k]).sum())
                    for k, d in enumerate(data.domains)
                },
                "changed_label_sets_context_input": int(
                    (calibrated[method]["context"] != calibrated["raw"]["context"]).any(axis=1).sum()
                ),
            }
        else:
            if name in CHUNK_VARIANTS:
                settings = CHUNK_VARIANTS[name]
                if chunked is None:
                    pieces = sentence_pieces([item.context for item in data.items])
                    chunked = chunked_reference(data, encoder, pieces)
                    cost = encoder_cost(data, pieces, args.cost_sample)
                    print(f"  chunk cost: {json.dumps(cost, default=float)}", flush=True)
                extra = {"encoder_cost": cost}
                report, _ = held_out_report(chunked, settings, n_resamples=1000)
            else:
                report, _ = held_out_report(data, VARIANTS[name], n_resamples=1000)
            block = report["formats"]["title_context"]
        results[name] = {**{view: block[view] for view in ("clear", "random_pool", "all")}, **extra}
        print_block(name, block, data.domains)
        if extra and "encoder_cost" not in extra:
            print(f"  {json.dumps(extra)}")
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float), "utf-8")


if __name__ == "__main__":
    main()
