"""What a task format is (:class:`TaskFormat`) and the registry of formats (:data:`TASK_FORMATS`).

Registering a format checks its class has every member of :class:`TaskFormat` (the registry sets its
``name``). A format of another distribution is an entry point in the group ``mlqa_domain.task_formats``
(see registry.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mlqa_domain.training.format_registry import TASK_FORMATS

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

    from mlqa_domain.training.task_registry import TaskSpec


@dataclass(frozen=True)
class Evaluation:
    """What training-time validation of a task runs on: model inputs with their targets (the loss) and the
    task metrics of the Trainer's predictions on them (``compute_metrics(EvalPrediction) -> {name: value}``).
    """

    features: Dataset
    compute_metrics: Callable[[Any], dict[str, float]]


@dataclass(frozen=True)
class Featurization:
    """How canonical rows become model inputs."""

    max_seq_length: int
    doc_stride: int
    negative_feature_ratio: float | None = None  # QA: windows without the answer kept per window with it
    seed: int = 0  # of the negative sampling
    description: str = ""  # shown with the progress of the mapping


class TaskFormat(Protocol):
    """A kind of task (extractive QA, classification, ...): its rows, its features and its task head.

    A format is one module in this package holding one class decorated with
    ``@TASK_FORMATS.register(name)``; task YAML files name it in ``format:``.
    """

    name: str  # set by the registry: the name the format is registered under
    head: str  # the TASK_HEADS entry (training.task_heads) the format trains
    columns: Mapping[str, bool]  # canonical column -> required (a task's `columns:` maps source columns)
    windowed: bool  # features are overlapping windows of a long context (doc_stride matters)
    metrics: tuple[str, ...]  # what ``evaluation`` reports on the validation split
    selection_metric: str  # the one of ``metrics`` that early stopping and the best checkpoint follow

    def check_spec(self, spec: TaskSpec) -> None:
        """Complete or reject a task spec of this format (ValueError: the spec is invalid)."""
        ...

    def label_names(self, spec: TaskSpec, data: Dataset) -> list[str] | None:
        """The label names of the task's training rows (None for a format without labels)."""
        ...

    def to_canonical(self, spec: TaskSpec, data: Dataset, label_names: list[str] | None) -> Dataset:
        """Raw rows in the format's canonical columns (rows without a label dropped)."""
        ...

    def featurize(self, data: Dataset, tokenizer: PreTrainedTokenizerBase, how: Featurization) -> Dataset:
        """Model inputs (with labels) for canonical rows."""
        ...

    def evaluation(self, data: Dataset, tokenizer: PreTrainedTokenizerBase, how: Featurization) -> Evaluation:
        """Validation inputs of canonical rows and the metrics (higher is better) of predictions on them."""
        ...

    def collator(self, tokenizer: PreTrainedTokenizerBase, pad_to_multiple_of: int | None) -> Callable:
        """Pads a list of features into one batch."""
        ...


def selection_metric(task_format: TaskFormat, wanted: str | None) -> str:
    """The metric a task is judged on during training: the task's own ``metric`` when the format reports
    it (LEDGAR: ``macro_f1``), else the format's default (accuracy; F1 for extractive QA)."""
    return wanted if wanted in task_format.metrics else task_format.selection_metric


def get_format(name: str, where: str | None = None) -> TaskFormat:
    """The format called ``name`` (ConfigError with "did you mean" for an unknown name)."""
    return TASK_FORMATS.get(name, where)()
