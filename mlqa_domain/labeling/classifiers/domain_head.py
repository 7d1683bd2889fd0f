"""A supervised per-domain head on sentence embeddings, and the classifier that runs it.

The head is a small network (logistic regression: one layer; MLP: hidden ReLU layers) mapping a
normalised sentence embedding to one independent probability per domain. It is saved as a
safetensors file whose metadata names the embedding model it was trained on, the domains, the
per-domain thresholds, the input format and how it was trained and evaluated. A probe embedding
(the embedding model's vector for :data:`PROBE_TEXT`) is stored with it, so that running the head
on another model's embeddings is a clear error rather than silent nonsense.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlqa_domain.errors import ConfigError
from mlqa_domain.hashing import sha256_file
from mlqa_domain.jsonio import parse_json
from mlqa_domain.labeling.classifiers import base
from mlqa_domain.naming import model_content_fingerprint, public_model_name, public_model_revision

if TYPE_CHECKING:
    from mlqa_domain.labeling.taxonomy import ClassifierSpec, Taxonomy

HEAD_FORMAT = "mlqa-domain-head/1"
PROBE_TEXT = "The court ruled that the new vaccine patent was invalid, and the company's shares fell."
# Cosine between the stored probe embedding and the running model's: the same model (also through
# ONNX or int8) stays well above this; a different model lands far below.
PROBE_MIN_COSINE = 0.95
INPUT_FORMATS = ("title_context", "context")
# With int8 embeddings, texts whose probability is this close to a threshold are re-scored in fp32.
REFINE_MARGIN = 0.05
# A head's per-domain probabilities are independent: by default no δ rule (every domain over its τ).
HEAD_DELTA = 1.0


@dataclass
class DomainHead:
    """Weights, thresholds and metadata of a trained head."""

    domains: list[str]
    layers: list[tuple[np.ndarray, np.ndarray]]
    thresholds: dict[str, float]
    embedding_model: str
    probe: np.ndarray
    input_format: str = "title_context"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def embedding_dim(self) -> int:
        """Size of the embeddings the head reads."""
        return int(self.layers[0][0].shape[1])

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, n_domains) probabilities for (n, dim) normalised embeddings."""
        hidden = np.asarray(embeddings, dtype=np.float32)
        if hidden.ndim != 2 or hidden.shape[1] != self.embedding_dim:
            raise ConfigError(
                f"head expects {self.embedding_dim}-dimensional embeddings, got shape {hidden.shape}"
            )
        for number, (weight, bias) in enumerate(self.layers):
            hidden = hidden @ weight.T
            # in place where the types agree: one (n, hidden) array at a time, the same arithmetic
            hidden = np.add(
                hidden, bias, out=hidden if hidden.dtype == np.result_type(hidden, bias) else None
            )
            if number < len(self.layers) - 1:
                np.maximum(hidden, 0.0, out=hidden)
        return 1.0 / (1.0 + np.exp(-hidden.astype(np.float64)))

    def metadata(self) -> dict[str, str]:
        """The safetensors metadata (string values)."""
        return {
            "format": HEAD_FORMAT,
            "domains": json.dumps(self.domains),
            "thresholds": json.dumps(self.thresholds, sort_keys=True),
            "embedding_model": self.embedding_model,
            "input_format": self.input_format,
            "info": json.dumps(self.info, sort_keys=True, ensure_ascii=False),
        }

    def save(self, path: str | Path) -> Path:
        """Write the head (atomically) as safetensors."""
        from safetensors.numpy import save

        from mlqa_domain.atomic import write_bytes_atomic

        tensors = {"probe": np.asarray(self.probe, dtype=np.float32)}
        for number, (weight, bias) in enumerate(self.layers):
            tensors[f"layers.{number}.weight"] = np.ascontiguousarray(weight, dtype=np.float32)
            tensors[f"layers.{number}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)
        write_bytes_atomic(path, save(tensors, metadata=self.metadata()))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> DomainHead:
        """Read a head written by :meth:`save`; a file that is not one is a one-line error."""
        from safetensors import SafetensorError
        from safetensors.numpy import load

        path = Path(path)
        if not path.is_file():
            raise ConfigError("domain head file not found", path)
        raw = path.read_bytes()
        try:
            tensors = load(raw)
            header_size = int.from_bytes(raw[:8], "little")
            metadata = json.loads(raw[8 : 8 + header_size]).get("__metadata__") or {}
        except (SafetensorError, ValueError, OSError):
            raise ConfigError("not a safetensors domain head", path) from None
        if metadata.get("format") != HEAD_FORMAT:
            raise ConfigError(f"not a domain head ({HEAD_FORMAT!r} metadata missing)", path)
        count = sum(1 for name in tensors if name.endswith(".weight"))
        layers = [(tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"]) for i in range(count)]
        domains = parse_json(metadata["domains"], path)
        if not layers or layers[-1][0].shape[0] != len(domains):
            raise ConfigError("domain head: output size does not match its domains", path)
        return cls(
            domains=domains,
            layers=layers,
            thresholds={d: float(t) for d, t in parse_json(metadata["thresholds"], path).items()},
            embedding_model=metadata["embedding_model"],
            probe=tensors["probe"],
            input_format=metadata.get("input_format", "title_context"),
            info=parse_json(metadata.get("info") or "{}", path),
        )


@base.CLASSIFIERS.register("embedding-head")
class HeadClassifier(base.ClassifierBase):
    """Domain probabilities from a :class:`DomainHead` over a sentence-transformers encoder.

    Reads ``title. context`` where a title is given (and the head was trained for it), else the context.
    Its τ default to the thresholds stored with the head, its δ to 1 (no δ rule).
    """

    kind = "embedding-head"
    config_keys = frozenset({"head", "refine_margin"})

    def __init__(
        self,
        head_path: str | Path,
        encoder,
        name: str = "head",
        domains: Sequence[str] | None = None,
        refine_margin: float = 0.0,
        reference_encoder: Callable[[], Any] | None = None,
    ):
        self.name = name
        self.head_path = Path(head_path)
        self.head = DomainHead.load(self.head_path)
        self.encoder = encoder
        self.refine_margin = refine_margin if reference_encoder is not None else 0.0
        self._reference_encoder = reference_encoder
        self._reference = None
        self.refined_count = 0
        if domains is not None:
            missing = sorted(set(domains) - set(self.head.domains))
            if missing:
                raise ConfigError(
                    f"the domain head has no output for domain(s) {', '.join(missing)}", self.head_path
                )
        self.domain_names = list(domains) if domains is not None else list(self.head.domains)
        self.output_names = list(self.domain_names)
        self._columns = [self.head.domains.index(d) for d in self.domain_names]
        self._checked = False

    @classmethod
    def from_spec(
        cls, spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
    ) -> HeadClassifier:
        """The entry's ``head`` file over its ``model`` (default: the model the head was trained on)."""
        head = base.spec_options(spec).get("head")
        if not head:
            raise ConfigError(
                f"classifier {spec.name!r} needs a 'head' (a file written by train-head)", taxonomy.source
            )
        head_path = base.beside_taxonomy(str(head), taxonomy)
        model = base.beside_taxonomy(spec.model or DomainHead.load(head_path).embedding_model, taxonomy)
        encoder = base.text_encoder(model, spec, cache_dir)
        quantized = encoder.backend == "onnx-int8"
        margin = float(base.spec_options(spec).get("refine_margin", REFINE_MARGIN if quantized else 0.0))

        def reference():  # fp32 through ONNX Runtime: torch's vectors to 1e-5 cosine, 1.4x as fast on CPU
            return base.text_encoder(model, spec, cache_dir, backend="onnx")

        return cls(
            head_path, encoder, spec.name, taxonomy.domain_names, margin, reference if quantized else None
        )

    def check_encoder(self) -> None:
        """Refuse to run when the encoder is not the model the head was trained on (probe cosine)."""
        if self._checked:
            return
        vector = self.encoder.encode([PROBE_TEXT])[0]
        probe = np.asarray(self.head.probe, dtype=np.float32)
        same_size = vector.shape == probe.shape
        cosine = (
            float(vector @ probe / (np.linalg.norm(vector) * np.linalg.norm(probe))) if same_size else -1.0
        )
        if cosine < PROBE_MIN_COSINE:
            raise ConfigError(
                f"this head was trained on embeddings of {self.head.embedding_model}, and "
                f"{self.encoder.model_id} gives different ones (probe cosine {cosine:.2f}); "
                "use that model or train a head for this one (mlqa-domain train-head)",
                self.head_path,
            )
        self._checked = True

    def inputs(self, texts: Sequence[str], titles: Sequence[str | None] | None) -> Sequence[str]:
        """The strings the encoder reads (made as they are read: a build's texts may wait on disk)."""
        if titles is None or self.head.input_format != "title_context":
            return texts
        return TitledInputs(texts, titles)

    def prepare(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> None:
        """Embed and cache every input in the batches of one call (the refinement's few fp32 inputs are
        embedded where they are scored)."""
        self.check_encoder()
        self.encoder.cache(self.inputs(texts, titles), show_progress=True)

    def all_scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, n_domains) probabilities."""
        if not texts:
            return np.zeros((0, len(self.domain_names)), dtype=np.float64)
        self.check_encoder()
        # the inputs and their vectors are let go as soon as they are used (a build labels every
        # distinct context at once); the few texts the refinement re-scores are made again
        probabilities = self.head.probabilities(
            self.encoder.encode(list(self.inputs(texts, titles)), show_progress=True)
        )
        if self.refine_margin > 0:
            self._refine(texts, titles, probabilities)
        return probabilities[:, self._columns]

    def _refine(
        self, texts: Sequence[str], titles: Sequence[str | None] | None, probabilities: np.ndarray
    ) -> None:
        """Re-score, in place, the texts whose quantized probability is within ``refine_margin`` of a
        threshold of the head, with the fp32 model: int8 embeddings move a probability by 0.006 on
        average (99th percentile 0.06), enough to flip a label only close to its threshold."""
        tau = np.array([self.head.thresholds[d] for d in self.head.domains])
        near = np.flatnonzero((np.abs(probabilities - tau) < self.refine_margin).any(axis=1))
        if not len(near):
            return
        if self._reference is None:
            self._reference = self._reference_encoder()
        near_titles = None if titles is None else [titles[i] for i in near]
        inputs = list(self.inputs([texts[i] for i in near], near_titles))
        reference = self._reference.encode(inputs, show_progress=True)
        probabilities[near] = self.head.probabilities(reference)
        self.refined_count += len(near)

    def provenance(self) -> dict[str, Any]:
        """Embedding model, head file and its sha256, and what the head was trained on."""
        return {
            "type": self.kind,
            "model": public_model_name(self.encoder.model_id),
            "revision": public_model_revision(self.encoder.model_id, self.encoder.revision),
            "model_fingerprint": model_content_fingerprint(self.encoder.model_id),
            "head": self.head_path.name,
            "head_sha256": sha256_file(self.head_path),
            "head_input": self.head.input_format,
            "guidelines_version": self.head.info.get("guidelines_version"),
            "backend": self.encoder.backend,
            "refine_margin": self.refine_margin or None,
        }

    def held_out(self) -> dict[str, Any] | None:
        """The head's nested held-out figures (stored with it by train-head)."""
        return self.head.info.get("held_out")

    def default_thresholds(self, taxonomy: Taxonomy) -> dict[str, float]:
        return {d: self.head.thresholds[d] for d in taxonomy.domain_names}

    def default_delta(self, taxonomy: Taxonomy) -> float:
        return HEAD_DELTA


class TitledInputs(Sequence[str]):
    """``title. context`` of each text (the text alone where it has no title), made when read."""

    def __init__(self, texts: Sequence[str], titles: Sequence[str | None]) -> None:
        if len(texts) != len(titles):
            raise ValueError(f"{len(texts)} texts but {len(titles)} titles")
        self.texts = texts
        self.titles = titles

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index):
        from mlqa_domain.labeling.reference import classifier_input

        if isinstance(index, slice):
            return [
                classifier_input(t, h) for t, h in zip(self.texts[index], self.titles[index], strict=True)
            ]
        return classifier_input(self.texts[index], self.titles[index])

    def __iter__(self) -> Iterator[str]:
        from mlqa_domain.labeling.reference import classifier_input

        for text, title in zip(self.texts, self.titles, strict=True):
            yield classifier_input(text, title)
