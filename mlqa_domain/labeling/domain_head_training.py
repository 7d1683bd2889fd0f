"""Train a domain head on the reference set and measure it on articles it never saw.

* Inputs: every reference paragraph twice, as ``title. context`` and as the context alone, so the
  head works for sources with titles (official MLQA, SQuAD format) and without (HF-schema files).
* Folds are grouped by article: no article is in both the training and the test part.
* Thresholds: per domain, the lowest τ from which the out-of-fold precision stays ≥ the target
  (default 0.90), chosen on out-of-fold probabilities.
* Evaluation is nested: for each outer fold the head is trained and its thresholds chosen (inner
  grouped folds) on the other articles only, then it labels the held-out articles. So every figure
  comes from paragraphs of articles the head was neither trained nor tuned on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mlqa_domain.errors import ConfigError
from mlqa_domain.labeling.classifiers.domain_head import INPUT_FORMATS, PROBE_TEXT, DomainHead
from mlqa_domain.labeling.reference import ReferenceItem, classifier_input

logger = logging.getLogger(__name__)

DEFAULT_HEAD_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
HEAD_KINDS = ("logreg", "mlp")
# Which paragraphs choose the thresholds: the randomly drawn ones (the natural topic mix, so the
# precision target holds at the prevalence real text has) or every paragraph.
THRESHOLD_POOLS = ("random", "all")
RANDOM_POOLS = ("random", "random2", "random3")
MIN_PREDICTED = 5  # a τ must keep at least this many predictions to count as meeting the precision target


@dataclass
class EmbeddedReference:
    """Reference paragraphs as embeddings (both input formats), gold and borderline marks, articles."""

    items: list[ReferenceItem]
    domains: list[str]
    inputs: dict[str, np.ndarray]
    gold: np.ndarray
    borderline: np.ndarray
    groups: np.ndarray

    def random_pool(self) -> np.ndarray:
        """Which paragraphs were drawn at random (not proposed by retrieval)."""
        return np.array([item.label.pool in RANDOM_POOLS for item in self.items], dtype=bool)

    def subset(self, index: np.ndarray) -> EmbeddedReference:
        """The items at ``index``."""
        return EmbeddedReference(
            [self.items[i] for i in index],
            self.domains,
            {k: v[index] for k, v in self.inputs.items()},
            self.gold[index],
            self.borderline[index],
            self.groups[index],
        )


def embed_reference(items: Sequence[ReferenceItem], encoder, domains: Sequence[str]) -> EmbeddedReference:
    """Embed every item as ``title. context`` and as its context (cached by the encoder)."""
    items = list(items)
    contexts = [item.context for item in items]
    with_title = [classifier_input(item.context, item.title) for item in items]
    embedded = encoder.encode(with_title + contexts, show_progress=True)
    titles = sorted({item.title for item in items})
    group_of = {title: number for number, title in enumerate(titles)}
    return EmbeddedReference(
        items=items,
        domains=list(domains),
        inputs={"title_context": embedded[: len(items)], "context": embedded[len(items) :]},
        gold=np.array([[d in item.label.domains for d in domains] for item in items], dtype=bool),
        borderline=np.array([[d in item.label.borderline for d in domains] for item in items], dtype=bool),
        groups=np.array([group_of[item.title] for item in items]),
    )


@dataclass(frozen=True)
class HeadSettings:
    """How a head is trained and its thresholds chosen."""

    kind: str = "logreg"
    strength: float = 1.0
    folds: int = 5
    # chosen on out-of-fold scores with a margin over the 0.90 wanted on held-out articles
    min_precision: float = 0.92
    exclude_borderline: bool = True
    threshold_pool: str = "all"
    seed: int = 0
    # the fp32 reference route (the shipped head); a build's default CPU route (onnx-int8) gives
    # embeddings within 0.99 cosine of these, see docs/classifiers.md
    embedding_backend: str = "torch"

    def __post_init__(self) -> None:
        if self.kind not in HEAD_KINDS:
            raise ConfigError(f"unknown head kind {self.kind!r} (known: {', '.join(HEAD_KINDS)})")
        if self.folds < 2:
            raise ConfigError("at least 2 folds are needed")
        if not 0 < self.min_precision <= 1:
            raise ConfigError("the precision target must be in (0, 1]")
        if self.strength <= 0:
            raise ConfigError("the regularisation strength C must be positive")
        if self.threshold_pool not in THRESHOLD_POOLS:
            raise ConfigError(f"threshold_pool must be one of {', '.join(THRESHOLD_POOLS)}")


def fit_layers(
    features: np.ndarray,
    targets: np.ndarray,
    kind: str = "logreg",
    strength: float = 1.0,
    seed: int = 0,
    use: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fit the head's layers: per-domain logistic regressions, or one multi-label MLP.

    ``use`` (n, n_domains) bool says which rows train each domain (e.g. not the borderline ones);
    the MLP, one model for all domains, trains on the rows every domain may use.
    """
    use = np.ones(targets.shape, dtype=bool) if use is None else use
    if kind == "logreg":
        from sklearn.linear_model import LogisticRegression

        weights, biases = [], []
        for column in range(targets.shape[1]):
            rows = use[:, column]
            y = targets[rows, column]
            if y.all() or not y.any():
                raise ConfigError("every domain needs positive and negative training paragraphs")
            model = LogisticRegression(C=strength, class_weight="balanced", max_iter=5000)
            model.fit(features[rows], y)
            weights.append(model.coef_[0])
            biases.append(model.intercept_[0])
        return [(np.array(weights, dtype=np.float32), np.array(biases, dtype=np.float32))]
    if kind == "mlp":
        from sklearn.neural_network import MLPClassifier

        rows = use.all(axis=1)
        model = MLPClassifier(
            hidden_layer_sizes=(256,), alpha=1e-3 / strength, max_iter=400, random_state=seed
        )
        model.fit(features[rows], targets[rows].astype(int))
        return [
            (np.asarray(w.T, dtype=np.float32), np.asarray(b, dtype=np.float32))
            for w, b in zip(model.coefs_, model.intercepts_, strict=True)
        ]
    raise ConfigError(f"unknown head kind {kind!r} (known: {', '.join(HEAD_KINDS)})")


def training_matrix(
    data: EmbeddedReference, formats: Sequence[str] = INPUT_FORMATS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, targets and the borderline marks, every paragraph once per input format."""
    features = np.vstack([data.inputs[f] for f in formats])
    targets = np.vstack([data.gold for _ in formats])
    borderline = np.vstack([data.borderline for _ in formats])
    return features, targets, borderline


def article_folds(groups: np.ndarray, n_folds: int, seed: int = 0) -> list[np.ndarray]:
    """Test indices of ``n_folds`` folds that never split an article (articles shuffled, then dealt)."""
    articles = np.unique(groups)
    if len(articles) < n_folds:
        raise ConfigError(f"{n_folds} folds need at least {n_folds} articles, got {len(articles)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(articles)
    fold_of = {article: number % n_folds for number, article in enumerate(order)}
    assignment = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(assignment == k) for k in range(n_folds)]


Fitter = Callable[[np.ndarray, np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]]


def fitter(settings: HeadSettings) -> Fitter:
    """``fit(features, targets, borderline) -> layers`` for ``settings``."""

    def fit(features: np.ndarray, targets: np.ndarray, borderline: np.ndarray):
        use = ~borderline if settings.exclude_borderline else None
        return fit_layers(features, targets, settings.kind, settings.strength, settings.seed, use)

    return fit


def _probabilities(layers, embeddings: np.ndarray) -> np.ndarray:
    head = DomainHead([str(i) for i in range(layers[-1][0].shape[0])], layers, {}, "", np.zeros(1))
    return head.probabilities(embeddings)


def out_of_fold(data: EmbeddedReference, folds: Sequence[np.ndarray], fit: Fitter) -> dict[str, np.ndarray]:
    """Per input format, (n, n_domains) probabilities of each item from a head that never saw its article."""
    out = {f: np.zeros(data.gold.shape, dtype=np.float64) for f in data.inputs}
    everything = np.arange(len(data.items))
    for test in folds:
        train = np.setdiff1d(everything, test)
        layers = fit(*training_matrix(data.subset(train)))
        for name, embeddings in data.inputs.items():
            out[name][test] = _probabilities(layers, embeddings[test])
    return out


def precision_curve(scores: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(τ, precision, recall) at every distinct score, τ ascending."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    hits = np.cumsum(gold[order])
    predicted = np.arange(1, len(scores) + 1)
    last = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]  # last position of each distinct score
    tau = sorted_scores[last][::-1]
    precision = (hits[last] / predicted[last])[::-1]
    recall = (hits[last] / max(int(gold.sum()), 1))[::-1]
    return tau, precision, recall


def choose_threshold(scores: np.ndarray, gold: np.ndarray, min_precision: float) -> float:
    """The lowest τ whose precision is ≥ ``min_precision`` (the most recall the target allows).

    Only τ that keep at least MIN_PREDICTED predictions count; when none reaches the target, the τ
    of the best precision is returned.
    """
    tau, precision, _ = precision_curve(scores, gold)
    predicted = np.array([(scores >= t).sum() for t in tau])
    eligible = predicted >= MIN_PREDICTED
    meets = np.flatnonzero(eligible & (precision >= min_precision))
    if len(meets):
        return float(tau[meets[0]])
    candidates = np.flatnonzero(eligible)
    best = candidates[np.argmax(precision[candidates])] if len(candidates) else len(tau) - 1
    return float(tau[best])


def choose_thresholds(
    probabilities: dict[str, np.ndarray], data: EmbeddedReference, settings: HeadSettings
) -> dict[str, float]:
    """Per domain, a τ chosen on out-of-fold probabilities of every input format pooled.

    Paragraphs marked borderline for a domain do not count for its τ (either answer is defensible);
    with ``threshold_pool="random"`` only randomly drawn paragraphs count.
    """
    min_precision = settings.min_precision
    pooled = np.vstack([probabilities[f] for f in probabilities])
    gold = np.vstack([data.gold for _ in probabilities])
    counted = ~data.borderline
    if settings.threshold_pool == "random":
        counted = counted & data.random_pool()[:, None]
    clear = np.vstack([counted for _ in probabilities])
    return {
        d: round(choose_threshold(pooled[clear[:, k], k], gold[clear[:, k], k], min_precision), 6)
        for k, d in enumerate(data.domains)
    }


@dataclass
class NestedResult:
    """Held-out predictions of the nested evaluation, and the thresholds each outer fold chose."""

    probabilities: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    fold_thresholds: list[dict[str, float]]
    folds: list[np.ndarray]


def route_probabilities(
    layers, tau: np.ndarray, trained: np.ndarray, served: np.ndarray | None, refine_margin: float
) -> np.ndarray:
    """Probabilities a build gets: from the ``served`` vectors (e.g. int8 ONNX), except rows within
    ``refine_margin`` of a threshold, which are re-scored from the ``trained`` (fp32) vectors."""
    if served is None:
        return _probabilities(layers, trained)
    probs = _probabilities(layers, served)
    near = np.flatnonzero((np.abs(probs - tau) < refine_margin).any(axis=1))
    if len(near):
        probs[near] = _probabilities(layers, trained[near])
    return probs


def nested_evaluation(
    data: EmbeddedReference,
    settings: HeadSettings,
    served: dict[str, np.ndarray] | None = None,
    refine_margin: float = 0.0,
) -> NestedResult:
    """Train + choose thresholds on the other articles, predict each held-out fold (see module doc).

    With ``served`` (the same texts embedded by another backend, e.g. onnx-int8), training and τ use
    ``data``'s vectors as the shipped head does, and held-out predictions use ``served`` with the
    build's refinement: the route a build takes, measured on articles it never saw.
    """
    fit, n_folds, seed = fitter(settings), settings.folds, settings.seed
    outer = article_folds(data.groups, n_folds, seed)
    probabilities = {f: np.zeros(data.gold.shape) for f in data.inputs}
    predictions = {f: np.zeros(data.gold.shape, dtype=bool) for f in data.inputs}
    fold_thresholds = []
    everything = np.arange(len(data.items))
    for number, test in enumerate(outer):
        logger.info("outer fold %d/%d", number + 1, n_folds)
        train = data.subset(np.setdiff1d(everything, test))
        inner = article_folds(train.groups, n_folds, seed + number + 1)
        thresholds = choose_thresholds(out_of_fold(train, inner, fit), train, settings)
        fold_thresholds.append(thresholds)
        layers = fit(*training_matrix(train))
        tau = np.array([thresholds[d] for d in data.domains])
        for name, embeddings in data.inputs.items():
            other = None if served is None else served[name][test]
            probs = route_probabilities(layers, tau, embeddings[test], other, refine_margin)
            probabilities[name][test] = probs
            predictions[name][test] = probs >= tau
    return NestedResult(probabilities, predictions, fold_thresholds, outer)


def train_head(
    data: EmbeddedReference,
    embedding_model: str,
    probe: np.ndarray,
    settings: HeadSettings,
    info: dict | None = None,
) -> tuple[DomainHead, dict[str, np.ndarray]]:
    """The head trained on every item, thresholds from grouped out-of-fold probabilities.

    Returns the head and those out-of-fold probabilities (for the threshold sweep).
    """
    fit = fitter(settings)
    oof = out_of_fold(data, article_folds(data.groups, settings.folds, settings.seed), fit)
    head = DomainHead(
        domains=list(data.domains),
        layers=fit(*training_matrix(data)),
        thresholds=choose_thresholds(oof, data, settings),
        embedding_model=embedding_model,
        probe=np.asarray(probe, dtype=np.float32),
        input_format="title_context",
        info={
            "settings": asdict(settings),
            "paragraphs": len(data.items),
            "articles": int(len(np.unique(data.groups))),
            "positives": {d: int(data.gold[:, k].sum()) for k, d in enumerate(data.domains)},
            **(info or {}),
        },
    )
    return head, oof


def probe_embedding(encoder) -> np.ndarray:
    """The encoder's embedding of the probe text (stored in the head)."""
    return encoder.encode([PROBE_TEXT])[0]
