"""Which configs of a built dataset repo to score, and their examples (local dir or hub id)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datasets.exceptions import DatasetsError

from mlqa_domain.configs import ALL, GENERAL, check_config_name, parse_config_name, suggest_config
from mlqa_domain.dataset_repo import list_configs, load_build_info, load_config
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
            suggestion = suggest_config(item, available)
            hint = f"did you mean {suggestion!r}? " if suggestion else ""
            raise ConfigError(
                f"unknown {kind} {item!r} ({hint}available: {_available_preview(available)})", "--configs"
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
        check_config_name(name, data)  # the one name rule: what `bench run` scores can be submitted
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
    check_config_files(repo, to_run, split)
    return to_run, skipped


def check_config_files(repo: DatasetRepo, configs: Sequence[str], split: str) -> None:
    """For a local repo, before anything is scored: each config's ``data/<config>/<split>.parquet`` is
    there, readable, has the rows build_info.json lists, and holds that config's languages and domain.
    A deleted, truncated or swapped file is one InputError naming it (a hub repo is checked by
    `datasets` as it downloads)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlqa_domain.dataset_repo import DATA_DIR

    root = Path(repo.location)
    if not root.is_dir():
        return
    for name in configs:
        path = root / DATA_DIR / name / f"{split}.parquet"
        if not path.is_file():
            raise InputError(f"config {name} has no {split} data file (deleted since the build?)", path)
        try:
            file = pq.ParquetFile(path)
            columns = [
                c
                for c in ("context_language", "question_language", "domains")
                if c in file.schema_arrow.names
            ]
            table = file.read(columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(
                f"config {name}: not a readable parquet file ({first_line(exc)[:120]}); truncated or "
                "damaged? Rebuild or re-download the dataset",
                path,
            ) from None
        expected = (repo.info.get("configs") or {}).get(name)
        expected = expected.get(split) if isinstance(expected, dict) else None
        if isinstance(expected, int) and table.num_rows != expected:
            raise InputError(
                f"config {name}: {table.num_rows} rows but build_info.json lists {expected} "
                "(the file was replaced since the build?)",
                path,
            )
        _check_rows_belong(name, table, repo.general_domain, path)


def _check_rows_belong(name: str, table, general: str, path: Path) -> None:
    """Every row of ``table`` has ``name``'s languages (and its domain): else the file is another config's."""
    parsed = parse_config_name(name)
    data = table.to_pydict()
    wanted = (parsed.context_language, parsed.question_language)
    pairs = set(zip(data.get("context_language", []), data.get("question_language", []), strict=True))
    stray = sorted(pair for pair in pairs if pair != wanted)
    if stray:
        raise InputError(
            f"config {name}: the file holds {stray[0][0]}/{stray[0][1]} questions, not "
            f"{wanted[0]}/{wanted[1]} (swapped with another config's file?)",
            path,
        )
    if "domains" in data and parsed.domain not in (ALL,):
        for domains in data["domains"]:
            labels = list(domains or [])
            belongs = parsed.domain in labels or (parsed.domain == general and not labels)
            if not belongs:
                shown = ", ".join(labels) or general
                raise InputError(
                    f"config {name}: the file holds {shown} questions (swapped with another config's file?)",
                    path,
                )


def load_config_examples(
    data: str, config: str, split: str, revision: str | None = None, fingerprint: str | None = None
) -> ConfigExamples:
    """Rows of ``config``/``split`` through ``datasets.load_dataset`` (local repo dir or hub id)."""
    try:
        table = load_config(data, config, split, revision=revision, fingerprint=fingerprint)
    except (ValueError, FileNotFoundError, OSError, DatasetsError) as exc:
        first = first_line(exc)[:200]
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
