"""What a newcomer sees in the terminal: the results stay on screen after the progress bars, tables fit 80
columns (whole words, a named list of what was left out), and stderr without a terminal gets log lines."""

from __future__ import annotations

import fcntl
import io
import logging
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from fixtures.leaderboard import factory
from rich.console import Console
from test_bench_run import demo_repo, qa_checkpoint  # noqa: F401 - the fixtures of the end-to-end test

from mlqa_domain.benchmark.compare import comparison_table
from mlqa_domain.benchmark.results import aggregates_table, cross_lingual_table, results_table
from mlqa_domain.leaderboard.dataset_info import init_leaderboard
from mlqa_domain.leaderboard.store import LocalStore
from mlqa_domain.leaderboard.table import store_table
from mlqa_domain.leaderboard.terminal import ShowSettings, rich_table
from mlqa_domain.terminal_tables import abbreviations, fit_table, legend

LANGUAGES = ["en", "de", "es", "ar", "hi", "vi", "zh"]
DOMAINS = ["biomedical", "legal", "finance", "science"]
BENCH = "import sys; from mlqa_domain.bench_cli import main; sys.argv = ['bench', *sys.argv[1:]]; main()"
ELAPSED = re.compile(rb"\d:\d\d:\d\d")  # the bars' elapsed/remaining time columns (never in a table)


def render(table, width: int = 80) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.export_text()


def assert_fits(text: str, width: int = 80) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, "\n".join(too_wide)
    assert "…" not in text  # nothing cut off


def seven_language_results() -> dict:
    """A results.json of the size of a full MLQA run: 6 kinds of config x 49 language pairs."""
    configs, gaps, power = {}, {}, {}
    for domain in [*DOMAINS, "general", "all"]:
        for ctx in LANGUAGES:
            for q in LANGUAGES:
                name = f"{domain}.{ctx}" if ctx == q else f"{domain}.{ctx}.{q}"
                configs[name] = {"count": 5495, "exact_match": 52.73, "f1": 71.61}
                power[name] = {"min_detectable_f1": None if domain == "science" else 11.25}
                if domain in DOMAINS:
                    gaps[name] = {"f1_gap": -12.34, "f1_ci95": [-15.55, -10.01]}
    aggregates = {"mlqa": {"languages": LANGUAGES, "count": 38465, "exact_match": 52.7, "f1": 71.6}}
    aggregates["mlqa"]["f1_ci95"] = [70.12, 72.99]
    for domain in DOMAINS:
        aggregates[f"domain:{domain}"] = {
            "languages": LANGUAGES,
            "count": 1234,
            "exact_match": 50.0,
            "f1": 66.66,
            "f1_ci95": [64.01, 69.99],
            "min_detectable_f1": 3.5,
        }
        aggregates[f"gap:{domain}"] = {
            "languages": ["de", "en", "es", "hi"],
            "count": 23456,
            "exact_match": -4.0,
            "f1": -12.34,
            "f1_ci95": [-15.55, -10.01],
            "min_detectable_f1": 4.5,
        }
    return {
        "model": {"id": "xlm-roberta-large-mnli-squad"},
        "dataset": {"path": "mlqa-domain", "split": "test"},
        "configs": configs,
        "config_gaps": gaps,
        "power": power,
        "aggregates": aggregates,
        "cross_lingual": {
            "languages": LANGUAGES,
            "f1": {c: dict.fromkeys(LANGUAGES, 61.23) for c in LANGUAGES},
        },
    }


def test_bench_run_tables_fit_80_columns_with_whole_names() -> None:
    results = seven_language_results()
    per_config = render(results_table(results, 80))
    assert_fits(per_config)
    assert "biomedical.de.en" in per_config and "-12.34 [-15.55, -10.01]" in per_config  # one line each
    assert "MDE '-': every question got the same score" in " ".join(per_config.split())
    summary = render(aggregates_table(results, 80))
    assert_fits(summary)
    assert "domain:biomedical" in summary and "gap:biomedical" in summary
    matrix = render(cross_lingual_table(results, 80))
    assert_fits(matrix)
    assert all(f" {lang} " in matrix for lang in LANGUAGES)


def test_a_narrow_terminal_leaves_columns_out_by_name_and_wide_keeps_them() -> None:
    results = seven_language_results()
    narrow = render(results_table(results, 70), width=70)
    assert_fits(narrow, 70)
    assert "left out to fit 70 columns: 'MDE' (--wide shows all)" in " ".join(narrow.split())
    assert "--wide shows all" in narrow
    wide = render(results_table(results, None), width=200)
    assert "MDE" in wide and "left out" not in wide


def test_fit_table_drops_in_the_given_order_only_while_too_wide() -> None:
    from rich.table import Table

    table = Table()
    for header in ("name", "first optional", "second optional"):
        table.add_column(header, no_wrap=True)
    table.add_row("x" * 30, "y" * 30, "z" * 30)
    assert fit_table(table, 80, ["second optional", "first optional"]) == ["second optional"]
    assert [c.header for c in table.columns] == ["name", "first optional"]
    assert "left out to fit 80 columns: 'second optional'" in str(table.caption)
    assert fit_table(table, None, ["first optional"]) == []


def test_abbreviations_are_unique_prefixes_with_a_legend() -> None:
    short = abbreviations(["biomedical", "biology_ext", "legal", "finance", "science"])
    assert short == {
        "biomedical": "biom",
        "biology_ext": "biol",
        "legal": "legal",
        "finance": "fin",
        "science": "sci",
    }
    assert legend(short) == "biom = biomedical, biol = biology_ext, fin = finance, sci = science"


def test_comparison_table_fits_80_columns() -> None:
    row = {
        "count": 38465,
        "a": {"f1": 71.61},
        "b": {"f1": 70.02},
        "difference": {"f1": 1.59},
        "f1_ci95": [-10.55, 12.01],
        "p_value": 0.0004,
        "min_detectable_f1": None,
    }
    report = {
        "a": {"label": "xlm-roberta-large-mnli-squad"},
        "b": {"label": "xlm-roberta-large-squad"},
        "aggregates": {"mlqa": row, "domain:biomedical": row, "gap:biomedical": row},
        "configs": {"biomedical.de.en": row},
    }
    text = render(comparison_table(report, width=80))
    assert_fits(text)
    assert "domain:biomedical" in text and "biomedical.de.en" in text and "[-10.55, +12.01]" in text
    assert "--wide shows all" in text
    assert "MDE" in render(comparison_table(report, width=None), width=200)


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """A leaderboard of two entries with long model names and a long submitter name."""
    from mlqa_domain.leaderboard.verify import submit

    root = tmp_path_factory.mktemp("narrow-board")
    dataset = factory.build_dataset_repo(root / "mlqa-domain")
    gold = factory.load_gold(dataset)
    store = LocalStore(root / "board")
    init_leaderboard(store, dataset)
    for i, model in enumerate(["org/xlm-roberta-large-mnli-squad", "org/xlm-roberta-large-squad"]):
        run = factory.write_results_dir(root / f"run{i}", dataset, gold, model, 0.5 + i / 10)
        submit(run, store, submitter="Ana Berg-Lindqvist")
    return store


def test_leaderboard_show_fits_80_columns_and_names_what_it_leaves_out(board: LocalStore) -> None:
    table = store_table(board)
    narrow = render(rich_table(table, ShowSettings(width=80)))
    assert_fits(narrow)
    assert "org/xlm-roberta-large-mnli-squad" in narrow  # the model name is never cut
    flat = " ".join(narrow.split())
    assert "bio = biomedical" in flat and " bio " in narrow  # the gap header "gap bio", wrapped
    assert "left out to fit 80 columns:" in flat and "'Submitter'" in flat and "Ana Berg" not in flat
    wide = render(rich_table(table, ShowSettings(width=None)), width=300)
    assert "Submitter" in wide and "Ana Berg-Lindqvist" in wide and "left out" not in wide


def test_without_a_terminal_only_outermost_tasks_log_a_line() -> None:
    from mlqa_domain import progress
    from mlqa_domain.cli_utils import LogReporter

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("test.progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with progress.reporting(LogReporter(logger)):
        for _ in progress.track(["legal.de", "legal.en"], "configs scored"):
            with progress.task("inference", 3) as advance:
                advance(3)
    assert len(records) == 1 and re.fullmatch(r"configs scored: 2/2 in \d+\.\ds", records[0]), records


def test_training_steps_are_one_progress_task_and_metrics_are_log_lines() -> None:
    from types import SimpleNamespace

    from mlqa_domain import progress
    from mlqa_domain.training.trainer import ReportProgress

    events: list[tuple] = []

    class Recorder:
        def start(self, description: str, total: float | None) -> progress.Advance:
            events.append(("start", description, total))
            return lambda n=1: events.append(("advance", n))

        def finish(self, description: str) -> None:
            events.append(("finish", description))

    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    training_logger = logging.getLogger("mlqa_domain.training.trainer")
    training_logger.addHandler(handler)
    level = training_logger.level
    training_logger.setLevel(logging.INFO)
    state = SimpleNamespace(is_local_process_zero=True, max_steps=10, global_step=4)  # resumed at step 4
    callback = ReportProgress("training phase1")
    try:
        with progress.reporting(Recorder()):
            callback.on_train_begin(None, state, None)
            for step in (5, 7):
                state.global_step = step
                callback.on_step_end(None, state, None)
            callback.on_log(None, state, None, logs={"loss": 0.123456, "total_flos": 1e12})
            callback.on_train_end(None, state, None)
    finally:
        training_logger.removeHandler(handler)
        training_logger.setLevel(level)
    assert events == [
        ("start", "training phase1", 10),
        ("advance", 4),
        ("advance", 1),
        ("advance", 2),
        ("finish", "training phase1"),
    ]
    assert messages == ["training phase1, step 7: {'loss': '0.1235'}"]


def test_leaderboard_show_wide_prints_every_column_whole_past_the_terminal_edge(board: LocalStore) -> None:
    from typer.testing import CliRunner

    from mlqa_domain.bench_cli import app

    args = ["leaderboard", "show", "--leaderboard", str(board.root)]
    narrow = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 80 and "Ana Berg" not in narrow.output
    wide = CliRunner().invoke(app, [*args, "--wide"], env={"COLUMNS": "80"})
    assert wide.exit_code == 0, wide.output
    assert "org/xlm-roberta-large-mnli-squad" in wide.output and "Ana Berg-Lindqvist" in wide.output
    assert "left out" not in wide.output


def _bench_run_args(model: Path, data: Path, out: Path) -> list[str]:
    return [
        "run",
        "--model",
        str(model),
        "--data",
        str(data),
        "--out",
        str(out),
        "--max-seq-length",
        "128",
        "--doc-stride",
        "32",
    ]


def _progress_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLQA_DOMAIN_NO_PROGRESS"}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24", "NO_COLOR": "1"}


def run_in_pty(args: list[str], env: dict[str, str], timeout: float = 300) -> bytes:
    """Run ``args`` with stdin, stdout and stderr on one 80x24 pseudo-terminal; everything it wrote."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(args, stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
        proc.wait(timeout=30)
    assert proc.returncode == 0, output.decode("utf-8", "replace")[-3000:]
    return bytes(output)


@pytest.mark.slow
def test_bench_run_results_stay_below_the_last_progress_bar_in_a_terminal(
    demo_repo: Path,  # noqa: F811
    qa_checkpoint: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    args = [sys.executable, "-c", BENCH, *_bench_run_args(qa_checkpoint, demo_repo, tmp_path / "results")]
    output = run_in_pty(args, _progress_env())
    table_start = output.find(b"on mlqa-domain (test)")  # the title of the results table
    bars = [m.start() for m in ELAPSED.finditer(output)]
    assert bars, "no progress bar was drawn in the terminal"
    assert table_start > bars[-1], "a progress bar was drawn after the results table"
    # nothing is redrawn over the results: no cursor movement or line erasing after they start
    after = output[table_start:]
    assert b"\x1b[2K" not in after and b"\x1b[1A" not in after and b"\r" not in after.replace(b"\r\n", b"")
    assert b"configs scored" in output[:table_start]
    assert b"\nwrote " in after and after.rstrip().endswith(b"prediction file(s)")  # the summary, last


@pytest.mark.slow
def test_bench_run_without_a_terminal_logs_one_line_per_stage_and_draws_no_bar(
    demo_repo: Path,  # noqa: F811
    qa_checkpoint: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    args = [sys.executable, "-c", BENCH, *_bench_run_args(qa_checkpoint, demo_repo, tmp_path / "results")]
    proc = subprocess.run(args, capture_output=True, env=_progress_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert not ELAPSED.search(proc.stderr) and b"\x1b[" not in proc.stderr  # no bar, no redraw
    stage_lines = [line for line in proc.stderr.decode("utf-8").splitlines() if "configs scored:" in line]
    assert len(stage_lines) == 1 and re.search(r"configs scored: (\d+)/\1 in \d+\.\ds", stage_lines[0])
    assert b"on mlqa-domain (test)" in proc.stdout
