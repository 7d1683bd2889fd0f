"""Load a task's data (hub or local files) into the canonical schema of its format.

The format (``training/formats``) defines the canonical columns, e.g. for ``extractive_qa`` the HF
``squad`` schema ``id, title, question, context, answers{text, answer_start}``; local files are read by
:mod:`mlqa_domain.task_files` (SQuAD-format json is flattened to one row per question).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets import Dataset

from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.task_files import read_dataset
from mlqa_domain.training.formats import get_format
from mlqa_domain.training.task_registry import TaskSpec

PARQUET_EXPORT = "refs/convert/parquet"


@dataclass
class TaskData:
    """Canonical train (and optional validation) rows of one task."""

    spec: TaskSpec
    train: Dataset
    validation: Dataset | None
    label_names: list[str] | None = None  # formats with named labels (classification)

    @property
    def num_choices(self) -> int | None:
        """Choices per example (formats with a ``choices`` column)."""
        if "choices" not in self.train.column_names or len(self.train) == 0:
            return None
        return len(self.train[0]["choices"])


# ----------------------------------------------------------------------------------------- raw loading


def _local_paths(spec: TaskSpec, value: str | list[str]) -> list[Path]:
    base = Path(spec.source).parent if spec.source else Path.cwd()
    items = [value] if isinstance(value, str) else list(value)
    return [(base / Path(item).expanduser()).resolve() for item in items]


def load_hub_split(spec: TaskSpec, split: str) -> Dataset:
    """``datasets.load_dataset`` of a hub task; a script-only repo falls back to the hub's Parquet export."""
    revision = spec.revision
    try:
        return datasets.load_dataset(spec.dataset, spec.dataset_config, split=split, revision=revision)
    except Exception as exc:  # noqa: BLE001 - decide below whether a retry can help
        message = str(exc)
        if "scripts are no longer supported" in message and revision != PARQUET_EXPORT:
            try:
                return datasets.load_dataset(
                    spec.dataset, spec.dataset_config, split=split, revision=PARQUET_EXPORT
                )
            except Exception as retry_exc:  # noqa: BLE001
                message = f"{message}; Parquet export: {retry_exc}"
        first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
        raise InputError(
            f"cannot load split {split!r} of {spec.describe_source()}: {first} "
            f"(offline? pass local data: --intermediate {spec.name}=PATH)",
            spec.source or spec.name,
        ) from None


def load_raw_splits(spec: TaskSpec) -> dict[str, Dataset]:
    """``{"train": ..., "validation": ...}`` (validation only when configured) in the source's own columns."""
    wanted = {"train": spec.splits.train}
    if spec.splits.validation:
        wanted["validation"] = spec.splits.validation
    raw: dict[str, Dataset] = {}
    for role, split in wanted.items():
        if spec.data_files:
            if split not in spec.data_files:
                raise ConfigError(
                    f"data_files has no {split!r} entry (has: {', '.join(spec.data_files)})", spec.source
                )
            raw[role] = read_dataset(_local_paths(spec, spec.data_files[split]))
        else:
            raw[role] = load_hub_split(spec, split)
    return raw


# ----------------------------------------------------------------------------------- canonical rows


def _apply_filter(spec: TaskSpec, ds: Dataset) -> Dataset:
    if not spec.filter:
        return ds
    for column, wanted in spec.filter.items():
        if column not in ds.column_names:
            raise InputError(f"filter column {column!r} not in the data", spec.source or spec.name)
        allowed = set(wanted) if isinstance(wanted, list) else {wanted}
        ds = ds.filter(lambda value, allowed=allowed: value in allowed, input_columns=column)
    return ds


def _first(data: Dataset, n: int | None) -> Dataset:
    return data if n is None else data.select(range(min(n, len(data))))


def load_task_data(
    spec: TaskSpec, max_train_samples: int | None = None, max_eval_samples: int | None = None
) -> TaskData:
    """Train / validation rows of ``spec`` in the canonical schema, optionally capped (first N rows)."""
    task_format = get_format(spec.format, spec.source or spec.name)
    raw = load_raw_splits(spec)
    train_raw = _apply_filter(spec, raw["train"])
    label_names = task_format.label_names(spec, train_raw)  # from every training row, before the cap
    train = task_format.to_canonical(spec, _first(train_raw, max_train_samples), label_names)
    if len(train) == 0:
        raise InputError("the training split has no usable rows", spec.source or spec.name)
    validation = None
    if "validation" in raw:
        val_raw = _first(_apply_filter(spec, raw["validation"]), max_eval_samples)
        validation = task_format.to_canonical(spec, val_raw, label_names)
        if len(validation) == 0:
            validation = None
    return TaskData(spec=spec, train=train, validation=validation, label_names=label_names)
