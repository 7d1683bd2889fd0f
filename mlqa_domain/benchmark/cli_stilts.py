"""`bench stilts` and `bench baselines`: intermediate task -> SQuAD -> zero-shot evaluation, resumable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mlqa_domain.errors import ConfigError


def _out() -> Console:
    """stdout console, made per call so the terminal width (COLUMNS) is read when printing."""
    return Console(highlight=False)


def _split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def _precision(bf16: bool, fp16: bool, precision: str | None = None) -> str | None:
    if bf16 and fp16:
        raise ConfigError("choose one of --bf16 and --fp16", "--bf16/--fp16")
    if bf16:
        return "bf16"
    if fp16:
        return "fp16"
    return precision


def _parse_data(items: list[str] | None) -> dict[str, str]:
    data: dict[str, str] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ConfigError(f"expected TASK=PATH, got {item!r}", "--data")
        data[name.strip()] = path.strip()
    return data


def _summary(summary: dict[str, Any], out: Path) -> None:
    table = Table(title=f"bench stilts: {out}")
    for column in ("phase", "steps", "resumed from", "train loss", "result"):
        table.add_column(column)
    for phase, metrics in summary.items():
        if phase == "eval":
            overall = metrics.get("averages", {}).get("overall", {})
            f1, em, count = (overall.get(k, 0) for k in ("f1", "exact_match", "count"))
            result = f"F1 {f1:.2f} / EM {em:.2f} (n={count})"
            table.add_row(phase, "-", "-", "-", result)
            continue
        train = metrics.get("train", {})
        loss = train.get("train_loss")
        eval_loss = metrics.get("eval", {}).get("eval_loss")
        table.add_row(
            phase,
            str(metrics.get("global_step", "")),
            str(metrics.get("resumed_from_checkpoint") or "-"),
            f"{loss:.4f}" if isinstance(loss, float) else "-",
            f"eval loss {eval_loss:.4f}" if isinstance(eval_loss, float) else "",
        )
    console = _out()
    console.print(table)
    if "eval" in summary:
        console.print(f"results: {out / 'eval' / summary['eval'].get('results_dir', '')}")


def _run(config, out: Path, force: bool, keep_checkpoints: bool) -> None:
    from mlqa_domain.benchmark.stilts import run_stilts

    summary = run_stilts(config, out, force=force, keep_checkpoints=keep_checkpoints, command=sys.argv)
    _summary(summary, out.expanduser().resolve())


def register(app: typer.Typer) -> None:
    """Add `stilts` and `baselines` to the `bench` app."""

    @app.command("stilts")
    def stilts(
        base: str = typer.Option(
            ..., "--base", help="Base encoder: hub id (xlm-roberta-large) or local dir."
        ),
        out: Path = typer.Option(
            ..., "--out", help="Run directory (runs/NAME); re-run the command to resume."
        ),
        intermediate: str = typer.Option(
            "none",
            "--intermediate",
            help="none | mnli | mnli,squad,hellaswag (multi-task); TASK=PATH reads local data.",
        ),
        target: str = typer.Option(
            "squad", "--target", help="Target task (extractive QA); TASK=PATH for local data."
        ),
        eval_data: str | None = typer.Option(
            None,
            "--eval-data",
            help="Dataset repo (dir or hub id) for phase 3 (`bench run`); omit to skip it.",
        ),
        eval_configs: str | None = typer.Option(
            None, "--eval-configs", help="Comma-separated configs / globs."
        ),
        eval_split: str = typer.Option("test", "--eval-split", help="Split scored in phase 3."),
        eval_batch_size: int = typer.Option(
            32, "--eval-batch-size", help="Batch size of training-time and phase-3 evaluation."
        ),
        task_config: list[Path] | None = typer.Option(
            None, "--task-config", help="Extra task YAML file (repeatable)."
        ),
        tasks_dir: list[Path] | None = typer.Option(
            None, "--tasks-dir", help="Directory of task YAML files (repeatable)."
        ),
        max_steps: int | None = typer.Option(
            None, "--max-steps", help="Stop each training phase after N steps."
        ),
        epochs: float | None = typer.Option(
            None, "--epochs", help="Target-phase epochs (default: the task's)."
        ),
        lr: float | None = typer.Option(None, "--lr", help="Target-phase learning rate."),
        batch_size: int | None = typer.Option(
            None, "--batch-size", help="Target-phase batch size per device."
        ),
        grad_accum: int | None = typer.Option(
            None, "--grad-accum", help="Target-phase gradient accumulation steps."
        ),
        max_seq_length: int | None = typer.Option(
            None, "--max-seq-length", help="Target-phase max tokens per window."
        ),
        doc_stride: int | None = typer.Option(
            None, "--doc-stride", help="Target-phase window overlap (tokens)."
        ),
        warmup: float | None = typer.Option(
            None, "--warmup", help="Warmup: < 1 a fraction of steps, >= 1 steps."
        ),
        intermediate_epochs: float | None = typer.Option(None, "--intermediate-epochs"),
        intermediate_lr: float | None = typer.Option(None, "--intermediate-lr"),
        intermediate_batch_size: int | None = typer.Option(None, "--intermediate-batch-size"),
        intermediate_grad_accum: int | None = typer.Option(None, "--intermediate-grad-accum"),
        seed: int = typer.Option(42, "--seed"),
        bf16: bool = typer.Option(False, "--bf16", help="bf16 mixed precision (A100 / H100)."),
        fp16: bool = typer.Option(False, "--fp16", help="fp16 mixed precision."),
        max_train_samples: int | None = typer.Option(
            None, "--max-train-samples", help="Use the first N training rows per task."
        ),
        max_eval_samples: int | None = typer.Option(
            None, "--max-eval-samples", help="Use the first N validation rows per task."
        ),
        save_steps: int = typer.Option(1000, "--save-steps", help="Checkpoint (and evaluate) every N steps."),
        early_stopping: int = typer.Option(3, "--early-stopping", help="Patience in evaluations; 0 = off."),
        force: bool = typer.Option(False, "--force", help="Discard a different run already in --out."),
        keep_checkpoints: bool = typer.Option(
            False, "--keep-checkpoints", help="Keep Trainer checkpoints of finished phases."
        ),
    ) -> None:
        """Base model -> intermediate task(s) -> target (SQuAD) -> `bench run` on the domain configs."""
        from mlqa_domain.benchmark.stilts import make_config

        config = make_config(
            base,
            intermediate=intermediate,
            target=target,
            eval_data=eval_data,
            eval_configs=_split_list(eval_configs),
            eval_split=eval_split,
            eval_batch_size=eval_batch_size,
            task_configs=[str(p) for p in task_config or []],
            tasks_dirs=[str(p) for p in tasks_dir or []],
            target_overrides={
                "epochs": epochs,
                "learning_rate": lr,
                "batch_size": batch_size,
                "gradient_accumulation_steps": grad_accum,
                "max_seq_length": max_seq_length,
                "doc_stride": doc_stride,
                "warmup": warmup,
            },
            intermediate_overrides={
                "epochs": intermediate_epochs,
                "learning_rate": intermediate_lr,
                "batch_size": intermediate_batch_size,
                "gradient_accumulation_steps": intermediate_grad_accum,
            },
            max_steps=max_steps,
            max_train_samples=max_train_samples,
            max_eval_samples=max_eval_samples,
            seed=seed,
            precision=_precision(bf16, fp16) or "fp32",
            save_steps=save_steps,
            early_stopping_patience=early_stopping,
        )
        _run(config, out, force, keep_checkpoints)

    @app.command("baselines")
    def baselines(
        list_: bool = typer.Option(False, "--list", help="Show the standard baselines."),
        run: str | None = typer.Option(None, "--run", help="Run the named baseline (see --list)."),
        eval_data: str | None = typer.Option(None, "--eval-data", help="Dataset repo for phase 3."),
        out: Path | None = typer.Option(None, "--out", help="Run directory (default runs/NAME)."),
        base: str | None = typer.Option(None, "--base", help="Use a local copy of the base model."),
        data: list[str] | None = typer.Option(
            None, "--data", help="TASK=PATH: local data for a task (repeatable)."
        ),
        baselines_file: Path | None = typer.Option(None, "--baselines-file", help="Another baselines YAML."),
        max_steps: int | None = typer.Option(
            None, "--max-steps", help="Smoke run: stop each phase after N steps."
        ),
        max_train_samples: int | None = typer.Option(None, "--max-train-samples"),
        max_eval_samples: int | None = typer.Option(None, "--max-eval-samples"),
        eval_configs: str | None = typer.Option(None, "--eval-configs"),
        precision: str | None = typer.Option(
            None, "--precision", help="fp32 | bf16 | fp16 (default: the file's)."
        ),
        seed: int | None = typer.Option(None, "--seed"),
        save_steps: int | None = typer.Option(None, "--save-steps"),
        force: bool = typer.Option(False, "--force"),
        keep_checkpoints: bool = typer.Option(False, "--keep-checkpoints"),
    ) -> None:
        """List the standard STILTs baselines, or run one."""
        from mlqa_domain.benchmark.baselines import get_baseline, load_baselines

        if list_ == (run is not None):
            raise ConfigError("give exactly one of --list and --run NAME", "bench baselines")
        if list_:
            _print_baselines(load_baselines(baselines_file))
            return
        baseline = get_baseline(run, baselines_file)
        config = baseline.to_config(
            eval_data=eval_data,
            base=base,
            data=_parse_data(data),
            max_steps=max_steps,
            max_train_samples=max_train_samples,
            max_eval_samples=max_eval_samples,
            eval_configs=_split_list(eval_configs),
            precision=precision,
            seed=seed,
            save_steps=save_steps,
        )
        _run(config, out or Path("runs") / baseline.name, force, keep_checkpoints)


def _hp(values: dict[str, Any]) -> str:
    parts = [
        f"{key.replace('_', ' ')} {value:g}"
        if isinstance(value, float)
        else f"{key.replace('_', ' ')} {value}"
        for key, value in values.items()
    ]
    return ", ".join(parts) or "task defaults"


def _print_baselines(baselines) -> None:
    table = Table(
        title="STILTs baselines: base -> intermediate -> SQuAD v1.1 -> zero-shot on every domain config"
    )
    table.add_column("name", no_wrap=True)
    table.add_column("base model", no_wrap=True)
    table.add_column("intermediate", overflow="fold")
    for baseline in baselines.values():
        table.add_row(baseline.name, baseline.base, ", ".join(baseline.intermediate) or "none")
    console = _out()
    console.print(table)
    first = next(iter(baselines.values()), None)
    if first is not None:
        console.print(f"intermediate phase: {_hp(first.intermediate_hparams)} (max length: the task's)")
        console.print(f"target phase ({first.target}): {_hp(first.target_hparams)}")
    console.print("run one: bench baselines --run NAME --eval-data ./mlqa-domain [--max-steps N: smoke run]")
