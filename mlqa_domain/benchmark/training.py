"""One training phase with the transformers ``Trainer`` (CPU, one GPU, or many via accelerate / torchrun).

Preprocessing follows transformers' examples: ``run_qa.py``'s ``prepare_train_features`` for extractive QA
(overflowing windows with ``doc_stride``; windows without the answer point at the CLS token),
``run_glue.py`` for classification and ``run_swag.py`` for multiple choice. Batches are padded per batch.

A phase writes its model to ``<phase>/model`` and Trainer checkpoints to ``<phase>/checkpoints``; an
unfinished phase resumes from its last checkpoint. Early stopping watches the evaluation loss when the
task has a validation split (``EarlyStoppingCallback``, best checkpoint restored at the end).

Multi-task phases (several intermediate tasks): one shared encoder, one head per task; every batch holds
examples of one task. Batches are formed once per task (examples shuffled with the seed) and the Trainer
shuffles the pooled batches every epoch, so tasks are sampled in proportion to their number of batches
("proportional" sampling) and every example is seen once per epoch.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import (
    AutoTokenizer,
    DataCollatorForMultipleChoice,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from mlqa_domain.benchmark.heads import build_multitask_model, load_with_new_head
from mlqa_domain.benchmark.task_data import TaskData
from mlqa_domain.errors import ConfigError, InputError

PRECISIONS = ("fp32", "bf16", "fp16")
CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"


@dataclass
class PhaseSettings:
    """Everything that decides how one phase trains (recorded in ``phase_config.json``)."""

    learning_rate: float
    epochs: float
    batch_size: int
    gradient_accumulation_steps: int = 1
    max_seq_length: int = 384
    doc_stride: int = 128
    warmup: float = 0.1  # < 1: fraction of the training steps; >= 1: number of steps
    weight_decay: float = 0.0
    max_steps: int | None = None
    seed: int = 42
    precision: str = "fp32"
    eval_batch_size: int = 32
    save_steps: int = 1000
    save_total_limit: int = 2
    early_stopping_patience: int = 3  # evaluations without improvement; 0 = off
    logging_steps: int = 50
    # per task (multi-task phases): max_seq_length / doc_stride of each task
    per_task: dict[str, dict[str, int]] = field(default_factory=dict)

    def check(self) -> None:
        """Reject settings that cannot train (ConfigError naming the option)."""
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r} ({', '.join(PRECISIONS)})", "--precision"
            )
        for name in ("batch_size", "gradient_accumulation_steps", "eval_batch_size", "save_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"must be a positive integer, got {getattr(self, name)}", f"--{name}")
        if self.learning_rate <= 0 or self.epochs <= 0:
            raise ConfigError("learning rate and epochs must be positive", "--lr/--epochs")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"must be a positive integer, got {self.max_steps}", "--max-steps")
        if not 0 <= self.doc_stride < self.max_seq_length:
            raise ConfigError("doc_stride must be >= 0 and below max_seq_length", "--doc-stride")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)


# ------------------------------------------------------------------------------------------ features


def prepare_qa_train_features(
    examples: Mapping[str, list], tokenizer: PreTrainedTokenizerBase, max_seq_length: int, doc_stride: int
) -> dict[str, list]:
    """``run_qa.py``'s ``prepare_train_features``: windows with start/end token positions (CLS if absent)."""
    pad_on_right = tokenizer.padding_side == "right"
    context_seq = 1 if pad_on_right else 0
    questions = [q.lstrip() for q in examples["question"]]
    tokenized = tokenizer(
        questions if pad_on_right else examples["context"],
        examples["context"] if pad_on_right else questions,
        truncation="only_second" if pad_on_right else "only_first",
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    sample_mapping = tokenized.pop("overflow_to_sample_mapping")
    offset_mapping = tokenized.pop("offset_mapping")
    starts, ends, has_answer = [], [], []
    for i, offsets in enumerate(offset_mapping):
        input_ids = tokenized["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        sequence_ids = tokenized.sequence_ids(i)
        answers = examples["answers"][sample_mapping[i]]
        start_pos = end_pos = cls_index
        if answers["answer_start"]:
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            first = sequence_ids.index(context_seq)
            last = len(sequence_ids) - 1 - sequence_ids[::-1].index(context_seq)
            if offsets[first][0] <= start_char and offsets[last][1] >= end_char:
                token = first
                while token <= last and offsets[token][0] <= start_char:
                    token += 1
                start_pos = token - 1
                token = last
                while token >= first and offsets[token][1] >= end_char:
                    token -= 1
                end_pos = token + 1
        starts.append(start_pos)
        ends.append(end_pos)
        has_answer.append(start_pos != cls_index or end_pos != cls_index)
    tokenized["start_positions"] = starts
    tokenized["end_positions"] = ends
    tokenized["has_answer"] = has_answer
    return dict(tokenized)


def prepare_classification_features(
    examples: Mapping[str, list], tokenizer: PreTrainedTokenizerBase, max_seq_length: int
) -> dict[str, list]:
    """``run_glue.py``-style: (text[, text_pair]) -> input ids, with the label index as ``labels``."""
    pairs = examples["text_pair"]
    use_pairs = any(p for p in pairs)
    tokenized = tokenizer(
        examples["text"],
        [p or "" for p in pairs] if use_pairs else None,
        truncation=True,
        max_length=max_seq_length,
    )
    tokenized["labels"] = list(examples["label"])
    return dict(tokenized)


def prepare_multiple_choice_features(
    examples: Mapping[str, list], tokenizer: PreTrainedTokenizerBase, max_seq_length: int
) -> dict[str, list]:
    """``run_swag.py``-style: one (context, question + choice) pair per choice, regrouped per example."""
    n_choices = [len(c) for c in examples["choices"]]
    first = [ctx for ctx, n in zip(examples["context"], n_choices, strict=True) for _ in range(n)]
    second = [
        f"{question} {choice}".strip()
        for question, choices in zip(examples["question"], examples["choices"], strict=True)
        for choice in choices
    ]
    tokenized = tokenizer(first, second, truncation=True, max_length=max_seq_length)
    grouped: dict[str, list] = {}
    for key, values in tokenized.items():
        out, pos = [], 0
        for n in n_choices:
            out.append(values[pos : pos + n])
            pos += n
        grouped[key] = out
    grouped["labels"] = list(examples["label"])
    return grouped


def featurize(
    data: Dataset,
    fmt: str,
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int,
    doc_stride: int,
    negative_feature_ratio: float | None = None,
    seed: int = 0,
    description: str = "",
) -> Dataset:
    """Model inputs for ``data`` (canonical rows of one format); optional QA negative-window sampling."""
    if fmt == "extractive_qa":
        features = data.map(
            prepare_qa_train_features,
            batched=True,
            remove_columns=data.column_names,
            fn_kwargs={"tokenizer": tokenizer, "max_seq_length": max_seq_length, "doc_stride": doc_stride},
            desc=f"QA features {description}".strip(),
        )
        if negative_feature_ratio is not None:
            flags = np.asarray(features["has_answer"], dtype=bool)
            positives, negatives = np.flatnonzero(flags), np.flatnonzero(~flags)
            keep_n = min(len(negatives), int(math.ceil(negative_feature_ratio * len(positives))))
            rng = np.random.default_rng(seed)
            kept = np.sort(np.concatenate([positives, rng.choice(negatives, size=keep_n, replace=False)]))
            features = features.select(kept.tolist())
        return features.remove_columns("has_answer")
    if fmt == "classification":
        fn, kwargs = prepare_classification_features, {"max_seq_length": max_seq_length}
    elif fmt == "multiple_choice":
        fn, kwargs = prepare_multiple_choice_features, {"max_seq_length": max_seq_length}
    else:
        raise ConfigError(f"unknown task format {fmt!r}")
    return data.map(
        fn,
        batched=True,
        remove_columns=data.column_names,
        fn_kwargs={"tokenizer": tokenizer, **kwargs},
        desc=f"features {description}".strip(),
    )


def collator_for(fmt: str, tokenizer: PreTrainedTokenizerBase, precision: str) -> Callable:
    """Per-batch padding (to a multiple of 8 under mixed precision)."""
    multiple = 8 if precision != "fp32" else None
    if fmt == "multiple_choice":
        return DataCollatorForMultipleChoice(tokenizer, pad_to_multiple_of=multiple)
    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=multiple)


def classification_metrics(eval_pred) -> dict[str, float]:
    """Accuracy and macro-F1 of argmax predictions (classification and multiple choice)."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    predictions = np.argmax(logits, axis=-1)
    accuracy = float((predictions == labels).mean()) if len(labels) else 0.0
    f1s = []
    for label in np.unique(np.concatenate([labels, predictions])):
        tp = float(np.sum((predictions == label) & (labels == label)))
        fp = float(np.sum((predictions == label) & (labels != label)))
        fn = float(np.sum((predictions != label) & (labels == label)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return {"accuracy": accuracy, "macro_f1": float(np.mean(f1s)) if f1s else 0.0}


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
        raise InputError(f"cannot load a tokenizer: {str(exc).splitlines()[0]}", source) from None
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


def train_single_task(
    task: TaskData,
    source_model: str | Path,
    phase_dir: Path,
    settings: PhaseSettings,
    callbacks: Sequence[TrainerCallback] = (),
) -> PhaseResult:
    """Train ``source_model``'s encoder under a fresh head for ``task``; save to ``phase_dir/model``."""
    settings.check()
    spec = task.spec
    tokenizer = _load_tokenizer(source_model)
    checkpoints = phase_dir / CHECKPOINTS_DIR
    has_eval = task.validation is not None
    args = training_arguments(checkpoints, settings, has_eval)
    with args.main_process_first(desc="features"):
        train_features = featurize(
            task.train,
            spec.format,
            tokenizer,
            settings.max_seq_length,
            settings.doc_stride,
            spec.negative_feature_ratio,
            settings.seed,
            f"{spec.name}/train",
        )
        eval_features = (
            featurize(
                task.validation,
                spec.format,
                tokenizer,
                settings.max_seq_length,
                settings.doc_stride,
                description=f"{spec.name}/validation",
            )
            if has_eval
            else None
        )
    torch.manual_seed(settings.seed)  # the fresh head's initial weights
    model = load_with_new_head(source_model, spec.format, task.label_names)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_features,
        eval_dataset=eval_features,
        data_collator=collator_for(spec.format, tokenizer, settings.precision),
        processing_class=tokenizer,
        compute_metrics=classification_metrics if spec.format != "extractive_qa" else None,
        callbacks=_with_early_stopping(callbacks, args, settings),
    )
    resume = _resume_point(checkpoints)
    output = trainer.train(resume_from_checkpoint=resume)
    model_dir = phase_dir / MODEL_DIR
    trainer.save_model(str(model_dir))
    extra = {
        "tasks": {
            spec.name: {
                "train_examples": len(task.train),
                "train_features": len(train_features),
                "eval_examples": len(task.validation) if has_eval else 0,
            }
        }
    }
    return PhaseResult(metrics=_finish(trainer, output, resume, extra), model_dir=model_dir)


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


def train_multi_task(
    tasks: Sequence[TaskData],
    source_model: str | Path,
    phase_dir: Path,
    settings: PhaseSettings,
    callbacks: Sequence[TrainerCallback] = (),
) -> PhaseResult:
    """Train one shared encoder with one head per task; save the encoder to ``phase_dir/model``."""
    settings.check()
    tokenizer = _load_tokenizer(source_model)
    checkpoints = phase_dir / CHECKPOINTS_DIR
    eval_tasks = [t for t in tasks if t.validation is not None]
    has_eval = bool(eval_tasks)
    args = training_arguments(checkpoints, settings, has_eval, multitask=True)
    train_features: dict[str, Dataset] = {}
    eval_features: dict[str, Dataset] = {}
    with args.main_process_first(desc="features"):
        for task in tasks:
            spec = task.spec
            lengths = settings.per_task.get(spec.name, {})
            seq = lengths.get("max_seq_length", settings.max_seq_length)
            stride = lengths.get("doc_stride", settings.doc_stride)
            train_features[spec.name] = featurize(
                task.train,
                spec.format,
                tokenizer,
                seq,
                stride,
                spec.negative_feature_ratio,
                settings.seed,
                f"{spec.name}/train",
            )
            if task.validation is not None:
                eval_features[spec.name] = featurize(
                    task.validation,
                    spec.format,
                    tokenizer,
                    seq,
                    stride,
                    description=f"{spec.name}/validation",
                )
    collators = {t.spec.name: collator_for(t.spec.format, tokenizer, settings.precision) for t in tasks}
    torch.manual_seed(settings.seed)
    model = build_multitask_model(
        source_model, {t.spec.name: t.spec.format for t in tasks}, {t.spec.name: t.label_names for t in tasks}
    )
    task_ids = {name: index for index, name in enumerate(model.task_names)}
    train_batches = TaskBatches(train_features, collators, settings.batch_size, settings.seed, task_ids)
    eval_batches = (
        TaskBatches(eval_features, collators, settings.eval_batch_size, settings.seed, task_ids)
        if has_eval
        else None
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_batches,
        eval_dataset=eval_batches,
        data_collator=_unwrap_single,
        processing_class=tokenizer,
        callbacks=_with_early_stopping(callbacks, args, settings),
    )
    resume = _resume_point(checkpoints)
    output = trainer.train(resume_from_checkpoint=resume)
    model_dir = phase_dir / MODEL_DIR
    if trainer.is_world_process_zero():
        model.save_encoder(model_dir)
        tokenizer.save_pretrained(str(model_dir))
    extra = {
        "sampling": "proportional: single-task batches, pooled and shuffled every epoch",
        "tasks": {
            t.spec.name: {
                "train_examples": len(t.train),
                "train_features": len(train_features[t.spec.name]),
                "batches_per_epoch": train_batches.batches_per_task()[t.spec.name],
                "eval_examples": len(t.validation) if t.validation is not None else 0,
            }
            for t in tasks
        },
    }
    return PhaseResult(metrics=_finish(trainer, output, resume, extra), model_dir=model_dir)
