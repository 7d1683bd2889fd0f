"""The `bench` commands of STILTs training, one per module: `bench stilts` and `bench baselines`."""

from __future__ import annotations

from collections.abc import Callable

from mlqa_domain.training.commands.baselines import baselines
from mlqa_domain.training.commands.stilts import stilts

COMMANDS: list[tuple[str, Callable]] = [("stilts", stilts), ("baselines", baselines)]
