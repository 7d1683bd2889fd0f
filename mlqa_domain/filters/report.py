"""What the filters did: rejected examples as jsonl, and per-filter counts for the dataset card."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

from mlqa_domain.atomic import atomic_file
from mlqa_domain.pipeline import Rejected, StepStats


def write_rejected(rejected: Iterable[Rejected], out_dir: str | Path) -> dict[str, Path]:
    """Write ``out_dir/<filter>.jsonl``: one line per dropped example (its fields + ``filter`` + ``reason``).

    Returns the written files by filter name; filters that dropped nothing get no file. The records are
    written as they come (each filter's file open until the end), so none is held in memory.
    """
    written: dict[str, Path] = {}
    with ExitStack() as files:
        handles = {}
        for item in rejected:
            handle = handles.get(item.filter)
            if handle is None:
                written[item.filter] = Path(out_dir) / f"{item.filter}.jsonl"
                handle = handles[item.filter] = files.enter_context(atomic_file(written[item.filter]))
            record = {**item.example.to_dict(), "filter": item.filter, "reason": item.reason}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return written


def filter_report(stats: Iterable[StepStats | dict], top: int = 5) -> list[dict]:
    """Per filter: name, seen, kept, dropped, flagged and its ``top`` most frequent reasons (by count)."""
    report = []
    for item in stats:
        data = item if isinstance(item, dict) else item.to_dict()
        reasons = Counter(data.get("reasons", {}))
        report.append(
            {
                "name": data["name"],
                "seen": data["seen"],
                "kept": data["kept"],
                "dropped": data["dropped"],
                "flagged": data.get("flagged", 0),
                "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
                "seconds": data.get("seconds", 0.0),
            }
        )
    return report
