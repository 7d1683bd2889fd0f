"""`mlqa-domain push`."""

from __future__ import annotations

from pathlib import Path

import typer

from mlqa_domain.builders.push import PushSettings
from mlqa_domain.cli_utils import out_console

DEFAULTS = PushSettings()


def push(
    repo_id: str = typer.Option(..., metavar="ORG/NAME", help="Hub dataset repo, ORG/NAME."),
    data: Path = typer.Option(DEFAULTS.data, metavar="PATH", help="The built dataset repo directory."),
    private: bool = typer.Option(DEFAULTS.private, help="Create the repo as private."),
    token: str | None = typer.Option(
        DEFAULTS.token, envvar="HF_TOKEN", metavar="TOKEN", help="Hub token (default: HF_TOKEN / login)."
    ),
    revision: str | None = typer.Option(DEFAULTS.revision, metavar="BRANCH", help="Branch to push to."),
) -> None:
    """Upload a built dataset repo to the Hugging Face hub."""
    from mlqa_domain.builders.push import push_dataset

    url = push_dataset(repo_id, PushSettings(data=data, private=private, token=token, revision=revision))
    out_console.print(f"pushed {data} to {repo_id}: {url}")
