"""Check a `bench run` results dir before it goes on the leaderboard, and store it when it passes.

Checks, cheapest first: the fields a submission needs (all missing ones named at once); schema; dataset
fingerprint, split and configs; no duplicate of (model, revision, settings, seeds); the leaderboard's
dataset unchanged since init; every predictions file present with the claimed sha256; counts and scores
re-computed from the predictions against the gold answers (every seed of a multi-seed run, and the
claimed means over the seeds). Aggregates, gaps, CIs and power come from
:mod:`mlqa_domain.benchmark.aggregates`, as in `bench run`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

import mlqa_domain
from mlqa_domain import stats
from mlqa_domain.benchmark import aggregates
from mlqa_domain.benchmark import protocol as protocols
from mlqa_domain.benchmark.aggregates import QuestionScores
from mlqa_domain.benchmark.compare import mean_over_seeds, resolve_results_dir, seed_dirs
from mlqa_domain.benchmark.results import RESULTS_FILE, SCORES_FILE, read_results_json
from mlqa_domain.configs import parse_config_name
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.jsonio import parse_json
from mlqa_domain.leaderboard.claims import check_training_claims
from mlqa_domain.leaderboard.compare import entry_scores
from mlqa_domain.leaderboard.dataset_info import Gold, check_dataset_unchanged, load_gold
from mlqa_domain.leaderboard.schema import (
    AggregateScore,
    ConfigPower,
    ConfigScore,
    DomainGap,
    Entry,
    GapEstimate,
    SeedsRecord,
    Spread,
    Submission,
    Verification,
    VerifiedScore,
)
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest
from mlqa_domain.naming import is_path_text, public_dataset_name, public_model_name
from mlqa_domain.progress import track

SCORE_TOLERANCE = 1e-6
PREDICTION_KEYS = ("predictions_file", "predictions_sha256")


def read_results(results_dir: Path) -> dict[str, Any]:
    """results.json of a `bench run` output dir."""
    if not results_dir.is_dir():
        raise InputError("not a results directory", results_dir)
    return read_results_json(results_dir)


@dataclass(frozen=True)
class Metadata:
    """What the command line adds to results.json (None/empty: take it from results.json)."""

    submitter: str | None = None
    base_model: str | None = None
    intermediate_tasks: Sequence[str] = field(default_factory=tuple)
    # "recorded" when read from the `bench stilts` run that trained the checkpoint (see claims.py)
    training_claims: str = "declared"


def _merge(block: dict[str, Any], key: str, given: Any, path: Path) -> None:
    current = block.get(key)
    if given is None or given == []:
        return
    if current not in (None, [], "") and current != given:
        raise InputError(
            f"model.{key} is {current!r} in results.json but {given!r} on the command line", path
        )
    block[key] = given


def _public(value: Any) -> Any:
    """A model name as published: never a local path (results of older versions recorded them)."""
    return public_model_name(value) if isinstance(value, str) and value and is_path_text(value) else value


def public_blocks(results: dict[str, Any]) -> tuple[dict[str, Any] | Any, dict[str, Any] | Any]:
    """results.json's ``model`` and ``dataset`` blocks with public names (results of older versions
    recorded local paths)."""
    model, dataset = results.get("model"), results.get("dataset")
    if isinstance(model, dict):
        model = {**model, "id": _public(model.get("id")), "base_model": _public(model.get("base_model"))}
    if isinstance(dataset, dict) and isinstance(dataset.get("path"), str) and is_path_text(dataset["path"]):
        dataset = {**dataset, "path": public_dataset_name(dataset["path"])}
    return model, dataset


def missing_fields(model: Any, submitter: Any) -> list[str]:
    """What a submission lacks that only the submitter can say, in plain words with the option to pass."""
    missing = []
    if not submitter:
        missing.append("who submits it (pass --submitter NAME)")
    if isinstance(model, dict) and not model.get("base_model"):
        missing.append(
            "the pretrained model the checkpoint was trained from (pass --base-model MODEL, e.g. "
            "xlm-roberta-base; `bench stilts` runs record it)"
        )
    return missing


def plain_errors(exc: ValidationError, limit: int = 4) -> str:
    """Pydantic's complaints in plain words, all on one line: ``configs.legal.de.f1 should be ...``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ())) or "results.json"
        message = str(err.get("msg", "is invalid")).removeprefix("Input ").removeprefix("Value error, ")
        message = "is missing" if message == "Field required" else message[0].lower() + message[1:]
        parts.append(f"{where} {message}")
    shown = "; ".join(parts[:limit]) + (f"; and {len(parts) - limit} more" if len(parts) > limit else "")
    return f"{len(parts)} problem{'s' if len(parts) != 1 else ''}: {shown}"


def _seed_runs(results_dir: Path, results: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The ``seeds`` of the submission: each seed dir's scores and predictions files (its results.json)."""
    if not results.get("seeds"):
        return None
    runs = []
    for seed, directory in seed_dirs(results_dir, results):
        seed_results = read_results_json(directory)
        seed_dataset = seed_results.get("dataset") or {}
        dataset = results.get("dataset") or {}
        if (seed_dataset.get("fingerprint"), seed_dataset.get("split")) != (
            dataset.get("fingerprint"),
            dataset.get("split"),
        ):
            raise InputError("this seed was scored on other data than the run", directory / RESULTS_FILE)
        runs.append(
            {
                "seed": seed,
                "dir": directory.name,
                "run_created": seed_results.get("created"),
                "configs": seed_results.get("configs"),
            }
        )
    return runs


def _protocol_block(results: dict[str, Any]) -> Any:
    """results.json's protocol; for results of older versions, the one its extractive settings make."""
    if "protocol" in results:
        return results["protocol"]
    derived = protocols.of_results(results)
    return derived.to_json() if derived is not None else None


def build_submission(
    results: dict[str, Any],
    results_path: Path,
    metadata: Metadata,
    date: datetime | None = None,
    seeds: list[dict[str, Any]] | None = None,
) -> Submission:
    """The submission: the run's results.json plus metadata from the command line, schema-checked.

    Every field only the submitter can give that is missing is named at once; schema problems are listed
    in plain words."""
    model, dataset = public_blocks(results)
    if isinstance(model, dict):  # anything else is left to the schema check to reject
        model = dict(model)
        _merge(model, "base_model", _public(metadata.base_model), results_path)
        _merge(model, "intermediate_tasks", list(metadata.intermediate_tasks), results_path)
        if model.get("intermediate_tasks") is None:
            model["intermediate_tasks"] = []
        model["training_claims"] = metadata.training_claims  # never taken from results.json
    submitter = metadata.submitter or results.get("submitter")
    missing = missing_fields(model, submitter)
    if missing:
        raise InputError("cannot submit yet, missing: " + "; ".join(missing), results_path)
    configs = results.get("configs")
    if seeds and isinstance(configs, dict):  # the means over the seeds; the files are the seeds'
        configs = {
            name: {k: v for k, v in claim.items() if k not in PREDICTION_KEYS}
            if isinstance(claim, dict)
            else claim
            for name, claim in configs.items()
        }
    raw = {
        "schema_version": results.get("schema_version"),
        "submitter": submitter,
        "date": date or datetime.now(timezone.utc),
        "run_created": results.get("created"),
        "model": model,
        "harness": results.get("harness"),
        "dataset": dataset,
        "settings": results.get("settings"),
        "protocol": _protocol_block(results),
        "configs": configs,
        "seeds": seeds,
    }
    try:
        return Submission.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"invalid submission, {plain_errors(exc)}", results_path) from exc


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
            f"{manifest.dataset_fingerprint} ({public_dataset_name(manifest.dataset_location)})",
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
    check_protocol(submission, manifest, where)
    key = submission.identity_key()
    for entry in entries:
        if entry.submission.identity_key() == key or entry.entry_id == submission.entry_id():
            revision = submission.duplicate_key()["revision"] or "(no revision)"
            other = entry.submission.model.id
            alike = "" if other == submission.model.id else f" (model ids that look alike: {other!r})"
            raise InputError(
                f"duplicate submission: model {submission.model.id!r} at revision {revision} with these "
                f"settings is already on the leaderboard as entry {entry.entry_id}{alike}",
                where,
            )


def _same_scores(a: QuestionScores, b: QuestionScores) -> bool:
    """True when both give every question the same EM and F1 (in whatever order they list them)."""
    if sorted(a.ids) != sorted(b.ids):
        return False
    order_a, order_b = np.argsort(a.ids, kind="stable"), np.argsort(b.ids, kind="stable")
    return bool(np.array_equal(a.em[order_a], b.em[order_b]) and np.array_equal(a.f1[order_a], b.f1[order_b]))


def check_not_a_copy(
    rescored: Rescored, store: LeaderboardStore, manifest: Manifest, entries: list[Entry], where: Path
) -> None:
    """Refuse predictions that score exactly as an entry already on the leaderboard on every question of
    every config (the same predictions under another name, revision or settings that change nothing):
    entries with the same verified config scores are compared question by question."""
    for entry in entries:
        if entry.verification.configs != rescored.configs:
            continue
        stored = entry_scores(store, entry, manifest)
        if set(stored) == set(rescored.per_question) and all(
            _same_scores(stored[name], scores) for name, scores in rescored.per_question.items()
        ):
            raise InputError(
                f"duplicate submission: its predictions score exactly as entry {entry.entry_id} "
                f"(model {entry.submission.model.id!r}) on every question; the same predictions are "
                "one entry",
                where,
            )


def check_protocol(submission: Submission, manifest: Manifest, where: Path) -> None:
    """The leaderboard ranks one evaluation protocol; a run scored under another is refused."""
    given = submission.protocol
    if given is None:
        raise InputError(
            f"results.json records no evaluation protocol; this leaderboard ranks {manifest.protocol} runs",
            where,
        )
    if given.hash != manifest.protocol_hash:
        board = protocols.named(manifest.protocol) if manifest.protocol in protocols.NAMED else None
        run = protocols.Protocol(given.name, given.settings, given.declared)
        shown = "; ".join(protocols.differences(run, board)[1:4]) if board else ""
        hint = (
            f"; if the answers were made with {manifest.protocol}'s settings, re-import them with "
            f"`bench import --protocol {manifest.protocol}`"
            if given.name == protocols.EXTERNAL
            else ""
        )
        raise InputError(
            f"scored under protocol {protocols.describe(run)}, but this leaderboard ranks "
            f"{manifest.protocol} runs" + (f" ({shown})" if shown else "") + hint,
            where,
        )


def _check_scores(
    config: str, claim: ConfigScore, gold: Gold, predictions: dict[str, str], results_dir: Path
) -> tuple[VerifiedScore, QuestionScores]:
    """Re-score one config's predictions against its gold answers; the claims must match."""
    from mlqa_domain.benchmark.metric import evaluate, per_question_scores

    results_path = results_dir / RESULTS_FILE
    stray = sorted(set(predictions) - set(gold.answers))
    if stray:
        raise InputError(
            f"config {config}: {len(stray)} predicted ids are not in the gold set (e.g. {stray[0]!r})",
            results_dir / str(claim.predictions_file),
        )
    _check_count(config, claim.count, len(gold.answers), results_path)
    if gold.answers:
        scores = evaluate(gold.answers, predictions, gold.language)
        em, f1 = per_question_scores(gold.answers, predictions, gold.language)
    else:
        scores, em, f1 = {"exact_match": 0.0, "f1": 0.0}, [], []
    verified = VerifiedScore(
        exact_match=float(scores["exact_match"]), f1=float(scores["f1"]), count=len(gold.answers)
    )
    _check_claims(config, claim, verified, results_path, "")
    return verified, QuestionScores(list(gold.answers), np.asarray(em), np.asarray(f1))


def _check_count(config: str, claimed: int, actual: int, where: Path) -> None:
    if claimed != actual:
        raise InputError(
            f"config {config}: claimed count {claimed} but the gold set has {actual} questions", where
        )


def _check_claims(config: str, claim: ConfigScore, verified: VerifiedScore, where: Path, what: str) -> None:
    for metric in ("exact_match", "f1"):
        claimed, actual = getattr(claim, metric), getattr(verified, metric)
        if abs(claimed - actual) > SCORE_TOLERANCE:
            raise InputError(
                f"config {config}: claimed {what}{metric} {claimed!r} but the predictions score {actual!r} "
                "against the gold answers",
                where,
            )


@dataclass
class Rescored:
    """What re-scoring found: the files to store, verified scores (seed means) and per-question scores."""

    files: dict[str, bytes]
    configs: dict[str, VerifiedScore]
    per_question: dict[str, QuestionScores]
    per_seed: list[dict[str, VerifiedScore]] = field(default_factory=list)


def _runs_of(submission: Submission) -> list[tuple[str, dict[str, ConfigScore]]]:
    """``(directory inside the results dir, claims)`` of each run: the one run, or every seed."""
    if submission.seeds:
        return [(seed.dir, seed.configs) for seed in submission.seeds]
    return [("", submission.configs)]


def rescore(submission: Submission, results_dir: Path, manifest: Manifest) -> Rescored:
    """Hash-check every predictions file and re-compute its scores; any mismatch is an InputError."""
    runs = _runs_of(submission)
    files: dict[str, bytes] = {}
    loaded: list[dict[str, dict[str, str]]] = []
    for directory, claims in runs:  # every file first: cheap checks before gold loading
        run_dir = results_dir / directory if directory else results_dir
        predictions = {}
        for config, claim in claims.items():
            data, predictions[config] = read_predictions(
                run_dir, config, str(claim.predictions_file), str(claim.predictions_sha256)
            )
            files[f"{directory}/{claim.predictions_file}" if directory else str(claim.predictions_file)] = (
                data
            )
        loaded.append(predictions)
    per_seed: list[dict[str, VerifiedScore]] = [{} for _ in runs]
    per_question_seed: list[dict[str, QuestionScores]] = [{} for _ in runs]
    for config in track(sorted(submission.configs), "re-scoring predictions"):
        gold = load_gold(manifest, config)
        for i, (directory, claims) in enumerate(runs):
            run_dir = results_dir / directory if directory else results_dir
            per_seed[i][config], per_question_seed[i][config] = _check_scores(
                config, claims[config], gold, loaded[i][config], run_dir
            )
    verified = _mean_scores(submission, per_seed, results_dir / RESULTS_FILE)
    per_question = mean_over_seeds(per_question_seed, results_dir)
    return Rescored(files, verified, per_question, per_seed if submission.seeds else [])


def _mean_scores(
    submission: Submission, per_seed: list[dict[str, VerifiedScore]], where: Path
) -> dict[str, VerifiedScore]:
    """The verified scores of the run: the one run's, or the means over the seeds (checked against the
    means the run claims)."""
    if not submission.seeds:
        return per_seed[0]
    out = {}
    for config, claim in submission.configs.items():
        seeds = [scores[config] for scores in per_seed]
        mean = VerifiedScore(
            exact_match=float(np.mean([s.exact_match for s in seeds])),
            f1=float(np.mean([s.f1 for s in seeds])),
            count=seeds[0].count,
        )
        _check_count(config, claim.count, mean.count, where)
        _check_claims(config, claim, mean, where, "mean ")
        out[config] = mean
    return out


def _spread(values: list[float | None]) -> Spread:
    present = [v for v in values if v is not None]
    mean = float(np.mean(present)) if present else None
    std = stats.sample_sd(present) if len(present) > 1 else None
    return Spread(
        mean=None if mean is None else round(mean, aggregates.DIGITS),
        std=None if std is None else round(std, aggregates.DIGITS),
        values=values,
    )


def seeds_record(
    submission: Submission, per_seed: list[dict[str, VerifiedScore]], general: str
) -> SeedsRecord:
    """Each aggregate's mean, SD and values over the seeds, from each seed's verified config scores."""
    per_aggregate: list[dict[str, dict]] = [
        aggregates.aggregate_scores({c: s.model_dump() for c, s in scores.items()}, general)
        for scores in per_seed
    ]
    names = list(per_aggregate[0]) if per_aggregate else []
    return SeedsRecord(
        values=submission.seed_values,
        aggregates={
            name: {
                "f1": _spread([agg[name]["f1"] for agg in per_aggregate]),
                "em": _spread([agg[name]["exact_match"] for agg in per_aggregate]),
            }
            for name in names
        },
    )


def verification_record(
    rescored: Rescored, submission: Submission, general: str, verified_at: datetime | None = None
) -> Verification:
    """The verification block: verified scores, and what :func:`aggregates.summarise` derives from them."""
    summary = aggregates.summarise(rescored.per_question, general)
    gaps = {
        d.removeprefix(aggregates.GAP_PREFIX): v
        for d, v in summary["aggregates"].items()
        if d.startswith(aggregates.GAP_PREFIX)
    }
    return Verification(
        verified_at=verified_at or datetime.now(timezone.utc),
        verifier_version=mlqa_domain.__version__,
        bootstrap_samples=stats.N_RESAMPLES,
        bootstrap_seed=stats.SEED,
        configs=rescored.configs,
        config_gaps={name: GapEstimate(**gap) for name, gap in summary["config_gaps"].items()},
        domain_gaps={
            domain: DomainGap(
                f1_gap=gap["f1"],
                f1_ci95=tuple(gap["f1_ci95"]),
                languages=gap["languages"],
                em_gap=gap["exact_match"],
                em_ci95=tuple(gap["em_ci95"]),
            )
            for domain, gap in gaps.items()
        },
        aggregates={name: AggregateScore(**value) for name, value in summary["aggregates"].items()},
        power={name: ConfigPower(**value) for name, value in summary["power"].items()},
        seeds=seeds_record(submission, rescored.per_seed, general) if submission.seeds else None,
    )


def scores_file(per_question: dict[str, QuestionScores]) -> bytes:
    """The entry's ``scores.json``: per-question EM/F1 (seed means) that `bench compare` and the entry
    pages' baseline comparisons pair on."""
    data = {name: scores.to_json() for name, scores in sorted(per_question.items())}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _stored_results(results: dict[str, Any], original: bytes) -> bytes:
    """The submitted results.json as given, or with public model/dataset names where it had local paths."""
    model, dataset = public_blocks(results)
    if model == results.get("model") and dataset == results.get("dataset"):
        return original
    return (
        json.dumps({**results, "model": model, "dataset": dataset}, indent=2, ensure_ascii=False) + "\n"
    ).encode()


@dataclass
class Accepted:
    """A verified entry and the files stored with it."""

    entry: Entry
    files: dict[str, bytes]


def verify_submission(results_dir: str | Path, store: LeaderboardStore, metadata: Metadata) -> Accepted:
    """Run every check; return the entry to store, or raise InputError naming what is wrong."""
    results_dir = resolve_results_dir(results_dir)
    results = read_results(results_dir)
    results_path = results_dir / RESULTS_FILE
    claims = check_training_claims(results_dir, results, metadata.base_model, metadata.intermediate_tasks)
    metadata = dataclasses.replace(metadata, training_claims=claims)
    submission = build_submission(results, results_path, metadata, seeds=_seed_runs(results_dir, results))
    manifest = store.manifest()
    entries = store.entries()
    check_against_leaderboard(submission, manifest, entries, results_path)
    check_dataset_unchanged(manifest)
    rescored = rescore(submission, results_dir, manifest)
    check_not_a_copy(rescored, store, manifest, entries, results_path)
    entry = Entry(
        entry_id=submission.entry_id(),
        submission=submission,
        verification=verification_record(rescored, submission, manifest.general),
    )
    files = {
        "entry.json": (entry.model_dump_json(indent=2) + "\n").encode(),
        RESULTS_FILE: _stored_results(results, results_path.read_bytes()),
        SCORES_FILE: scores_file(rescored.per_question),
        **rescored.files,
    }
    for seed in submission.seeds or []:
        files[f"{seed.dir}/{RESULTS_FILE}"] = (results_dir / seed.dir / RESULTS_FILE).read_bytes()
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
    store.check_writable()  # before the re-scoring, not after it
    accepted = verify_submission(results_dir, store, metadata)
    store.add_entry(accepted.entry.entry_id, accepted.files)
    return accepted.entry
