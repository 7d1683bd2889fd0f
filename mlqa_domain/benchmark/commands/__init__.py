"""The `bench` commands of the benchmark, one per module: `bench run`, `import`, `score`, `power`,
`compare` (results dirs or leaderboard entries) and `bench lm-eval export`."""

from __future__ import annotations

from collections.abc import Callable

from mlqa_domain.benchmark.commands.compare import compare
from mlqa_domain.benchmark.commands.import_predictions import import_
from mlqa_domain.benchmark.commands.lm_eval import export as lm_eval_export
from mlqa_domain.benchmark.commands.power import power
from mlqa_domain.benchmark.commands.run import run
from mlqa_domain.benchmark.commands.score import score

COMMANDS: list[tuple[str, Callable]] = [
    ("run", run),
    ("import", import_),
    ("score", score),
    ("power", power),
    ("compare", compare),
]
GROUPS: list[tuple[str, str, list[tuple[str, Callable]]]] = [
    (
        "lm-eval",
        "Meet lm-evaluation-harness: export the domain configs as its tasks.",
        [("export", lm_eval_export)],
    )
]
