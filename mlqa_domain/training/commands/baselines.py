"""`bench baselines`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from mlqa_domain.benchmark.commands import _options as shared
from mlqa_domain.benchmark.commands._options import fields_of, option
from mlqa_domain.benchmark.settings import StiltsConfig
from mlqa_domain.cli_utils import out_console
from mlqa_domain.errors import ConfigError
from mlqa_domain.training.commands.stilts import run_and_show
from mlqa_domain.training.task_registry import NO_TASK

_LIST = option(False, "--list", None, "Show the standard baselines.")
_RUN = option(None, "--run", "NAME", "Run the named baseline (see --list).")
_EVAL_DATA = option(None, "--eval-data", "REPO", "Dataset repo for phase 3 (`bench run`).")
_OUT = option(None, "--out", "PATH", "Run directory (default runs/NAME).")
_BASE = option(None, "--base", "MODEL", "Use a local copy of the base model.")
_DATA = option(None, "--data", "TASK=PATH", "Local data for a task (repeatable).")
_BASELINES_FILE = option(None, "--baselines-file", "PATH", "Another baselines YAML.")
_PRECISION = option(None, "--precision", "PRECISION", "fp32 | bf16 | fp16 (default: the file's).")
_SEED = option(None, "--seed", "N", "Random seed (default: the file's).")
_RECIPE = option(None, "--recipe", "NAME", "Run under another recipe of the file (see --list).")
_PER_DEVICE = option(
    None, "--per-device-batch-size", "N", "Examples per device and pass (both phases); accumulation follows."
)
_TF32 = option(False, "--tf32", None, "TF32 matmuls for fp32 training (Ampere or newer NVIDIA GPUs).")


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
    recipe: str | None = _RECIPE,
    seed: int | None = _SEED,
    seeds: str | None = shared.SEEDS,
    per_device_batch_size: int | None = _PER_DEVICE,
    tf32: bool = _TF32,
    save_steps: float | None = shared.SAVE_STEPS,
    early_stopping_patience: int | None = shared.EARLY_STOPPING,
    force: bool = shared.FORCE,
    keep_checkpoints: bool = shared.KEEP_CHECKPOINTS,
) -> None:
    """List the standard STILTs baselines and recipes, or run one."""
    from mlqa_domain.training.baselines import get_baseline, load_baselines

    if list_ == (run is not None):
        raise ConfigError("give exactly one of --list and --run NAME", "bench baselines")
    if list_:
        _print_baselines(load_baselines(baselines_file))
        return
    seed_values = shared.seed_list(seeds, seed, None)
    baseline = get_baseline(run, baselines_file)
    values = {
        **locals(),
        "eval_configs": shared.split_list(eval_configs),
        "tf32": tf32 or None,
        "save_steps": None,  # run-wide values come from the file; given ones go to both phases below
        "early_stopping_patience": None,
    }
    phase = shared.phase_options(save_steps, early_stopping_patience)
    if per_device_batch_size is not None:
        phase["per_device_batch_size"] = per_device_batch_size
    options = {k: v for k, v in fields_of(StiltsConfig, values).items() if k != "recipe"}
    config = baseline.to_config(data=shared.parse_data(data), recipe=recipe, phase_options=phase, **options)
    default_out = baseline.name if recipe in (None, baseline.recipe_name) else f"{baseline.name}.{recipe}"
    run_and_show(config, out or Path("runs") / default_out, force, keep_checkpoints, seed_values)


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
        for recipe in first.recipes.values():
            mark = " (the baselines' recipe)" if recipe.name == first.recipe_name else ""
            out_console.print(f"[bold]recipe {recipe.name}[/]{mark}: {recipe.description}")
            out_console.print(
                f"  intermediate phase: {_hp({**recipe.intermediate, **first.intermediate_hparams})}"
            )
            out_console.print(
                f"  target phase ({first.target}): {_hp({**recipe.target, **first.target_hparams})}"
            )
    out_console.print(
        "run one: bench baselines --run NAME --eval-data ./mlqa-domain [--recipe NAME] [--seeds 1,2,3] "
        "[--max-steps N: smoke run]"
    )
