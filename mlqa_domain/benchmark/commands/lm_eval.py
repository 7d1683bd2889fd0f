"""`bench lm-eval export`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.benchmark.commands._options import option
from mlqa_domain.benchmark.lm_eval_export import ExportSettings
from mlqa_domain.cli_utils import out_console

DEFAULTS = ExportSettings()

_DATA = option(..., "--data", "REPO", "Dataset repo: ./mlqa-domain or ORG/mlqa-domain.")
_SPLIT = option(DEFAULTS.split, "--split", "SPLIT", "The split the tasks score: test or validation.")
_OUT = typer.Option(
    ...,
    "--out",
    "-o",
    metavar="DIR",
    help="Task directory for `lm_eval --include_path DIR`: new, empty or an earlier export.",
)
_CONFIGS = option(
    DEFAULTS.configs,
    "--configs",
    "CONFIGS",
    "Configs or globs, comma-separated or repeated (legal.de,biomedical.*); default: all.",
)
_NUM_FEWSHOT = option(
    DEFAULTS.num_fewshot,
    "--num-fewshot",
    "N",
    "Few-shot examples per prompt (lm_eval --num_fewshot overrides it).",
)
_FEWSHOT_SPLIT = option(
    DEFAULTS.fewshot_split,
    "--fewshot-split",
    "SPLIT",
    "Split the few-shot examples come from (default: validation for test, test for validation).",
)
_REVISION = option(DEFAULTS.revision, "--revision", "REVISION", "Dataset revision on the hub.")


def export(
    data: str = _DATA,
    out: Path = _OUT,
    split: str = _SPLIT,
    configs: list[str] | None = _CONFIGS,
    num_fewshot: int = _NUM_FEWSHOT,
    fewshot_split: str | None = _FEWSHOT_SPLIT,
    revision: str | None = _REVISION,
) -> None:
    """Write the domain configs as lm-evaluation-harness tasks, scored with the official MLQA metric."""
    from mlqa_domain.benchmark.lm_eval_export import export_tasks

    settings = ExportSettings(
        split=split,
        configs=tuple(configs) if configs else None,
        num_fewshot=num_fewshot,
        fewshot_split=fewshot_split,
        revision=revision,
    )
    exported = export_tasks(data, out, settings)
    out_console.print(
        f"wrote {len(exported.tasks)} task(s) and {len(exported.groups)} group(s) of the {split} split to "
        f"{exported.out}"
    )
    if exported.skipped:
        out_console.print(f"left out (no such split, or no few-shot split): {', '.join(exported.skipped)}")
    example = next(iter(exported.tasks))
    out_console.print(
        f"run: lm_eval --model hf --model_args pretrained=MODEL --include_path {exported.out} "
        f"--tasks mlqa_domain (or a domain group, or one task such as {example}) "
        "--log_samples --output_path OUT",
        soft_wrap=True,
    )
