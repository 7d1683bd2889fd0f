"""Check a `bench run` results dir before it goes on the leaderboard, and store it when it passes.

Checks, cheapest first: schema; dataset fingerprint, split and configs; no duplicate of (model,
revision, settings); the leaderboard's dataset unchanged since init; every predictions file present
with the claimed sha256; counts and scores re-computed from the predictions against the gold answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

import mlqa_domain
from mlqa_domain.builders.configs import parse_config_name
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.leaderboard.dataset_info import check_dataset_unchanged, gold_cache_dir
from mlqa_domain.leaderboard.schema import (
    DomainGap,
    Entry,
    GapEstimate,
    Submission,
    Verification,
    VerifiedScore,
)
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest, first_error

RESULTS_FILE = "results.json"
SCORE_TOLERANCE = 1e-6
BOOTSTRAP_SAMPLES = 1000
GENERAL = "general"
ALL = "all"
_CLI_HINTS = {"submitter": "--submitter", "base_model": "--base-model"}


@dataclass
class Gold:
    """Gold answers of one config and the language the metric normalises in."""

    answers: dict[str, list[str]]
    language: str


def load_gold(manifest: Manifest, config: str) -> Gold:
    """Gold answers of ``config`` in the leaderboard's dataset and split, via ``datasets.load_dataset``."""
    from datasets import load_dataset

    data, split = manifest.dataset_location, manifest.split
    try:
        ds = load_dataset(
            data,
            config,
            split=split,
            revision=manifest.revision,
            cache_dir=gold_cache_dir(manifest.dataset_fingerprint),
        )
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(f"cannot load gold answers of config {config} ({split}): {exc}", data) from exc
    answers = {row_id: list(ans["text"]) for row_id, ans in zip(ds["id"], ds["answers"], strict=True)}
    languages = set(ds["context_language"]) if "context_language" in ds.column_names else set()
    if len(languages) > 1:
        raise InputError(f"config {config} mixes context languages {sorted(languages)}", data)
    language = languages.pop() if languages else config.split(".")[1]
    return Gold(answers, language)


def read_results(results_dir: Path) -> dict[str, Any]:
    """results.json of a `bench run` output dir."""
    path = results_dir / RESULTS_FILE
    if not results_dir.is_dir():
        raise InputError("not a results directory", results_dir)
    if not path.is_file():
        raise InputError("missing results.json (is this a `bench run` output dir?)", path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", path) from exc
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path)
    return data


def _merge(block: dict[str, Any], key: str, given: Any, path: Path) -> None:
    current = block.get(key)
    if given is None or given == []:
        return
    if current not in (None, [], "") and current != given:
        raise InputError(
            f"model.{key} is {current!r} in results.json but {given!r} on the command line", path
        )
    block[key] = given


def build_submission(
    results: dict[str, Any],
    results_path: Path,
    submitter: str | None = None,
    base_model: str | None = None,
    intermediate_tasks: Sequence[str] | None = None,
    date: datetime | None = None,
) -> Submission:
    """The submission: the run's results.json plus metadata from the command line, schema-checked."""
    model = results.get("model")
    if isinstance(model, dict):  # anything else is left to the schema check to reject
        model = dict(model)
        _merge(model, "base_model", base_model, results_path)
        _merge(model, "intermediate_tasks", list(intermediate_tasks or []), results_path)
        if model.get("intermediate_tasks") is None:
            model["intermediate_tasks"] = []
    raw = {
        "schema_version": results.get("schema_version"),
        "submitter": submitter or results.get("submitter"),
        "date": date or datetime.now(timezone.utc),
        "run_created": results.get("created"),
        "model": model,
        "harness": results.get("harness"),
        "dataset": results.get("dataset"),
        "settings": results.get("settings"),
        "configs": results.get("configs"),
    }
    try:
        return Submission.model_validate(raw)
    except ValidationError as exc:
        loc = exc.errors()[0].get("loc") or ("",)
        field = str(loc[-1])
        hint = f" (pass {_CLI_HINTS[field]})" if field in _CLI_HINTS else ""
        raise InputError(f"invalid submission: {first_error(exc)}{hint}", results_path) from exc


def read_predictions(results_dir: Path, config: str, relpath: str, claimed_sha: str) -> tuple[bytes, dict]:
    """The predictions file of ``config``: present, matching its claimed sha256, ``{id: answer}``."""
    path = results_dir / relpath
    if not path.resolve().is_relative_to(results_dir.resolve()):
        raise InputError(f"predictions file of config {config} points outside the results dir", path)
    if not path.is_file():
        raise InputError(f"predictions file of config {config} is missing", path)
    data = path.read_bytes()
    actual = sha256_bytes(data)
    if actual != claimed_sha:
        raise InputError(
            f"sha256 mismatch for config {config}: the file has {actual}, results.json claims {claimed_sha}",
            path,
        )
    try:
        predictions = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"predictions of config {config} are not valid JSON ({exc})", path) from exc
    if not isinstance(predictions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in predictions.items()
    ):
        raise InputError(f"predictions of config {config} must be a JSON object {{id: answer text}}", path)
    return data, predictions


def check_against_leaderboard(
    submission: Submission, manifest: Manifest, entries: list[Entry], where: Path
) -> None:
    """Same dataset and split as the leaderboard, known configs, not already on it."""
    if submission.dataset.fingerprint != manifest.dataset_fingerprint:
        raise InputError(
            f"dataset fingerprint {submission.dataset.fingerprint} does not match the leaderboard's dataset "
            f"{manifest.dataset_fingerprint} ({manifest.dataset_location})",
            where,
        )
    if submission.dataset.split != manifest.split:
        raise InputError(
            f"scored on split {submission.dataset.split!r} but the leaderboard ranks {manifest.split!r}",
            where,
        )
    if manifest.configs:
        unknown = sorted(set(submission.configs) - set(manifest.configs))
        if unknown:
            raise InputError(
                f"config {unknown[0]} is not in the leaderboard's dataset ({manifest.split})", where
            )
        missing = sorted(set(manifest.configs) - set(submission.configs))
        if missing:  # entries are ranked on their averages: a hand-picked subset would not compare
            raise InputError(
                f"{len(missing)} of the leaderboard's {len(manifest.configs)} configs are missing "
                f"(e.g. {missing[0]}); run `bench run` on every config of the dataset",
                where,
            )
    for name, claim in submission.configs.items():
        parsed = parse_config_name(name)
        claimed = (claim.domain, claim.context_language, claim.question_language)
        if claimed != (parsed.domain, parsed.context_language, parsed.question_language):
            raise InputError(f"config {name} is labelled {'/'.join(claimed)} in results.json", where)
    key = submission.duplicate_key()
    for entry in entries:
        if entry.submission.duplicate_key() == key or entry.entry_id == submission.entry_id():
            revision = key["revision"] or "(no revision)"
            raise InputError(
                f"duplicate submission: model {submission.model.id} at revision {revision} with these "
                f"settings is already on the leaderboard as entry {entry.entry_id}",
                where,
            )


def rescore(
    submission: Submission,
    results_dir: Path,
    manifest: Manifest,
) -> tuple[dict[str, bytes], dict[str, VerifiedScore], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Hash-check every predictions file and re-compute its scores; any mismatch is an InputError.

    Returns the predictions files' bytes, the verified scores and per-question (EM, F1) arrays.
    """
    from mlqa_domain.benchmark.metric import evaluate, per_question_scores
    from mlqa_domain.progress import track

    results_path = results_dir / RESULTS_FILE
    files: dict[str, bytes] = {}
    loaded: dict[str, dict[str, str]] = {}
    for config, claim in submission.configs.items():  # every file first: cheap checks before gold loading
        files[config], loaded[config] = read_predictions(
            results_dir, config, claim.predictions_file, claim.predictions_sha256
        )
    verified: dict[str, VerifiedScore] = {}
    per_question: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for config in track(sorted(submission.configs), "re-scoring predictions"):
        claim = submission.configs[config]
        gold = load_gold(manifest, config)
        predictions = loaded[config]
        stray = sorted(set(predictions) - set(gold.answers))
        if stray:
            raise InputError(
                f"config {config}: {len(stray)} predicted ids are not in the gold set (e.g. {stray[0]!r})",
                results_dir / claim.predictions_file,
            )
        if claim.count != len(gold.answers):
            raise InputError(
                f"config {config}: claimed count {claim.count} but the gold set has "
                f"{len(gold.answers)} questions",
                results_path,
            )
        if gold.answers:
            scores = evaluate(gold.answers, predictions, gold.language)
            em, f1 = per_question_scores(gold.answers, predictions, gold.language)
        else:
            scores, em, f1 = {"exact_match": 0.0, "f1": 0.0}, [], []
        for metric in ("exact_match", "f1"):
            claimed, actual = getattr(claim, metric), float(scores[metric])
            if abs(claimed - actual) > SCORE_TOLERANCE:
                raise InputError(
                    f"config {config}: claimed {metric} {claimed!r} but the predictions score {actual!r} "
                    "against the gold answers",
                    results_path,
                )
        verified[config] = VerifiedScore(
            exact_match=float(scores["exact_match"]), f1=float(scores["f1"]), count=len(gold.answers)
        )
        per_question[config] = (np.asarray(em, dtype=float), np.asarray(f1, dtype=float))
    return files, verified, per_question


def _bootstrap_means(values: np.ndarray, samples: int, seed_text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(samples, len(values)))
    return values[idx].mean(axis=1)


def _ci(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


def general_config_of(config: str, general: str = GENERAL) -> str | None:
    """``legal.de`` -> ``general.de``; None for ``general.*`` and ``all.*`` themselves."""
    domain, _, rest = config.partition(".")
    return None if domain in (general, ALL) else f"{general}.{rest}"


def domain_gaps(
    per_question: dict[str, tuple[np.ndarray, np.ndarray]],
    general: str = GENERAL,
    samples: int = BOOTSTRAP_SAMPLES,
) -> tuple[dict[str, GapEstimate], dict[str, DomainGap]]:
    """Gap of each domain config to the general config of its language, with bootstrap 95% CIs.

    Domain and general questions are different questions, so each is resampled on its own; a
    domain's summary gap is the mean over its language pairs, bootstrapped with the same draws.
    """
    boot: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def means(config: str) -> tuple[np.ndarray, np.ndarray]:
        if config not in boot:
            em, f1 = per_question[config]
            boot[config] = (
                100 * _bootstrap_means(em, samples, f"{config}/em"),
                100 * _bootstrap_means(f1, samples, f"{config}/f1"),
            )
        return boot[config]

    config_gaps: dict[str, GapEstimate] = {}
    by_domain: dict[str, list[tuple[str, np.ndarray]]] = {}
    for config in sorted(per_question):
        general_config = general_config_of(config, general)
        if general_config is None or general_config not in per_question:
            continue
        if len(per_question[config][1]) == 0 or len(per_question[general_config][1]) == 0:
            continue
        (em_d, f1_d), (em_g, f1_g) = per_question[config], per_question[general_config]
        (bem_d, bf1_d), (bem_g, bf1_g) = means(config), means(general_config)
        config_gaps[config] = GapEstimate(
            general_config=general_config,
            f1_gap=round(100 * (f1_d.mean() - f1_g.mean()), 4),
            f1_ci95=_ci(bf1_d - bf1_g),
            em_gap=round(100 * (em_d.mean() - em_g.mean()), 4),
            em_ci95=_ci(bem_d - bem_g),
        )
        domain, _, pair = config.partition(".")
        by_domain.setdefault(domain, []).append((pair, bf1_d - bf1_g))
    summaries: dict[str, DomainGap] = {}
    for domain, items in sorted(by_domain.items()):
        pairs = [pair for pair, _ in items]
        point = float(np.mean([config_gaps[f"{domain}.{pair}"].f1_gap for pair in pairs]))
        summaries[domain] = DomainGap(
            f1_gap=round(point, 4), f1_ci95=_ci(np.mean([b for _, b in items], axis=0)), languages=pairs
        )
    return config_gaps, summaries


@dataclass
class Accepted:
    """A verified entry and the files stored with it."""

    entry: Entry
    files: dict[str, bytes]


def verify_submission(
    results_dir: str | Path,
    store: LeaderboardStore,
    submitter: str | None = None,
    base_model: str | None = None,
    intermediate_tasks: Sequence[str] | None = None,
) -> Accepted:
    """Run every check; return the entry to store, or raise InputError naming what is wrong."""
    results_dir = Path(results_dir)
    results = read_results(results_dir)
    results_path = results_dir / RESULTS_FILE
    submission = build_submission(results, results_path, submitter, base_model, intermediate_tasks)
    manifest = store.manifest()
    check_against_leaderboard(submission, manifest, store.entries(), results_path)
    check_dataset_unchanged(manifest)
    predictions, verified, per_question = rescore(submission, results_dir, manifest)
    config_gaps, summaries = domain_gaps(per_question, manifest.general)
    entry = Entry(
        entry_id=submission.entry_id(),
        submission=submission,
        verification=Verification(
            verified_at=datetime.now(timezone.utc),
            verifier_version=mlqa_domain.__version__,
            bootstrap_samples=BOOTSTRAP_SAMPLES,
            configs=verified,
            config_gaps=config_gaps,
            domain_gaps=summaries,
        ),
    )
    files = {
        "entry.json": (entry.model_dump_json(indent=2) + "\n").encode(),
        RESULTS_FILE: results_path.read_bytes(),
    }
    for config, data in predictions.items():
        files[submission.configs[config].predictions_file] = data
    return Accepted(entry, files)


def submit(
    results_dir: str | Path,
    store: LeaderboardStore,
    submitter: str | None = None,
    base_model: str | None = None,
    intermediate_tasks: Sequence[str] | None = None,
) -> Entry:
    """Verify ``results_dir`` and add it to ``store`` (nothing is written when a check fails)."""
    accepted = verify_submission(results_dir, store, submitter, base_model, intermediate_tasks)
    store.add_entry(accepted.entry.entry_id, accepted.files)
    return accepted.entry
