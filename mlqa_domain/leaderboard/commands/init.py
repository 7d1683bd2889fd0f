"""`bench leaderboard init`."""

from __future__ import annotations

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.leaderboard.commands._options import STORE
from mlqa_domain.leaderboard.dataset_info import DEFAULTS, InitSettings
from mlqa_domain.naming import public_dataset_name


def init(
    leaderboard: str = STORE,
    data: str = typer.Option(
        ..., "--data", metavar="REPO", help="The dataset repo: a local dir or a hub dataset id."
    ),
    split: str = typer.Option(
        DEFAULTS.split, "--split", metavar="SPLIT", help="Which split the leaderboard ranks."
    ),
    protocol: str = typer.Option(
        DEFAULTS.protocol,
        "--protocol",
        metavar="NAME",
        help="The evaluation protocol every entry must be scored under (mlqa-v1: 384/128/30/20).",
    ),
) -> None:
    """Create an empty leaderboard for a dataset (records its location, fingerprint and configs)."""
    from mlqa_domain.leaderboard.dataset_info import init_leaderboard
    from mlqa_domain.leaderboard.store import open_store

    manifest = init_leaderboard(open_store(leaderboard), data, InitSettings(split=split, protocol=protocol))
    out_console.print(
        f"leaderboard {leaderboard}: dataset {public_dataset_name(manifest.dataset_location)} "
        f"({manifest.dataset_fingerprint}), "
        f"split {manifest.split}, {len(manifest.configs)} configs, protocol {manifest.protocol}"
    )
