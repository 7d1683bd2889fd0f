"""One training phase with the transformers ``Trainer`` (CPU, one GPU, or many via accelerate / torchrun).

Each task format (``benchmark/formats``) makes its features as transformers' examples do: ``run_qa.py``'s
``prepare_train_features`` for extractive QA (overflowing windows with ``doc_stride``; windows without the
answer point at the CLS token), ``run_glue.py`` for classification and ``run_swag.py`` for multiple choice.
Batches are padded per batch.

A phase writes its model to ``<phase>/model`` and Trainer checkpoints to ``<phase>/checkpoints``; an
unfinished phase resumes from its last checkpoint. Early stopping watches the evaluation loss when the
task has a validation split (``EarlyStoppingCallback``, best checkpoint restored at the end).

Multi-task phases (several intermediate tasks): one shared encoder, one head per task; every batch holds
examples of one task. Batches are formed once per task (examples shuffled with the seed) and the Trainer
shuffles the pooled batches every epoch, so tasks are sampled in proportion to their number of batches
("proportional" sampling) and every example is seen once per epoch.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import (
    AutoTokenizer,
    EarlyStoppingCallback,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from mlqa_domain.benchmark.formats import get_format
from mlqa_domain.benchmark.formats.base import Featurization
from mlqa_domain.benchmark.head_swap import build_multitask_model, load_with_new_head
from mlqa_domain.benchmark.settings import check_positive, check_precision
from mlqa_domain.benchmark.task_data import TaskData
from mlqa_domain.errors import ConfigError, InputError, first_line

CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"


@dataclass
class PhaseSettings:
    """Everything that decides how one phase trains (recorded in ``phase_config.json``).

    ``stilts.plan_phases`` fills it from the task's hyper-parameters and the run's options (their
    defaults: ``HyperParams`` and ``StiltsConfig``).
    """

    learning_rate: float
    epochs: float
    batch_size: int
    gradient_accumulation_steps: int
    max_seq_length: int
    doc_stride: int
    warmup: float  # < 1: fraction of the training steps; >= 1: number of steps
    weight_decay: float
    max_steps: int | None
    seed: int
    precision: str
    eval_batch_size: int
    save_steps: int
    early_stopping_patience: int  # evaluations without improvement; 0 = off
    save_total_limit: int = 2
    logging_steps: int = 50
    # per task (multi-task phases): max_seq_length / doc_stride of each task
    per_task: dict[str, dict[str, int]] = field(default_factory=dict)

    def check(self) -> None:
        """Reject settings that cannot train (ConfigError naming the option)."""
        check_precision(self.precision)
        check_positive(self, ("batch_size", "gradient_accumulation_steps", "eval_batch_size", "save_steps"))
        if self.learning_rate <= 0 or self.epochs <= 0:
            raise ConfigError("learning rate and epochs must be positive", "--lr/--epochs")
        if self.max_steps is not None:
            check_positive(self, ("max_steps",))
        if not 0 <= self.doc_stride < self.max_seq_length:
            raise ConfigError("doc_stride must be >= 0 and below max_seq_length", "--doc-stride")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)

    def lengths_of(self, task: str) -> tuple[int, int]:
        """``(max_seq_length, doc_stride)`` of one task of the phase."""
        lengths = self.per_task.get(task, {})
        return lengths.get("max_seq_length", self.max_seq_length), lengths.get("doc_stride", self.doc_stride)


def task_features(
    task: TaskData, tokenizer: PreTrainedTokenizerBase, settings: PhaseSettings
) -> tuple[Dataset, Dataset | None]:
    """Model inputs of the task's training rows and of its validation rows (None without them)."""
    spec = task.spec
    task_format = get_format(spec.format)
    seq, stride = settings.lengths_of(spec.name)
    how = Featurization(seq, stride, spec.negative_feature_ratio, settings.seed, f"{spec.name}/train")
    train = task_format.featurize(task.train, tokenizer, how)
    if task.validation is None:
        return train, None
    how = Featurization(seq, stride, description=f"{spec.name}/validation")
    return train, task_format.featurize(task.validation, tokenizer, how)


def collator_for(fmt: str, tokenizer: PreTrainedTokenizerBase, precision: str) -> Callable:
    """Per-batch padding (to a multiple of 8 under mixed precision)."""
    return get_format(fmt).collator(tokenizer, 8 if precision != "fp32" else None)


# ------------------------------------------------------------------------------------------ trainer


def training_arguments(
    checkpoints_dir: Path, settings: PhaseSettings, has_eval: bool, multitask: bool = False
) -> TrainingArguments:
    """``TrainingArguments`` for one phase; checkpoints every ``save_steps`` (evaluation too, if any)."""
    early = has_eval and settings.early_stopping_patience > 0
    warmup = settings.warmup if settings.warmup < 1 else int(settings.warmup)
    return TrainingArguments(
        output_dir=str(checkpoints_dir),
        per_device_train_batch_size=1 if multitask else settings.batch_size,
        per_device_eval_batch_size=1 if multitask else settings.eval_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps if settings.max_steps else -1,
        warmup_steps=warmup,
        weight_decay=settings.weight_decay,
        bf16=settings.precision == "bf16",
        fp16=settings.precision == "fp16",
        seed=settings.seed,
        data_seed=settings.seed,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=settings.save_steps if has_eval else None,
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss" if early else None,
        greater_is_better=False if early else None,
        logging_steps=settings.logging_steps,
        report_to="none",
        disable_tqdm=bool(os.environ.get("MLQA_DOMAIN_NO_PROGRESS")),
        remove_unused_columns=False,
        ddp_find_unused_parameters=True if multitask else None,
        label_names=[] if multitask else None,
        prediction_loss_only=multitask,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )


@dataclass
class PhaseResult:
    """What a finished phase reports (``metrics.json``)."""

    metrics: dict[str, Any]
    model_dir: Path


def _resume_point(checkpoints_dir: Path) -> str | None:
    if not checkpoints_dir.is_dir():
        return None
    return get_last_checkpoint(str(checkpoints_dir))


def _load_tokenizer(source: str | Path) -> PreTrainedTokenizerBase:
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a tokenizer: {first_line(exc)}", source) from None
    if not getattr(tokenizer, "is_fast", False):
        raise InputError("a fast tokenizer is needed (character offsets for QA)", source)
    return tokenizer


def _with_early_stopping(
    callbacks: Sequence[TrainerCallback], args: TrainingArguments, settings: PhaseSettings
) -> list[TrainerCallback]:
    """``callbacks``, plus early stopping when the best checkpoint is restored at the end."""
    if not args.load_best_model_at_end:
        return list(callbacks)
    return [*callbacks, EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience)]


def _finish(
    trainer: Trainer, train_output, resumed_from: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    metrics: dict[str, Any] = {"train": dict(train_output.metrics)}
    if trainer.eval_dataset is not None:
        metrics["eval"] = trainer.evaluate()
    if trainer.state.best_model_checkpoint:
        metrics["best_checkpoint"] = Path(trainer.state.best_model_checkpoint).name
    metrics.update(
        {
            "global_step": trainer.state.global_step,
            "resumed_from_checkpoint": Path(resumed_from).name if resumed_from else None,
            "world_size": trainer.args.world_size,
            "device": str(trainer.args.device),
            **extra,
        }
    )
    return metrics


def _size(data: Dataset | None) -> int:
    return len(data) if data is not None else 0


@dataclass
class _Phase:
    """The inputs of one training phase."""

    tasks: Sequence[TaskData]
    features: Mapping[str, tuple[Dataset, Dataset | None]]  # task -> (train, validation) model inputs
    source_model: str | Path
    tokenizer: PreTrainedTokenizerBase
    settings: PhaseSettings


@dataclass
class _Setup:
    """What the Trainer of a phase trains on, and how the phase saves and reports it."""

    model: torch.nn.Module
    train: Any
    eval: Any
    collator: Callable
    compute_metrics: Callable | None
    save: Callable[[Trainer, Path], None]
    report: dict[str, Any]


def train_phase(
    tasks: Sequence[TaskData],
    source_model: str | Path,
    phase_dir: Path,
    settings: PhaseSettings,
    callbacks: Sequence[TrainerCallback] = (),
) -> PhaseResult:
    """Train ``source_model``'s encoder on ``tasks``; save it to ``phase_dir/model``; resumable.

    One task: the encoder under a fresh head for it. Several: one shared encoder, one head per task,
    single-task batches (see the module docstring); the saved model is the encoder alone.
    """
    settings.check()
    tokenizer = _load_tokenizer(source_model)
    multitask = len(tasks) > 1
    has_eval = any(task.validation is not None for task in tasks)
    args = training_arguments(phase_dir / CHECKPOINTS_DIR, settings, has_eval, multitask)
    with args.main_process_first(desc="features"):
        features = {task.spec.name: task_features(task, tokenizer, settings) for task in tasks}
    phase = _Phase(tasks, features, source_model, tokenizer, settings)
    setup = _multi_task(phase) if multitask else _single_task(phase)
    trainer = Trainer(
        model=setup.model,
        args=args,
        train_dataset=setup.train,
        eval_dataset=setup.eval,
        data_collator=setup.collator,
        processing_class=tokenizer,
        compute_metrics=setup.compute_metrics,
        callbacks=_with_early_stopping(callbacks, args, settings),
    )
    resume = _resume_point(phase_dir / CHECKPOINTS_DIR)
    output = trainer.train(resume_from_checkpoint=resume)
    model_dir = phase_dir / MODEL_DIR
    setup.save(trainer, model_dir)
    return PhaseResult(metrics=_finish(trainer, output, resume, setup.report), model_dir=model_dir)


def _single_task(phase: _Phase) -> _Setup:
    """The task's model: the source encoder under a fresh head."""
    (task,) = phase.tasks
    spec, settings = task.spec, phase.settings
    train_features, eval_features = phase.features[spec.name]
    torch.manual_seed(settings.seed)  # the fresh head's initial weights
    counts = {
        "train_examples": len(task.train),
        "train_features": len(train_features),
        "eval_examples": _size(task.validation),
    }
    return _Setup(
        model=load_with_new_head(phase.source_model, spec.format, task.label_names),
        train=train_features,
        eval=eval_features,
        collator=collator_for(spec.format, phase.tokenizer, settings.precision),
        compute_metrics=get_format(spec.format).compute_metrics,
        save=lambda trainer, model_dir: trainer.save_model(str(model_dir)),
        report={"tasks": {spec.name: counts}},
    )


def _multi_task(phase: _Phase) -> _Setup:
    """One shared encoder with a fresh head per task, trained on pooled single-task batches."""
    tasks, features, tokenizer, settings = phase.tasks, phase.features, phase.tokenizer, phase.settings
    collators = {t.spec.name: collator_for(t.spec.format, tokenizer, settings.precision) for t in tasks}
    torch.manual_seed(settings.seed)
    model = build_multitask_model(
        phase.source_model,
        {t.spec.name: t.spec.format for t in tasks},
        {t.spec.name: t.label_names for t in tasks},
    )
    task_ids = {name: index for index, name in enumerate(model.task_names)}
    train = TaskBatches(
        {n: f[0] for n, f in features.items()}, collators, settings.batch_size, settings.seed, task_ids
    )
    evaluated = {n: f[1] for n, f in features.items() if f[1] is not None}
    batches = train.batches_per_task()
    counts = {
        t.spec.name: {
            "train_examples": len(t.train),
            "train_features": len(features[t.spec.name][0]),
            "batches_per_epoch": batches[t.spec.name],
            "eval_examples": _size(t.validation),
        }
        for t in tasks
    }

    def save(trainer: Trainer, model_dir: Path) -> None:
        if trainer.is_world_process_zero():
            model.save_encoder(model_dir)
            tokenizer.save_pretrained(str(model_dir))

    return _Setup(
        model=model,
        train=train,
        eval=TaskBatches(evaluated, collators, settings.eval_batch_size, settings.seed, task_ids)
        if evaluated
        else None,
        collator=_unwrap_single,
        compute_metrics=None,
        save=save,
        report={
            "sampling": "proportional: single-task batches, pooled and shuffled every epoch",
            "tasks": counts,
        },
    )


class TaskBatches(torch.utils.data.Dataset):
    """Pre-formed single-task batches from several tasks; item ``i`` is one collated batch.

    ``task_ids`` maps each task to the index of its head in the model (the ``task_id`` of its batches).
    """

    def __init__(
        self,
        features: Mapping[str, Dataset],
        collators: Mapping[str, Callable],
        batch_size: int,
        seed: int,
        task_ids: Mapping[str, int],
    ) -> None:
        self.features = dict(features)
        self.collators = dict(collators)
        self.task_ids = dict(task_ids)
        rng = random.Random(seed)
        self.batches: list[tuple[str, list[int]]] = []
        for name in self.features:
            order = list(range(len(self.features[name])))
            rng.shuffle(order)
            for start in range(0, len(order), batch_size):
                self.batches.append((name, order[start : start + batch_size]))

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        name, rows = self.batches[index]
        batch = self.collators[name]([self.features[name][i] for i in rows])
        batch["task_id"] = torch.full((len(rows),), self.task_ids[name], dtype=torch.long)
        return dict(batch)

    def batches_per_task(self) -> dict[str, int]:
        """How many batches each task contributes per epoch."""
        counts = dict.fromkeys(self.features, 0)
        for name, _ in self.batches:
            counts[name] += 1
        return counts


def _unwrap_single(items: list[dict]) -> dict:
    """DataLoader collate for :class:`TaskBatches` (batch size 1: each item is already a batch)."""
    if len(items) != 1:
        raise RuntimeError("multi-task batches must be loaded one at a time")
    return items[0]
