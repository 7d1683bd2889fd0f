"""One training phase on a tiny real XLM-R: the update of one optimizer step does not depend on how the
recipe's batch is split (accumulation steps, processes), for every head and for multi-task models; warmup is
a fraction of the phase; the batch split is enforced."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from mlqa_domain.errors import ConfigError
from mlqa_domain.training.task_data import TaskData, load_task_data
from mlqa_domain.training.task_registry import TaskRegistry, resolve_tasks
from mlqa_domain.training.trainer import (
    BatchSplit,
    PhaseSettings,
    build_trainer,
    data_parallel_devices,
    split_batch,
)

TASKS = Path(__file__).resolve().parent / "fixtures" / "tasks"
DATA = {
    "mnli": TASKS / "mnli_tiny.jsonl",  # classification
    "hellaswag": TASKS / "hellaswag_tiny.jsonl",  # multiple choice
    "squad": TASKS / "squad_tiny.json",  # extractive QA
}
LENGTHS = {"mnli": (64, 32), "hellaswag": (64, 32), "squad": (384, 128)}  # one window per SQuAD example
SAME_UPDATE = 1e-5  # max |update difference| relative to the largest update


@pytest.fixture(scope="module")
def no_dropout_xlmr(tiny_xlmr: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny XLM-R without dropout: two runs of the same step see the same network."""
    out = tmp_path_factory.mktemp("tiny-xlmr-no-dropout")
    for item in tiny_xlmr.iterdir():
        shutil.copy(item, out / item.name)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (out / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


def _tasks(names: list[str], rows: int = 4) -> list[TaskData]:
    registry = TaskRegistry.load()
    specs = resolve_tasks(registry, [(name, str(DATA[name])) for name in names], "--intermediate")
    return [load_task_data(spec, max_train_samples=rows) for spec in specs]


def _settings(names: list[str], batch: int, per_device: int, **extra) -> PhaseSettings:
    seq, stride = LENGTHS[names[0]]
    values = {
        "learning_rate": 1.0,
        "epochs": 1,
        "batch_size": batch,
        "gradient_accumulation_steps": 1,
        "per_device_batch_size": per_device,
        "max_seq_length": seq,
        "doc_stride": stride,
        "warmup": 0,
        "weight_decay": 0.0,
        "max_grad_norm": 0.0,  # no clipping: it would hide a scaled gradient
        "max_steps": 1,
        "seed": 3,
        "precision": "fp32",
        "eval_batch_size": 8,
        "save_steps": 1000,
        "early_stopping_patience": 0,
        "per_task": {
            name: dict(zip(("max_seq_length", "doc_stride"), LENGTHS[name], strict=True)) for name in names
        },
    }
    values.update(extra)
    return PhaseSettings(**values)


def one_sgd_step(
    base: Path, names: list[str], batch: int, per_device: int, out: Path
) -> dict[str, torch.Tensor]:
    """The parameter update of one plain SGD step (lr 1) of the phase's own Trainer."""
    phase = build_trainer(_tasks(names), base, out, _settings(names, batch, per_device))
    trainer = phase.trainer
    trainer.model.double()  # float64: float32 rounding would blur a 1e-5 comparison of tiny updates
    devices = data_parallel_devices()
    assert phase.split == BatchSplit(batch, per_device, batch // (per_device * devices), devices)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.optimizer = torch.optim.SGD(trainer.model.parameters(), lr=1.0)  # Adam would hide a scale
    trainer.train()
    assert trainer.state.global_step == 1
    return {name: p.detach() - before[name] for name, p in trainer.model.named_parameters()}


def _compare(reference: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> tuple[float, float]:
    """(norm ratio other / reference, max |difference| / max |reference update|)."""
    a = torch.cat([reference[k].flatten() for k in reference])
    b = torch.cat([other[k].flatten() for k in reference])
    return float(b.norm() / a.norm()), float((a - b).abs().max() / a.abs().max())


@pytest.mark.parametrize("task", ["mnli", "hellaswag", "squad"])
def test_one_step_is_the_same_at_4x1_and_2x2(no_dropout_xlmr: Path, tmp_path: Path, task: str) -> None:
    whole = one_sgd_step(no_dropout_xlmr, [task], 4, 4, tmp_path / "4x1")
    split = one_sgd_step(no_dropout_xlmr, [task], 4, 2, tmp_path / "2x2")
    ratio, difference = _compare(whole, split)
    print(f"{task}: |update 2x2| / |update 4x1| = {ratio:.6f}, max difference {difference:.2e}")
    assert abs(ratio - 1) < SAME_UPDATE and difference < SAME_UPDATE
    assert any(delta.abs().max() > 0 for delta in whole.values())  # the step did move the weights


def test_multitask_step_with_accumulation(no_dropout_xlmr: Path, tmp_path: Path) -> None:
    # 3 tasks x 4 rows: one optimizer step over every batch, as 3 batches of 4 or 6 batches of 2
    names = ["mnli", "hellaswag", "squad"]
    whole = one_sgd_step(no_dropout_xlmr, names, 12, 4, tmp_path / "4x3")
    split = one_sgd_step(no_dropout_xlmr, names, 12, 2, tmp_path / "2x6")
    ratio, difference = _compare(whole, split)
    print(f"multi-task: |update 2x6| / |update 4x3| = {ratio:.6f}, max difference {difference:.2e}")
    assert abs(ratio - 1) < SAME_UPDATE and difference < SAME_UPDATE
    heads = {name.split(".")[1] for name, delta in whole.items() if name.startswith("heads.") and delta.any()}
    assert heads == set(names)  # every task's head was trained in the step


def test_multitask_validation_keeps_the_rows_order(tiny_xlmr: Path, tmp_path: Path) -> None:
    """QA metrics map predictions to windows by position: validation batches are not shuffled."""
    squad = tmp_path / "squad"
    squad.mkdir()
    shutil.copy(DATA["squad"], squad / "train.json")
    shutil.copy(TASKS / "squad_tiny_dev.jsonl", squad / "validation.jsonl")
    sources = [("mnli", str(DATA["mnli"])), ("squad", str(squad))]
    specs = resolve_tasks(TaskRegistry.load(), sources, "--intermediate")
    tasks = [load_task_data(spec, max_train_samples=4) for spec in specs]
    settings = _settings(["mnli", "squad"], 8, 4, eval_batch_size=3)
    phase = build_trainer(tasks, tiny_xlmr, tmp_path / "run", settings)
    batches = phase.setup.task_evals["squad"].dataset
    rows = [
        ids[mask == 1].tolist()
        for batch in batches
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"], strict=True)
    ]
    assert len(batches) == 4 and rows == batches.features["squad"]["input_ids"]  # 10 windows, in order
    metrics = phase.trainer.evaluate()
    assert metrics["eval_score"] == metrics["eval_squad_score"] == metrics["eval_squad_f1"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# name: (tasks, the recipe's batch, per-device batch in 1 process, per-device batch in each of 2 processes)
DDP_CASES = {
    "classification": (["mnli"], 4, 4, 2),
    "multi-task": (["mnli", "squad"], 8, 4, 4),  # one batch of each task per step
}
DDP_SCRIPT = """
import sys, torch
sys.path.insert(0, {tests!r})
from test_training import one_sgd_step
from pathlib import Path
from accelerate import PartialState
updates = {{
    name: one_sgd_step(Path({base!r}), names, batch, per_device, Path({out!r}) / name)
    for name, (names, batch, _, per_device) in {cases!r}.items()
}}
if PartialState().is_main_process:
    torch.save(updates, {result!r})
"""


@pytest.mark.slow
def test_two_processes_give_the_single_process_update(no_dropout_xlmr: Path, tmp_path: Path) -> None:
    """DDP on CPU (gloo): per-device batch x 2 processes = the recipe's batch, the single-process update
    (a single-task classification phase and a multi-task phase, in one launch)."""
    script = tmp_path / "ddp_step.py"
    result = tmp_path / "updates.pt"
    script.write_text(
        DDP_SCRIPT.format(
            tests=str(Path(__file__).parent),
            base=str(no_dropout_xlmr),
            cases=DDP_CASES,
            out=str(tmp_path / "ddp"),
            result=str(result),
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += ["--master_port", str(_free_port()), str(script)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    updates = torch.load(result)
    for name, (names, batch, single, _) in DDP_CASES.items():
        reference = one_sgd_step(no_dropout_xlmr, names, batch, single, tmp_path / "single" / name)
        ratio, difference = _compare(reference, updates[name])
        print(f"DDP {name}: |update 2 processes| / |update 1| = {ratio:.6f}, max difference {difference:.2e}")
        assert abs(ratio - 1) < SAME_UPDATE and difference < SAME_UPDATE


class RecordLearningRates(TrainerCallback):
    """The learning rate each optimizer step uses."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.trainer = None

    def on_step_begin(self, args, state, control, **kwargs):
        self.rates.append(self.trainer.optimizer.param_groups[0]["lr"])


@pytest.mark.parametrize(("warmup", "expected"), [(0.25, [0, 0.5, 1, 5 / 6]), (3, [0, 1 / 3, 2 / 3, 1])])
def test_warmup_fraction_or_steps_sets_the_first_learning_rates(
    tiny_xlmr: Path, tmp_path: Path, warmup: float, expected: list[float]
) -> None:
    # 8 steps: warmup 0.25 -> ceil(0.25 x 8) = 2 warmup steps on every transformers version; 3 -> 3 steps
    settings = _settings(["mnli"], 4, 4, learning_rate=1e-3, warmup=warmup, max_steps=8)
    recorder = RecordLearningRates()
    phase = build_trainer(_tasks(["mnli"], rows=32), tiny_xlmr, tmp_path, settings, callbacks=[recorder])
    recorder.trainer = phase.trainer
    phase.trainer.train()
    assert recorder.rates[:4] == pytest.approx([1e-3 * r for r in expected], rel=1e-6)
    assert len(recorder.rates) == 8


def test_the_recipe_batch_is_split_or_refused_with_the_numbers() -> None:
    assert split_batch(32, 1) == BatchSplit(32, 32, 1, 1)
    assert split_batch(32, 8) == BatchSplit(32, 4, 1, 8)  # 8 GPUs keep the recipe's 32, not 8 x 32
    assert split_batch(32, 1, per_device=8) == BatchSplit(32, 8, 4, 1)  # XTREME on a small GPU: 8 x 4
    assert split_batch(32, 2, accumulation=4) == BatchSplit(32, 4, 4, 2)
    with pytest.raises(ConfigError, match=r"batch of 4 cannot be split .* on 8 device\(s\)"):
        split_batch(4, 8)  # X-STILTs' batch 4 on 8 GPUs
    with pytest.raises(ConfigError, match="per-device batch 12") as error:
        split_batch(32, 1, per_device=12)
    assert error.value.where == "--per-device-batch-size"
    assert split_batch(32, 1, accumulation=4, per_device=8) == BatchSplit(32, 8, 4, 1)  # both, consistent
    with pytest.raises(ConfigError, match=r"per-device batch 8 x 2 accumulation steps .* batch of 32"):
        split_batch(32, 1, accumulation=2, per_device=8)


def test_settings_refuse_what_cannot_train() -> None:
    for bad in ({"save_steps": 0}, {"save_steps": 2.5}, {"early_stopping_patience": -1}):
        with pytest.raises(ConfigError):
            _settings(["mnli"], 4, 4, **bad).check()
    _settings(["mnli"], 4, 4, save_steps=0.25).check()  # a fraction of the phase


def test_tf32_without_an_ampere_gpu_is_one_clear_error(tiny_xlmr: Path, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="Ampere") as error:
        _settings(["mnli"], 4, 4, tf32=True).check()
    assert error.value.where == "--tf32"


def test_a_saved_phase_tokenizer_keeps_no_state_of_its_last_call(tiny_xlmr, tmp_path) -> None:
    """A fast tokenizer remembers the truncation of its last call and writes it into tokenizer.json; a
    phase forgets it before saving, so the saved files do not depend on whether featurization ran or came
    from the datasets cache (`make demo` twice gave two tokenizer.json files)."""
    from transformers import AutoTokenizer

    from mlqa_domain.training.trainer import _reset_call_state

    tokenizer = AutoTokenizer.from_pretrained(tiny_xlmr)
    tokenizer.save_pretrained(tmp_path / "fresh")
    tokenizer("a question", "a context", truncation="only_second", max_length=64, stride=8)
    tokenizer.save_pretrained(tmp_path / "after-a-call")
    _reset_call_state(tokenizer)
    tokenizer.save_pretrained(tmp_path / "reset")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        fresh = (tmp_path / "fresh" / name).read_bytes()
        assert (tmp_path / "reset" / name).read_bytes() == fresh, name
    after_a_call = (tmp_path / "after-a-call" / "tokenizer.json").read_bytes()
    assert after_a_call != (tmp_path / "fresh" / "tokenizer.json").read_bytes()  # what the reset undoes
