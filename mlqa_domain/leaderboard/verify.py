"""Check a `bench run` results dir before it goes on the leaderboard, and store it when it passes.

Checks, cheapest first: schema; dataset fingerprint, split and configs; no duplicate of (model,
revision, settings); the leaderboard's dataset unchanged since init; every predictions file present
with the claimed sha256; counts and scores re-computed from the predictions against the gold answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

import mlqa_domain
from mlqa_domain.configs import parse_config_name
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.jsonio import parse_json
from mlqa_domain.leaderboard.dataset_info import check_dataset_unchanged, gold_cache_dir
from mlqa_domain.leaderboard.gaps import BOOTSTRAP_SAMPLES, PerQuestion, domain_gaps
from mlqa_domain.leaderboard.schema import ConfigScore, Entry, Submission, Verification, VerifiedScore
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest, first_error
from mlqa_domain.progress import track

RESULTS_FILE = "results.json"
SCORE_TOLERANCE = 1e-6
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
    language = languages.pop() if languages else parse_config_name(config).context_language
    return Gold(answers, language)


def read_results(results_dir: Path) -> dict[str, Any]:
    """results.json of a `bench run` output dir."""
    path = results_dir / RESULTS_FILE
    if not results_dir.is_dir():
        raise InputError("not a results directory", results_dir)
    if not path.is_file():
        raise InputError("missing results.json (is this a `bench run` output dir?)", path)
    data = parse_json(path.read_bytes(), path)
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


@dataclass(frozen=True)
class Metadata:
    """What the command line adds to results.json (None/empty: take it from results.json)."""

    submitter: str | None = None
    base_model: str | None = None
    intermediate_tasks: Sequence[str] = field(default_factory=tuple)


def build_submission(
    results: dict[str, Any], results_path: Path, metadata: Metadata, date: datetime | None = None
) -> Submission:
    """The submission: the run's results.json plus metadata from the command line, schema-checked."""
    model = results.get("model")
    if isinstance(model, dict):  # anything else is left to the schema check to reject
        model = dict(model)
        _merge(model, "base_model", metadata.base_model, results_path)
        _merge(model, "intermediate_tasks", list(metadata.intermediate_tasks), results_path)
        if model.get("intermediate_tasks") is None:
            model["intermediate_tasks"] = []
    raw = {
        "schema_version": results.get("schema_version"),
        "submitter": metadata.submitter or results.get("submitter"),
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
    predictions = parse_json(data, path)
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


def _check_scores(
    config: str, claim: ConfigScore, gold: Gold, predictions: dict[str, str], results_dir: Path
) -> tuple[VerifiedScore, tuple[np.ndarray, np.ndarray]]:
    """Re-score one config's predictions against its gold answers; the claims must match."""
    from mlqa_domain.benchmark.metric import evaluate, per_question_scores

    results_path = results_dir / RESULTS_FILE
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
    verified = VerifiedScore(
        exact_match=float(scores["exact_match"]), f1=float(scores["f1"]), count=len(gold.answers)
    )
    return verified, (np.asarray(em, dtype=float), np.asarray(f1, dtype=float))


def rescore(
    submission: Submission, results_dir: Path, manifest: Manifest
) -> tuple[dict[str, bytes], dict[str, VerifiedScore], PerQuestion]:
    """Hash-check every predictions file and re-compute its scores; any mismatch is an InputError.

    Returns the predictions files' bytes, the verified scores and per-question (EM, F1) arrays.
    """
    files: dict[str, bytes] = {}
    loaded: dict[str, dict[str, str]] = {}
    for config, claim in submission.configs.items():  # every file first: cheap checks before gold loading
        files[config], loaded[config] = read_predictions(
            results_dir, config, claim.predictions_file, claim.predictions_sha256
        )
    verified: dict[str, VerifiedScore] = {}
    per_question: PerQuestion = {}
    for config in track(sorted(submission.configs), "re-scoring predictions"):
        gold = load_gold(manifest, config)
        claim = submission.configs[config]
        verified[config], per_question[config] = _check_scores(
            config, claim, gold, loaded[config], results_dir
        )
    return files, verified, per_question


@dataclass
class Accepted:
    """A verified entry and the files stored with it."""

    entry: Entry
    files: dict[str, bytes]


def verify_submission(results_dir: str | Path, store: LeaderboardStore, metadata: Metadata) -> Accepted:
    """Run every check; return the entry to store, or raise InputError naming what is wrong."""
    results_dir = Path(results_dir)
    results = read_results(results_dir)
    results_path = results_dir / RESULTS_FILE
    submission = build_submission(results, results_path, metadata)
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
    metadata = Metadata(submitter, base_model, tuple(intermediate_tasks or ()))
    accepted = verify_submission(results_dir, store, metadata)
    store.add_entry(accepted.entry.entry_id, accepted.files)
    return accepted.entry
