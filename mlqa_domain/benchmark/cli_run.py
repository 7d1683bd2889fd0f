"""`bench run`: score a QA checkpoint on every (or the selected) domain config."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def run_command(
    model: str = typer.Option(..., "--model", help="QA checkpoint: local directory or hub id."),
    data: str = typer.Option(..., "--data", help="Dataset repo: ./mlqa-domain or ORG/mlqa-domain."),
    out: Path = typer.Option(..., "--out", help="Results directory (results.json + predictions/)."),
    revision: str | None = typer.Option(None, "--revision", help="Model revision (branch, tag or commit)."),
    configs: list[str] | None = typer.Option(
        None, "--configs", help="Configs or globs, comma-separated or repeated (legal.de,biomedical.*)."
    ),
    split: str = typer.Option("test", "--split", help="test or validation."),
    batch_size: int = typer.Option(32, "--batch-size", help="Features per forward pass."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, fp16 or bf16."),
    max_seq_length: int = typer.Option(384, "--max-seq-length", help="Tokens per feature."),
    doc_stride: int = typer.Option(128, "--doc-stride", help="Overlap of consecutive features (tokens)."),
    max_answer_length: int = typer.Option(30, "--max-answer-length", help="Longest answer (tokens)."),
    n_best: int = typer.Option(20, "--n-best", help="Start/end candidates per feature."),
    model_id: str | None = typer.Option(
        None, "--model-id", help="Name recorded for the model (default: the --model path or hub id)."
    ),
) -> None:
    """Score a QA checkpoint on the domain configs; write results.json and predictions/<config>.json."""
    import datasets
    from transformers.utils import logging as hf_logging

    from mlqa_domain.benchmark.results import results_table
    from mlqa_domain.benchmark.runner import run_benchmark

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    results = run_benchmark(
        model=model,
        data=data,
        out=out,
        configs=configs,
        split=split,
        revision=revision,
        batch_size=batch_size,
        device=device,
        precision=precision,
        max_seq_length=max_seq_length,
        doc_stride=doc_stride,
        max_answer_length=max_answer_length,
        n_best=n_best,
        model_card={"id": model_id} if model_id else None,
    )
    console = Console()
    console.print(results_table(results))
    console.print(f"wrote {out}/results.json and {len(results['configs'])} prediction file(s)")


def register(app: typer.Typer) -> None:
    """Add ``run`` to the ``bench`` app."""
    app.command("run")(run_command)
