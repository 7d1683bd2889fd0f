"""`bench power`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mlqa_domain.benchmark.commands._options import option
from mlqa_domain.cli_utils import out_console

_REFERENCE = typer.Argument(
    ..., metavar="RESULTS_DIR", help="A reference `bench run` results dir (or `bench stilts` run dir)."
)
_CARD = option(
    None,
    "--card",
    "REPO",
    "Also write the table into this local dataset repo's card (README.md) and build_info.json.",
)
_DATA = option(None, "--data", "REPO", "Dataset to re-score a results dir without scores.json.")
_AGAINST = option(
    None,
    "--against",
    "RESULTS_DIR",
    "A second run on the same questions: measure the SD of per-question differences from the two runs "
    "instead of assuming it from one.",
)


def power(
    reference: Path = _REFERENCE,
    card: Path | None = _CARD,
    data: str | None = _DATA,
    against: Path | None = _AGAINST,
) -> None:
    """Which splits can answer the question: the smallest F1 difference a paired test detects per split."""
    from mlqa_domain.benchmark.aggregates import power_report
    from mlqa_domain.benchmark.compare import load_results_run
    from mlqa_domain.errors import InputError

    run = load_results_run(reference, data)
    second = None
    if against is not None:
        second = load_results_run(against, data)
        if (second.fingerprint, second.split) != (run.fingerprint, run.split):
            raise InputError(
                f"was scored on {second.fingerprint} ({second.split}), the reference run on "
                f"{run.fingerprint} ({run.split})",
                against,
            )
    try:
        report = power_report(run.scores, run.general, against=second.scores if second else None)
    except ValueError as exc:
        raise InputError(str(exc), against) from None
    report["reference"] = {"model": run.label, "fingerprint": run.fingerprint, "split": run.split}
    if second is not None:
        report["reference"]["against"] = second.label
    out_console.print(power_table(report))
    if card is not None:
        _write_card(card, report)
        out_console.print(f"wrote the table into {card / 'README.md'} and {card / 'build_info.json'}")


def power_table(report: dict) -> Table:
    """Rich table: questions and minimum detectable F1 difference per split and aggregate."""
    ref = report["reference"]
    basis = f"{ref['model']} vs {ref['against']}" if ref.get("against") else f"reference {ref['model']}"
    table = Table(title=f"minimum detectable F1 difference (80% power, alpha 0.05), {basis}")
    for column in ("split / aggregate", "questions", "min. detectable F1 difference"):
        table.add_column(column, justify="left" if column.startswith("split") else "right")
    for section in ("configs", "aggregates"):
        for name, value in report[section].items():
            mde = value["min_detectable_f1"]
            table.add_row(name, str(value["count"]), "-" if mde is None else f"{mde:.1f}")
        table.add_section()
    table.caption = (
        "-: no estimate (every question of the split got the same score, so there is no variance to use); "
        + (
            "SD of differences measured from the two runs"
            if ref.get("against")
            else "SD of differences assumed from one run (rho 0.5); --against RUN measures it"
        )
    )
    return table


def _write_card(repo: Path, report: dict) -> None:
    from mlqa_domain.builders.card import add_power
    from mlqa_domain.dataset_repo import BUILD_INFO
    from mlqa_domain.errors import InputError
    from mlqa_domain.jsonio import read_json

    if not (repo / BUILD_INFO).is_file():
        raise InputError(f"not a dataset repo built by mlqa-domain ({BUILD_INFO} missing)", repo)
    fingerprint = read_json(repo / BUILD_INFO).get("dataset_fingerprint")
    if fingerprint != report["reference"]["fingerprint"]:
        raise InputError(
            f"the reference run was scored on {report['reference']['fingerprint']}, "
            f"this dataset is {fingerprint}",
            "--card",
        )
    add_power(repo, report)
