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
from mlqa_domain.benchmark.task_registry import NO_TASK
from mlqa_domain.cli_utils import out_console
from mlqa_domain.errors import ConfigError

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
_EVAL_DATA = option(
    None, "--eval-data", "REPO", "Dataset repo (dir or hub id) for phase 3 (`bench run`); omit to skip it."
)
_EVAL_SPLIT = option(DEFAULTS.eval_split, "--eval-split", "SPLIT", "Split scored in phase 3.")
_EVAL_BATCH_SIZE = option(
    DEFAULTS.eval_batch_size, "--eval-batch-size", "N", "Batch size of training-time and phase-3 evaluation."
)
_TASK_CONFIG = option(None, "--task-config", "PATH", "Extra task YAML file (repeatable).")
_TASKS_DIR = option(None, "--tasks-dir", "PATH", "Directory of task YAML files (repeatable).")
_EPOCHS = option(None, "--epochs", "N", "Target-phase epochs (default: the task's).")
_LR = option(None, "--lr", "RATE", "Target-phase learning rate.")
_BATCH_SIZE = option(None, "--batch-size", "N", "Target-phase batch size per device.")
_GRAD_ACCUM = option(None, "--grad-accum", "N", "Target-phase gradient accumulation steps.")
_MAX_SEQ_LENGTH = option(None, "--max-seq-length", "N", "Target-phase max tokens per window.")
_DOC_STRIDE = option(None, "--doc-stride", "N", "Target-phase window overlap (tokens).")
_WARMUP = option(None, "--warmup", "N", "Warmup: < 1 a fraction of steps, >= 1 steps.")
_I_EPOCHS = option(None, "--intermediate-epochs", "N", "Intermediate-phase epochs.")
_I_LR = option(None, "--intermediate-lr", "RATE", "Intermediate-phase learning rate.")
_I_BATCH_SIZE = option(None, "--intermediate-batch-size", "N", "Intermediate-phase batch size per device.")
_I_GRAD_ACCUM = option(
    None, "--intermediate-grad-accum", "N", "Intermediate-phase gradient accumulation steps."
)
_SEED = option(DEFAULTS.seed, "--seed", "N", "Random seed of every phase.")
_BF16 = option(False, "--bf16", None, "bf16 mixed precision (A100 / H100).")
_FP16 = option(False, "--fp16", None, "fp16 mixed precision.")
_SAVE_STEPS = option(DEFAULTS.save_steps, "--save-steps", "N", "Checkpoint (and evaluate) every N steps.")
_EARLY_STOPPING = option(
    DEFAULTS.early_stopping_patience, "--early-stopping", "N", "Patience in evaluations; 0 = off."
)


def stilts(
    base: str = _BASE,
    out: Path = _OUT,
    intermediate: str = _INTERMEDIATE,
    target: str = _TARGET,
    eval_data: str | None = _EVAL_DATA,
    eval_configs: str | None = shared.EVAL_CONFIGS,
    eval_split: str = _EVAL_SPLIT,
    eval_batch_size: int = _EVAL_BATCH_SIZE,
    task_configs: list[Path] | None = _TASK_CONFIG,
    tasks_dirs: list[Path] | None = _TASKS_DIR,
    max_steps: int | None = shared.MAX_STEPS,
    epochs: float | None = _EPOCHS,
    lr: float | None = _LR,
    batch_size: int | None = _BATCH_SIZE,
    grad_accum: int | None = _GRAD_ACCUM,
    max_seq_length: int | None = _MAX_SEQ_LENGTH,
    doc_stride: int | None = _DOC_STRIDE,
    warmup: float | None = _WARMUP,
    intermediate_epochs: float | None = _I_EPOCHS,
    intermediate_lr: float | None = _I_LR,
    intermediate_batch_size: int | None = _I_BATCH_SIZE,
    intermediate_grad_accum: int | None = _I_GRAD_ACCUM,
    seed: int = _SEED,
    bf16: bool = _BF16,
    fp16: bool = _FP16,
    max_train_samples: int | None = shared.MAX_TRAIN_SAMPLES,
    max_eval_samples: int | None = shared.MAX_EVAL_SAMPLES,
    save_steps: int = _SAVE_STEPS,
    early_stopping_patience: int = _EARLY_STOPPING,
    force: bool = shared.FORCE,
    keep_checkpoints: bool = shared.KEEP_CHECKPOINTS,
) -> None:
    """Base model -> intermediate task(s) -> target (SQuAD) -> `bench run` on the domain configs."""
    from mlqa_domain.benchmark.stilts import make_config

    values = {
        **locals(),
        "eval_configs": shared.split_list(eval_configs),
        "task_configs": [str(p) for p in task_configs or []],
        "tasks_dirs": [str(p) for p in tasks_dirs or []],
        "target_overrides": _hparams(epochs, lr, batch_size, grad_accum, max_seq_length, doc_stride, warmup),
        "intermediate_overrides": _hparams(
            intermediate_epochs, intermediate_lr, intermediate_batch_size, intermediate_grad_accum
        ),
        "precision": _precision(bf16, fp16),
    }
    config = make_config(**fields_of(StiltsConfig, values))
    run_and_show(config, out, force, keep_checkpoints)


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


def run_and_show(config: Any, out: Path, force: bool, keep_checkpoints: bool) -> None:
    """Run (or resume) a STILTs run and print a table of its phases."""
    from mlqa_domain.benchmark.commands.run import quiet_transformers
    from mlqa_domain.benchmark.stilts import run_stilts

    quiet_transformers()
    summary = run_stilts(config, out, force=force, keep_checkpoints=keep_checkpoints, command=sys.argv)
    run_dir = out.expanduser().resolve()
    out_console.print(summary_table(summary, run_dir))
    if "eval" in summary:
        out_console.print(f"results: {run_dir / 'eval' / summary['eval'].get('results_dir', '')}")


def summary_table(summary: dict[str, Any], out: Path) -> Table:
    """One row per phase: steps, resumed checkpoint, train loss and result."""
    table = Table(title=f"bench stilts: {out}")
    for column in ("phase", "steps", "resumed from", "train loss", "result"):
        table.add_column(column)
    for phase, metrics in summary.items():
        if phase == "eval":
            overall = metrics.get("averages", {}).get("overall", {})
            f1, em, count = (overall.get(k, 0) for k in ("f1", "exact_match", "count"))
            table.add_row(phase, "-", "-", "-", f"F1 {f1:.2f} / EM {em:.2f} (n={count})")
            continue
        loss = metrics.get("train", {}).get("train_loss")
        eval_loss = metrics.get("eval", {}).get("eval_loss")
        table.add_row(
            phase,
            str(metrics.get("global_step", "")),
            str(metrics.get("resumed_from_checkpoint") or "-"),
            f"{loss:.4f}" if isinstance(loss, float) else "-",
            f"eval loss {eval_loss:.4f}" if isinstance(eval_loss, float) else "",
        )
    return table
