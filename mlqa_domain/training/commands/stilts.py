"""`bench stilts`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.table import Table

from mlqa_domain.benchmark.commands import _options as shared
from mlqa_domain.benchmark.commands._options import fields_of, option
from mlqa_domain.benchmark.settings import STILTS as DEFAULTS
from mlqa_domain.benchmark.settings import StiltsConfig
from mlqa_domain.cli_utils import out_console
from mlqa_domain.errors import ConfigError
from mlqa_domain.training.task_registry import NO_TASK

_BASE = option(..., "--base", "MODEL", "Base encoder: hub id (xlm-roberta-large) or local dir.")
_OUT = option(..., "--out", "PATH", "Run directory (runs/NAME); re-run the command to resume.")
_INTERMEDIATE = option(
    NO_TASK,
    "--intermediate",
    "TASKS",
    "none | mnli | mnli,squad,hellaswag (multi-task); TASK=PATH reads local data.",
)
_TARGET = option(
    DEFAULTS.target, "--target", "TASK", "Target task (extractive QA); TASK=PATH for local data."
)
_RECIPE = option(
    None,
    "--recipe",
    "NAME",
    "Preset of both phases: xtreme | jiant-xstilts (BASELINES.md); other options override it.",
)
_EVAL_DATA = option(
    None, "--eval-data", "REPO", "Dataset repo (dir or hub id) for phase 3 (`bench run`); omit to skip it."
)
_EVAL_SPLIT = option(DEFAULTS.eval_split, "--eval-split", "SPLIT", "Split scored in phase 3.")
_EVAL_BATCH_SIZE = option(
    DEFAULTS.eval_batch_size, "--eval-batch-size", "N", "Batch size of training-time and phase-3 evaluation."
)
_EVAL_PROTOCOL = option(
    DEFAULTS.eval_protocol,
    "--eval-protocol",
    "NAME",
    "Evaluation protocol of phase 3 (mlqa-v1: 384/128/30/20, whatever lengths the target trained with).",
)
_TASK_CONFIG = option(None, "--task-config", "PATH", "Extra task YAML file (repeatable).")
_TASKS_DIR = option(None, "--tasks-dir", "PATH", "Directory of task YAML files (repeatable).")
_EPOCHS = option(None, "--epochs", "N", "Target-phase epochs (default: the task's).")
_LR = option(None, "--lr", "RATE", "Target-phase learning rate.")
_BATCH_SIZE = option(
    None, "--batch-size", "N", "Target-phase batch: examples per optimizer step over all devices."
)
_PER_DEVICE = option(
    None,
    "--per-device-batch-size",
    "N",
    "Target-phase examples per device and forward pass; the accumulation steps follow from the batch.",
)
_GRAD_ACCUM = option(
    None, "--grad-accum", "N", "Target-phase accumulation steps the batch is split into (default 1)."
)
_MAX_SEQ_LENGTH = option(None, "--max-seq-length", "N", "Target-phase max tokens per window.")
_DOC_STRIDE = option(None, "--doc-stride", "N", "Target-phase window overlap (tokens).")
_WARMUP = option(None, "--warmup", "N", "Warmup: < 1 a fraction of steps, >= 1 steps.")
_I_EPOCHS = option(None, "--intermediate-epochs", "N", "Intermediate-phase epochs.")
_I_LR = option(None, "--intermediate-lr", "RATE", "Intermediate-phase learning rate.")
_I_BATCH_SIZE = option(None, "--intermediate-batch-size", "N", "Intermediate-phase batch (over all devices).")
_I_PER_DEVICE = option(
    None, "--intermediate-per-device-batch-size", "N", "Intermediate-phase examples per device and pass."
)
_I_GRAD_ACCUM = option(
    None, "--intermediate-grad-accum", "N", "Intermediate-phase accumulation steps (default 1)."
)
_SEED = option(DEFAULTS.seed, "--seed", "N", "Random seed of every phase.")
_BF16 = option(False, "--bf16", None, "bf16 mixed precision (A100 / H100).")
_FP16 = option(False, "--fp16", None, "fp16 mixed precision.")
_TF32 = option(False, "--tf32", None, "TF32 matmuls for fp32 training (Ampere or newer NVIDIA GPUs).")
_DETERMINISTIC = option(
    False,
    "--deterministic",
    None,
    "Deterministic GPU kernels, so a GPU run repeats bit for bit (slower); CPU runs repeat without it.",
)


def stilts(
    base: str = _BASE,
    out: Path = _OUT,
    intermediate: str = _INTERMEDIATE,
    target: str = _TARGET,
    recipe: str | None = _RECIPE,
    eval_data: str | None = _EVAL_DATA,
    eval_configs: str | None = shared.EVAL_CONFIGS,
    eval_split: str = _EVAL_SPLIT,
    eval_batch_size: int = _EVAL_BATCH_SIZE,
    eval_protocol: str = _EVAL_PROTOCOL,
    task_configs: list[Path] | None = _TASK_CONFIG,
    tasks_dirs: list[Path] | None = _TASKS_DIR,
    max_steps: int | None = shared.MAX_STEPS,
    epochs: float | None = _EPOCHS,
    lr: float | None = _LR,
    batch_size: int | None = _BATCH_SIZE,
    per_device_batch_size: int | None = _PER_DEVICE,
    grad_accum: int | None = _GRAD_ACCUM,
    max_seq_length: int | None = _MAX_SEQ_LENGTH,
    doc_stride: int | None = _DOC_STRIDE,
    warmup: float | None = _WARMUP,
    intermediate_epochs: float | None = _I_EPOCHS,
    intermediate_lr: float | None = _I_LR,
    intermediate_batch_size: int | None = _I_BATCH_SIZE,
    intermediate_per_device_batch_size: int | None = _I_PER_DEVICE,
    intermediate_grad_accum: int | None = _I_GRAD_ACCUM,
    seed: int = _SEED,
    seeds: str | None = shared.SEEDS,
    bf16: bool = _BF16,
    fp16: bool = _FP16,
    tf32: bool = _TF32,
    deterministic: bool = _DETERMINISTIC,
    max_train_samples: int | None = shared.MAX_TRAIN_SAMPLES,
    max_eval_samples: int | None = shared.MAX_EVAL_SAMPLES,
    save_steps: float | None = shared.SAVE_STEPS,
    early_stopping_patience: int | None = shared.EARLY_STOPPING,
    force: bool = shared.FORCE,
    keep_checkpoints: bool = shared.KEEP_CHECKPOINTS,
) -> None:
    """Base model -> intermediate task(s) -> target (SQuAD) -> `bench run` on the domain configs."""
    from mlqa_domain.benchmark.settings import check_model_location
    from mlqa_domain.training.stilts import make_config

    check_model_location(base)  # the check and message of `bench run --model`, before anything is created
    chosen = _recipe(recipe)
    both = shared.phase_options(save_steps, early_stopping_patience)
    values = {
        **locals(),
        "eval_configs": shared.split_list(eval_configs),
        "task_configs": [str(p) for p in task_configs or []],
        "tasks_dirs": [str(p) for p in tasks_dirs or []],
        "target_overrides": {
            **(chosen.target if chosen else {}),
            **_given(
                _hparams(epochs, lr, batch_size, grad_accum, max_seq_length, doc_stride, warmup),
                per_device_batch_size=per_device_batch_size,
            ),
            **both,
        },
        "intermediate_overrides": {
            **(chosen.intermediate if chosen else {}),
            **_given(
                _hparams(
                    intermediate_epochs, intermediate_lr, intermediate_batch_size, intermediate_grad_accum
                ),
                per_device_batch_size=intermediate_per_device_batch_size,
            ),
            **both,
        },
        "precision": _precision(bf16, fp16),
        "recipe": chosen.name if chosen else None,
        "max_eval_samples": DEFAULTS.max_eval_samples if max_eval_samples is None else max_eval_samples,
        "save_steps": DEFAULTS.save_steps,
        "early_stopping_patience": DEFAULTS.early_stopping_patience,
    }
    config = make_config(**fields_of(StiltsConfig, values))
    run_and_show(config, out, force, keep_checkpoints, shared.seed_list(seeds, seed, DEFAULTS.seed))


def _recipe(name: str | None):
    if name is None:
        return None
    from mlqa_domain.training.baselines import get_recipe

    return get_recipe(name)


def _given(values: dict[str, Any], **more: Any) -> dict[str, Any]:
    """The options that were given (not None)."""
    return {k: v for k, v in {**values, **more}.items() if v is not None}


def _hparams(
    epochs: float | None,
    learning_rate: float | None,
    batch_size: int | None,
    gradient_accumulation_steps: int | None,
    max_seq_length: int | None = None,
    doc_stride: int | None = None,
    warmup: float | None = None,
) -> dict[str, Any]:
    """A phase's hyper-parameter overrides (None: the task's default)."""
    return {
        "epochs": epochs,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "gradient_accumulation_steps": gradient_accumulation_steps,
        "max_seq_length": max_seq_length,
        "doc_stride": doc_stride,
        "warmup": warmup,
    }


def _precision(bf16: bool, fp16: bool) -> str:
    if bf16 and fp16:
        raise ConfigError("choose one of --bf16 and --fp16", "--bf16/--fp16")
    return "bf16" if bf16 else "fp16" if fp16 else DEFAULTS.precision


def run_and_show(
    config: Any, out: Path, force: bool, keep_checkpoints: bool, seeds: list[int] | None
) -> None:
    """Run (or resume) a STILTs run, or one per seed, and print a table of its phases."""
    from mlqa_domain.benchmark.commands.run import quiet_transformers
    from mlqa_domain.training.stilts import SEEDS_RESULTS_DIR, run_seeds, run_stilts

    quiet_transformers()
    run_dir = out.expanduser().resolve()
    if seeds is None:
        summary = run_stilts(config, out, force=force, keep_checkpoints=keep_checkpoints, command=sys.argv)
        out_console.print(summary_table(summary, run_dir))
        if "eval" in summary:
            out_console.print(f"results: {run_dir / 'eval' / summary['eval'].get('results_dir', '')}")
        return
    outcome = run_seeds(config, seeds, out, force=force, keep_checkpoints=keep_checkpoints, command=sys.argv)
    for seed, summary in outcome["seeds"].items():
        out_console.print(summary_table(summary, run_dir / f"seed-{seed}"))
    if outcome["results"] is not None:
        out_console.print(seeds_table(outcome["results"], run_dir / SEEDS_RESULTS_DIR))
        out_console.print(f"results: {run_dir / SEEDS_RESULTS_DIR}")


def summary_table(summary: dict[str, Any], out: Path) -> Table:
    """One row per phase: steps, batch split, resumed checkpoint, train loss and result."""
    table = Table(title=f"bench stilts: {out}")
    for column in ("phase", "steps", "batch", "resumed from", "train loss", "result"):
        table.add_column(column)
    for phase, metrics in summary.items():
        if phase == "eval":
            name, headline = _headline(metrics)
            f1, em, count = (headline.get(k) or 0 for k in ("f1", "exact_match", "count"))
            table.add_row(phase, "-", "-", "-", "-", f"{name} F1 {f1:.2f} / EM {em:.2f} (n={count})")
            continue
        loss = metrics.get("train", {}).get("train_loss")
        evaluation = metrics.get("eval", {})
        score, eval_loss = evaluation.get("eval_score"), evaluation.get("eval_loss")
        result = f"eval score {score:.2f}" if isinstance(score, float) else ""
        result += f" loss {eval_loss:.4f}" if isinstance(eval_loss, float) else ""
        table.add_row(
            phase,
            str(metrics.get("global_step", "")),
            _batch(metrics.get("batch")),
            str(metrics.get("resumed_from_checkpoint") or "-"),
            f"{loss:.4f}" if isinstance(loss, float) else "-",
            result.strip(),
        )
    return table


def _headline(metrics: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The headline aggregate of a phase-3 summary: ``mlqa`` (all.<lang>), else the first aggregate."""
    aggregates = metrics.get("aggregates") or {}
    if aggregates:
        name = "mlqa" if "mlqa" in aggregates else next(iter(aggregates))
        return name, aggregates[name]
    return "overall", (metrics.get("averages") or {}).get("overall") or {}


def _batch(split: dict[str, int] | None) -> str:
    if not split:
        return "-"
    return f"{split['per_device']}x{split['accumulation']}x{split['devices']}={split['batch_size']}"


def seeds_table(results: dict[str, Any], out: Path) -> Table:
    """Mean ± std and the 95% CI over seeds of each aggregate."""
    seeds = results["seeds"]
    table = Table(title=f"{len(seeds['values'])} seeds ({', '.join(map(str, seeds['values']))}): {out}")
    for column in ("aggregate", "F1 mean ± std", "F1 95% CI", "EM mean ± std"):
        table.add_column(column)

    def spread(entry: dict[str, Any] | None) -> tuple[str, str]:
        if not entry:
            return "-", "-"
        std = f" ± {entry['std']:.2f}" if entry["std"] is not None else ""
        ci = entry["ci95"]
        return f"{entry['mean']:.2f}{std}", f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"

    for name, entry in seeds["aggregates"].items():
        f1, f1_ci = spread(entry.get("f1"))
        em, _ = spread(entry.get("em"))
        table.add_row(name, f1, f1_ci, em)
    return table
