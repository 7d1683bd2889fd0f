"""Read the answers of an lm-evaluation-harness run of the exported tasks (``lm_eval --log_samples``).

lm-eval 0.4 writes, under ``--output_path OUT``, one directory per model (``OUT/<model_name_sanitized>/``)
holding ``results_<date>.json`` (scores, task configs with their metadata, model args, task hashes) and,
with ``--log_samples``, ``samples_<task>_<date>.jsonl`` per task of that run: one JSON object per
question with the dataset row (``doc``, whose ``id`` is the question id) and the generation
(``filtered_resps``). An answer is the generation's first line, stripped, as the tasks' metric takes it.

Several runs into the same directory are merged (a task run twice counts from its latest run); runs of
different models or model arguments are not. Anything that is not an exported task of the given dataset
fingerprint and split, and any missing, truncated or malformed file, is one InputError naming the file.
Nothing here imports lm_eval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.benchmark.lm_eval_export import METADATA_KEY, TASK_PREFIX
from mlqa_domain.benchmark.lm_eval_metric import answer_text
from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import iter_jsonl, located_error, read_json

# lm-eval's date id: datetime.now().isoformat() with ":" replaced by "-"
_DATE = r"(?P<date>\d{4}-\d\d-\d\dT[0-9.\-]+)"
RESULTS_FILE = re.compile(rf"^results_{_DATE}\.json$")
SAMPLES_FILE = re.compile(rf"^samples_(?P<task>.+)_{_DATE}\.jsonl$")
_MODEL_KEYS = ("model", "model_args")


@dataclass
class _Run:
    """One lm-eval run in a model directory: its results file and the samples files of the same date."""

    date: str
    results: Path | None
    samples: dict[str, Path]


def _is_output_file(path: Path) -> bool:
    return path.is_file() and bool(RESULTS_FILE.match(path.name) or SAMPLES_FILE.match(path.name))


def _holds_output(directory: Path) -> bool:
    try:
        return any(_is_output_file(child) for child in directory.iterdir())
    except OSError:
        return False


def _output_dirs(path: Path) -> list[Path]:
    """``path`` itself when it holds lm-eval files, else its subdirectories that do (one per model)."""
    if not path.is_dir():
        return []
    if _holds_output(path):
        return [path]
    return sorted(child for child in path.iterdir() if child.is_dir() and _holds_output(child))


def is_lm_eval_output(path: Path) -> bool:
    """True when `path` is (or contains) an lm-eval output directory with --log_samples files.

    Also true for one with only ``results_<date>.json`` files, so that reading it says what is missing.
    """
    return bool(_output_dirs(Path(path)))


def _runs(directory: Path) -> list[_Run]:
    """The runs in a model directory, oldest first."""
    runs: dict[str, _Run] = {}
    for child in sorted(directory.iterdir()):
        if not child.is_file():
            continue
        if match := RESULTS_FILE.match(child.name):
            runs.setdefault(match["date"], _Run(match["date"], None, {})).results = child
        elif match := SAMPLES_FILE.match(child.name):
            runs.setdefault(match["date"], _Run(match["date"], None, {})).samples[match["task"]] = child
    return [runs[date] for date in sorted(runs)]


def _our_metadata(task: str, task_config: Any, where: Path) -> dict[str, Any]:
    """The export's record in a task's config; a task that is not an exported one is an InputError."""
    metadata = task_config.get("metadata") if isinstance(task_config, Mapping) else None
    recorded = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    if not task.startswith(f"{TASK_PREFIX}_") or not isinstance(recorded, Mapping):
        raise InputError(
            f"task {task!r} is not a task exported by `bench lm-eval export` (run lm_eval on those only)",
            where,
        )
    if not isinstance(recorded.get("config"), str):
        raise InputError(f"task {task!r}: metadata.{METADATA_KEY} names no config", where)
    return dict(recorded)


def _check_dataset(task: str, recorded: Mapping[str, Any], fingerprint: str, split: str, where: Path) -> None:
    if recorded.get("dataset_fingerprint") != fingerprint:
        raise InputError(
            f"task {task!r} was exported from the dataset with fingerprint "
            f"{recorded.get('dataset_fingerprint')}, not {fingerprint} (re-export the tasks from this "
            "dataset and run lm_eval again)",
            where,
        )
    if recorded.get("split") != split:
        raise InputError(f"task {task!r} scored the {recorded.get('split')!r} split, not {split!r}", where)


def _read_results(path: Path) -> dict[str, Any]:
    results = read_json(path)
    if not isinstance(results, dict) or not isinstance(results.get("configs"), dict):
        raise InputError("not an lm-eval results file (no task configs)", path)
    return results


def _expected_count(results: Mapping[str, Any], task: str) -> int | None:
    counts = (results.get("n-samples") or {}).get(task)
    effective = counts.get("effective") if isinstance(counts, Mapping) else None
    return effective if isinstance(effective, int) else None


def _generation(sample: Mapping[str, Any]) -> Any:
    """The (filtered) generation of a sample: a string for a ``generate_until`` task."""
    responses = sample.get("filtered_resps")
    if isinstance(responses, list) and responses:
        first = responses[0]
        # lm-eval keeps a list per request when a filter keeps several responses
        return first[0] if isinstance(first, list) and first else first
    return None


def _read_samples(path: Path, expected: int | None) -> dict[str, str]:
    """``{question id: answer}`` of one samples file."""
    answers: dict[str, str] = {}
    for number, sample in iter_jsonl(path):
        doc = sample.get("doc") if isinstance(sample, dict) else None
        question_id = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(question_id, str):
            raise located_error("sample has no doc.id (the question id)", path, number)
        generation = _generation(sample)
        if not isinstance(generation, str):
            raise located_error(f"sample of question {question_id} has no generated text", path, number)
        if question_id in answers:
            raise located_error(f"question {question_id} appears twice", path, number)
        answers[question_id] = answer_text(generation)
    if not answers:
        raise InputError("samples file holds no samples", path)
    if expected is not None and len(answers) != expected:
        raise InputError(
            f"holds {len(answers)} samples but the run's results file lists {expected} (truncated?)", path
        )
    return answers


def _model_identity(results: Mapping[str, Any]) -> dict[str, Any]:
    config = results.get("config") if isinstance(results.get("config"), Mapping) else {}
    return {key: config.get(key) for key in _MODEL_KEYS}


def _scores(results: Mapping[str, Any], task: str) -> dict[str, float]:
    """lm-eval's own EM/F1 of a task (the unfiltered ``none`` pipeline), as its table shows them."""
    row = (results.get("results") or {}).get(task) or {}
    return {name: row[f"{name},none"] for name in ("exact_match", "f1") if f"{name},none" in row}


def _one_model_dir(path: Path) -> Path:
    directories = _output_dirs(path)
    if not directories:
        raise InputError("no lm-eval output here (results_<date>.json and samples_<task>_<date>.jsonl)", path)
    if len(directories) > 1:
        names = ", ".join(d.name for d in directories[:3])
        raise InputError(f"holds the output of several models ({names}); give one model's directory", path)
    return directories[0]


def read_lm_eval_output(
    path: Path, fingerprint: str, split: str
) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """({config name: {question id: answer text}}, details) from the samples files of exported tasks.

    answer = the generated text's first line, stripped. details = {"lm_eval_version", "model",
    "model_args", "task_hashes": {task: hash}, "num_fewshot": {...}, ...} as found in the results_*.json
    next to the samples. Raises mlqa_domain.errors.InputError (one line naming the file and problem) for
    samples of a task that is not ours, a different dataset fingerprint or split, missing samples files,
    truncated/malformed JSON lines.

    Besides those keys, details holds ``model_name``, ``limit``, ``gen_kwargs``, ``chat_template_sha``,
    ``system_instruction_sha``, ``fewshot_as_multiturn``, ``transformers_version`` (of the latest run),
    ``tasks`` ({task: config}), ``scores`` (lm-eval's own EM/F1 per config) and ``results_files``.
    """
    directory = _one_model_dir(Path(path))
    answers: dict[str, dict[str, str]] = {}
    task_of: dict[str, str] = {}
    per_task: dict[str, dict[str, Any]] = {}
    latest: dict[str, Any] = {}
    identity: dict[str, Any] | None = None
    used_files: list[str] = []
    for run in _runs(directory):
        if run.results is None:
            first = next(iter(run.samples.values()))
            raise InputError(f"no results_{run.date}.json beside this samples file", first)
        results = _read_results(run.results)
        for task in run.samples:
            if task not in results["configs"]:
                raise InputError(f"task {task!r} is not in results_{run.date}.json", run.samples[task])
        ours = {}
        for task, task_config in results["configs"].items():
            recorded = _our_metadata(task, task_config, run.samples.get(task, run.results))
            _check_dataset(task, recorded, fingerprint, split, run.samples.get(task, run.results))
            ours[task] = recorded["config"]
        if not ours:
            raise InputError("lists no tasks", run.results)
        run_identity = _model_identity(results)
        if identity is not None and run_identity != identity:
            raise InputError(
                f"another model or other model arguments than the earlier run ({run_identity} vs "
                f"{identity}); give each model's output separately",
                run.results,
            )
        identity = run_identity
        for task, config in ours.items():
            if task not in run.samples:
                raise InputError(
                    f"no samples_{task}_{run.date}.jsonl (run lm_eval with --log_samples)", run.results
                )
            answers[config] = _read_samples(run.samples[task], _expected_count(results, task))
            task_of[config] = task
            per_task[task] = {
                "hash": (results.get("task_hashes") or {}).get(task),
                "num_fewshot": (results.get("n-shot") or {}).get(task),
                "scores": _scores(results, task),
            }
        latest = results
        used_files.append(run.results.name)
    return answers, _details(latest, task_of, per_task, used_files)


def _details(
    results: Mapping[str, Any],
    task_of: Mapping[str, str],
    per_task: Mapping[str, Mapping[str, Any]],
    results_files: Iterable[str],
) -> dict[str, Any]:
    """What an import records about the run(s): lm-eval's version, the model, task hashes, few-shot."""
    config = results.get("config") if isinstance(results.get("config"), Mapping) else {}
    tasks = {task: name for name, task in task_of.items()}
    return {
        "lm_eval_version": results.get("lm_eval_version"),
        "model": config.get("model"),
        "model_args": config.get("model_args"),
        "model_name": results.get("model_name"),
        "task_hashes": {task: per_task[task]["hash"] for task in tasks},
        "num_fewshot": {task: per_task[task]["num_fewshot"] for task in tasks},
        "limit": config.get("limit"),
        "gen_kwargs": config.get("gen_kwargs"),
        "chat_template_sha": results.get("chat_template_sha"),
        "system_instruction_sha": results.get("system_instruction_sha"),
        "fewshot_as_multiturn": results.get("fewshot_as_multiturn"),
        "transformers_version": results.get("transformers_version"),
        "tasks": tasks,
        "scores": {config_name: per_task[task]["scores"] for task, config_name in tasks.items()},
        "results_files": list(results_files),
    }
