"""Hugging Face classifiers: a text-classification checkpoint or a zero-shot NLI model, batched.

* ``type: transformers`` runs ``pipeline("text-classification", top_k=None)``; the model's labels
  map to our domains through ``label_map`` (or by name); unmapped labels are ignored and several
  labels mapping to one domain combine by ``aggregate: max`` (default) or ``sum`` (clipped to 1).
* ``type: zero-shot`` runs ``pipeline("zero-shot-classification", multi_label=True)`` with one
  candidate label per domain (``hypothesis_template`` fills ``{}``); each domain's score is the
  entailment probability of its own hypothesis, independent of the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlqa_domain.configs import GENERAL
from mlqa_domain.errors import ConfigError, first_line
from mlqa_domain.labeling.classifiers import base
from mlqa_domain.labeling.classifiers.calibration import LabelMap
from mlqa_domain.naming import model_content_fingerprint, public_model_name, public_model_revision

if TYPE_CHECKING:
    from mlqa_domain.labeling.taxonomy import ClassifierSpec, Taxonomy

DEFAULT_HYPOTHESIS = "This text is about {}."


def _load_pipeline(task: str, model: str, revision: str | None, device: str | None):
    from transformers import pipeline

    try:
        return pipeline(task, model=model, revision=revision, device=device or "cpu")
    except (OSError, ValueError, KeyError) as exc:
        first = first_line(exc)
        raise ConfigError(f"cannot load {task} model: {first}", model) from None


def _pipeline_options(spec: ClassifierSpec) -> dict[str, Any]:
    """Revision, device, name and batch size of a transformers or zero-shot entry."""
    device = base.spec_options(spec).get("device")
    return {"revision": spec.revision, "device": device, "name": spec.name, **base.batch_option(spec)}


def _model_provenance(kind: str, model_id: str, revision: str | None, pipe) -> dict[str, Any]:
    config = pipe.model.config
    local = Path(model_id).is_dir()
    return {
        "type": kind,
        "model": public_model_name(model_id),
        "revision": public_model_revision(model_id, revision),
        "commit_hash": getattr(config, "_commit_hash", None),
        "model_fingerprint": model_content_fingerprint(model_id) if local else None,
        "architecture": (getattr(config, "architectures", None) or [type(pipe.model).__name__])[0],
    }


@base.CLASSIFIERS.register("transformers")
class TransformersClassifier(base.ClassifierBase):
    """Per-domain probabilities from a Hugging Face text-classification checkpoint."""

    kind = "transformers"
    config_keys = frozenset({"label_map", "aggregate", "max_length"})

    def __init__(
        self,
        model: str,
        domains: Sequence[str],
        general: str = GENERAL,
        label_map: Mapping[str, str] | None = None,
        aggregate: str = "max",
        batch_size: int = 32,
        max_length: int | None = 512,
        revision: str | None = None,
        device: str | None = None,
        name: str = "transformers",
    ) -> None:
        self.name = name
        self.model_id = model
        self.revision = revision
        self.batch_size = batch_size
        self.max_length = max_length
        self.pipe = _load_pipeline("text-classification", model, revision, device)
        id2label = self.pipe.model.config.id2label
        self.model_labels = [id2label[i] for i in sorted(id2label)]
        targets = [*domains, general]
        self.label_map = LabelMap.build(self.model_labels, targets, label_map, aggregate, where=model)
        covered = self.label_map.covered
        self.domain_names = [d for d in domains if d in covered]
        self.output_names = self.domain_names + ([general] if general in covered else [])

    @classmethod
    def from_spec(
        cls, spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
    ) -> TransformersClassifier:
        """The entry's ``model`` with its ``label_map``, ``aggregate`` and ``max_length``."""
        options = base.spec_options(spec)
        return cls(
            base.required_model(spec, taxonomy),
            taxonomy.domain_names,
            general=taxonomy.general,
            label_map=options.get("label_map"),
            aggregate=options.get("aggregate", "max"),
            max_length=options.get("max_length", 512),
            **_pipeline_options(spec),
        )

    def all_scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, len(output_names)) probabilities."""
        if not texts:
            return np.zeros((0, len(self.output_names)))
        kwargs: dict[str, Any] = {"truncation": True}
        if self.max_length:
            kwargs["max_length"] = self.max_length
        results = self.pipe(list(texts), batch_size=self.batch_size, top_k=None, **kwargs)
        out = np.zeros((len(texts), len(self.output_names)), dtype=np.float64)
        for row, result in enumerate(results):
            mapped = self.label_map.apply({r["label"]: r["score"] for r in result})
            out[row] = [mapped[name] for name in self.output_names]
        return out

    def provenance(self) -> dict[str, Any]:
        """Model id/revision, label mapping."""
        return {
            **_model_provenance(self.kind, self.model_id, self.revision, self.pipe),
            "model_labels": self.model_labels,
            "label_map": dict(self.label_map.mapping),
            "aggregate": self.label_map.aggregate,
        }


def candidate_labels_for(
    taxonomy, candidate_labels: str | Mapping[str, str] | None = "descriptions"
) -> dict[str, str]:
    """One zero-shot candidate label per domain.

    ``names``: the domain name; ``descriptions`` (default): the start of the domain description,
    up to its first ':' (``Law and legal text``), lower-cased; a mapping sets labels per domain
    (domains it leaves out use the start of their description).
    """

    def description_start(domain: str) -> str:
        description = taxonomy.domains[domain].description
        return description.split(":", 1)[0].strip().rstrip(".").lower() or domain

    if candidate_labels in (None, "descriptions"):
        return {d: description_start(d) for d in taxonomy.domain_names}
    if candidate_labels == "names":
        return {d: d for d in taxonomy.domain_names}
    if isinstance(candidate_labels, Mapping):
        unknown = sorted(set(candidate_labels) - set(taxonomy.domain_names))
        if unknown:
            raise ConfigError(f"candidate_labels for unknown domain(s) {', '.join(unknown)}", taxonomy.source)
        return {d: str(candidate_labels.get(d) or description_start(d)) for d in taxonomy.domain_names}
    raise ConfigError(
        "candidate_labels must be 'names', 'descriptions' or a mapping domain -> label", taxonomy.source
    )


@base.CLASSIFIERS.register("zero-shot")
class ZeroShotClassifier(base.ClassifierBase):
    """Per-domain entailment probabilities from an NLI model (zero-shot, multi-label)."""

    kind = "zero-shot"
    config_keys = frozenset({"candidate_labels", "hypothesis_template"})

    def __init__(
        self,
        model: str,
        candidates: Mapping[str, str],
        hypothesis_template: str = DEFAULT_HYPOTHESIS,
        batch_size: int = 16,
        revision: str | None = None,
        device: str | None = None,
        name: str = "zero-shot",
    ) -> None:
        if "{}" not in hypothesis_template:
            raise ConfigError(f"hypothesis_template must contain '{{}}': {hypothesis_template!r}", model)
        self.name = name
        self.model_id = model
        self.revision = revision
        self.batch_size = batch_size
        self.candidates = dict(candidates)
        if len(set(self.candidates.values())) != len(self.candidates):
            raise ConfigError("zero-shot candidate labels must differ between domains", model)
        self.hypothesis_template = hypothesis_template
        self.domain_names = list(self.candidates)
        self.output_names = list(self.domain_names)
        self.pipe = _load_pipeline("zero-shot-classification", model, revision, device)

    @classmethod
    def from_spec(
        cls, spec: ClassifierSpec, taxonomy: Taxonomy, cache_dir: str | Path | None = None
    ) -> ZeroShotClassifier:
        """The entry's NLI ``model`` with its ``candidate_labels`` and ``hypothesis_template``."""
        options = base.spec_options(spec)
        candidates = candidate_labels_for(taxonomy, options.get("candidate_labels", "descriptions"))
        template = options.get("hypothesis_template", DEFAULT_HYPOTHESIS)
        model = base.required_model(spec, taxonomy)
        return cls(model, candidates, template, **_pipeline_options(spec))

    def all_scores(
        self, texts: Sequence[str], language: str | None = None, titles: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n_texts, n_domains) entailment probabilities."""
        if not texts:
            return np.zeros((0, len(self.domain_names)))
        label_to_domain = {label: domain for domain, label in self.candidates.items()}
        results = self.pipe(
            list(texts),
            candidate_labels=list(self.candidates.values()),
            hypothesis_template=self.hypothesis_template,
            multi_label=True,
            batch_size=self.batch_size,
        )
        if isinstance(results, dict):
            results = [results]
        out = np.zeros((len(texts), len(self.domain_names)), dtype=np.float64)
        index = {d: i for i, d in enumerate(self.domain_names)}
        for row, result in enumerate(results):
            for label, score in zip(result["labels"], result["scores"], strict=True):
                out[row, index[label_to_domain[label]]] = score
        return out

    def provenance(self) -> dict[str, Any]:
        """Model id/revision, candidate labels and hypothesis template."""
        return {
            **_model_provenance(self.kind, self.model_id, self.revision, self.pipe),
            "candidate_labels": dict(self.candidates),
            "hypothesis_template": self.hypothesis_template,
        }
