"""One training phase with the transformers ``Trainer`` (CPU, one GPU, or many via accelerate / torchrun).

Each task format (``training/formats``) makes its features as transformers' examples do: ``run_qa.py``'s
``prepare_train_features`` for extractive QA (overflowing windows with ``doc_stride``; windows without the
answer point at the CLS token), ``run_glue.py`` for classification and ``run_swag.py`` for multiple choice.
Batches are padded per batch.

A phase writes its model to ``<phase>/model`` and Trainer checkpoints to ``<phase>/checkpoints``; an
unfinished phase resumes from its last checkpoint.

Batch size: ``batch_size`` is the recipe's batch, the examples of one optimizer step over all processes.
The run splits it into per-device batch x accumulation steps x processes (:func:`split_batch`) and refuses a
split that does not multiply back to it. Every loss is a per-row mean that does not depend on how rows are
batched or padded (``training/task_heads``) and the Trainer divides it by the accumulation steps, so 4 x 1 and
2 x 2 give the same update, with any number of processes (DDP averages the gradients).

Learning rate: linear decay after a linear warmup; ``warmup`` < 1 is a fraction of the phase's optimizer
steps, >= 1 a number of steps (:class:`PhaseArguments`, the same on every transformers version).

Validation (tasks with a validation split, capped to a fixed subset by the caller): every ``save_steps``
(< 1: a fraction of the phase) the task metric (accuracy; F1 for extractive QA; the task's ``metric`` when
the format reports it) is computed on it; ``score`` is its mean over the phase's tasks. With
``early_stopping_patience`` > 0 the phase stops after that many evaluations without a better ``score`` and
the best checkpoint is restored; 0 (the default, as in XTREME's and jiant's recipes) trains the full schedule.

Multi-task phases (several intermediate tasks): one shared encoder, one task head per task; every batch holds
examples of one task. Batches are formed once per task (examples shuffled with the seed) and the Trainer
shuffles the pooled batches every epoch, so tasks are sampled in proportion to their number of batches
("proportional" sampling) and every example is seen once per epoch.
"""

from __future__ import annotations

import contextlib
import logging
import math
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
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from transformers.trainer_utils import get_last_checkpoint

from mlqa_domain import progress
from mlqa_domain.benchmark.settings import check_positive, check_precision
from mlqa_domain.errors import ConfigError, InputError, first_line
from mlqa_domain.training.formats import get_format
from mlqa_domain.training.formats.base import Featurization, selection_metric
from mlqa_domain.training.head_swap import build_multitask_model, head_for, load_with_new_head
from mlqa_domain.training.task_data import TaskData
from mlqa_domain.training.task_heads import Head

CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"
SCORE = "score"  # the validation metric early stopping and the best checkpoint follow (``eval_score``)
logger = logging.getLogger(__name__)


@dataclass
class PhaseSettings:
    """Everything that decides how one phase trains (recorded in ``phase_config.json``).

    ``stilts.plan_phases`` fills it from the task's hyper-parameters and the run's options (their
    defaults: ``HyperParams`` and ``StiltsConfig``).
    """

    learning_rate: float
    epochs: float
    batch_size: int  # the recipe's batch: examples per optimizer step over all processes
    gradient_accumulation_steps: int  # how the batch is split when per_device_batch_size is not given
    max_seq_length: int
    doc_stride: int
    warmup: float  # < 1: fraction of the training steps; >= 1: number of steps
    weight_decay: float
    max_steps: int | None
    seed: int
    precision: str
    eval_batch_size: int
    save_steps: float  # checkpoint (and validate) every N steps; < 1: every such fraction of the phase
    early_stopping_patience: int  # evaluations without a better score; 0 = off
    max_grad_norm: float = 1.0  # gradient clipping; 0 = off
    per_device_batch_size: int | None = None  # None: batch_size / (accumulation x processes)
    tf32: bool = False  # TF32 matmuls for fp32 training (Ampere or newer GPUs)
    # deterministic kernels (transformers' full_determinism: torch.use_deterministic_algorithms, cuDNN,
    # cuBLAS workspace): GPU runs repeat bit for bit, slower; CPU runs repeat without it
    deterministic: bool = False
    save_total_limit: int = 2
    logging_steps: int = 50
    # per task (multi-task phases): max_seq_length / doc_stride of each task
    per_task: dict[str, dict[str, int]] = field(default_factory=dict)

    def check(self) -> None:
        """Reject settings that cannot train (ConfigError naming the option)."""
        check_precision(self.precision)
        check_positive(self, ("batch_size", "gradient_accumulation_steps", "eval_batch_size"))
        if self.per_device_batch_size is not None:
            check_positive(self, ("per_device_batch_size",))
        if self.learning_rate <= 0 or self.epochs <= 0:
            raise ConfigError("learning rate and epochs must be positive", "--lr/--epochs")
        if self.max_steps is not None:
            check_positive(self, ("max_steps",))
        if not 0 <= self.doc_stride < self.max_seq_length:
            raise ConfigError("doc_stride must be >= 0 and below max_seq_length", "--doc-stride")
        if not (0 < self.save_steps < 1 or (self.save_steps >= 1 and float(self.save_steps).is_integer())):
            raise ConfigError(
                f"must be a fraction of the phase (0 < N < 1) or whole steps, got {self.save_steps}",
                "--save-steps",
            )
        if self.early_stopping_patience < 0 or self.max_grad_norm < 0:
            raise ConfigError("early stopping patience and max_grad_norm must be >= 0", "--early-stopping")
        if self.tf32 and not tf32_available():
            raise ConfigError("needs an NVIDIA GPU of the Ampere generation or newer", "--tf32")

    def batch_split(self, devices: int) -> BatchSplit:
        """How this phase's batch is formed on ``devices`` data-parallel devices (ConfigError if it can't)."""
        accumulation, per_device = self.gradient_accumulation_steps, self.per_device_batch_size
        return split_batch(self.batch_size, devices, accumulation, per_device)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)

    def lengths_of(self, task: str) -> tuple[int, int]:
        """``(max_seq_length, doc_stride)`` of one task of the phase."""
        lengths = self.per_task.get(task, {})
        return lengths.get("max_seq_length", self.max_seq_length), lengths.get("doc_stride", self.doc_stride)


# ------------------------------------------------------------------------------------------ batch


@dataclass(frozen=True)
class BatchSplit:
    """How the recipe's batch is formed: per-device batch x accumulation steps x data-parallel devices."""

    batch_size: int
    per_device: int
    accumulation: int
    devices: int

    def to_dict(self) -> dict[str, int]:
        """JSON-ready view (``metrics.json``)."""
        return asdict(self)


def split_batch(
    batch_size: int, devices: int, accumulation: int = 1, per_device: int | None = None
) -> BatchSplit:
    """Split the recipe's ``batch_size`` over ``devices``: ``per_device`` given -> the accumulation steps
    follow (``accumulation`` > 1 must agree); else ``accumulation`` steps of ``batch_size / (accumulation x
    devices)``. A ConfigError with the numbers when the product cannot equal ``batch_size``."""
    if per_device is not None:
        steps, rest = divmod(batch_size, per_device * devices)
        if rest or steps < 1:
            raise ConfigError(
                f"the recipe's batch of {batch_size} is not per-device batch {per_device} x accumulation "
                f"steps x {devices} device(s) for any whole number of steps; pick a per-device batch that "
                f"divides {batch_size // devices if batch_size % devices == 0 else batch_size}",
                "--per-device-batch-size",
            )
        if accumulation not in (1, steps):
            raise ConfigError(
                f"per-device batch {per_device} x {accumulation} accumulation steps x {devices} device(s) is "
                f"not the recipe's batch of {batch_size} ({steps} steps would be); give one of the two",
                "--grad-accum",
            )
        return BatchSplit(batch_size, per_device, steps, devices)
    per_device, rest = divmod(batch_size, accumulation * devices)
    if rest or per_device < 1:
        raise ConfigError(
            f"the recipe's batch of {batch_size} cannot be split into {accumulation} accumulation step(s) "
            f"on {devices} device(s): per-device batch x {accumulation} x {devices} must be {batch_size}; "
            "change --grad-accum or the number of devices, or set --per-device-batch-size",
            "--grad-accum",
        )
    return BatchSplit(batch_size, per_device, accumulation, devices)


def tf32_available() -> bool:
    """Whether a CUDA GPU with TF32 matmuls (compute capability 8.0 or newer) is visible."""
    return torch.cuda.is_available() and torch.cuda.get_device_capability()[0] >= 8


def data_parallel_devices() -> int:
    """How many copies of the model share a batch: the processes of a distributed launch, else every
    visible GPU (the Trainer then uses DataParallel), else 1."""
    from accelerate import PartialState

    processes = PartialState().num_processes
    if processes > 1:
        return processes
    return max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1


# ------------------------------------------------------------------------------------------ features


@dataclass
class TaskInputs:
    """A task's training features and (with a validation split) its validation inputs and metrics."""

    train: Dataset
    validation: Dataset | None = None
    compute_metrics: Callable[[Any], dict[str, float]] | None = None
    metric: str | None = None  # the metric of compute_metrics that becomes ``score``


def task_features(task: TaskData, tokenizer: PreTrainedTokenizerBase, settings: PhaseSettings) -> TaskInputs:
    """Model inputs of the task's training rows, and of its validation rows with their metrics."""
    spec = task.spec
    task_format = get_format(spec.format)
    seq, stride = settings.lengths_of(spec.name)
    how = Featurization(seq, stride, spec.negative_feature_ratio, settings.seed, f"{spec.name}/train")
    train = task_format.featurize(task.train, tokenizer, how)
    if task.validation is None:
        return TaskInputs(train)
    how = Featurization(seq, stride, description=f"{spec.name}/validation")
    evaluation = task_format.evaluation(task.validation, tokenizer, how)
    metric = selection_metric(task_format, spec.metric)
    return TaskInputs(train, evaluation.features, with_score(evaluation.compute_metrics, metric), metric)


def with_score(compute_metrics: Callable[[Any], dict[str, float]], metric: str) -> Callable:
    """``compute_metrics`` plus ``score``: the value of ``metric``."""

    def scored(eval_pred: Any) -> dict[str, float]:
        values = dict(compute_metrics(eval_pred))
        values[SCORE] = values[metric]
        return values

    return scored


def collator_for(fmt: str, tokenizer: PreTrainedTokenizerBase, precision: str) -> Callable:
    """Per-batch padding (to a multiple of 8 under mixed precision)."""
    return get_format(fmt).collator(tokenizer, 8 if precision != "fp32" else None)


# ------------------------------------------------------------------------------------------ trainer


@dataclass
class PhaseArguments(TrainingArguments):
    """``TrainingArguments`` whose warmup is a fraction of the phase's steps on every transformers
    version (``warmup_steps`` < 1 means 0.1 *steps* before transformers 5)."""

    warmup_fraction: float = 0.0

    def get_warmup_steps(self, num_training_steps: int) -> int:
        """``ceil(fraction x steps)`` when a fraction is set, else the Trainer's own rule."""
        if self.warmup_fraction > 0:
            return math.ceil(num_training_steps * self.warmup_fraction)
        return super().get_warmup_steps(num_training_steps)


def training_arguments(
    checkpoints_dir: Path,
    settings: PhaseSettings,
    split: BatchSplit,
    has_eval: bool,
    multitask: bool = False,
) -> PhaseArguments:
    """The arguments of one phase: the batch ``split``, checkpoints (and validation) every ``save_steps``."""
    early = has_eval and settings.early_stopping_patience > 0
    interval = settings.save_steps if settings.save_steps < 1 else int(settings.save_steps)
    fraction = settings.warmup < 1
    try:
        return PhaseArguments(
            output_dir=str(checkpoints_dir),
            per_device_train_batch_size=1 if multitask else split.per_device,
            per_device_eval_batch_size=1 if multitask else settings.eval_batch_size,
            gradient_accumulation_steps=split.accumulation,
            learning_rate=settings.learning_rate,
            num_train_epochs=settings.epochs,
            max_steps=settings.max_steps if settings.max_steps else -1,
            warmup_steps=0 if fraction else int(settings.warmup),
            warmup_fraction=settings.warmup if fraction else 0.0,
            weight_decay=settings.weight_decay,
            max_grad_norm=settings.max_grad_norm,
            bf16=settings.precision == "bf16",
            fp16=settings.precision == "fp16",
            tf32=True if settings.tf32 else None,
            full_determinism=settings.deterministic,
            seed=settings.seed,
            data_seed=settings.seed,
            save_strategy="steps",
            save_steps=interval,
            save_total_limit=settings.save_total_limit,
            eval_strategy="steps" if has_eval else "no",
            eval_steps=interval if has_eval else None,
            load_best_model_at_end=early,
            metric_for_best_model=SCORE if early else None,
            greater_is_better=True if early else None,
            logging_steps=settings.logging_steps,
            report_to="none",
            disable_tqdm=True,  # progress goes through mlqa_domain.progress (ReportProgress)
            remove_unused_columns=False,
            ddp_find_unused_parameters=True if multitask else None,
            label_names=[] if multitask else None,
            dataloader_num_workers=0,
            dataloader_pin_memory=torch.cuda.is_available(),
        )
    except ValueError as exc:  # e.g. --tf32 on a GPU without TF32
        raise ConfigError(f"cannot train with these settings: {first_line(exc)}") from None


@dataclass
class TaskEval:
    """One task's validation inside a multi-task phase."""

    dataset: Any
    label_names: list[str]
    compute_metrics: Callable[[Any], dict[str, float]]


class PhaseTrainer(Trainer):
    """The Trainer of a phase, with the loss scaling every task head and the multi-task model need.

    - Loss: each task head's loss is a per-row mean (:meth:`compute_loss`); the Trainer divides it by the
      accumulation steps. The Trainer would otherwise take models whose ``forward`` accepts ``**kwargs``
      (the transformers task heads, :class:`MultiTaskModel`) for models that scale their own loss by the
      number of labelled items: it then skipped that division (classification and multiple-choice updates
      2x too large at 2 x 2 instead of 4 x 1), multiplied the loss by the number of processes under DDP, and
      counted ``labels`` in every batch (a KeyError for multi-task batches without them, and a collective
      call only some ranks make). So nothing is counted (:meth:`get_batch_samples`) and no model is asked
      to scale its loss.
    - Multi-task validation (:meth:`evaluate`): each task's metrics on its own batches; ``eval_score`` is
      their mean, ``eval_loss`` the mean loss over all validation batches.
    """

    loss_is_scaled_for_ga = False

    def __init__(
        self,
        *args: Any,
        heads: Sequence[Head] = (),
        task_evals: Mapping[str, TaskEval] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self.heads = list(heads)
        self.task_evals = dict(task_evals or {})

    def get_batch_samples(self, epoch_iterator, num_batches, *args: Any, **kwargs: Any):
        """The next ``num_batches`` batches; no item count (each loss is a mean, see the class docstring)."""
        batches = []
        for _ in range(num_batches):
            try:
                batches.append(next(epoch_iterator))
            except StopIteration:
                break
        return batches, None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The loss of the batch's task head (its own, or the model's): a mean over the batch's rows."""
        head = self.heads[int(inputs["task_id"].reshape(-1)[0])] if "task_id" in inputs else self.heads[0]
        outputs = model(**inputs)
        labels = {name: inputs[name] for name in head.label_fields if name in inputs}
        loss = None
        if len(labels) == len(head.label_fields):
            loss = head.loss(outputs, labels, inputs.get("attention_mask"))
        if loss is None:
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs[0]
        if self.args.n_gpu > 1:
            loss = loss.mean()
        return (loss, outputs) if return_outputs else loss

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"):
        """Single task: the Trainer's evaluation. Multi-task: per-task metrics, their mean ``score``."""
        if not self.task_evals or eval_dataset is not None:
            return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        metrics: dict[str, float] = {}
        losses, scores = [], []
        saved = self.label_names, self.compute_metrics
        try:
            for name, task_eval in self.task_evals.items():
                self.label_names, self.compute_metrics = task_eval.label_names, task_eval.compute_metrics
                prefix = f"{metric_key_prefix}_{name}"
                output = self.evaluation_loop(
                    self.get_eval_dataloader(task_eval.dataset),
                    description=f"Evaluation {name}",
                    prediction_loss_only=False,
                    ignore_keys=ignore_keys,
                    metric_key_prefix=prefix,
                )
                metrics.update(output.metrics)
                losses.append((output.metrics[f"{prefix}_loss"], output.num_samples))
                scores.append(output.metrics[f"{prefix}_{SCORE}"])
        finally:
            self.label_names, self.compute_metrics = saved
        batches = sum(n for _, n in losses)
        metrics[f"{metric_key_prefix}_loss"] = sum(loss * n for loss, n in losses) / max(1, batches)
        metrics[f"{metric_key_prefix}_{SCORE}"] = sum(scores) / len(scores)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


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
    features: Mapping[str, TaskInputs]
    source_model: str | Path
    tokenizer: PreTrainedTokenizerBase
    settings: PhaseSettings
    split: BatchSplit


@dataclass
class _Setup:
    """What the Trainer of a phase trains on, and how the phase saves and reports it."""

    model: torch.nn.Module
    train: Any
    eval: Any
    collator: Callable
    compute_metrics: Callable | None
    heads: list[Head]
    task_evals: dict[str, TaskEval]
    save: Callable[[Trainer, Path], None]
    report: dict[str, Any]


@dataclass
class PhaseTraining:
    """A phase ready to train: its Trainer and how to save and report the result."""

    trainer: PhaseTrainer
    setup: _Setup
    split: BatchSplit


class ReportProgress(TrainerCallback):
    """The Trainer's steps as one :mod:`mlqa_domain.progress` task (a transient bar in the CLI, not tqdm's
    bar left on the screen) and its logged metrics as log lines instead of printed dicts."""

    def __init__(self, description: str) -> None:
        self.description = description
        self._task = contextlib.ExitStack()
        self._advance: progress.Advance | None = None
        self._step = 0

    def on_train_begin(self, args, state, control, **kwargs) -> None:
        if state.is_local_process_zero:
            self._advance = self._task.enter_context(progress.task(self.description, state.max_steps or None))
            self._advance(state.global_step)  # a resumed phase starts where its checkpoint left off
            self._step = state.global_step

    def on_step_end(self, args, state, control, **kwargs) -> None:
        if self._advance is not None:
            self._advance(state.global_step - self._step)
            self._step = state.global_step

    def on_train_end(self, args, state, control, **kwargs) -> None:
        self._task.close()
        self._advance = None

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        if state.is_local_process_zero and logs:
            shown = {k: f"{v:.4g}" if isinstance(v, float) else v for k, v in logs.items()}
            shown.pop("total_flos", None)
            logger.info("%s, step %d: %s", self.description, state.global_step, shown)


def build_trainer(
    tasks: Sequence[TaskData],
    source_model: str | Path,
    phase_dir: Path,
    settings: PhaseSettings,
    callbacks: Sequence[TrainerCallback] = (),
) -> PhaseTraining:
    """The Trainer of one phase: features, model (fresh task heads), batch split, arguments."""
    settings.check()
    tokenizer = _load_tokenizer(source_model)
    multitask = len(tasks) > 1
    split = settings.batch_split(data_parallel_devices())
    has_eval = any(task.validation is not None for task in tasks)
    if settings.early_stopping_patience > 0 and not has_eval:
        logger.warning(
            "early stopping needs a validation split and %s has none: the full schedule is trained",
            ", ".join(t.spec.name for t in tasks),
        )
    args = training_arguments(phase_dir / CHECKPOINTS_DIR, settings, split, has_eval, multitask)
    _check_split(args, split, split.per_device if multitask else 1)
    with args.main_process_first(desc="features"):
        features = {task.spec.name: task_features(task, tokenizer, settings) for task in tasks}
    phase = _Phase(tasks, features, source_model, tokenizer, settings, split)
    setup = _multi_task(phase) if multitask else _single_task(phase)
    trainer = PhaseTrainer(
        model=setup.model,
        args=args,
        train_dataset=setup.train,
        eval_dataset=setup.eval,
        data_collator=setup.collator,
        processing_class=tokenizer,
        compute_metrics=setup.compute_metrics,
        callbacks=_with_early_stopping(callbacks, args, settings),
        heads=setup.heads,
        task_evals=setup.task_evals,
    )
    for replaced in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(replaced)
    trainer.add_callback(ReportProgress(f"training {phase_dir.name}"))
    return PhaseTraining(trainer, setup, split)


def _check_split(args: TrainingArguments, split: BatchSplit, rows_per_item: int) -> None:
    """The Trainer's own batch arithmetic must give the recipe's batch (a guard against launch surprises).

    ``rows_per_item``: examples per dataset item (multi-task items are pre-formed per-device batches).
    """
    per_step = args.per_device_train_batch_size * rows_per_item * max(1, args.n_gpu) * args.world_size
    if per_step * args.gradient_accumulation_steps != split.per_device * split.devices * split.accumulation:
        raise ConfigError(
            f"the launch gives {per_step} x {args.gradient_accumulation_steps} examples per step, "
            f"not the recipe's batch of {split.batch_size}",
            "--per-device-batch-size",
        )


def _reset_call_state(tokenizer) -> None:
    """Forget the truncation/padding a fast tokenizer's backend keeps from its last call, so the saved
    tokenizer.json is the same whether featurization ran or came from the datasets cache."""
    backend = getattr(tokenizer, "_tokenizer", None)
    if backend is not None:
        backend.no_truncation()
        backend.no_padding()


def train_phase(
    tasks: Sequence[TaskData],
    source_model: str | Path,
    phase_dir: Path,
    settings: PhaseSettings,
    callbacks: Sequence[TrainerCallback] = (),
) -> PhaseResult:
    """Train ``source_model``'s encoder on ``tasks``; save it to ``phase_dir/model``; resumable.

    One task: the encoder under a fresh task head for it. Several: one shared encoder, one task head per task,
    single-task batches (see the module docstring); the saved model is the encoder alone.
    """
    phase = build_trainer(tasks, source_model, phase_dir, settings, callbacks)
    trainer, setup = phase.trainer, phase.setup
    resume = _resume_point(phase_dir / CHECKPOINTS_DIR)
    try:
        output = trainer.train(resume_from_checkpoint=resume)
        model_dir = phase_dir / MODEL_DIR
        _reset_call_state(trainer.processing_class)
        setup.save(trainer, model_dir)
        extra = {**setup.report, "batch": phase.split.to_dict()}
        return PhaseResult(metrics=_finish(trainer, output, resume, extra), model_dir=model_dir)
    finally:
        if settings.tf32:
            _tf32_off()


def _tf32_off() -> None:
    """Turn TF32 matmuls off again after a ``--tf32`` phase (phase 3 scores in the precision it records)."""
    try:
        from transformers.utils.import_utils import enable_tf32
    except ImportError:  # older transformers: the legacy flags
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return
    enable_tf32(False)


def _single_task(phase: _Phase) -> _Setup:
    """The task's model: the source encoder under a fresh task head."""
    (task,) = phase.tasks
    spec, settings = task.spec, phase.settings
    inputs = phase.features[spec.name]
    torch.manual_seed(settings.seed)  # the fresh task head's initial weights
    counts = {
        "train_examples": len(task.train),
        "train_features": len(inputs.train),
        "eval_examples": _size(task.validation),
    }
    if inputs.metric:
        counts["eval_metric"] = inputs.metric
    return _Setup(
        model=load_with_new_head(phase.source_model, spec.format, task.label_names),
        train=inputs.train,
        eval=inputs.validation,
        collator=collator_for(spec.format, phase.tokenizer, settings.precision),
        compute_metrics=inputs.compute_metrics,
        heads=[head_for(spec.format)],
        task_evals={},
        save=lambda trainer, model_dir: trainer.save_model(str(model_dir)),
        report={"tasks": {spec.name: counts}},
    )


def _multi_task(phase: _Phase) -> _Setup:
    """One shared encoder with a fresh task head per task, trained on pooled single-task batches."""
    tasks, features, tokenizer, settings = phase.tasks, phase.features, phase.tokenizer, phase.settings
    collators = {t.spec.name: collator_for(t.spec.format, tokenizer, settings.precision) for t in tasks}
    torch.manual_seed(settings.seed)
    model = build_multitask_model(
        phase.source_model,
        {t.spec.name: t.spec.format for t in tasks},
        {t.spec.name: t.label_names for t in tasks},
    )
    task_ids = {name: index for index, name in enumerate(model.task_names)}
    formats = {t.spec.name: t.spec.format for t in tasks}
    train = TaskBatches(
        {n: f.train for n, f in features.items()}, collators, phase.split.per_device, settings.seed, task_ids
    )
    evaluated = {n: f.validation for n, f in features.items() if f.validation is not None}
    task_evals = {
        name: TaskEval(
            TaskBatches(
                {name: data}, collators, settings.eval_batch_size, settings.seed, task_ids, shuffle=False
            ),
            list(head_for(formats[name]).label_fields),
            features[name].compute_metrics,
        )
        for name, data in evaluated.items()
    }
    batches = train.batches_per_task()
    counts = {
        t.spec.name: {
            "train_examples": len(t.train),
            "train_features": len(features[t.spec.name].train),
            "batches_per_epoch": batches[t.spec.name],
            "eval_examples": _size(t.validation),
            **({"eval_metric": features[t.spec.name].metric} if features[t.spec.name].metric else {}),
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
        eval=TaskBatches(
            evaluated, collators, settings.eval_batch_size, settings.seed, task_ids, shuffle=False
        )
        if evaluated
        else None,
        collator=_unwrap_single,
        compute_metrics=None,
        heads=[head_for(formats[name]) for name in model.task_names],
        task_evals=task_evals,
        save=save,
        report={
            "sampling": "proportional: single-task batches, pooled and shuffled every epoch",
            "tasks": counts,
        },
    )


class TaskBatches(torch.utils.data.Dataset):
    """Pre-formed single-task batches from several tasks; item ``i`` is one collated batch.

    ``task_ids`` maps each task to the index of its task head in the model (the ``task_id`` of its batches).
    ``shuffle``: each task's rows are shuffled with ``seed`` before batching (training); validation keeps
    the rows' order (extractive-QA metrics map predictions to windows by position).
    """

    def __init__(
        self,
        features: Mapping[str, Dataset],
        collators: Mapping[str, Callable],
        batch_size: int,
        seed: int,
        task_ids: Mapping[str, int],
        shuffle: bool = True,
    ) -> None:
        self.features = dict(features)
        self.collators = dict(collators)
        self.task_ids = dict(task_ids)
        rng = random.Random(seed)
        self.batches: list[tuple[str, list[int]]] = []
        for name in self.features:
            order = list(range(len(self.features[name])))
            if shuffle:
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
