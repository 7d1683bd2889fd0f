"""What a task head is (:class:`Head`) and the registry of heads (:data:`HEADS`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mlqa_domain.registry import Registry


class Head(Protocol):
    """A task head on a shared encoder: the transformers class that builds it and its label fields.

    A head is one module in this package holding one class decorated with ``@HEADS.register(name)``;
    a task format names its head (``TaskFormat.head``).
    """

    model_class: Any  # an ``AutoModelFor...`` class: ``from_pretrained(source, config=...)``

    def configure(self, config: Any, label_names: Sequence[str] | None) -> None:
        """Set the label fields of a model config for a fresh head (the source's labels dropped)."""
        ...


HEADS: Registry[type[Head]] = Registry("head")


def get_head(name: str, where: str | None = None) -> Head:
    """The head called ``name`` (ConfigError with "did you mean" for an unknown name)."""
    return HEADS.get(name, where)()


def two_outputs(config: Any) -> None:
    """Label fields of a head without named labels (QA start/end logits; one score per choice)."""
    config.num_labels = 2
    config.id2label = {0: "LABEL_0", 1: "LABEL_1"}
    config.label2id = {"LABEL_0": 0, "LABEL_1": 1}
