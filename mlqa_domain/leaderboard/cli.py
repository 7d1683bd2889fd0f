"""`bench submit` and `bench leaderboard init|render|show`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table as RichTable

from mlqa_domain.leaderboard.store import open_store

console = Console(highlight=False)

STORE_HELP = "Leaderboard store: a local directory or hf://datasets/ORG/NAME"
leaderboard_app = typer.Typer(
    name="leaderboard",
    help="Create, render and show the leaderboard of verified submissions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def submit(
    results_dir: Path = typer.Argument(
        ..., metavar="RESULTS_DIR", help="A `bench run` output dir (results.json + predictions/)"
    ),
    leaderboard: str = typer.Option(..., "--leaderboard", "-l", metavar="STORE", help=STORE_HELP),
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
    from mlqa_domain.leaderboard.verify import submit as submit_results

    entry = submit_results(results_dir, open_store(leaderboard), submitter, base_model, intermediate or [])
    scores = entry.verification.configs
    console.print(
        f"accepted [bold]{entry.submission.model.id}[/] as entry [bold]{entry.entry_id}[/] "
        f"({len(scores)} configs re-scored, all claims match) in {leaderboard}",
        markup=True,
    )


@leaderboard_app.command("init")
def init(
    leaderboard: str = typer.Option(..., "--leaderboard", "-l", metavar="STORE", help=STORE_HELP),
    data: str = typer.Option(
        ..., "--data", metavar="DATASET", help="The dataset repo: a local dir or a hub dataset id"
    ),
    split: str = typer.Option("test", metavar="SPLIT", help="Which split the leaderboard ranks"),
) -> None:
    """Create an empty leaderboard for a dataset (records its location, fingerprint and configs)."""
    from mlqa_domain.leaderboard.dataset_info import init_leaderboard

    manifest = init_leaderboard(open_store(leaderboard), data, split)
    console.print(
        f"leaderboard {leaderboard}: dataset {manifest.dataset_location} ({manifest.dataset_fingerprint}), "
        f"split {manifest.split}, {len(manifest.configs)} configs"
    )


@leaderboard_app.command("render")
def render(
    leaderboard: str = typer.Option(..., "--leaderboard", "-l", metavar="STORE", help=STORE_HELP),
    out: Path = typer.Option(
        Path("site"), "--out", "-o", metavar="DIR", help="Directory for the static site"
    ),
) -> None:
    """Write the static site: sortable table, per-entry pages, plots, leaderboard.json/.csv."""
    from mlqa_domain.leaderboard.render import render_site

    table = render_site(open_store(leaderboard), out)
    console.print(f"wrote {out / 'index.html'} ({len(table.rows)} entries)")


@leaderboard_app.command("show")
def show(
    leaderboard: str = typer.Option(..., "--leaderboard", "-l", metavar="STORE", help=STORE_HELP),
    top: int = typer.Option(10, min=1, metavar="N", help="How many rows"),
) -> None:
    """Print the top of the leaderboard."""
    from mlqa_domain.leaderboard.table import build_table

    store = open_store(leaderboard)
    manifest = store.manifest()
    table = build_table(store.entries(), total_configs=len(manifest.configs))
    console.print(rich_table(table, top))


def rich_table(table, top: int = 10) -> RichTable:
    """The leaderboard's first ``top`` rows as a rich table."""
    out = RichTable(title=f"MLQA-Domain leaderboard ({len(table.rows)} entries)", title_justify="left")
    out.add_column("#", justify="right")
    out.add_column("model", overflow="fold", min_width=12)
    for name in ("base", "intermediate"):
        out.add_column(name, overflow="fold")
    for name in ("F1", "EM"):
        out.add_column(name, justify="right", no_wrap=True)
    for domain in table.gap_domains:
        out.add_column(f"gap {domain}", justify="right", overflow="fold", no_wrap=False)
    out.add_column("submitter", overflow="fold")
    for row in table.rows[:top]:
        gaps = []
        for domain in table.gap_domains:
            gap = row.domain_gap.get(domain)
            gaps.append(f"{gap['f1_gap']:+.1f}" if gap else "–")
        out.add_row(
            str(row.rank),
            row.model,
            row.base_model,
            " → ".join(row.intermediate_tasks) or "–",
            _fmt(row.overall_f1),
            _fmt(row.overall_em),
            *gaps,
            row.submitter,
        )
    if not table.rows:
        out.caption = "no entries yet"
    return out


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def register(app: typer.Typer) -> None:
    """Add `submit` and the `leaderboard` sub-app to the `bench` app."""
    app.command("submit")(submit)
    app.add_typer(leaderboard_app, name="leaderboard")
