"""`bench run`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.benchmark.commands._options import fields_of, option
from mlqa_domain.benchmark.settings import RUN as DEFAULTS
from mlqa_domain.benchmark.settings import RunSettings
from mlqa_domain.cli_utils import WIDE, out_console, print_table, table_width

_MODEL = option(..., "--model", "MODEL", "QA checkpoint: local directory or hub id.")
_DATA = option(..., "--data", "REPO", "Dataset repo: ./mlqa-domain or ORG/mlqa-domain.")
_OUT = typer.Option(
    ...,
    "--out",
    "-o",
    metavar="PATH",
    help="Results directory (results.json, predictions/, scores.json): new, empty or this same run.",
)
_REVISION = option(DEFAULTS.revision, "--revision", "REVISION", "Model revision (branch, tag or commit).")
_CONFIGS = option(
    DEFAULTS.configs,
    "--configs",
    "CONFIGS",
    "Configs or globs, comma-separated or repeated (legal.de,biomedical.*).",
)
_SPLIT = option(DEFAULTS.split, "--split", "SPLIT", "test or validation.")
_BATCH_SIZE = option(DEFAULTS.batch_size, "--batch-size", "N", "Features per forward pass.")
_DEVICE = option(DEFAULTS.device, "--device", "DEVICE", "cpu, cuda or auto.")
_PRECISION = option(DEFAULTS.precision, "--precision", "PRECISION", "fp32, fp16 or bf16.")
_MAX_SEQ_LENGTH = option(DEFAULTS.max_seq_length, "--max-seq-length", "N", "Tokens per feature.")
_DOC_STRIDE = option(DEFAULTS.doc_stride, "--doc-stride", "N", "Overlap of consecutive features (tokens).")
_MAX_ANSWER_LENGTH = option(
    DEFAULTS.max_answer_length, "--max-answer-length", "N", "Longest answer (tokens)."
)
_N_BEST = option(DEFAULTS.n_best, "--n-best", "N", "Start/end candidates per feature.")
_MODEL_ID = option(
    None,
    "--model-id",
    "NAME",
    "Public name of the model in results.json and on the leaderboard (default: the hub id, else the "
    "model directory's name; never a local path).",
)
_FORCE = option(False, "--force", None, "Replace the results of a different run already in --out.")


def quiet_transformers() -> None:
    """Our own progress bars only: silence transformers' and datasets' logs and bars."""
    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def run(
    model: str = _MODEL,
    data: str = _DATA,
    out: Path = _OUT,
    revision: str | None = _REVISION,
    configs: list[str] | None = _CONFIGS,
    split: str = _SPLIT,
    batch_size: int = _BATCH_SIZE,
    device: str = _DEVICE,
    precision: str = _PRECISION,
    max_seq_length: int = _MAX_SEQ_LENGTH,
    doc_stride: int = _DOC_STRIDE,
    max_answer_length: int = _MAX_ANSWER_LENGTH,
    n_best: int = _N_BEST,
    model_id: str | None = _MODEL_ID,
    force: bool = _FORCE,
    wide: bool = WIDE,
) -> None:
    """Score a QA checkpoint on the domain configs; write results.json and predictions/<config>.json."""
    from mlqa_domain.atomic import check_writable
    from mlqa_domain.benchmark.runner import run_benchmark

    quiet_transformers()
    settings = RunSettings(
        **fields_of(RunSettings, {**locals(), "configs": tuple(configs) if configs else None})
    )
    check_writable(out)  # a read-only --out fails now, not after scoring every config
    card = {"id": model_id} if model_id else None
    results = run_benchmark(model, data, out, settings, model_card=card, force=force)
    show_results(results, wide)
    out_console.print(f"wrote {out}/results.json and {len(results['configs'])} prediction file(s)")


def show_results(results: dict, wide: bool = False) -> None:
    """The summary of a results.json: per config (with its gap and power), aggregates, cross-lingual F1;
    fitted to the terminal unless ``wide``."""
    from mlqa_domain.benchmark.results import aggregates_table, cross_lingual_table, results_table

    width = table_width(wide)
    print_table(results_table(results, width), wide)
    print_table(aggregates_table(results, width), wide)
    matrix = cross_lingual_table(results, width)
    if matrix is not None:
        print_table(matrix, wide)
