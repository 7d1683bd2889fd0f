"""Supervised fastText domain classifier: train on labelled text, apply as per-domain probabilities.

Training data is one ``__label__<domain> text`` per line (several ``__label__`` prefixes for several
domains), or jsonl with ``text`` and ``labels`` (a list or a string). The same :func:`preprocess`
(lower case, punctuation split off, whitespace collapsed) runs at training and prediction time.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlqa_domain.atomic import atomic_file
from mlqa_domain.configs import GENERAL
from mlqa_domain.errors import ConfigError, InputError, first_line
from mlqa_domain.hashing import sha256_file
from mlqa_domain.jsonio import finite_or_null, iter_jsonl
from mlqa_domain.labeling.classifiers import base
from mlqa_domain.labeling.classifiers.calibration import LabelMap
from mlqa_domain.naming import public_model_name, public_model_revision
from mlqa_domain.stats import prf_scores

if TYPE_CHECKING:
    from mlqa_domain.labeling.taxonomy import ClassifierSpec, Taxonomy

LABEL_PREFIX = "__label__"
NGRAM_SEPARATOR = "|"
EOS = "</s>"
ORDER_MARKER = "__mlqa_word_ngrams_{}__"
_ORDER_MARKER_RE = re.compile(r"__mlqa_word_ngrams_(\d+)__")
_PUNCT = re.compile(r"([^\w\s])")
_SPACE = re.compile(r"\s+")


def preprocess(text: str) -> str:
    """Lower case, punctuation as separate tokens, one space between tokens (fastText splits on spaces)."""
    return _SPACE.sub(" ", _PUNCT.sub(r" \1 ", text.lower())).strip()


@dataclass(frozen=True)
class LabelledText:
    """One training example: its labels and its text."""

    labels: tuple[str, ...]
    text: str


def _parse_label_line(line: str) -> LabelledText | None:
    tokens = line.split()
    labels = []
    while tokens and tokens[0].startswith(LABEL_PREFIX):
        labels.append(tokens.pop(0)[len(LABEL_PREFIX) :])
    if not labels or not all(labels) or not tokens:
        return None
    return LabelledText(tuple(labels), " ".join(tokens))


def _labelled_record(record: Any) -> LabelledText | None:
    if not isinstance(record, dict):
        return None
    text, labels = record.get("text"), record.get("labels", record.get("label"))
    if isinstance(labels, str):
        labels = [labels]
    if not isinstance(text, str) or not text.strip() or not isinstance(labels, list) or not labels:
        return None
    if not all(isinstance(x, str) and x and " " not in x for x in labels):
        return None
    return LabelledText(tuple(labels), text)


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of every non-blank line of a UTF-8 text file."""
    with open(path, encoding="utf-8") as handle:
        yield from ((number, line) for number, line in enumerate(handle, 1) if line.strip())


def read_labelled(path: str | Path) -> list[LabelledText]:
    """Read a ``__label__`` text file or a jsonl file with ``text``/``labels``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("training data not found", path)
    if path.suffix.lower() in {".jsonl", ".json"}:
        parsed = ((number, _labelled_record(record)) for number, record in iter_jsonl(path))
        expected = 'a JSON object with "text" and "labels"'
    else:
        parsed = ((number, _parse_label_line(line)) for number, line in _text_lines(path))
        expected = "'__label__<domain> text'"
    items = []
    try:
        for number, item in parsed:
            if item is None:
                raise InputError(f"line {number}: expected {expected}", path)
            items.append(item)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None
    if not items:
        raise InputError("no labelled examples", path)
    return items


def split_holdout(
    items: Sequence[LabelledText], valid_fraction: float, seed: int = 0
) -> tuple[list[LabelledText], list[LabelledText]]:
    """Shuffle with ``seed`` and hold out ``valid_fraction`` of the examples (train, valid)."""
    if not 0 <= valid_fraction < 1:
        raise ConfigError(f"--valid-fraction must be in [0, 1), not {valid_fraction}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_valid = round(len(items) * valid_fraction)
    if valid_fraction > 0 and len(items) >= 2:
        n_valid = min(max(n_valid, 1), len(items) - 1)
    valid = [items[i] for i in order[:n_valid]]
    train = [items[i] for i in order[n_valid:]]
    return train, valid


@dataclass(frozen=True)
class TrainSettings:
    """fastText hyper-parameters (``thread=1`` plus a fixed seed gives the same model every run), and
    the share of the data held out for evaluation."""

    valid_fraction: float = 0.2
    epoch: int = 25
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 50
    min_count: int = 1
    loss: str = "softmax"
    seed: int = 0
    threads: int = 1


def featurize(text: str, word_ngrams: int = 1) -> str:
    """:func:`preprocess`, then word n-grams up to ``word_ngrams`` appended as ``w1|w2`` tokens."""
    words = preprocess(text).split()
    tokens = list(words)
    for n in range(2, word_ngrams + 1):
        tokens.extend(NGRAM_SEPARATOR.join(words[i : i + n]) for i in range(len(words) - n + 1))
    return " ".join(tokens)


def _write_seeded_vectors(path: Path, vocabulary: Sequence[str], dim: int, seed: int) -> None:
    """Every input row's initial vector, uniform in ±1/dim from ``seed`` (fastText's own init range)."""
    rng = np.random.default_rng(seed)
    vectors = rng.uniform(-1.0 / dim, 1.0 / dim, size=(len(vocabulary), dim)).astype(np.float32)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{len(vocabulary)} {dim}\n")
        for word, row in zip(vocabulary, vectors, strict=True):
            handle.write(word + " " + " ".join(f"{v:.7g}" for v in row) + "\n")


def train_model(items: Sequence[LabelledText], settings: TrainSettings):
    """Train a supervised fastText model on ``items`` and return it.

    fastText initialises only a tenth of its input matrix when it trains on one thread and leaves
    the rest as it finds the memory (NaN losses, a different model on every run). So word n-grams
    are added as explicit ``w1|w2`` tokens instead of hashed buckets (``bucket=0``) and every
    row of the input matrix is initialised from a seeded vector file (``pretrainedVectors``): with
    ``threads=1`` the same data and seed give the same model, byte for byte.
    """
    import fasttext

    if settings.loss not in {"softmax", "ova", "hs"}:
        raise ConfigError(f"--loss must be softmax, ova or hs, not {settings.loss!r}")
    if settings.word_ngrams < 1 or settings.dim < 1 or settings.epoch < 1:
        raise ConfigError("--wordNgrams, --dim and --epoch must be at least 1")
    lines = []
    counts: Counter = Counter()
    for item in items:
        text = featurize(item.text, settings.word_ngrams)
        counts.update(text.split())
        lines.append(" ".join(LABEL_PREFIX + label for label in item.labels) + " " + text)
    vocabulary = sorted(t for t, c in counts.items() if c >= settings.min_count)
    vocabulary += [EOS, ORDER_MARKER.format(settings.word_ngrams)]
    with tempfile.TemporaryDirectory(prefix="mlqa-fasttext-") as tmp:
        train_file, vectors_file = Path(tmp) / "train.txt", Path(tmp) / "init.vec"
        train_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        _write_seeded_vectors(vectors_file, vocabulary, settings.dim, settings.seed)
        return fasttext.train_supervised(
            input=str(train_file),
            epoch=settings.epoch,
            lr=settings.lr,
            wordNgrams=1,
            dim=settings.dim,
            bucket=0,
            minn=0,
            maxn=0,
            minCount=settings.min_count,
            loss=settings.loss,
            seed=settings.seed,
            thread=settings.threads,
            pretrainedVectors=str(vectors_file),
            verbose=0,
        )


def word_ngrams_of(model) -> int | None:
    """The n-gram order a model trained here was featurised with (None: a model trained elsewhere)."""
    for word in model.get_words():
        match = _ORDER_MARKER_RE.fullmatch(word)
        if match:
            return int(match.group(1))
    return None


def model_input(texts: Sequence[str], order: int | None) -> list[str]:
    """Texts as a model expects them: featurised with its n-gram ``order`` when trained here
    (see :func:`word_ngrams_of`), else only whitespace-collapsed (fastText's own convention)."""
    if order is None:
        return [_SPACE.sub(" ", t).strip() for t in texts]
    return [featurize(t, order) for t in texts]


def predict_top1(model, texts: Sequence[str]) -> list[str]:
    """The most probable label of each text."""
    labels, _ = model.predict(model_input(texts, word_ngrams_of(model)), k=1)
    return [lab[0][len(LABEL_PREFIX) :] if lab else "" for lab in labels]


def evaluate_model(model, items: Sequence[LabelledText]) -> dict[str, Any]:
    """Per-label precision/recall/F1 of the top-1 prediction against each example's gold labels."""
    predicted = predict_top1(model, [item.text for item in items]) if items else []
    labels = sorted({lab for item in items for lab in item.labels} | set(predicted))
    tp: Counter = Counter()
    n_pred: Counter = Counter()
    n_gold: Counter = Counter()
    for item, pred in zip(items, predicted, strict=True):
        n_pred[pred] += 1
        n_gold.update(item.labels)
        if pred in item.labels:
            tp[pred] += 1
    per_label = {}
    for label in labels:
        counts = {"support": n_gold[label], "predicted": n_pred[label]}
        per_label[label] = {**prf_scores(tp[label], n_pred[label], n_gold[label]), **counts}
    correct = sum(tp.values())
    return {
        "per_label": per_label,
        "accuracy": correct / len(items) if items else 0.0,
        "count": len(items),
    }


def save_model(model, out: str | Path) -> Path:
    """Write the model to ``out`` atomically (temp file next to it, then rename)."""
    from mlqa_domain.atomic import atomic_file

    out = Path(out)
    with atomic_file(out, "wb") as handle:  # umask mode, stale temps of killed runs removed
        model.save_model(handle.name)
    return out


@dataclass
class TrainReport:
    """What ``train-classifier`` did."""

    out: Path
    settings: TrainSettings
    train_count: int
    valid_count: int
    label_counts: dict[str, int]
    valid_metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        data = asdict(self)
        data["out"] = str(self.out)
        return data


def train_classifier(data: str | Path, out: str | Path, settings: TrainSettings) -> TrainReport:
    """Read ``data``, hold out ``settings.valid_fraction``, train, evaluate on the held-out part, save."""
    items = read_labelled(data)
    label_counts = Counter(label for item in items for label in item.labels)
    if len(label_counts) < 2:
        raise InputError("training data needs at least two different labels", data)
    train, valid = split_holdout(items, settings.valid_fraction, settings.seed)
    model = train_model(train, settings)
    metrics = evaluate_model(model, valid)
    _check_finite(model, data)
    save_model(model, out)
    report = TrainReport(
        Path(out), settings, len(train), len(valid), dict(sorted(label_counts.items())), metrics
    )
    with atomic_file(Path(out).with_suffix(Path(out).suffix + ".json")) as handle:
        json.dump(finite_or_null(report.to_dict()), handle, indent=2, sort_keys=True)
    return report


def _check_finite(model, where) -> None:
    _, probs = model.predict("the", k=-1)
    if not np.isfinite(np.asarray(probs, dtype=np.float64)).all():
        raise InputError("training diverged (NaN probabilities); use --threads 1 or a lower --lr", where)


def resolve_model_file(
    model: str, filename: str | None = None, revision: str | None = None, base_dir: str | Path | None = None
) -> Path:
    """A local model file: ``model`` as a path (relative to ``base_dir`` too), a dir + ``filename``,
    or a hub repo id + ``filename`` (downloaded with huggingface_hub)."""
    candidates = [Path(model).expanduser()]
    if base_dir is not None and not Path(model).is_absolute():
        candidates.append(Path(base_dir) / model)
    for candidate in candidates:
        if candidate.is_dir() and filename:
            candidate = candidate / filename
        if candidate.is_file():
            return candidate
    if filename and model.count("/") == 1 and not model.startswith((".", "/", "~")):
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        try:
            return Path(hf_hub_download(model, filename, revision=revision))
        except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
            first = first_line(exc)
            raise ConfigError(
                f"cannot fetch fastText model {filename!r} from the hub: {first}", model
            ) from None
    hint = "" if filename else " (for a hub repo give 'filename' too)"
    raise ConfigError(f"fastText model file not found{hint}", model)


@base.CLASSIFIERS.register("fasttext")
class FastTextClassifier(base.ClassifierBase):
    """Per-domain probabilities from a supervised fastText model (``predict(texts, k=-1)``, batched).

    Model labels map to taxonomy domains (and the ``general`` label) by name or by ``label_map``;
    ``domain_names`` are the taxonomy domains the model covers, ``output_names`` add ``general``
    when the model has it.
    """

    kind = "fasttext"
    config_keys = frozenset({"filename", "label_map", "aggregate"})

    def __init__(
        self,
        model_path: str | Path,
        domains: Sequence[str],
        general: str = GENERAL,
        label_map: Mapping[str, str] | None = None,
        aggregate: str = "max",
        batch_size: int = 1024,
        name: str = "fasttext",
        model_id: str | None = None,
        revision: str | None = None,
    ) -> None:
        import fasttext

        self.name = name
        self.path = Path(model_path)
        self.model_id = model_id or str(model_path)
        self.revision = revision
        self.batch_size = batch_size
        try:
            self.model = fasttext.load_model(str(self.path))
        except ValueError as exc:
            raise ConfigError(f"cannot load fastText model: {exc}", self.path) from None
        self.model_labels = [lab[len(LABEL_PREFIX) :] for lab in self.model.get_labels()]
        self.word_ngrams = word_ngrams_of(self.model)
        targets = [*domains, general]
        self.label_map = LabelMap.build(self.model_labels, targets, label_map, aggregate, where=self.model_id)
        covered = self.label_map.covered
        self.domain_names = [d for d in domains if d in covered]
        self.output_names = self.domain_names + ([general] if general in covered else [])
        self._sha256 = sha256_file(self.path)

    @classmethod
    def from_spec(
        cls, spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
    ) -> FastTextClassifier:
        """The entry's ``model``: a .bin file, a directory or hub repo with ``filename``."""
        options = base.spec_options(spec)
        path = resolve_model_file(base.required_model(spec, taxonomy), options.get("filename"), spec.revision)
        return cls(
            path,
            taxonomy.domain_names,
            general=taxonomy.general,
            label_map=options.get("label_map"),
            aggregate=options.get("aggregate", "max"),
            name=spec.name,
            model_id=spec.model,
            revision=spec.revision,
            **base.batch_option(spec),
        )

    def all_scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, len(output_names)) probabilities."""
        out = np.zeros((len(texts), len(self.output_names)), dtype=np.float64)
        for start in range(0, len(texts), self.batch_size):
            batch = model_input(texts[start : start + self.batch_size], self.word_ngrams)
            labels, probs = self.model.predict(batch, k=-1, threshold=0.0)
            for row, (labs, ps) in enumerate(zip(labels, probs, strict=True)):
                raw = {lab[len(LABEL_PREFIX) :]: float(p) for lab, p in zip(labs, ps, strict=True)}
                mapped = self.label_map.apply(raw)
                out[start + row] = [mapped[name] for name in self.output_names]
        return np.clip(out, 0.0, 1.0)

    def provenance(self) -> dict[str, Any]:
        """Model file, its sha256, labels and mapping."""
        return {
            "type": self.kind,
            "model": public_model_name(self.model_id),
            "revision": public_model_revision(self.model_id, self.revision),
            "sha256": self._sha256,
            "model_labels": self.model_labels,
            "label_map": dict(self.label_map.mapping),
            "aggregate": self.label_map.aggregate,
            "word_ngrams": self.word_ngrams,
        }
