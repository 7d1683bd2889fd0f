"""`mlqa-domain sample-for-audit`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

from mlqa_domain.cli_utils import out_console
from mlqa_domain.labeling.audit import SampleSettings

DEFAULTS = SampleSettings()


def sample_for_audit(
    data: str = typer.Option(str(DEFAULTS.data), "--data", help="Built dataset repo (dir or hub id)."),
    n: int = typer.Option(DEFAULTS.n, "--n", metavar="N", help="Number of ids to sample."),
    out: Path = typer.Option(..., "--out", metavar="PATH", help="jsonl to write (fill in each `domains`)."),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", metavar="N"),
    margin: float = typer.Option(
        DEFAULTS.margin, "--margin", metavar="F", help="'Near threshold': best score within this of its τ."
    ),
    split: list[str] | None = typer.Option(
        None, "--split", metavar="SPLIT", help="Only these splits (default: all)."
    ),
) -> None:
    """Draw a stratified sample (per predicted domain and near the threshold) for people to label."""
    from mlqa_domain.atomic import atomic_file
    from mlqa_domain.labeling.audit import load_rows
    from mlqa_domain.labeling.audit import sample_for_audit as draw

    settings = SampleSettings(data=data, splits=split or None, n=n, seed=seed, margin=margin)
    records = draw(load_rows(settings.data, settings.splits), settings)
    with atomic_file(out) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    counts = Counter(r["stratum"] for r in records)
    out_console.print(
        f"wrote {len(records)} ids to {out} ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}); "
        "fill in each `domains` list, then run `mlqa-domain audit --labels`"
    )
