"""Settings of `bench run` and `bench stilts`: every default written once, here.

The commands take their option defaults from these frozen dataclasses and the library functions take
the objects. The module imports nothing heavy, so building the command line stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from mlqa_domain.errors import ConfigError

# Feature lengths of extractive QA (XTREME's and run_qa.py's), for `bench run` and the STILTs target.
MAX_SEQ_LENGTH = 384
DOC_STRIDE = 128
PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")


def check_precision(precision: str, option: str = "--precision") -> None:
    """A ConfigError naming ``option`` unless ``precision`` is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r} (choose one of {', '.join(PRECISIONS)})", option)


def check_positive(settings: Any, names: Iterable[str]) -> None:
    """A ConfigError naming the option unless each of the ``names`` attributes is a positive integer."""
    for name in names:
        value = getattr(settings, name)
        if value < 1:
            raise ConfigError(f"must be a positive integer, got {value}", f"--{name.replace('_', '-')}")


MODEL_NOT_FOUND = "model not found (neither a local directory nor a hub id)"


def check_model_location(model: str) -> None:
    """A model given as a path (``./x``, ``/x``, ``~/x``, ``a/b/c``) must exist: the one check (and the one
    message) of `bench run --model` and `bench stilts --base`, made before anything is created."""
    from pathlib import Path

    from mlqa_domain.errors import InputError
    from mlqa_domain.registry import closest_name

    text = str(model)
    path = Path(text).expanduser()
    if not path.exists() and (text.startswith((".", "/", "~")) or text.count("/") > 1):
        siblings = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
        close = closest_name(path.name, siblings)
        typed_parent = text.rstrip("/")[: -len(path.name)]  # the parent as typed (``./``, ``~/``)
        hint = f" (did you mean {typed_parent + close!r}?)" if close else ""
        raise InputError(MODEL_NOT_FOUND + hint, text)


@dataclass(frozen=True)
class RunSettings:
    """How `bench run` scores a checkpoint: which split and configs, how features are made and answers
    picked. All but ``split``, ``configs`` and ``revision`` are recorded in results.json."""

    split: str = "test"
    configs: tuple[str, ...] | None = None  # names or globs (comma-separated items allowed); None: all
    revision: str | None = None  # of the model
    batch_size: int = 32
    device: str = "auto"
    precision: str = "fp32"
    max_seq_length: int = MAX_SEQ_LENGTH
    doc_stride: int = DOC_STRIDE
    max_answer_length: int = 30
    n_best: int = 20

    def check(self) -> None:
        """Reject values that cannot work (ConfigError naming the option)."""
        check_positive(self, ("max_seq_length", "max_answer_length", "n_best", "batch_size"))
        if not 0 <= self.doc_stride < self.max_seq_length:
            raise ConfigError(
                f"must be >= 0 and below --max-seq-length ({self.max_seq_length}), got {self.doc_stride}",
                "--doc-stride",
            )
        check_precision(self.precision)

    def recorded(self, device: str) -> dict[str, Any]:
        """The ``settings`` of results.json, with the device the run used."""
        return {
            "max_seq_length": self.max_seq_length,
            "doc_stride": self.doc_stride,
            "max_answer_length": self.max_answer_length,
            "n_best": self.n_best,
            "batch_size": self.batch_size,
            "precision": self.precision,
            "device": device,
        }


RUN = RunSettings()  # the defaults


@dataclass(frozen=True)
class StiltsConfig:
    """Everything a `bench stilts` run depends on (``run.json``); ``stilts.make_config`` completes it."""

    base: str
    intermediate: list[str] = field(default_factory=list)  # "mnli" or "mnli=/abs/path"; [] = none
    target: str = "squad"
    eval_data: str | None = None
    eval_configs: list[str] | None = None
    eval_split: str = RUN.split
    eval_batch_size: int = RUN.batch_size
    eval_precision: str = RUN.precision
    eval_protocol: str = "mlqa-v1"  # phase 3 scores under this protocol (mlqa_domain/benchmark/protocol.py)
    task_configs: list[str] = field(default_factory=list)
    tasks_dirs: list[str] = field(default_factory=list)
    intermediate_overrides: dict[str, Any] = field(default_factory=dict)
    target_overrides: dict[str, Any] = field(default_factory=dict)
    max_steps: int | None = None
    max_train_samples: int | None = None
    # training-time validation runs on a fixed subset: the first N validation rows of each task (None: all;
    # jiant's eval_subset_num)
    max_eval_samples: int | None = 500
    seed: int = 42
    precision: str = "fp32"
    # checkpoint and validate every N optimizer steps; < 1: every such fraction of each phase
    save_steps: float = 0.1
    # evaluations without a better task metric before a phase stops; 0: the full schedule (the recipes)
    early_stopping_patience: int = 0
    tf32: bool = False  # TF32 matmuls in fp32 training (Ampere or newer NVIDIA GPUs)
    deterministic: bool = False  # deterministic GPU kernels (README: Reproducibility)
    recipe: str | None = None  # the named hyper-parameter preset the phase overrides came from

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)


STILTS = StiltsConfig(base="")  # the defaults
