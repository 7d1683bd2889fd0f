"""The option style of the bench commands, the options `bench stilts` and `bench baselines` share."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import typer

from mlqa_domain.errors import ConfigError


def option(default: Any, flag: str, metavar: str | None, help_text: str) -> Any:
    """A typer option in the bench style: an upper-case metavar (None for boolean flags), a help line."""
    return typer.Option(default, flag, metavar=metavar, help=help_text)


MAX_STEPS = option(None, "--max-steps", "N", "Stop each training phase after N steps.")
MAX_TRAIN_SAMPLES = option(None, "--max-train-samples", "N", "Use the first N training rows per task.")
MAX_EVAL_SAMPLES = option(
    None,
    "--max-eval-samples",
    "N",
    "Validate on the first N validation rows per task (default 500; 0: all).",
)
SAVE_STEPS = option(
    None,
    "--save-steps",
    "N",
    "Checkpoint and validate every N steps; < 1: every such fraction of each phase (default 0.1).",
)
EARLY_STOPPING = option(
    None,
    "--early-stopping",
    "N",
    "Stop a phase after N validations without a better task metric; 0: off (the default).",
)
SEEDS = option(
    None,
    "--seeds",
    "LIST",
    "Several seeds (1,2,3): one run per seed in OUT/seed-S, mean ± std over seeds in OUT/results.",
)
EVAL_CONFIGS = option(
    None, "--eval-configs", "CONFIGS", "Configs scored in phase 3: comma-separated names / globs."
)
FORCE = option(False, "--force", None, "Discard a different run already in --out.")
KEEP_CHECKPOINTS = option(False, "--keep-checkpoints", None, "Keep Trainer checkpoints of finished phases.")


def split_list(value: str | None) -> list[str] | None:
    """``"a, b,"`` -> ``["a", "b"]``; nothing -> None."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def parse_data(items: list[str] | None) -> dict[str, str]:
    """``TASK=PATH`` items -> ``{task: path}``."""
    data: dict[str, str] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ConfigError(f"expected TASK=PATH, got {item!r}", "--data")
        data[name.strip()] = path.strip()
    return data


def fields_of(settings_class: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``values`` (a command's parameters, ``locals()``) named like fields of ``settings_class``."""
    names = {field.name for field in dataclasses.fields(settings_class)}
    return {name: value for name, value in values.items() if name in names}


def phase_options(save_steps: float | None, early_stopping_patience: int | None) -> dict[str, Any]:
    """The given run-wide phase options, applied to both phases over a recipe's values."""
    given = {"save_steps": save_steps, "early_stopping_patience": early_stopping_patience}
    return {name: value for name, value in given.items() if value is not None}


def seed_list(seeds: str | None, seed: int | None, default_seed: int | None) -> list[int] | None:
    """``--seeds 1,2,3`` -> ``[1, 2, 3]``; None without it. ``--seed`` and ``--seeds`` exclude each other."""
    from mlqa_domain.benchmark.seeds import check_seed, parse_seeds

    if seed is not None:
        check_seed(seed, "--seed")
    if seeds is None:
        return None
    if seed is not None and seed != default_seed:
        raise ConfigError("give one of --seed and --seeds", "--seeds")
    return parse_seeds(seeds)
