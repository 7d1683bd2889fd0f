"""`bench submit`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.leaderboard.commands._options import STORE


def submit(
    results_dir: Path = typer.Argument(
        ..., metavar="RESULTS_DIR", help="A `bench run` output dir (results.json + predictions/)"
    ),
    leaderboard: str = STORE,
    submitter: str | None = typer.Option(None, metavar="NAME", help="Who submits (name or hub user)"),
    base_model: str | None = typer.Option(
        None, metavar="MODEL", help="Pretrained encoder, e.g. xlm-roberta-base"
    ),
    intermediate: list[str] | None = typer.Option(
        None,
        "--intermediate",
        metavar="TASK",
        help="English intermediate task before SQuAD (repeat in order), e.g. mnli",
    ),
) -> None:
    """Verify a results dir (hashes, re-computed scores, dataset, duplicates); add it to the leaderboard."""
    from mlqa_domain.leaderboard.store import open_store
    from mlqa_domain.leaderboard.verify import submit as submit_results

    entry = submit_results(results_dir, open_store(leaderboard), submitter, base_model, intermediate or [])
    out_console.print(
        f"accepted [bold]{entry.submission.model.id}[/] as entry [bold]{entry.entry_id}[/] "
        f"({len(entry.verification.configs)} configs re-scored, all claims match) in {leaderboard}",
        markup=True,
    )
