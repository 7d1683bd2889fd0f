"""How a checkpoint was trained: read from its `bench stilts` record, or declared by the submitter.

A `bench stilts` run writes ``run.json`` (its training config and phases) next to its phase dirs; the
results it submits live in ``eval/results`` (one seed) or ``results`` (several seeds, each seed dir with
its own ``run.json``). When that record is there, the base model and intermediate tasks are *recorded*:
results.json must agree with it and a contradicting ``--base-model`` / ``--intermediate`` is refused.
Anything else (a plain `bench run`, imported predictions) is *declared*: shown as stated, not verified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import read_json
from mlqa_domain.naming import public_model_name

RUN_FILE = "run.json"  # mlqa_domain.training.stilts.RUN_FILE
RECORDED = "recorded"
DECLARED = "declared"


def _run_records(results_dir: Path) -> list[Path]:
    """The ``run.json`` files of the `bench stilts` run that wrote ``results_dir``, if it was one."""
    results_dir = results_dir.resolve()
    if results_dir.parent.name == "eval" and (results_dir.parent.parent / RUN_FILE).is_file():
        return [results_dir.parent.parent / RUN_FILE]
    if results_dir.name == "results":
        return sorted(results_dir.parent.glob(f"seed-*/{RUN_FILE}"))
    return []


def _training_of(record_path: Path) -> tuple[str, tuple[str, ...]]:
    """``(base model, intermediate task names)`` of a run.json."""
    record = read_json(record_path)
    identity = record.get("identity") if isinstance(record, Mapping) else None
    config = identity.get("config") if isinstance(identity, Mapping) else None
    if not isinstance(config, Mapping) or not isinstance(config.get("base"), str):
        raise InputError("malformed run record: no identity.config.base", record_path)
    phases = identity.get("phases") or {}
    intermediate = phases.get("intermediate") if isinstance(phases, Mapping) else None
    tasks = intermediate.get("tasks", []) if isinstance(intermediate, Mapping) else []
    names = tuple(str(task.get("name")) for task in tasks if isinstance(task, Mapping))
    return public_model_name(config["base"]), names


def _disagree(what: str, recorded: Any, other: Any, source: str, where: Path) -> InputError:
    return InputError(
        f"{what} is {recorded!r} in the `bench stilts` run record but {other!r} {source}; "
        "the record decides (drop the option, or submit the run that matches it)",
        where,
    )


def check_training_claims(
    results_dir: Path,
    results: Mapping[str, Any],
    base_model: str | None = None,
    intermediate_tasks: Sequence[str] = (),
) -> str:
    """``"recorded"`` when a `bench stilts` record vouches for the base model and intermediate tasks (and
    results.json and the command line agree with it), else ``"declared"``."""
    records = _run_records(Path(results_dir))
    if not records:
        return DECLARED
    trainings = {_training_of(path) for path in records}
    if len(trainings) != 1:
        raise InputError("the seeds' run records name different base models or tasks", records[0])
    base, recorded_tasks = next(iter(trainings))
    tasks = list(recorded_tasks)
    model = results.get("model") or {}
    where = records[0]
    if model.get("base_model") and public_model_name(model["base_model"]) != base:
        raise _disagree("the base model", base, model["base_model"], "in results.json", where)
    if model.get("intermediate_tasks") is not None and list(model["intermediate_tasks"]) != tasks:
        raise _disagree(
            "the intermediate tasks", tasks, model["intermediate_tasks"], "in results.json", where
        )
    if base_model and public_model_name(base_model) != base:
        raise _disagree("the base model", base, base_model, "on the command line (--base-model)", where)
    if intermediate_tasks and list(intermediate_tasks) != tasks:
        raise _disagree(
            "the intermediate tasks",
            tasks,
            list(intermediate_tasks),
            "on the command line (--intermediate)",
            where,
        )
    return RECORDED
