"""The `bench` app: its commands and option defaults taken from the library's settings (the package
layers: tests/test_architecture.py)."""

from __future__ import annotations

import inspect
import logging
import re
import subprocess
import sys

import pytest

from mlqa_domain.benchmark import settings as bench_settings
from mlqa_domain.benchmark.settings import RUN, STILTS, RunSettings, StiltsConfig


def option_defaults(command) -> dict[str, object]:
    """``{parameter: default}`` of a typer command function (typer.Option / Argument defaults)."""
    return {name: param.default.default for name, param in inspect.signature(command).parameters.items()}


def test_bench_app_has_every_command_in_help_order() -> None:
    from mlqa_domain.bench_cli import app
    from mlqa_domain.benchmark.commands import COMMANDS
    from mlqa_domain.training.commands import COMMANDS as TRAINING_COMMANDS

    assert [name for name, _ in COMMANDS] == ["run", "import", "score", "power", "compare"]
    assert [name for name, _ in TRAINING_COMMANDS] == ["stilts", "baselines"]
    registered = [command.name for command in app.registered_commands]
    assert registered == ["run", "import", "score", "power", "compare", "stilts", "baselines", "submit"]
    assert [group.name for group in app.registered_groups] == ["lm-eval", "leaderboard"]
    for name, command in [*COMMANDS, *TRAINING_COMMANDS]:
        assert command.__name__.rstrip("_") == name and command.__doc__, name


def test_python_m_bench_cli_shows_the_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mlqa_domain.bench_cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for name in (
        "run",
        "score",
        "power",
        "stilts",
        "baselines",
        "compare",
        "submit",
        "lm-eval",
        "leaderboard",
    ):
        assert name in proc.stdout


def test_run_options_default_to_the_run_settings() -> None:
    from mlqa_domain.benchmark.commands.run import run
    from mlqa_domain.benchmark.runner import run_benchmark

    defaults = option_defaults(run)
    for name in ("split", "revision", "batch_size", "device", "precision", "max_seq_length", "doc_stride"):
        assert defaults[name] == getattr(RUN, name), name
    assert defaults["max_answer_length"] == RUN.max_answer_length and defaults["n_best"] == RUN.n_best
    assert inspect.signature(run_benchmark).parameters["settings"].default == RunSettings()
    assert (RUN.max_seq_length, RUN.doc_stride) == (bench_settings.MAX_SEQ_LENGTH, bench_settings.DOC_STRIDE)


def test_stilts_and_baselines_share_the_run_defaults() -> None:
    from mlqa_domain.benchmark.features import prepare_validation_features
    from mlqa_domain.training.baselines import _RunSection, _TargetSection
    from mlqa_domain.training.commands.baselines import baselines
    from mlqa_domain.training.commands.stilts import stilts
    from mlqa_domain.training.stilts import make_config
    from mlqa_domain.training.task_registry import NO_TASK, HyperParams

    defaults = option_defaults(stilts)
    assert defaults["intermediate"] == NO_TASK and defaults["target"] == STILTS.target
    for name in ("eval_split", "eval_batch_size", "seed"):
        assert defaults[name] == getattr(STILTS, name), name
    # not given: the recipe's value for the phase, else the run-wide default (STILTS); given: both phases
    assert defaults["save_steps"] is None and defaults["early_stopping_patience"] is None
    assert (STILTS.save_steps, STILTS.early_stopping_patience) == (0.1, 0)  # a tenth of a phase; off
    assert option_defaults(baselines)["early_stopping_patience"] is None
    # phase 3 is a `bench run`: the same split, batch size and precision by default
    assert (STILTS.eval_split, STILTS.eval_batch_size, STILTS.eval_precision) == (
        RUN.split,
        RUN.batch_size,
        RUN.precision,
    )
    run_section, target = _RunSection(), _TargetSection()
    assert (run_section.seed, run_section.save_steps, run_section.eval_split) == (
        STILTS.seed,
        STILTS.save_steps,
        STILTS.eval_split,
    )
    assert target.task == STILTS.target
    parameters = inspect.signature(make_config).parameters
    assert parameters["intermediate"].default == NO_TASK and parameters["target"].default == STILTS.target
    assert HyperParams().doc_stride == bench_settings.DOC_STRIDE
    features = inspect.signature(prepare_validation_features).parameters
    assert (features["max_seq_length"].default, features["doc_stride"].default) == (
        RUN.max_seq_length,
        RUN.doc_stride,
    )
    assert make_config("some/model") == StiltsConfig(base="some/model")


def test_the_shipped_squad_target_trains_with_the_run_feature_lengths() -> None:
    from mlqa_domain.training.stilts import make_config, plan_phases

    (target,) = plan_phases(make_config("some/model"))
    assert (target.settings.max_seq_length, target.settings.doc_stride) == (
        RUN.max_seq_length,
        RUN.doc_stride,
    )
    assert (target.settings.seed, target.settings.save_steps) == (STILTS.seed, STILTS.save_steps)


def test_library_warnings_go_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    import torch

    from mlqa_domain.benchmark.inference import prepare_model

    with caplog.at_level(logging.WARNING, logger="mlqa_domain"):
        prepare_model(torch.nn.Linear(2, 2), torch.device("cpu"), "bf16")
    (record,) = caplog.records
    assert record.name == "mlqa_domain.benchmark.inference" and "bf16 on CPU is slow" in record.getMessage()


def _all_commands():
    """``(program and path, click command)`` of every command of both CLIs."""
    import typer.main

    from mlqa_domain.bench_cli import app as bench_app
    from mlqa_domain.cli import app as mlqa_app

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    for program, app in (("bench", bench_app), ("mlqa-domain", mlqa_app)):
        yield from walk(typer.main.get_command(app), program)


@pytest.mark.parametrize("module", ["mlqa_domain.bench_cli", "mlqa_domain.cli"])
def test_both_clis_print_their_version(module: str) -> None:
    import mlqa_domain

    proc = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"mlqa-domain {mlqa_domain.__version__}"


def test_one_meaning_per_short_option_and_one_metavar_style() -> None:
    """-l is --leaderboard, -o --out, -s --source everywhere; no <bool>/<str> placeholders in any --help."""
    from typer.testing import CliRunner

    from mlqa_domain.bench_cli import app as bench_app
    from mlqa_domain.cli import app as mlqa_app

    meaning = {"-l": "--leaderboard", "-o": "--out", "-s": "--source"}
    seen = 0
    for path, command in _all_commands():
        for param in command.params:
            for short in (o for o in param.opts if len(o) == 2):
                assert short in meaning and meaning[short] in param.opts, (path, param.opts)
                seen += 1
        if getattr(command, "commands", None):
            continue
        program, *words = path.split()
        app = bench_app if program == "bench" else mlqa_app
        result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"}, terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        assert not re.search(r"<(bool|str|int|float|path)>", result.output), (path, result.output)
    assert seen >= 8  # submit, compare, init, render, show, run, build ...
