"""`bench stilts`: base model -> intermediate task(s) -> target task (SQuAD) -> `bench run`, resumable.

Layout of ``runs/NAME``::

    run.json                      the full resolved config (a different config in the same dir is refused)
    intermediate/                 phase 1 (absent with --intermediate none)
        phase_config.json  metrics.json  DONE  model/  [checkpoints/ while unfinished]
    target/                       phase 2, same files
    eval/                         phase 3: phase_config.json  metrics.json  DONE  results/ (a `bench run` dir)

``DONE`` is written last (atomically), so a phase with ``DONE`` is skipped on a re-run and a phase without
it resumes from its last Trainer checkpoint.

Several seeds (``--seeds 1,2,3``, :func:`run_seeds`): one such run per seed in ``runs/NAME/seed-<s>/``
(each resumable as above) and, with phase 3, the multi-seed results dir ``runs/NAME/results/``
(``benchmark/seeds.py``: the seeds' results dirs plus their mean, std and CI over seeds).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from mlqa_domain import __version__
from mlqa_domain.atomic import check_output_dir, write_text_atomic
from mlqa_domain.benchmark import protocol as protocols
from mlqa_domain.benchmark.results import identity_differences
from mlqa_domain.benchmark.seeds import seed_dir_name, seed_of_dir_name, write_seed_results
from mlqa_domain.benchmark.settings import STILTS, RunSettings, StiltsConfig
from mlqa_domain.errors import ConfigError
from mlqa_domain.jsonio import read_json
from mlqa_domain.training.formats import get_format
from mlqa_domain.training.formats.extractive_qa import EXTRACTIVE_QA
from mlqa_domain.training.task_registry import (
    NO_TASK,
    HyperParams,
    TaskRegistry,
    TaskSpec,
    parse_task_list,
    resolve_tasks,
)
from mlqa_domain.training.trainer import (
    CHECKPOINTS_DIR,
    PhaseSettings,
    data_parallel_devices,
    train_phase,
)

RUN_FILE = "run.json"
PHASE_CONFIG = "phase_config.json"
METRICS_FILE = "metrics.json"
DONE_FILE = "DONE"
PHASES = ("intermediate", "target", "eval")
RESULTS_SUBDIR = "results"
# per-phase options beyond the task's hyper-parameters (run-wide defaults in StiltsConfig)
PHASE_OPTIONS = ("early_stopping_patience", "save_steps", "per_device_batch_size")
# per-phase options a user (or a recipe in baselines.yaml) may override on top of a task's defaults
OVERRIDABLE = (*HyperParams.model_fields, *PHASE_OPTIONS)
logger = logging.getLogger(__name__)


def _absolute_if_local(value: str) -> str:
    path = Path(value).expanduser()
    return str(path.resolve()) if path.exists() else value


def _normalise_task_items(text_items: Sequence[str], option: str) -> list[str]:
    out = []
    for name, path in parse_task_list(",".join(text_items), option):
        out.append(f"{name}={Path(path).expanduser().resolve()}" if path else name)
    return out


def make_config(
    base: str,
    intermediate: str = NO_TASK,
    target: str = STILTS.target,
    **kwargs: Any,
) -> StiltsConfig:
    """A :class:`StiltsConfig` with paths made absolute and task lists parsed (``"mnli,squad"``).

    ``kwargs`` are the other StiltsConfig fields; ``None`` hyper-parameter overrides are dropped.
    """
    config = StiltsConfig(base=_absolute_if_local(base), **kwargs)
    try:
        protocols.named(config.eval_protocol)
    except ConfigError as exc:
        raise ConfigError(exc.problem, "--eval-protocol") from None
    intermediates = _normalise_task_items([intermediate], "--intermediate")
    targets = _normalise_task_items([target], "--target")
    if len(targets) != 1:
        raise ConfigError("exactly one target task is needed", "--target")
    return dataclasses.replace(
        config,
        intermediate=intermediates,
        target=targets[0],
        save_steps=_interval(config.save_steps),
        max_eval_samples=config.max_eval_samples or None,  # 0: every validation row
        eval_data=_absolute_if_local(config.eval_data) if config.eval_data else config.eval_data,
        task_configs=[str(Path(p).expanduser().resolve()) for p in config.task_configs],
        tasks_dirs=[str(Path(p).expanduser().resolve()) for p in config.tasks_dirs],
        intermediate_overrides=_checked_overrides(config.intermediate_overrides, "intermediate"),
        target_overrides=_checked_overrides(config.target_overrides, "target"),
    )


def _interval(value: float) -> float | int:
    """A save/validation interval as recorded: whole steps as an int, a fraction of the phase as a float."""
    return int(value) if value >= 1 and float(value).is_integer() else value


def _checked_overrides(overrides: dict[str, Any], label: str) -> dict[str, Any]:
    """The given (not None) hyper-parameter overrides of a phase; an unknown name is a ConfigError."""
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ConfigError(f"unknown {label} hyper-parameter(s) {unknown} (known: {', '.join(OVERRIDABLE)})")
    given = {key: value for key, value in overrides.items() if value is not None}
    if "save_steps" in given:
        given["save_steps"] = _interval(given["save_steps"])
    return given


# ----------------------------------------------------------------------------------------------- plan


@dataclass
class Phase:
    """One training phase: its tasks and settings."""

    name: str
    tasks: list[TaskSpec]
    settings: PhaseSettings

    def describe(self) -> dict[str, Any]:
        """The phase's recorded config (``phase_config.json``)."""
        return {
            "phase": self.name,
            "tasks": [t.model_dump(mode="json", exclude={"source"}) for t in self.tasks],
            "settings": self.settings.to_dict(),
        }


def _phase_settings(config: StiltsConfig, tasks: list[TaskSpec], overrides: dict[str, Any]) -> PhaseSettings:
    """Task defaults (the first task's, for a multi-task phase) <- overrides <- shared run options.

    The run-wide options (``StiltsConfig``: early stopping, save interval) apply unless the phase's
    overrides (a recipe, or ``--intermediate-*`` options) set them for this phase.
    """
    values = tasks[0].hparams.model_dump()
    phase_options = {name: overrides.get(name, getattr(config, name, None)) for name in PHASE_OPTIONS}
    values.update({k: v for k, v in overrides.items() if k in HyperParams.model_fields})
    if not get_format(tasks[0].format).windowed:  # the stride only matters for windows of a context
        values["doc_stride"] = min(values["doc_stride"], values["max_seq_length"] // 2)
    try:
        HyperParams.model_validate(values)
    except Exception as exc:  # noqa: BLE001 - pydantic ValidationError -> one line
        raise ConfigError(f"invalid hyper-parameters: {str(exc).splitlines()[-1].strip()}") from None
    per_task = {}
    if len(tasks) > 1:
        for task in tasks:
            seq = overrides.get("max_seq_length", task.hparams.max_seq_length)
            stride = overrides.get("doc_stride", task.hparams.doc_stride)
            per_task[task.name] = {"max_seq_length": seq, "doc_stride": min(stride, seq // 2)}
    settings = PhaseSettings(
        **values,
        **phase_options,
        max_steps=config.max_steps,
        seed=config.seed,
        precision=config.precision,
        eval_batch_size=config.eval_batch_size,
        tf32=config.tf32,
        deterministic=config.deterministic,
        per_task=per_task,
    )
    settings.check()
    return settings


def plan_phases(config: StiltsConfig) -> list[Phase]:
    """The training phases of ``config`` (intermediate only when tasks are given)."""
    registry = TaskRegistry.load(config.tasks_dirs, config.task_configs)
    phases = []
    if config.intermediate:
        items = parse_task_list(",".join(config.intermediate), "--intermediate")
        tasks = resolve_tasks(registry, items, "--intermediate")
        phases.append(
            Phase("intermediate", tasks, _phase_settings(config, tasks, config.intermediate_overrides))
        )
    target_items = parse_task_list(config.target, "--target")
    target = resolve_tasks(registry, target_items, "--target")
    if target[0].format != EXTRACTIVE_QA and config.eval_data:
        raise ConfigError(
            f"the target task must be extractive QA to be scored by `bench run` ({target[0].name!r})"
        )
    phases.append(Phase("target", target, _phase_settings(config, target, config.target_overrides)))
    return phases


def check_eval_data(config: StiltsConfig) -> None:
    """Phase 3's dataset before any training: it exists, and a local repo has the configs and split asked
    for with intact data files (as `bench run` checks them), so a bad --eval-data fails in seconds."""
    from mlqa_domain.benchmark.data import check_data_location, open_repo, plan_configs

    check_data_location(config.eval_data)
    if Path(config.eval_data).expanduser().is_dir():
        repo = open_repo(config.eval_data)
        plan_configs(repo, list(config.eval_configs) if config.eval_configs else None, config.eval_split)


# ------------------------------------------------------------------------------------------- run dir


def _is_main_process() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def _wait_for_everyone() -> None:
    from accelerate import PartialState

    PartialState().wait_for_everyone()


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


# Options that only change how phase 3 (and training-time validation) is run, not the trained weights:
# changing them re-runs the evaluation instead of refusing the run directory.
EVAL_ONLY_OPTIONS = (
    "eval_data",
    "eval_configs",
    "eval_split",
    "eval_batch_size",
    "eval_precision",
    "eval_protocol",
)


def comparable_phase_config(phase_config: dict[str, Any]) -> dict[str, Any]:
    """A phase config without the settings that do not change what the phase trains."""
    view = json.loads(_dump(phase_config))
    if isinstance(view.get("settings"), dict):
        view["settings"].pop("eval_batch_size", None)
    return view


def training_identity(config: StiltsConfig, phases: Sequence[Phase]) -> dict[str, Any]:
    """What must match for a run directory to be resumed: training options and phase configs (compared
    with :func:`mlqa_domain.benchmark.results.identity_differences`)."""
    options = {k: v for k, v in config.to_dict().items() if k not in EVAL_ONLY_OPTIONS}
    return {"config": options, "phases": {p.name: comparable_phase_config(p.describe()) for p in phases}}


def check_run_dir(run_dir: Path, identity: dict[str, Any], force: bool) -> None:
    """Refuse a run dir that holds a different run (unless ``force``: then its phases are removed)."""
    run_file = run_dir / RUN_FILE
    known = {*PHASES, RUN_FILE}
    check_output_dir(run_dir, f"holds no {RUN_FILE}", markers=(RUN_FILE,), known=known.__contains__)
    if run_file.is_file():
        old = read_json(run_file)
        diffs = identity_differences(old.get("identity"), identity)
        _wait_for_everyone()  # every rank has read run.json before the main one may remove it
        # a run that never finished a phase nor saved a checkpoint holds no work: replace it freely
        has_work = any((run_dir / name / DONE_FILE).is_file() for name in PHASES) or any(
            (run_dir / name / CHECKPOINTS_DIR).is_dir() for name in PHASES
        )
        if diffs and not force and has_work:
            shown = "; ".join(diffs[:3]) + (f"; ... {len(diffs) - 3} more" if len(diffs) > 3 else "")
            raise ConfigError(
                f"this directory holds a run with a different config ({shown}); "
                "use another --out, or --force to discard it",
                run_file,
            )
        if diffs and (force or not has_work) and _is_main_process():
            for name in PHASES:
                shutil.rmtree(run_dir / name, ignore_errors=True)
            run_file.unlink()


class PhaseRunner:
    """Runs a phase once: skip when DONE, record config + metrics, write DONE last."""

    def __init__(self, run_dir: Path, keep_checkpoints: bool = False) -> None:
        self.run_dir = run_dir
        self.keep_checkpoints = keep_checkpoints

    def done(self, name: str) -> bool:
        """Whether phase ``name`` finished."""
        return (self.run_dir / name / DONE_FILE).is_file()

    def metrics(self, name: str) -> dict[str, Any]:
        """The recorded metrics of a finished phase."""
        return read_json(self.run_dir / name / METRICS_FILE)

    def run(self, name: str, phase_config: dict[str, Any], body, collective: bool = True) -> dict[str, Any]:
        """Run ``body(phase_dir) -> metrics`` unless the phase is DONE with the same config.

        ``collective``: every process runs the body (training); otherwise only the main process calls this.
        """
        sync = _wait_for_everyone if collective else (lambda: None)
        phase_dir = self.run_dir / name
        config_file = phase_dir / PHASE_CONFIG
        if config_file.is_file():
            old = read_json(config_file)
            if old != json.loads(_dump(phase_config)):
                if name == "eval":  # evaluation settings changed: score the trained model again
                    if _is_main_process():
                        (phase_dir / DONE_FILE).unlink(missing_ok=True)
                    sync()
                elif comparable_phase_config(old) != comparable_phase_config(phase_config):
                    raise ConfigError("phase config differs from the recorded one; use --force", config_file)
                # else only evaluation-time settings differ: a finished training phase stays finished
        if self.done(name):
            logger.info("%s: done earlier, skipped", name)
            return self.metrics(name)
        if _is_main_process():
            phase_dir.mkdir(parents=True, exist_ok=True)
            write_text_atomic(config_file, _dump(phase_config))
        sync()
        logger.info("%s: running", name)
        metrics = body(phase_dir)
        if _is_main_process():
            write_text_atomic(phase_dir / METRICS_FILE, _dump(metrics))
            write_text_atomic(phase_dir / DONE_FILE, datetime.now(timezone.utc).isoformat() + "\n")
            if not self.keep_checkpoints:
                shutil.rmtree(phase_dir / CHECKPOINTS_DIR, ignore_errors=True)
        sync()
        return metrics


def _load_phase_data(phase: Phase, config: StiltsConfig):
    from mlqa_domain.training.task_data import load_task_data

    return [load_task_data(t, config.max_train_samples, config.max_eval_samples) for t in phase.tasks]


def _train_phase(phase: Phase, config: StiltsConfig, source: str, callbacks: Sequence[TrainerCallback]):
    def body(phase_dir: Path) -> dict[str, Any]:
        result = train_phase(_load_phase_data(phase, config), source, phase_dir, phase.settings, callbacks)
        return {"source_model": source, **result.metrics}

    return body


def run_name(run_dir: Path) -> str:
    """A run's name: its directory name; for one seed of a multi-seed run, the run's (runs/NAME/seed-1)."""
    return run_dir.parent.name if seed_of_dir_name(run_dir.name) is not None else run_dir.name


def _model_card(config: StiltsConfig, model_dir: Path, intermediate_names: list[str]) -> dict[str, Any]:
    """How phase 3 names the model: the run's name (runs/NAME/target/model, runs/NAME/seed-1/target/model
    -> NAME)."""
    return {
        "id": run_name(model_dir.parent.parent),
        "base_model": config.base,
        "intermediate_tasks": intermediate_names,
        "source": "bench stilts",
    }


def _eval_settings(config: StiltsConfig) -> RunSettings:
    """Phase 3 scores under the run's evaluation protocol (``mlqa-v1`` by default), whatever feature
    lengths the target phase trained with, so its numbers compare with any other run of that protocol."""
    return RunSettings(
        split=config.eval_split,
        configs=tuple(config.eval_configs) if config.eval_configs else None,
        batch_size=config.eval_batch_size,
        precision=config.eval_precision,
        **protocols.run_settings_of(config.eval_protocol),
    )


def _eval_body(config: StiltsConfig, model_dir: Path, target: Phase, intermediate_names: list[str]):
    def body(phase_dir: Path) -> dict[str, Any]:
        from mlqa_domain.benchmark.runner import run_benchmark

        results = run_benchmark(
            str(model_dir),
            config.eval_data,
            phase_dir / RESULTS_SUBDIR,
            _eval_settings(config),
            model_card=_model_card(config, model_dir, intermediate_names),
        )
        return {
            "results_dir": RESULTS_SUBDIR,
            **{key: results[key] for key in ("aggregates", "averages") if key in results},
            "configs": {
                name: {k: row.get(k) for k in ("exact_match", "f1", "count")}
                for name, row in results.get("configs", {}).items()
            },
        }

    return body


def _record_run(run_dir: Path, identity: dict[str, Any], command: Sequence[str] | None) -> None:
    """Write ``run.json`` of a new run (the main process; every process waits for it)."""
    if _is_main_process():
        run_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "identity": identity,
            "command": list(command) if command else None,
            "harness": {"name": "mlqa-domain", "version": __version__},
            "created": datetime.now(timezone.utc).isoformat(),
        }
        if not (run_dir / RUN_FILE).is_file():
            write_text_atomic(run_dir / RUN_FILE, _dump(record))
    _wait_for_everyone()


def _run_eval(
    runner: PhaseRunner, config: StiltsConfig, model_dir: Path, target: Phase, intermediate_names: list[str]
) -> dict[str, Any]:
    """Phase 3: `bench run` of the trained model (rerun when an evaluation option changed)."""
    eval_config = {
        "phase": "eval",
        "model": str(model_dir),
        "data": config.eval_data,
        "configs": config.eval_configs,
        "split": config.eval_split,
        "batch_size": config.eval_batch_size,
        "precision": config.eval_precision,
        "protocol": config.eval_protocol,
        "model_card": _model_card(config, model_dir, intermediate_names),
    }
    body = _eval_body(config, model_dir, target, intermediate_names)
    return runner.run("eval", eval_config, body, collective=False)


def run_stilts(
    config: StiltsConfig,
    out: str | Path,
    force: bool = False,
    keep_checkpoints: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run (or resume) all phases of ``config`` in ``out``; return ``{phase: metrics}``."""
    run_dir = Path(out).expanduser().resolve()
    phases = plan_phases(config)
    if config.eval_data is not None:
        check_eval_data(config)  # before any training: a bad --eval-data fails in seconds, not hours
    devices = data_parallel_devices()
    for phase in phases:  # refuse a batch this launch cannot form before anything is written
        phase.settings.batch_split(devices)
    if config.eval_data is None:
        logger.info("no --eval-data: phase 3 (bench run) is skipped")
    identity = training_identity(config, phases)
    check_run_dir(run_dir, identity, force)
    _record_run(run_dir, identity, command)
    runner = PhaseRunner(run_dir, keep_checkpoints)
    source = config.base
    intermediate_names: list[str] = []
    summary: dict[str, Any] = {}
    for phase in phases:
        summary[phase.name] = runner.run(
            phase.name, phase.describe(), _train_phase(phase, config, source, callbacks)
        )
        source = str(run_dir / phase.name / "model")
        if phase.name == "intermediate":
            intermediate_names = [t.name for t in phase.tasks]
    if config.eval_data is not None and _is_main_process():
        summary["eval"] = _run_eval(runner, config, Path(source), phases[-1], intermediate_names)
    return summary


SEEDS_RESULTS_DIR = "results"


def _check_multi_seed_dir(run_dir: Path) -> None:
    """A multi-seed run dir holds ``seed-<s>`` runs and ``results`` only (not a single-seed run)."""
    if (run_dir / RUN_FILE).is_file():
        raise ConfigError("this directory holds a single-seed run; use another --out for --seeds", run_dir)
    check_output_dir(run_dir, "holds other files than seed runs", known=_is_seed_run_entry)


def _is_seed_run_entry(name: str) -> bool:
    """Whether a multi-seed run dir may hold an entry of this name: ``seed-<s>`` or ``results``."""
    return name == SEEDS_RESULTS_DIR or seed_of_dir_name(name) is not None


def run_seeds(
    config: StiltsConfig,
    seeds: Sequence[int],
    out: str | Path,
    force: bool = False,
    keep_checkpoints: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One run of ``config`` per seed in ``out/seed-<s>`` (resumable), then with phase 3 the multi-seed
    results dir ``out/results``. Returns ``{"seeds": {seed: summary}, "results": aggregate or None}``."""
    if not seeds:
        raise ConfigError("give at least one seed", "--seeds")
    run_dir = Path(out).expanduser().resolve()
    _check_multi_seed_dir(run_dir)
    summaries: dict[int, Any] = {}
    for seed in seeds:
        seed_config = dataclasses.replace(config, seed=seed)
        logger.info("seed %d of %s", seed, ", ".join(map(str, seeds)))
        summaries[seed] = run_stilts(
            seed_config, run_dir / seed_dir_name(seed), force, keep_checkpoints, callbacks, command
        )
    aggregate = None
    if config.eval_data is not None and _is_main_process():
        results = {seed: run_dir / seed_dir_name(seed) / "eval" / RESULTS_SUBDIR for seed in seeds}
        aggregate = write_seed_results(results, run_dir / SEEDS_RESULTS_DIR)
    _wait_for_everyone()
    return {"seeds": summaries, "results": aggregate}
