"""`bench baselines`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from mlqa_domain.benchmark.commands import _options as shared
from mlqa_domain.benchmark.commands._options import fields_of, option
from mlqa_domain.benchmark.commands.stilts import run_and_show
from mlqa_domain.benchmark.settings import StiltsConfig
from mlqa_domain.benchmark.task_registry import NO_TASK
from mlqa_domain.cli_utils import out_console
from mlqa_domain.errors import ConfigError

_LIST = option(False, "--list", None, "Show the standard baselines.")
_RUN = option(None, "--run", "NAME", "Run the named baseline (see --list).")
_EVAL_DATA = option(None, "--eval-data", "REPO", "Dataset repo for phase 3 (`bench run`).")
_OUT = option(None, "--out", "PATH", "Run directory (default runs/NAME).")
_BASE = option(None, "--base", "MODEL", "Use a local copy of the base model.")
_DATA = option(None, "--data", "TASK=PATH", "Local data for a task (repeatable).")
_BASELINES_FILE = option(None, "--baselines-file", "PATH", "Another baselines YAML.")
_PRECISION = option(None, "--precision", "PRECISION", "fp32 | bf16 | fp16 (default: the file's).")
_SEED = option(None, "--seed", "N", "Random seed (default: the file's).")
_SAVE_STEPS = option(None, "--save-steps", "N", "Checkpoint every N steps (default: the file's).")


def baselines(
    list_: bool = _LIST,
    run: str | None = _RUN,
    eval_data: str | None = _EVAL_DATA,
    out: Path | None = _OUT,
    base: str | None = _BASE,
    data: list[str] | None = _DATA,
    baselines_file: Path | None = _BASELINES_FILE,
    max_steps: int | None = shared.MAX_STEPS,
    max_train_samples: int | None = shared.MAX_TRAIN_SAMPLES,
    max_eval_samples: int | None = shared.MAX_EVAL_SAMPLES,
    eval_configs: str | None = shared.EVAL_CONFIGS,
    precision: str | None = _PRECISION,
    seed: int | None = _SEED,
    save_steps: int | None = _SAVE_STEPS,
    force: bool = shared.FORCE,
    keep_checkpoints: bool = shared.KEEP_CHECKPOINTS,
) -> None:
    """List the standard STILTs baselines, or run one."""
    from mlqa_domain.benchmark.baselines import get_baseline, load_baselines

    if list_ == (run is not None):
        raise ConfigError("give exactly one of --list and --run NAME", "bench baselines")
    if list_:
        _print_baselines(load_baselines(baselines_file))
        return
    baseline = get_baseline(run, baselines_file)
    options = fields_of(StiltsConfig, {**locals(), "eval_configs": shared.split_list(eval_configs)})
    config = baseline.to_config(data=shared.parse_data(data), **options)
    run_and_show(config, out or Path("runs") / baseline.name, force, keep_checkpoints)


def _hp(values: dict[str, Any]) -> str:
    parts = [
        f"{key.replace('_', ' ')} {value:g}"
        if isinstance(value, float)
        else f"{key.replace('_', ' ')} {value}"
        for key, value in values.items()
    ]
    return ", ".join(parts) or "task defaults"


def _print_baselines(baselines: dict) -> None:
    table = Table(
        title="STILTs baselines: base -> intermediate -> SQuAD v1.1 -> zero-shot on every domain config"
    )
    table.add_column("name", no_wrap=True)
    table.add_column("base model", no_wrap=True)
    table.add_column("intermediate", overflow="fold")
    for baseline in baselines.values():
        table.add_row(baseline.name, baseline.base, ", ".join(baseline.intermediate) or NO_TASK)
    out_console.print(table)
    first = next(iter(baselines.values()), None)
    if first is not None:
        out_console.print(f"intermediate phase: {_hp(first.intermediate_hparams)} (max length: the task's)")
        out_console.print(f"target phase ({first.target}): {_hp(first.target_hparams)}")
    out_console.print(
        "run one: bench baselines --run NAME --eval-data ./mlqa-domain [--max-steps N: smoke run]"
    )
