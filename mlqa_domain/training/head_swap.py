"""The STILTs task-head swap (keep the encoder, start a fresh task head) and the multi-task model.

Each task format trains one task head (``training/task_heads``, named by ``TaskFormat.head``).

A phase's model is saved with ``save_pretrained``; the next phase loads its own task head's class
``from_pretrained(previous_dir)`` (so every encoder weight carries over), then re-initialises every module
outside the encoder (``base_model_prefix``) — the old task head is dropped even when its shapes would fit
(e.g. SQuAD -> SQuAD, or a classifier with the same number of labels).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers.utils import logging as hf_logging

from mlqa_domain.errors import InputError, first_line
from mlqa_domain.training.formats import get_format
from mlqa_domain.training.task_heads import Head, get_head


def head_for(fmt: str) -> Head:
    """The task head that task format ``fmt`` trains."""
    task_format = get_format(fmt)
    return get_head(task_format.head, where=f"task format {fmt!r}")


def head_config(source: str | Path, fmt: str, label_names: Sequence[str] | None = None):
    """The config of ``source`` with the label fields the new task head needs (old labels dropped)."""
    try:
        config = AutoConfig.from_pretrained(str(source))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a model config: {first_line(exc)}", source) from None
    head_for(fmt).configure(config, label_names)
    config.problem_type = None
    return config


def head_modules(model: PreTrainedModel) -> dict[str, nn.Module]:
    """The top-level modules that are not the encoder (the task head)."""
    return {name: module for name, module in model.named_children() if name != model.base_model_prefix}


def encoder_of(model: PreTrainedModel) -> nn.Module:
    """The shared encoder (``model.roberta`` for XLM-R)."""
    return getattr(model, model.base_model_prefix)


def reinit_head(model: PreTrainedModel) -> None:
    """Draw fresh task-head weights with the model's own initialiser (loaded weights are marked as done)."""
    for module in head_modules(model).values():
        for sub in module.modules():
            for tensor in [*sub.parameters(recurse=False), *sub.buffers(recurse=False)]:
                if getattr(tensor, "_is_hf_initialized", False):
                    tensor._is_hf_initialized = False
            if getattr(sub, "_is_hf_initialized", False):
                sub._is_hf_initialized = False
            model._init_weights(sub)


def load_with_new_head(
    source: str | Path, fmt: str, label_names: Sequence[str] | None = None
) -> PreTrainedModel:
    """``source``'s encoder under a freshly initialised task head for ``fmt`` (STILTs phase transition)."""
    config = head_config(source, fmt, label_names)
    try:
        with quiet_loading():  # the old task head's keys are unexpected and the new one's missing, by design
            model = head_for(fmt).model_class.from_pretrained(
                str(source), config=config, ignore_mismatched_sizes=True
            )
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load the model: {first_line(exc)}", source) from None
    reinit_head(model)
    return model


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence transformers' load report (missing / unexpected keys) for the duration."""
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)


class MultiTaskModel(nn.Module):
    """One shared encoder, one task-head model per task; each batch comes from one task (``task_id``).

    Each task model keeps its own forward (and loss); its encoder attribute points at the shared encoder
    without registering it again, so the state dict holds the encoder once plus the task heads.
    """

    def __init__(self, encoder: PreTrainedModel, task_models: Mapping[str, PreTrainedModel]) -> None:
        super().__init__()
        self.encoder = encoder
        self.task_names = list(task_models)
        self.heads = nn.ModuleDict()
        for name, model in task_models.items():
            prefix = model.base_model_prefix
            del model._modules[prefix]
            object.__setattr__(model, prefix, encoder)  # shared; not a registered submodule here
            self.heads[name] = model

    def forward(self, task_id: torch.Tensor, return_loss: bool = True, **inputs):
        """Run the task head of the batch's task (every row of a batch shares one task)."""
        index = int(task_id.reshape(-1)[0])
        return self.heads[self.task_names[index]](**inputs)

    def save_encoder(self, out_dir: str | Path) -> None:
        """Save the shared encoder as a plain ``AutoModel`` checkpoint (the next phase's source)."""
        self.encoder.save_pretrained(str(out_dir))


def build_multitask_model(
    source: str | Path, task_formats: Mapping[str, str], label_names: Mapping[str, Sequence[str] | None]
) -> MultiTaskModel:
    """A shared encoder from ``source`` plus a fresh task head per task."""
    try:
        with quiet_loading():
            encoder = AutoModel.from_pretrained(str(source))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load the model: {first_line(exc)}", source) from None
    models = {
        name: load_with_new_head(source, fmt, label_names.get(name)) for name, fmt in task_formats.items()
    }
    return MultiTaskModel(encoder, models)
