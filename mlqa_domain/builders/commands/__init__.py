"""The `mlqa-domain` commands of the builder, one per module: `build` and `push`."""

from __future__ import annotations

from collections.abc import Callable

from mlqa_domain.builders.commands.build import build
from mlqa_domain.builders.commands.push import push

COMMANDS: list[tuple[str, Callable]] = [("build", build), ("push", push)]
