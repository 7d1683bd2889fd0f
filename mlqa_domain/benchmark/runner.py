"""`bench run`: score one QA checkpoint on the configs of a built dataset repo."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlqa_domain import __version__, progress
from mlqa_domain.benchmark import protocol as protocols
from mlqa_domain.benchmark import results as results_mod
from mlqa_domain.benchmark.data import ConfigExamples, load_config_examples, open_repo, plan_configs
from mlqa_domain.benchmark.features import (
    QuestionTooLongError,
    effective_max_length,
    prepare_validation_features,
)
from mlqa_domain.benchmark.inference import predict_logits, prepare_model, resolve_device
from mlqa_domain.benchmark.settings import RUN, RunSettings, check_model_location
from mlqa_domain.benchmark.spans import logits_to_answers
from mlqa_domain.errors import InputError, first_line
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.naming import public_dataset_name, public_model_name, public_model_revision

HARNESS_NAME = "mlqa-domain"
_SNAPSHOT = re.compile(r"snapshots[/\\]([0-9a-f]{40})(?:[/\\]|$)")
logger = logging.getLogger(__name__)


def _commit_hash(model: str, revision: str | None, config) -> str | None:
    """The hub commit of the loaded snapshot, or None for a plain local directory."""
    commit = getattr(config, "_commit_hash", None)
    if commit:
        return commit
    if Path(model).exists():
        match = _SNAPSHOT.search(str(Path(model).resolve()))
        return match.group(1) if match else None
    try:
        from huggingface_hub import hf_hub_download

        match = _SNAPSHOT.search(hf_hub_download(model, "config.json", revision=revision))
        return match.group(1) if match else None
    except Exception:  # noqa: BLE001 - the hash is best effort; loading already succeeded
        return None


def load_qa_model(model: str, revision: str | None = None):
    """``(model, tokenizer, commit_hash)`` for any ``AutoModelForQuestionAnswering`` with a fast tokenizer.

    A missing path, an unknown hub id or a checkpoint that is not a QA model is one InputError.
    """
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    check_model_location(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
        qa_model, loading = AutoModelForQuestionAnswering.from_pretrained(
            model, revision=revision, output_loading_info=True
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot load a question-answering model: {first_line(exc)}", model) from None
    if not getattr(tokenizer, "is_fast", False):
        raise InputError("the tokenizer is not a fast tokenizer (character offsets are needed)", model)
    missing = sorted(loading.get("missing_keys") or [])
    if missing:
        shown = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
        logger.warning(
            "%s: weights missing from the checkpoint were initialised at random (%s); "
            "an untrained QA head gives meaningless scores",
            model,
            shown,
        )
    return qa_model, tokenizer, _commit_hash(model, revision, qa_model.config)


def predict_answers(
    model,
    tokenizer,
    examples: ConfigExamples,
    settings: RunSettings,
    description: str = "inference",
) -> dict[str, str]:
    """The engine: unpadded features -> length-sorted batched logits -> vectorised n-best spans."""
    try:
        features = prepare_validation_features(
            examples.questions, examples.contexts, tokenizer, settings.max_seq_length, settings.doc_stride
        )
    except QuestionTooLongError as exc:
        raise InputError(
            f"{examples.config}: question {examples.ids[exc.index]!r} is too long ({exc}); "
            "raise --max-seq-length or lower --doc-stride"
        ) from None
    except ValueError as exc:
        raise InputError(f"cannot tokenise {examples.config}: {first_line(exc)}") from None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    start, end = predict_logits(model, features, pad_id, settings.batch_size, description)
    return logits_to_answers(
        {"id": examples.ids, "context": examples.contexts},
        features,
        start,
        end,
        n_best=settings.n_best,
        max_answer_length=settings.max_answer_length,
    )


def run_benchmark(
    model: str,
    data: str,
    out: str | Path,
    settings: RunSettings = RUN,
    model_card: Mapping[str, Any] | None = None,
    force: bool = True,
) -> dict:
    """Score ``model`` on the selected configs of ``data``; write ``out`` atomically; return results.json.

    ``model_card``: ``id`` (default: the model's public name, see :mod:`mlqa_domain.naming`),
    ``base_model`` and ``intermediate_tasks`` to record. ``out`` may be new, empty or a finished results
    dir; with ``force=False`` (`bench run` without --force) only one of the same run (model, revision,
    dataset, split, configs, settings), so a different run is never replaced by accident. A directory that
    is not a results dir is never replaced.
    """
    started = time.perf_counter()
    check_model_location(model)
    torch_device = resolve_device(settings.device)
    settings.check()
    out_dir = Path(out).expanduser().resolve()
    results_mod.check_results_dir(out_dir)
    repo = open_repo(data)
    to_run, skipped = plan_configs(repo, settings.configs, settings.split)
    if skipped:
        names = ", ".join(skipped)
        logger.info("skipping %d config(s) without a %r split: %s", len(skipped), settings.split, names)
    card = dict(model_card or {})
    qa_model, tokenizer, commit_hash = load_qa_model(model, settings.revision)
    settings = applied_settings(settings, tokenizer)
    planned = {
        "model": _model_entry(model, settings.revision, None, card),
        "dataset": {"fingerprint": repo.fingerprint, "split": settings.split},
        "settings": settings.recorded(torch_device.type),
        "configs": dict.fromkeys(to_run),
    }
    results_mod.check_results_dir(out_dir, results_mod.run_identity(planned), force=force)
    qa_model = prepare_model(qa_model, torch_device, settings.precision)

    scored: dict[str, results_mod.ConfigResult] = {}
    predictions: dict[str, bytes] = {}
    seconds: dict[str, float] = {}
    for name in progress.track(to_run, "configs scored"):  # one overall bar; each config's is transient
        config_start = time.perf_counter()
        examples = load_config_examples(data, name, settings.split, fingerprint=repo.fingerprint)
        answers = predict_answers(qa_model, tokenizer, examples, settings, description=name)
        seconds[name] = time.perf_counter() - config_start
        scored[name] = results_mod.score_config(examples, answers)
        predictions[name] = results_mod.predictions_bytes(answers)

    scores = results_mod.scores_bytes(scored)
    results = {
        "schema_version": results_mod.SCHEMA_VERSION,
        "harness": {"name": HARNESS_NAME, "version": __version__},
        "model": _model_entry(model, settings.revision, commit_hash, card),
        "dataset": {
            "path": public_dataset_name(data),
            "fingerprint": repo.fingerprint,
            "split": settings.split,
            "general": repo.general_domain,
        },
        "settings": settings.recorded(torch_device.type),
        "protocol": run_protocol(settings).to_json(),
        "timings": _timings(started, seconds, scored),
        "configs": results_mod.config_entries(scored, predictions),
        "scores": {"file": results_mod.SCORES_FILE, "sha256": sha256_bytes(scores)},
        **results_mod.summary(scored, general=repo.general_domain),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    results_mod.write_results_dir(out_dir, results, predictions, scores)
    return results


def applied_settings(settings: RunSettings, tokenizer) -> RunSettings:
    """The settings as the run applies them: ``max_seq_length`` clamped to the model's length, so a run
    asked for 4096 on a 512-token model is recorded (and identified) as the 512 run it is."""
    length = effective_max_length(tokenizer, settings.max_seq_length)
    if length == settings.max_seq_length:
        return settings
    logger.warning(
        "--max-seq-length %d is longer than the model takes; using %d", settings.max_seq_length, length
    )
    applied = dataclasses.replace(settings, max_seq_length=length)
    applied.check()
    return applied


def run_protocol(settings: RunSettings) -> protocols.Protocol:
    """The evaluation protocol of a run's applied settings (``mlqa-v1`` for the defaults)."""
    return protocols.extractive(
        settings.max_seq_length, settings.doc_stride, settings.max_answer_length, settings.n_best
    )


def _model_entry(model: str, revision: str | None, commit_hash: str | None, card: Mapping[str, Any]) -> dict:
    """results.json's ``model``: public names only (``--model-id``, else the hub id, else the directory)."""
    base = card.get("base_model")
    return {
        "id": card.get("id") or public_model_name(model),
        "revision": public_model_revision(model, revision),
        "commit_hash": commit_hash,
        "base_model": public_model_name(base) if base else None,
        "intermediate_tasks": list(card.get("intermediate_tasks") or []),
        "source": card.get("source") or "bench run",
    }


def _timings(started: float, seconds: Mapping[str, float], scored: Mapping[str, results_mod.ConfigResult]):
    n_examples = sum(r.count for r in scored.values())
    engine_seconds = sum(seconds.values())
    return {
        "total_seconds": time.perf_counter() - started,
        "examples_per_second": n_examples / engine_seconds if engine_seconds > 0 else None,
        "per_config_seconds": dict(seconds),
    }
