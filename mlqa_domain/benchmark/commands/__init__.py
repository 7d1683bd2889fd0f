"""The `bench` commands of the benchmark, one per module: `bench run`, `score`, `power`, `stilts` and
`baselines`."""

from __future__ import annotations

from collections.abc import Callable

from mlqa_domain.benchmark.commands.baselines import baselines
from mlqa_domain.benchmark.commands.power import power
from mlqa_domain.benchmark.commands.run import run
from mlqa_domain.benchmark.commands.score import score
from mlqa_domain.benchmark.commands.stilts import stilts

COMMANDS: list[tuple[str, Callable]] = [
    ("run", run),
    ("score", score),
    ("power", power),
    ("stilts", stilts),
    ("baselines", baselines),
]
