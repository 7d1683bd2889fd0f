"""What a task head is (:class:`Head`) and the registry of heads (:data:`TASK_HEADS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from mlqa_domain.registry import Registry


class Head(Protocol):
    """A task head on a shared encoder: the transformers class that builds it, its label fields, its loss.

    A head is one module in this package holding one class decorated with ``@TASK_HEADS.register(name)``
    (registering checks it has every member below), or an entry point in the group
    ``mlqa_domain.task_heads`` of another distribution; a task format names its head (``TaskFormat.head``).

    The training loss of a batch must be a mean over the batch's rows that does not depend on how rows are
    grouped into batches or padded: the Trainer divides it by the number of accumulation steps, so one
    optimizer step at batch 4 x accumulation 1 and at 2 x 2 gives the same update.
    """

    model_class: Any  # an ``AutoModelFor...`` class: ``from_pretrained(source, config=...)``
    label_fields: tuple[str, ...]  # the batch fields that hold the targets

    def configure(self, config: Any, label_names: Sequence[str] | None) -> None:
        """Set the label fields of a model config for a fresh head (the source's labels dropped)."""
        ...

    def loss(self, outputs: Any, labels: Mapping[str, Any], attention_mask: Any) -> Any | None:
        """The batch's training loss from the model outputs, or None to use the model's own loss."""
        ...


TASK_HEADS: Registry[type[Head]] = Registry(
    "head", contract=Head, builtins="mlqa_domain.training.task_heads", group="mlqa_domain.task_heads"
)


def get_head(name: str, where: str | None = None) -> Head:
    """The head called ``name`` (ConfigError with "did you mean" for an unknown name)."""
    return TASK_HEADS.get(name, where)()


def two_outputs(config: Any) -> None:
    """Label fields of a head without named labels (QA start/end logits; one score per choice)."""
    config.num_labels = 2
    config.id2label = {0: "LABEL_0", 1: "LABEL_1"}
    config.label2id = {"LABEL_0": 0, "LABEL_1": 1}


class ModelLoss:
    """Heads whose model computes a per-row mean loss that batching and padding do not change."""

    label_fields: tuple[str, ...] = ("labels",)

    def loss(self, outputs: Any, labels: Mapping[str, Any], attention_mask: Any) -> Any | None:
        """The model's own loss (cross-entropy over a sequence or choice representation)."""
        return None
