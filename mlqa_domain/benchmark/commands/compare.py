"""`bench compare`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mlqa_domain.atomic import write_text_atomic
from mlqa_domain.benchmark.commands._options import option
from mlqa_domain.cli_utils import WIDE, err_console, out_console, print_table, table_width
from mlqa_domain.leaderboard.commands._options import STORE

_A = typer.Argument(
    ..., metavar="A", help="Results dir, `bench stilts` run dir, or (with -l) leaderboard entry."
)
_B = typer.Argument(..., metavar="B", help="The run A is compared with (the baseline), in the same form.")
_LEADERBOARD = typer.Option(
    None,
    *STORE.param_decls,
    metavar="STORE",
    help="Compare two entries of this leaderboard (entry ids, id prefixes or model names).",
)
_DATA = option(
    None,
    "--data",
    "REPO",
    "Dataset the runs were scored on, to re-score results dirs that have no scores.json.",
)
_OUT = typer.Option(
    None,
    "--out",
    "-o",
    metavar="PATH",
    help="Write the comparison as JSON (and a forest plot PNG next to it).",
)
_PLOT = option(None, "--plot", "PATH", "Forest plot PNG (default: --out with .png).")
_CONFIGS = option(None, "--configs", "CONFIGS", "Only these configs (comma-separated names or globs).")
_ALL_CONFIGS = option(
    False, "--all-configs", None, "List every config in the table, not only the aggregates."
)
_ALLOW_PROTOCOL_MISMATCH = option(
    False,
    "--allow-protocol-mismatch",
    None,
    "Compare runs scored under different evaluation protocols (the differences are printed).",
)


def compare(
    a: str = _A,
    b: str = _B,
    leaderboard: str | None = _LEADERBOARD,
    data: str | None = _DATA,
    out: Path | None = _OUT,
    plot: Path | None = _PLOT,
    configs: str | None = _CONFIGS,
    all_configs: bool = _ALL_CONFIGS,
    allow_protocol_mismatch: bool = _ALLOW_PROTOCOL_MISMATCH,
    wide: bool = WIDE,
) -> None:
    """Does A beat B? F1/EM of each and A - B with a paired bootstrap 95% CI and p-value, per aggregate
    and config; JSON and a forest plot with --out."""
    from mlqa_domain.benchmark.compare import compare_runs, comparison_table, forest_plot, load_results_run
    from mlqa_domain.benchmark.data import select_configs

    if leaderboard:
        run_a, run_b = _entries(leaderboard, a, b)
    else:
        run_a, run_b = load_results_run(a, data), load_results_run(b, data)
    chosen = select_configs(sorted(run_a.scores), [configs]) if configs else None
    report = compare_runs(run_a, run_b, chosen, allow_protocol_mismatch=allow_protocol_mismatch)
    if report.get("protocol_mismatch"):
        err_console.print(
            "warning: the runs were scored under different protocols, so their difference mixes the model "
            "with the settings: " + "; ".join(report["protocol_mismatch"]),
            markup=False,
            highlight=False,
        )
    table = comparison_table(report, configs=all_configs or bool(configs), width=table_width(wide))
    print_table(table, wide)
    if out is not None:
        write_text_atomic(out, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        out_console.print(f"wrote {out}")
    plot_path = plot or (out.with_suffix(".png") if out is not None else None)
    if plot_path is not None:
        forest_plot(report, plot_path)
        out_console.print(f"wrote {plot_path}")


def _entries(location: str, a: str, b: str):
    from mlqa_domain.leaderboard.compare import entry_run, entry_scores, find_entry
    from mlqa_domain.leaderboard.store import open_store

    store = open_store(location)
    manifest = store.manifest()
    entries = store.entries()
    runs = []
    for text in (a, b):
        entry = find_entry(entries, text, location)
        runs.append(entry_run(entry, entry_scores(store, entry, manifest), manifest.general))
    return runs[0], runs[1]
