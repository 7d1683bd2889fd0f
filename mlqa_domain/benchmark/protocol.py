"""Evaluation protocols: the settings that change scores, named and hashed.

Two runs are comparable only under one protocol. For extractive QA the protocol is the feature and
answer settings *as applied* (after clamping to the model: ``--max-seq-length 4096`` on a 512-token model
is recorded as 512) and the answer normalisation of the metric. ``mlqa-v1`` is XTREME's (and
``run_qa.py``'s) 384/128/30/20 with the official MLQA normalisation; any other values are ``custom``.
Predictions made elsewhere (``bench import``) were produced under settings this harness did not apply:
their protocol is ``external`` unless the submitter declares a named one, which is then recorded as
declared, not verified.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlqa_domain.errors import ConfigError
from mlqa_domain.hashing import sha256_bytes

NORMALISATION = "mlqa-v1-official"  # mlqa_domain/benchmark/metric.py, as mlqa_evaluation_v1.py
DEFAULT = "mlqa-v1"
CUSTOM = "custom"
EXTERNAL = "external"
# The named extractive protocols: the settings that decide which answer is picked, and how it is scored.
NAMED: dict[str, dict[str, Any]] = {
    DEFAULT: {
        "kind": "extractive",
        "max_seq_length": 384,
        "doc_stride": 128,
        "max_answer_length": 30,
        "n_best": 20,
        "normalisation": NORMALISATION,
    },
}
EXTRACTIVE_KEYS = ("max_seq_length", "doc_stride", "max_answer_length", "n_best")


@dataclass(frozen=True)
class Protocol:
    """A named set of score-changing settings; ``declared`` when the harness did not apply them itself."""

    name: str
    settings: Mapping[str, Any]
    declared: bool = False

    @property
    def hash(self) -> str:
        """``sha256:<hex>`` of the settings (not the name): equal settings, equal hash."""
        text = json.dumps(dict(self.settings), sort_keys=True, separators=(",", ":"))
        return "sha256:" + sha256_bytes(text.encode("utf-8"))

    def to_json(self) -> dict[str, Any]:
        """The ``protocol`` block of results.json."""
        return {
            "name": self.name,
            "hash": self.hash,
            "settings": dict(self.settings),
            "declared": self.declared,
        }


def extractive(max_seq_length: int, doc_stride: int, max_answer_length: int, n_best: int) -> Protocol:
    """The protocol of extractive settings as applied: a named one when they match it, else ``custom``."""
    settings = {
        "kind": "extractive",
        "max_seq_length": int(max_seq_length),
        "doc_stride": int(doc_stride),
        "max_answer_length": int(max_answer_length),
        "n_best": int(n_best),
        "normalisation": NORMALISATION,
    }
    for name, named in NAMED.items():
        if named == settings:
            return Protocol(name, settings)
    return Protocol(CUSTOM, settings)


def named(name: str, declared: bool = False) -> Protocol:
    """A named protocol: an extractive one of :data:`NAMED`, or ``lm-eval-<k>shot`` (ConfigError with the
    known names otherwise)."""
    generative_match = _GENERATIVE_NAME.match(name)
    if generative_match:
        return dataclasses.replace(generative(int(generative_match.group(1))), declared=declared)
    if name not in NAMED:
        known = ", ".join(sorted(NAMED)) + ", lm-eval-<k>shot (generative)"
        raise ConfigError(f"unknown protocol {name!r} (known: {known})", "--protocol")
    return Protocol(name, dict(NAMED[name]), declared)


def external(producer: str = "imported") -> Protocol:
    """Answers produced elsewhere under settings nobody stated."""
    return Protocol(EXTERNAL, {"kind": "external", "producer": producer, "normalisation": NORMALISATION})


_GENERATIVE_NAME = re.compile(r"^lm-eval-(\d+)shot$")
ANSWER_RULE = "first line of the generation, stripped"


def generative(num_fewshot: int) -> Protocol:
    """Answers an LLM generated for the lm-eval tasks `bench lm-eval export` writes (its prompt and export
    format), with ``num_fewshot`` examples: ``lm-eval-<k>shot``. The model is not part of the protocol."""
    from mlqa_domain.benchmark.lm_eval_export import EXPORT_FORMAT, PROMPT

    settings = {
        "kind": "generative",
        "harness": "lm-eval",
        "export_format": EXPORT_FORMAT,
        "prompt": PROMPT,
        "num_fewshot": int(num_fewshot),
        "answer": ANSWER_RULE,
        "normalisation": NORMALISATION,
    }
    return Protocol(f"lm-eval-{int(num_fewshot)}shot", settings)


def of_lm_eval(details: Mapping[str, Any]) -> Protocol:
    """The generative protocol of an lm-eval run (every task must have used the same few-shot count)."""
    counts = {int(k) for k in (details.get("num_fewshot") or {}).values() if k is not None} or {0}
    if len(counts) != 1:
        raise ConfigError(
            f"the tasks were run with different few-shot counts {sorted(counts)}; import them apart"
        )
    return generative(counts.pop())


def run_settings_of(name: str) -> dict[str, int]:
    """The `bench run` options of a named extractive protocol."""
    return {key: int(named(name).settings[key]) for key in EXTRACTIVE_KEYS}


def of_results(results: Mapping[str, Any]) -> Protocol | None:
    """The protocol of a results.json: its ``protocol`` block, else (results of older versions) derived
    from its recorded extractive settings; None when neither says."""
    block = results.get("protocol")
    if isinstance(block, Mapping) and isinstance(block.get("settings"), Mapping):
        return Protocol(str(block.get("name")), dict(block["settings"]), bool(block.get("declared")))
    settings = results.get("settings")
    if isinstance(settings, Mapping) and all(isinstance(settings.get(k), int) for k in EXTRACTIVE_KEYS):
        return extractive(*(settings[k] for k in EXTRACTIVE_KEYS))
    return None


def differences(a: Protocol | None, b: Protocol | None) -> list[str]:
    """What differs between two protocols, one phrase each (``[]`` when they are the same)."""
    if a is None or b is None:
        return [] if a == b else ["one run records no protocol"]
    if a.hash == b.hash:
        return []
    keys = sorted(set(a.settings) | set(b.settings))
    out = [
        f"{key} {a.settings.get(key)!r} vs {b.settings.get(key)!r}"
        for key in keys
        if a.settings.get(key) != b.settings.get(key)
    ]
    return [f"protocol {a.name} vs {b.name}"] + out


def describe(protocol: Protocol | None) -> str:
    """``mlqa-v1``, ``mlqa-v1 (declared)``, ``custom 512/128/30/20``, ``external``, ``unknown``."""
    if protocol is None:
        return "unknown"
    text = protocol.name
    if protocol.name == CUSTOM:
        text += " " + "/".join(str(protocol.settings.get(k)) for k in EXTRACTIVE_KEYS)
    return text + (" (declared)" if protocol.declared else "")
