"""Intermediate / target tasks for STILTs: one YAML file per task (data source, columns, format, defaults).

The shipped tasks live in ``mlqa_domain/training/tasks/*.yaml``. A user adds a task by writing a YAML file
of the same shape (``--task-config PATH`` or ``--tasks-dir DIR``) whose ``data_files`` may point to local
files (any that :mod:`mlqa_domain.task_files` reads: SQuAD json, json, jsonl, parquet, csv, tsv, txt); a
later file overrides a task of the same name. ``format:`` names a task format (``training/formats``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlqa_domain.benchmark.settings import DOC_STRIDE
from mlqa_domain.errors import ConfigError
from mlqa_domain.registry import Registry
from mlqa_domain.task_files import SUFFIXES
from mlqa_domain.training.format_registry import TASK_FORMATS

M = TypeVar("M", bound=BaseModel)
NO_TASK = "none"  # the task list without any task (`--intermediate none`)


class HyperParams(BaseModel):
    """Training defaults of a task; ``warmup`` < 1 is a fraction of the steps, >= 1 a number of steps.

    ``batch_size`` is the recipe's batch (examples per optimizer step over all devices); a run splits it into
    per-device batch x ``gradient_accumulation_steps`` x devices (``training.split_batch``).
    """

    model_config = ConfigDict(extra="forbid")

    learning_rate: float = Field(1e-5, gt=0)
    epochs: float = Field(3.0, gt=0)
    batch_size: int = Field(32, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_seq_length: int = Field(256, ge=16)
    doc_stride: int = Field(DOC_STRIDE, ge=0)
    warmup: float = Field(0.1, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, ge=0)  # gradient clipping (0: off)


class SplitNames(BaseModel):
    """Which splits of the source are used for training and (optional) early-stopping evaluation."""

    model_config = ConfigDict(extra="forbid")

    train: str = "train"
    validation: str | None = None


class TaskSpec(BaseModel):
    """One task: where its data comes from, how its columns map to the format, default hyper-parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    format: str  # a TASK_FORMATS name (training/formats)
    # hub source (datasets.load_dataset(dataset, dataset_config, revision=...))
    dataset: str | None = None
    dataset_config: str | None = None
    revision: str | None = None
    # local source: split name -> path(s), relative to the YAML file; wins over `dataset`
    data_files: dict[str, str | list[str]] | None = None
    splits: SplitNames = Field(default_factory=SplitNames)
    # keep only rows whose column equals the value (or is in the list)
    filter: dict[str, Any] | None = None
    # canonical column -> source column (dotted path into structs; a list of columns for `choices`)
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    # extractive QA: keep at most this many no-answer training features per answer feature (CUAD style)
    negative_feature_ratio: float | None = Field(None, ge=0)
    labels: list[str] | None = None
    metric: str = "accuracy"
    reference: str = ""
    hparams: HyperParams = Field(default_factory=HyperParams)
    source: str = ""  # the YAML file it came from (filled on load)

    @model_validator(mode="after")
    def _check(self) -> TaskSpec:
        try:
            task_format = TASK_FORMATS.get(self.format)()
        except ConfigError as exc:  # pydantic reports a ValueError with the field's location
            raise ValueError(f"format: {exc.problem}") from None
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise ValueError(f"bad task name {self.name!r} (letters, digits, '_' and '-')")
        if self.name == NO_TASK:
            raise ValueError(f"{NO_TASK!r} is reserved (it means: no intermediate task)")
        if not self.dataset and not self.data_files:
            raise ValueError("give a hub `dataset` id or local `data_files`")
        allowed = task_format.columns
        unknown = sorted(set(self.columns) - set(allowed))
        if unknown:
            raise ValueError(
                f"columns {unknown} are not used by format {self.format} (known: {sorted(allowed)})"
            )
        for column, required in allowed.items():
            if required and column not in self.columns:
                self.columns[column] = column  # same name in the source
        task_format.check_spec(self)
        for column, value in self.columns.items():
            if isinstance(value, list) and column != "choices":
                raise ValueError(f"column {column!r} takes one source column, not a list")
        return self

    @property
    def has_validation(self) -> bool:
        """Whether an evaluation split is configured."""
        return self.splits.validation is not None

    def describe_source(self) -> str:
        """Short human-readable data source."""
        if self.data_files:
            return "local: " + ", ".join(f"{k}={v}" for k, v in self.data_files.items())
        parts = [self.dataset or ""]
        if self.dataset_config:
            parts.append(self.dataset_config)
        text = " / ".join(parts)
        return f"{text} @ {self.revision}" if self.revision else text


def shipped_tasks_dir() -> Path:
    """The task YAML files that come with the package."""
    return Path(str(resources.files("mlqa_domain") / "training" / "tasks"))


def read_yaml_model(path: Path, model: type[M], what: str, defaults: Mapping[str, Any] | None = None) -> M:
    """A pydantic ``model`` from a YAML mapping file (over ``defaults``); any problem is one ConfigError
    naming the file: not found, invalid YAML (with its line), not a mapping, the first invalid field."""
    if not path.is_file():
        raise ConfigError(f"{what} file not found", path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"invalid YAML{where}", path) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"a {what} file must be a YAML mapping", path)
    try:
        return model.model_validate({**(defaults or {}), **raw})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid {what} file: {loc + ': ' if loc else ''}{msg}", path) from None


def load_task_file(path: str | Path) -> TaskSpec:
    """Read and validate one task YAML (ConfigError naming the file on any problem)."""
    path = Path(path)
    spec = read_yaml_model(path, TaskSpec, "task config", defaults={"name": path.stem})
    spec.source = str(path.resolve())
    return spec


class TaskRegistry:
    """Task specs by name: the shipped ones, then user directories and files (later wins)."""

    def __init__(self, specs: dict[str, TaskSpec]) -> None:
        self._specs: Registry[TaskSpec] = Registry("task")
        for name in sorted(specs):
            self._specs.register(name)(specs[name])

    @classmethod
    def load(
        cls, tasks_dirs: Iterable[str | Path] = (), task_files: Iterable[str | Path] = ()
    ) -> TaskRegistry:
        """Shipped tasks plus every ``*.yaml`` in ``tasks_dirs`` plus ``task_files``."""
        specs: dict[str, TaskSpec] = {}
        for directory in (shipped_tasks_dir(), *map(Path, tasks_dirs)):
            if not directory.is_dir():
                raise ConfigError("tasks directory not found", directory)
            for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
                spec = load_task_file(path)
                specs[spec.name] = spec
        for path in task_files:
            spec = load_task_file(path)
            specs[spec.name] = spec
        return cls(specs)

    def names(self) -> list[str]:
        """Known task names, sorted."""
        return self._specs.names()

    def __contains__(self, name: str) -> bool:
        return name in self._specs

    def get(self, name: str, where: str | None = None) -> TaskSpec:
        """The spec of ``name`` (ConfigError with "did you mean" and the known tasks otherwise)."""
        if name not in self._specs:
            raise ConfigError(f"{self._specs.unknown_message(name)}; add one with --task-config", where)
        return self._specs.get(name)

    def with_data_override(self, name: str, data_path: str | Path, where: str | None = None) -> TaskSpec:
        """A copy of task ``name`` reading ``data_path`` (a file: the train split; a dir: split files)."""
        spec = self.get(name, where).model_copy(deep=True)
        path = Path(data_path).expanduser().resolve()
        if path.is_file():
            files = {"train": str(path)}
        elif path.is_dir():
            files = discover_split_files(path)
        else:
            raise ConfigError(f"data for task {name!r} not found", path)
        spec.data_files = files
        spec.splits = SplitNames(train="train", validation="validation" if "validation" in files else None)
        spec.dataset = spec.dataset_config = spec.revision = None
        spec.filter = None  # the filter selects rows of the hub source, not of the user's own files
        return spec


_SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "dev", "valid", "val")}


def discover_split_files(directory: Path) -> dict[str, str]:
    """``train.*`` (required) and ``validation.*`` / ``dev.*`` (optional) data files in ``directory``."""
    found: dict[str, str] = {}
    for split, stems in _SPLIT_ALIASES.items():
        for stem in stems:
            for suffix in SUFFIXES:
                candidate = directory / f"{stem}{suffix}"
                if candidate.is_file() and split not in found:
                    found[split] = str(candidate)
    if "train" not in found:
        names = ", ".join(f"train{s}" for s in SUFFIXES)
        raise ConfigError(f"no training file ({names}) in the task data directory", directory)
    return found


def parse_task_list(text: str, option: str = "--intermediate") -> list[tuple[str, str | None]]:
    """``"mnli,squad=data/squad.json"`` -> ``[("mnli", None), ("squad", "data/squad.json")]``; none -> []."""
    text = text.strip()
    if text.lower() in ("", NO_TASK):
        return []
    items: list[tuple[str, str | None]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ConfigError(f"empty task name in {text!r}", option)
        name, _, path = part.partition("=")
        name = name.strip()
        if name.lower() == NO_TASK:
            raise ConfigError(f"{NO_TASK!r} cannot be combined with other tasks", option)
        if name in [n for n, _ in items]:
            raise ConfigError(f"task {name!r} is listed twice", option)
        items.append((name, path.strip() or None))
    return items


def resolve_tasks(
    registry: TaskRegistry, items: Sequence[tuple[str, str | None]], option: str
) -> list[TaskSpec]:
    """Specs for parsed ``(name, path)`` items, with local data overrides applied."""
    specs = []
    for name, path in items:
        if path:
            specs.append(registry.with_data_override(name, path, where=option))
        else:
            specs.append(registry.get(name, where=option))
    return specs


def tasks_for_domain(domain: str, taxonomy_path: str | Path | None = None) -> list[str]:
    """The intermediate tasks the taxonomy links to ``domain`` (``intermediate_tasks: [...]``)."""
    from mlqa_domain.labeling.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(taxonomy_path)
    if domain not in taxonomy.domains:
        known = ", ".join(taxonomy.domain_names)
        raise ConfigError(f"unknown domain {domain!r} (known: {known})", taxonomy.source)
    return list(taxonomy.domains[domain].intermediate_tasks)
