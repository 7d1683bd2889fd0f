"""Which configs of a built dataset repo to score, and their examples (local dir or hub id)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlqa_domain.builders.repo_info import list_configs, load_build_info, load_config
from mlqa_domain.configs import GENERAL, parse_config_name
from mlqa_domain.errors import ConfigError, InputError, first_line

_SHOW_AVAILABLE = 8


@dataclass
class ConfigExamples:
    """The rows of one config/split that scoring needs."""

    config: str
    ids: list[str]
    questions: list[str]
    contexts: list[str]
    answers: list[list[str]]
    context_language: str
    question_language: str

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def gold(self) -> dict[str, list[str]]:
        """``{id: gold answer texts}`` for the metric."""
        return dict(zip(self.ids, self.answers, strict=True))


def check_data_location(data: str) -> None:
    """A path-like ``data`` that does not exist is an InputError (a hub id ``ORG/NAME`` is left alone)."""
    if Path(data).exists():
        if not Path(data).is_dir():
            raise InputError("dataset must be a directory (a repo built by `mlqa-domain build`)", data)
        return
    if data.startswith((".", "/", "~")) or data.count("/") != 1:
        raise InputError("dataset not found (neither a local directory nor an ORG/NAME hub id)", data)


def _available_preview(available: Sequence[str]) -> str:
    shown = ", ".join(available[:_SHOW_AVAILABLE])
    more = f", ... ({len(available)} in all)" if len(available) > _SHOW_AVAILABLE else ""
    return shown + more


def select_configs(available: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """Configs matching ``patterns`` (names or fnmatch globs, comma-separated items allowed), repo order.

    ``None`` or empty selects every config. A name or pattern matching nothing is a ConfigError.
    """
    items = [p.strip() for pattern in (patterns or []) for p in pattern.split(",") if p.strip()]
    if not items:
        return list(available)
    chosen: set[str] = set()
    for item in items:
        matches = fnmatch.filter(available, item)
        if not matches:
            kind = "pattern" if any(ch in item for ch in "*?[") else "config"
            raise ConfigError(
                f"unknown {kind} {item!r} (available: {_available_preview(available)})", "--configs"
            )
        chosen.update(matches)
    return [name for name in available if name in chosen]


@dataclass
class DatasetRepo:
    """A built dataset repo: where it is, its build info and its configs with their splits."""

    location: str
    info: dict
    configs: list[str]

    @property
    def fingerprint(self) -> str | None:
        """The ``sha256:`` fingerprint of the data files (build_info.json)."""
        return self.info.get("dataset_fingerprint")

    @property
    def general_domain(self) -> str:
        """Name of the no-domain label (``general``)."""
        return self.info.get("general", GENERAL)

    def splits_of(self, config: str) -> set[str] | None:
        """Splits build_info.json lists for ``config`` (None when it does not say)."""
        entry = (self.info.get("configs") or {}).get(config)
        return set(entry) if isinstance(entry, dict) else None


def open_repo(data: str, revision: str | None = None) -> DatasetRepo:
    """Read build_info.json and the card's configs; a repo without configs is one clear InputError."""
    check_data_location(data)
    info = load_build_info(data, revision)
    try:
        configs = list_configs(data, revision)
    except ConfigError as exc:
        raise InputError(f"dataset has no configs ({exc.problem})", data) from None
    for name in configs:
        parse_config_name(name)
    return DatasetRepo(location=data, info=info, configs=configs)


def plan_configs(
    repo: DatasetRepo, patterns: Sequence[str] | None, split: str
) -> tuple[list[str], list[str]]:
    """Configs to score for ``split`` and those skipped because they lack it.

    A config named explicitly (no glob) that lacks the split is a ConfigError; globs and "all configs"
    just skip such configs. No config left is a ConfigError.
    """
    selected = select_configs(repo.configs, patterns)
    explicit = {p.strip() for pattern in (patterns or []) for p in pattern.split(",")}
    to_run, skipped = [], []
    for name in selected:
        splits = repo.splits_of(name)
        if splits is None or split in splits:
            to_run.append(name)
        elif name in explicit:
            raise ConfigError(f"config {name!r} has no {split!r} split (has: {', '.join(sorted(splits))})")
        else:
            skipped.append(name)
    if not to_run:
        raise ConfigError(f"no selected config has a {split!r} split", repo.location)
    return to_run, skipped


def load_config_examples(
    data: str, config: str, split: str, revision: str | None = None, fingerprint: str | None = None
) -> ConfigExamples:
    """Rows of ``config``/``split`` through ``datasets.load_dataset`` (local repo dir or hub id)."""
    try:
        table = load_config(data, config, split, revision=revision, fingerprint=fingerprint)
    except (ValueError, FileNotFoundError, OSError) as exc:
        first = first_line(exc)
        raise InputError(f"cannot load config {config!r} split {split!r}: {first}", data) from None
    missing = {"id", "question", "context", "answers"} - set(table.column_names)
    if missing:
        raise InputError(f"config {config!r} lacks columns {sorted(missing)}", data)
    parsed = parse_config_name(config)
    columns = table.data  # arrow table: column access without per-row Python dicts
    answers = columns.column("answers").combine_chunks().field("text").to_pylist()
    return ConfigExamples(
        config=config,
        ids=columns.column("id").to_pylist(),
        questions=columns.column("question").to_pylist(),
        contexts=columns.column("context").to_pylist(),
        answers=answers,
        context_language=parsed.context_language,
        question_language=parsed.question_language,
    )
