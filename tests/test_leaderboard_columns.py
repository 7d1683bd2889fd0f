"""One column list drives the leaderboard: a new column shows in the table, CSV, page and `show`."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fixtures.leaderboard import factory
from rich.console import Console

from mlqa_domain.leaderboard import columns
from mlqa_domain.leaderboard.columns import Column
from mlqa_domain.leaderboard.dataset_info import init_leaderboard
from mlqa_domain.leaderboard.render import render_site
from mlqa_domain.leaderboard.store import LocalStore
from mlqa_domain.leaderboard.table import store_table
from mlqa_domain.leaderboard.terminal import rich_table
from mlqa_domain.leaderboard.verify import submit

PRECISION = Column(
    "precision",
    "Precision",
    kind="text",
    group="run",
    value=lambda row: row.entry.submission.settings.precision,
)
N_TASKS = Column(
    "n_intermediate",
    "Steps",
    kind="int",
    group="run",
    show=False,
    value=lambda row: len(row.intermediate_tasks),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> LocalStore:
    root = tmp_path_factory.mktemp("lb-columns")
    dataset = factory.build_dataset_repo(root / "mlqa-domain")
    gold = factory.load_gold(dataset)
    store = LocalStore(root / "board")
    init_leaderboard(store, dataset)
    for i, (model, skill, tasks) in enumerate([("org/a", 0.4, []), ("org/b", 0.7, ["mnli", "cuad"])]):
        run = factory.write_results_dir(
            root / f"run{i}", dataset, gold, model, skill, intermediate_tasks=tasks
        )
        submit(run, store, submitter="ana")
    return store


def _show(table) -> str:
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(rich_table(table))
    return console.export_text()


def test_a_column_added_to_the_list_appears_everywhere(store, tmp_path, monkeypatch):
    monkeypatch.setattr(columns, "COLUMNS", [*columns.COLUMNS, PRECISION, N_TASKS])
    site = tmp_path / "site"
    table = render_site(store, site)
    assert [c.key for c in table.columns()][-2:] == ["precision", "n_intermediate"]
    # leaderboard.json
    entries = json.loads((site / "leaderboard.json").read_text("utf-8"))["entries"]
    assert [(e["model"], e["precision"], e["n_intermediate"]) for e in entries] == [
        ("org/b", "fp32", 2),
        ("org/a", "fp32", 0),
    ]
    # leaderboard.csv
    rows = list(csv.DictReader(io.StringIO((site / "leaderboard.csv").read_text("utf-8"))))
    assert list(rows[0])[-2:] == ["precision", "n_intermediate"]
    assert [(r["precision"], r["n_intermediate"]) for r in rows] == [("fp32", "2"), ("fp32", "0")]
    # the page: a sortable header under its group, a cell per row
    index = (site / "index.html").read_text("utf-8")
    assert '<th colspan="2" class="group">run</th>' in index
    assert '<th data-type="text" data-key="precision"><button type="button">Precision</button></th>' in index
    assert (
        '<th data-type="number" data-key="n_intermediate"><button type="button">Steps</button></th>' in index
    )
    assert index.count('<td data-value="fp32">fp32</td>') == 2
    assert '<td data-value="2">2</td>' in index
    # `bench leaderboard show` (the second column is marked show=False)
    shown = _show(store_table(store))
    assert "Precision" in shown and shown.count("fp32") == 2
    assert "Steps" not in shown


def test_without_changes_the_outputs_follow_the_list_order(store, tmp_path):
    table = store_table(store)
    keys = [c.key for c in table.columns()]
    assert keys[:7] == ["rank", "entry_id", "model", "revision", "mlqa_f1", "mlqa_em", "mlqa_f1_std"]
    gaps = [c for c in table.columns() if c.kind == "gap"]
    assert [c.key for c in gaps] == ["gap_biomedical", "gap_legal"]
    header = table.csv_header()
    assert header[header.index("gap_legal") : header.index("gap_legal") + 3] == [
        "gap_legal",
        "gap_legal_ci_low",
        "gap_legal_ci_high",
    ]  # a gap has its CI bounds as two more CSV fields
    assert [name for name in header if "_ci_" not in name] == keys
    page = [c.key for c in table.columns("page")]
    # the main table: model, the headline, every domain, every gap; the rest behind the toggle
    main = [c.key for c in table.columns("page") if not c.detail]
    assert main == [
        "rank",
        "model",
        "mlqa_f1",
        "mlqa_em",
        "f1_biomedical",
        "f1_legal",
        "f1_general",
        "gap_biomedical",
        "gap_legal",
    ]
    assert [k for k in page if k not in main] == [
        "base_model",
        "intermediate_tasks",
        "n_seeds",
        "source",
        "submitter",
        "f1_lang_de",
        "f1_lang_es",
    ]
    show = [c.terminal_label for c in table.columns("show")]
    assert show == [
        "#",
        "Model",
        "MLQA F1",
        "MLQA EM",
        "gap biomedical",
        "gap legal",
        "Base",
        "Intermediate",
        "Submitter",
    ]
    shown = _show(table)
    assert shown.index("org/b") < shown.index("org/a") and "mnli → cuad" in shown


def test_json_entries_keep_their_shape(store):
    table = store_table(store)
    entry = table.to_json()["entries"][0]
    assert list(entry) == [
        "rank",
        "entry_id",
        "model",
        "revision",
        "mlqa_f1",
        "mlqa_em",
        "mlqa_f1_std",
        "base_model",
        "intermediate_tasks",
        "n_seeds",
        "source",
        "training_claims",
        "submitter",
        "date",
        "harness_version",
        "n_configs",
        "domain_f1",
        "domain_gap",
        "language_f1",
        "configs",
    ]
    assert entry["intermediate_tasks"] == ["mnli", "cuad"] and isinstance(entry["domain_gap"]["legal"], dict)
