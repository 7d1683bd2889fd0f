"""`bench submit`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from mlqa_domain.cli_utils import out_console
from mlqa_domain.errors import visible_controls
from mlqa_domain.leaderboard.commands._options import STORE


def submit(
    results_dir: Path = typer.Argument(
        ...,
        metavar="RESULTS_DIR",
        help="A `bench run` results dir, a multi-seed results dir, or a `bench stilts` run dir.",
    ),
    leaderboard: str = STORE,
    submitter: str | None = typer.Option(
        None, "--submitter", metavar="NAME", help="Who submits (name or hub user). \\[required]"
    ),
    base_model: str | None = typer.Option(
        None,
        "--base-model",
        metavar="MODEL",
        help="Pretrained model the checkpoint was trained from, e.g. xlm-roberta-base. "
        "\\[required unless the run records it: `bench stilts` runs do]",
    ),
    intermediate: list[str] | None = typer.Option(
        None,
        "--intermediate",
        metavar="TASK",
        help="English intermediate task before SQuAD (repeat in order), e.g. mnli "
        "(default: what the run records; none for a plain SQuAD model).",
    ),
) -> None:
    """Verify a results dir (hashes, re-computed scores, dataset, duplicates); add it to the leaderboard."""
    from mlqa_domain.leaderboard.store import open_store
    from mlqa_domain.leaderboard.verify import submit as submit_results

    entry = submit_results(results_dir, open_store(leaderboard), submitter, base_model, intermediate or [])
    sub = entry.submission
    trained = " → ".join([sub.model.base_model, *sub.model.intermediate_tasks, "SQuAD"])
    seeds = f", {len(sub.seeds)} seeds" if sub.seeds else ""
    out_console.print(
        f"accepted [bold]{escape(visible_controls(sub.model.id))}[/] ({escape(trained)}{seeds}) as entry "
        f"[bold]{entry.entry_id}[/] ({len(entry.verification.configs)} configs re-scored, all claims "
        f"match) in {escape(str(leaderboard))}",
        markup=True,
    )
