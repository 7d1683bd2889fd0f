"""`classifier-data`: fastText training text from local copies of the intermediate-task datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.labeling.classifiers.fasttext_classifier import read_labelled
from mlqa_domain.labeling.taxonomy import load_taxonomy
from mlqa_domain.labeling.training_data import (
    TrainingDataSettings,
    build_training_file,
    chunk_text,
    parse_task,
    resolve_label,
    texts_of,
)

CONTRACT = (
    "This Agreement is entered into by the Licensor and the Licensee.\n\n"
    "The Licensee shall pay all fees within thirty days of the invoice date. "
    "Late payments bear interest at one percent per month.\n\n"
    "Either party may terminate this Agreement upon written notice."
)


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tasks")
    # CUAD / COVID-QA: SQuAD json
    squad = {
        "data": [
            {"title": "contract", "paragraphs": [{"context": CONTRACT, "qas": []}]},
            {"title": "dup", "paragraphs": [{"context": CONTRACT, "qas": []}]},
        ]
    }
    (root / "cuad.json").write_text(json.dumps(squad))
    # PubMedQA: context is {"contexts": [...], "labels": [...], "meshes": [...]}
    pubmed = [
        {
            "pubid": 1,
            "question": "q",
            "context": {"contexts": ["Aspirin reduced mortality.", "In 200 patients."], "labels": ["A", "B"]},
        },
        {
            "pubid": 2,
            "question": "q",
            "context": {"contexts": ["The vaccine induced antibodies in mice."], "labels": ["A"]},
        },
    ]
    (root / "pubmedqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pubmed))
    # CaseHOLD: citing_prompt, in parquet
    table = pa.table(
        {
            "citing_prompt": [
                "The court held that the statute of limitations barred the claim (<HOLDING>).",
                "Short.",
            ],
            "holding_0": ["a", "b"],
        }
    )
    pq.write_table(table, root / "casehold.parquet")
    # SQuAD flattened rows (hub parquet/jsonl): the same context repeats once per question
    squad_rows = [
        {"id": str(i), "context": "The river flows through the old town past the cathedral.", "question": "q"}
        for i in range(3)
    ]
    (root / "squad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in squad_rows))
    # financial_phrasebank: sentence column, csv
    (root / "phrasebank.csv").write_text(
        'sentence,label\n"Operating profit rose to EUR 13.1 mn from EUR 8.7 mn.",2\n'
    )
    return root


def test_labels_from_task_names() -> None:
    tax = load_taxonomy()
    assert resolve_label("cuad", tax) == "legal"
    assert resolve_label("PubMedQA", tax) == "biomedical"
    assert resolve_label("squad", tax) == "general" and resolve_label("wikipedia", tax) == "general"
    assert resolve_label("finance", tax) == "finance" and resolve_label("general", tax) == "general"
    with pytest.raises(ConfigError, match="unknown task or domain 'mnli'"):
        resolve_label("mnli", tax)
    with pytest.raises(ConfigError, match="NAME=PATH"):
        parse_task("legal", tax)


def test_text_fields_of_hub_formats() -> None:
    assert texts_of({"context": {"contexts": ["A.", "B."]}}) == ["A. B."]
    assert texts_of({"citing_prompt": "held (<HOLDING>)"}) == ["held (<HOLDING>)"]
    assert texts_of({"support": "Mitochondria make ATP.", "question": "q"}) == ["Mitochondria make ATP."]
    assert texts_of({"text": "clause", "label": 3}) == ["clause"]
    assert texts_of({"body": "x"}, text_field="body") == ["x"]
    assert texts_of({"question": "only"}) == []


def test_chunking_keeps_pieces_under_the_limit() -> None:
    chunks = chunk_text(CONTRACT, 100)
    assert all(len(c) <= 100 for c in chunks) and len(chunks) >= 3
    assert " ".join(chunks).split() == CONTRACT.split()
    assert chunk_text("short", 100) == ["short"]
    assert all(len(c) <= 10 for c in chunk_text("x" * 25, 10))


def test_build_training_file(task_dir: Path, tmp_path: Path) -> None:
    tax = load_taxonomy()
    tasks = [
        parse_task(f"cuad={task_dir / 'cuad.json'}", tax),
        parse_task(f"casehold={task_dir / 'casehold.parquet'}", tax),
        parse_task(f"pubmedqa={task_dir / 'pubmedqa.jsonl'}", tax),
        parse_task(f"finance={task_dir / 'phrasebank.csv'}", tax),
        parse_task(f"squad={task_dir / 'squad.jsonl'}", tax),
    ]
    out = tmp_path / "train.txt"
    report = build_training_file(tasks, out, TrainingDataSettings(max_chars=120, min_chars=20))
    items = read_labelled(out)
    texts = {label: [i.text for i in items if i.labels == (label,)] for label in report.per_label}
    # the contract is cut into chunks; its duplicate article adds nothing; "Short." is too short
    assert report.per_label == {"biomedical": 2, "finance": 1, "general": 1, "legal": len(texts["legal"])}
    assert len(texts["legal"]) == len(chunk_text(CONTRACT, 120)) + 1
    assert report.duplicates == len(chunk_text(CONTRACT, 120)) + 2 and report.too_short == 1
    assert "Aspirin reduced mortality. In 200 patients." in texts["biomedical"]
    assert all("\n" not in line for line in out.read_text().splitlines())
    # deterministic: same seed, same bytes; another seed, another order
    again = tmp_path / "again.txt"
    build_training_file(tasks, again, TrainingDataSettings(max_chars=120, min_chars=20))
    assert again.read_bytes() == out.read_bytes()
    shuffled = tmp_path / "shuffled.txt"
    build_training_file(tasks, shuffled, TrainingDataSettings(max_chars=120, min_chars=20, seed=5))
    assert shuffled.read_bytes() != out.read_bytes()
    assert sorted(shuffled.read_text().splitlines()) == sorted(out.read_text().splitlines())
    capped = build_training_file(
        tasks, tmp_path / "capped.txt", TrainingDataSettings(max_per_label=1, max_chars=120)
    )
    assert set(capped.per_label.values()) == {1}


def test_directory_of_files_and_bad_inputs(task_dir: Path, tmp_path: Path) -> None:
    tax = load_taxonomy()
    report = build_training_file([parse_task(f"legal={task_dir}", tax)], tmp_path / "all.txt")
    assert report.per_label["legal"] >= 5  # every file of the directory, all labelled legal
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [{"title": "no paragraphs"}]}')
    with pytest.raises(InputError, match="every article needs a 'paragraphs' list"):
        build_training_file([parse_task(f"legal={bad}", tax)], tmp_path / "x.txt")
    bad.write_text('{"version": 1}')  # a JSON object that is not SQuAD is one record, here without text
    with pytest.raises(InputError, match="no texts found"):
        build_training_file([parse_task(f"legal={bad}", tax)], tmp_path / "x.txt")
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"text": CONTRACT}))
    lines = tmp_path / "lines.txt"
    lines.write_text("The tenant shall pay the rent on the first day of every month.\n\nShort.\n")
    report = build_training_file(
        [parse_task(f"legal={one}", tax), parse_task(f"legal={lines}", tax)], tmp_path / "more.txt"
    )
    assert report.per_task["legal"]["texts"] == 2  # the object's text and the long txt line
    with pytest.raises(InputError, match="not found"):
        build_training_file([parse_task(f"legal={tmp_path / 'missing'}", tax)], tmp_path / "x.txt")
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_text('{"question": "q"}\n')
    with pytest.raises(InputError, match="no texts found"):
        build_training_file([parse_task(f"legal={nothing}", tax)], tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists()


def test_classifier_data_then_train_cli(task_dir: Path, tmp_path: Path) -> None:
    from mlqa_domain.cli import app

    out = tmp_path / "train.txt"
    args = [
        "classifier-data",
        "--task",
        f"cuad={task_dir / 'cuad.json'}",
        "--task",
        f"pubmedqa={task_dir / 'pubmedqa.jsonl'}",
    ]
    result = CliRunner().invoke(
        app, [*args, "--task", f"squad={task_dir / 'squad.jsonl'}", "--out", str(out), "--max-chars", "80"]
    )
    assert result.exit_code == 0, result.output
    assert "legal" in result.output and "biomedical" in result.output and out.is_file()
    model = tmp_path / "m.bin"
    result = CliRunner().invoke(
        app,
        ["train-classifier", "--data", str(out), "--out", str(model), "--valid-fraction", "0", "--dim", "8"],
    )
    assert result.exit_code == 0, result.output
    assert model.is_file()
    result = CliRunner().invoke(
        app, ["classifier-data", "--task", "mnli=x", "--out", str(tmp_path / "y.txt")]
    )
    assert isinstance(result.exception, ConfigError)
