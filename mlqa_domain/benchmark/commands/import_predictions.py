"""`bench import`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.benchmark.commands._options import option
from mlqa_domain.benchmark.importing import ImportSettings
from mlqa_domain.cli_utils import WIDE, out_console

DEFAULTS = ImportSettings()
_PREDICTIONS = typer.Argument(
    ...,
    metavar="PREDICTIONS",
    help="A directory of {question id: answer} JSON files named by config (all.de.json, all.de.en.json, "
    "legal.de.json: the layout of `bench run`'s predictions/), or an lm-eval output directory "
    "(--log_samples of tasks from `bench lm-eval export`).",
)
_DATA = option(..., "--data", "REPO", "Dataset repo the answers are for: ./mlqa-domain or ORG/mlqa-domain.")
_SPLIT = option(DEFAULTS.split, "--split", "SPLIT", "test or validation.")
_MODEL_ID = option(..., "--model-id", "NAME", "Public name of the model that produced the answers.")
_OUT = typer.Option(
    ...,
    "--out",
    "-o",
    metavar="PATH",
    help="Results directory (results.json, predictions/, scores.json): new, empty or this same import.",
)
_PROTOCOL = option(
    DEFAULTS.protocol,
    "--protocol",
    "NAME",
    "Declare the protocol the answers were produced under (mlqa-v1: 384/128/30/20, as run_qa.py's "
    "defaults); recorded as declared. Default: external (unknown settings).",
)
_IGNORE_UNKNOWN = option(
    DEFAULTS.ignore_unknown_ids,
    "--ignore-unknown-ids",
    None,
    "Ignore answers to questions this split of the dataset does not hold (instead of stopping).",
)
_FORCE = option(False, "--force", None, "Replace the results of a different run already in --out.")


def import_(
    predictions: Path = _PREDICTIONS,
    data: str = _DATA,
    model_id: str = _MODEL_ID,
    out: Path = _OUT,
    split: str = _SPLIT,
    protocol: str | None = _PROTOCOL,
    ignore_unknown_ids: bool = _IGNORE_UNKNOWN,
    force: bool = _FORCE,
    wide: bool = WIDE,
) -> None:
    """Score answers made elsewhere (run_qa.py, an LLM, lm-eval) into a results dir that `bench compare`,
    `bench power` and `bench submit` take."""
    from mlqa_domain.benchmark.commands.run import quiet_transformers, show_results
    from mlqa_domain.benchmark.importing import import_predictions

    quiet_transformers()
    settings = ImportSettings(
        split=split, protocol=protocol, ignore_unknown_ids=ignore_unknown_ids, force=force
    )
    results = import_predictions(predictions, data, out, model_id, settings)
    show_results(results, wide)
    report = results["import"]
    missing = report["unanswered"]
    if missing:
        shown = ", ".join(f"{name} {n}/{results['configs'][name]['count']}" for name, n in missing.items())
        out_console.print(f"questions without an answer (scored 0): {shown}", markup=False, highlight=False)
    else:
        out_console.print("every question had an answer")
    for key, n in (report["ignored_ids"] or {}).items():
        out_console.print(
            f"{key}: {n} answer(s) to questions outside the dataset's split ignored", markup=False
        )
    out_console.print(
        f"wrote {out}/results.json ({len(results['configs'])} configs, source {results['model']['source']}, "
        f"protocol {results['protocol']['name']})",
        markup=False,
        highlight=False,
    )
