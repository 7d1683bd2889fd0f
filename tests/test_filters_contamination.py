"""Contamination: contexts overlapping intermediate-task data (json, jsonl, SQuAD json, txt, parquet, csv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlqa_domain.filters.contamination as contamination_module
from mlqa_domain.errors import InputError
from mlqa_domain.example import Example
from mlqa_domain.filters import build_filters, filter_report
from mlqa_domain.filters.contamination import ContaminationFilter, NgramHasher
from mlqa_domain.filters.task_data import read_passages

LEASE = (
    "The landlord may terminate this lease agreement with thirty days written notice if the tenant fails "
    "to pay the monthly rent on time or breaches any covenant contained herein."
)
VACCINE = (
    "Patients who received the experimental vaccine developed significantly higher antibody titers than the "
    "placebo group after the second dose was administered."
)
VACCINE_PARAPHRASE = (
    "After the second dose, people given the experimental vaccine had much higher antibody levels than "
    "those who got a placebo."
)
BANK = (
    "The central bank raised its benchmark interest rate by half a percentage point on Wednesday in an "
    "effort to slow inflation that has reached a forty year high."
)
GLACIER = (
    "The glacier has retreated more than two kilometres since the first measurements were taken by the "
    "survey team in the early nineteen hundreds."
)
RIVER = "The river flows through the old town and past the cathedral built in 1248, as it has for centuries."


def make(id: str, context: str) -> Example:
    return Example(
        id=id,
        split="test",
        context_language="en",
        question_language="en",
        context=context,
        question="What is said?",
        answers={"text": [context[:3]], "answer_start": [0]},
    )


@pytest.fixture()
def task_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "filters"


def test_reads_passages_from_each_format(task_dir: Path, tmp_path: Path):
    squad = read_passages(task_dir / "squad.json")
    assert squad[0] == LEASE and len(squad) == 2  # context and question; no answers, no title
    assert read_passages(task_dir / "task.jsonl")[:2] == [VACCINE, "The vaccine raised antibody levels."]
    assert read_passages(task_dir / "task.json")[0] == BANK
    assert read_passages(task_dir / "task.txt") == [
        GLACIER,
        "Another line that shares nothing with any context.",
    ]
    assert read_passages(task_dir / "task.jsonl", fields=["hypothesis"]) == [
        "The vaccine raised antibody levels.",
        "The museum is open all night.",
    ]
    nested = tmp_path / "pubmedqa.jsonl"
    nested.write_text(
        json.dumps({"pubid": 1, "context": {"contexts": [RIVER], "labels": ["x"]}}) + "\n", "utf-8"
    )
    assert read_passages(nested) == [RIVER]  # labels are not passages


@pytest.mark.parametrize("name", ["squad.json", "task.jsonl", "task.json", "task.txt"])
def test_each_task_format_catches_its_context(task_dir: Path, name: str):
    contexts = {"squad.json": LEASE, "task.jsonl": VACCINE, "task.json": BANK, "task.txt": GLACIER}
    examples = [
        make("hit", "Some words before. " + contexts[name] + " And some after."),
        make("clean", RIVER),
    ]
    contamination = ContaminationFilter([task_dir / name])
    assert contamination(examples) == [examples[1]]
    [rejected] = contamination.rejected
    assert rejected.filter == "contamination" and str(task_dir / name) in rejected.reason
    assert rejected.reason.startswith("contamination: context shares ")
    assert "word 13-grams" in rejected.reason


def test_all_files_and_reasons_with_questions_sharing_a_context(task_dir: Path):
    examples = [
        make("lease-1", LEASE),
        make("lease-2", LEASE),  # another question on the same context
        make("vaccine", VACCINE + " The trial enrolled 400 adults."),
        make("bank", BANK),
        make("river", RIVER),
    ]
    contamination = ContaminationFilter(
        [task_dir / "squad.json", task_dir / "task.jsonl", task_dir / "task.json"]
    )
    assert [e.id for e in contamination(examples)] == ["river"]
    reasons = {r.example.id: r.reason for r in contamination.rejected}
    assert reasons["lease-1"] == reasons["lease-2"]
    assert (
        reasons["lease-1"]
        == f"contamination: context shares 17 of its 17 word 13-grams (100.0%) with {task_dir / 'squad.json'}"
    )
    assert (
        "shares 9 of its 14 word 13-grams (64.3%)" in reasons["vaccine"]
        and "task.jsonl" in reasons["vaccine"]
    )
    [report] = filter_report([contamination.stats])
    assert (report["seen"], report["kept"], report["dropped"]) == (5, 1, 4)
    assert report["reasons"] == {
        "13-gram overlap with squad.json": 2,
        "13-gram overlap with task.json": 1,
        "13-gram overlap with task.jsonl": 1,
    }


def test_contexts_hashed_a_window_at_a_time_get_the_verdicts_of_one_window(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    examples = [
        make("river", RIVER),
        make("lease", LEASE),
        make("vaccine", VACCINE + " The trial enrolled 400 adults."),
        make("glacier", "Before it. " + GLACIER),
        make("bank", BANK),
    ]
    tasks = [task_dir / "squad.json", task_dir / "task.jsonl", task_dir / "task.txt", task_dir / "task.json"]
    at_once = ContaminationFilter(tasks)
    kept = at_once(examples)
    monkeypatch.setattr(contamination_module, "NGRAM_WINDOW", 2)  # three windows: 2, 2 and 1 contexts
    hashed: list[list[str]] = []
    hashes = NgramHasher.hashes
    monkeypatch.setattr(
        NgramHasher, "hashes", lambda self, texts, lang: hashed.append(texts) or hashes(self, texts, lang)
    )
    windowed = ContaminationFilter(tasks)
    assert windowed(examples) == kept == [examples[0]]
    contexts = {e.context for e in examples}
    assert [len(texts) for texts in hashed if set(texts) <= contexts] == [2, 2, 1]  # the task files' aside
    assert [(r.example.id, r.reason) for r in windowed.rejected] == [
        (r.example.id, r.reason) for r in at_once.rejected
    ]


def test_ngram_size_and_overlap_thresholds(task_dir: Path):
    short = make("short", "Patients who received the experimental vaccine developed immunity.")  # 9 words
    padded = make("padded", VACCINE + " " + RIVER * 5)
    assert ContaminationFilter([task_dir / "task.jsonl"])([short]) == [short]  # under 13 words: no 13-grams
    eight = ContaminationFilter([task_dir / "task.jsonl"], ngram=6)
    assert eight([short]) == [] and "word 6-grams" in eight.rejected[0].reason
    assert ContaminationFilter([task_dir / "task.jsonl"], min_overlap=10)([padded]) == [padded]
    assert ContaminationFilter([task_dir / "task.jsonl"], min_fraction=0.5)([padded]) == [padded]
    assert ContaminationFilter([task_dir / "task.jsonl"])([padded]) == []


def test_flag_action_keeps_examples(task_dir: Path):
    example = make("x", LEASE)
    [contamination] = build_filters(
        {"contamination": {"paths": [str(task_dir / "squad.json")], "action": "flag"}}
    )
    assert contamination([example]) == [example]
    assert example.flags[0].startswith("contamination: context shares 17 of its 17")
    assert contamination.stats.flagged == 1 and contamination.rejected == []


def test_parquet_csv_and_directories(tmp_path: Path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    data = tmp_path / "hub" / "data"
    data.mkdir(parents=True)
    table = pa.table(
        {
            "id": ["1"],
            "context": [GLACIER],
            "question": ["How far has it retreated?"],
            "answers": [{"text": ["two kilometres"], "answer_start": [36]}],
        }
    )
    pq.write_table(table, data / "train-00000-of-00001.parquet")
    (tmp_path / "hub" / "mnli.csv").write_text(f'premise,hypothesis\n"{BANK}",It rose.\n', "utf-8")
    (tmp_path / "hub" / "README.md").write_text("not task data", "utf-8")
    contamination = ContaminationFilter([tmp_path / "hub"])
    assert [p.relative_to(tmp_path / "hub").as_posix() for p in contamination.files] == [
        "data/train-00000-of-00001.parquet",
        "mnli.csv",
    ]
    examples = [make("g", GLACIER), make("b", BANK), make("r", RIVER)]
    assert contamination(examples) == [examples[2]]
    assert "train-00000-of-00001.parquet" in contamination.rejected[0].reason
    assert "mnli.csv" in contamination.rejected[1].reason


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("task.xml", "<a/>", "unsupported task data format"),
        ("bad.jsonl", '{"text": "ok"}\n{"text": \n', "line 2, column 10: invalid JSON"),
        ("bad.json", "[1, 2", "line 1, column 6: invalid JSON"),
        ("empty.jsonl", '{"label": 1}\n', "no passages found"),
    ],
)
def test_bad_task_files_are_input_errors(tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content, "utf-8")
    with pytest.raises(InputError) as info:
        ContaminationFilter([path])([make("x", RIVER)])
    assert message in str(info.value) and info.value.where == str(path)


def test_empty_directory_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="no task data files"):
        ContaminationFilter([tmp_path])


def test_ngram_hashes_stay_inside_each_text():
    hasher = NgramHasher(3)
    hashes, owner = hasher.hashes(["a b c d", "e f", "g h i"], "en")
    assert owner.tolist() == [0, 0, 2]  # "c d e" and "d e f" would cross texts
    again, _ = hasher.hashes(["x b c d"], "en")
    assert again[-1] == hashes[1] and again[0] != hashes[0]


def test_embedding_overlap_catches_a_paraphrase(task_dir: Path, minilm_path: Path, tmp_path: Path):
    config = {
        "contamination": {
            "paths": [str(task_dir / "task.jsonl")],
            "model": str(minilm_path),
            "cache_dir": str(tmp_path),
            "cosine_threshold": 0.85,
        }
    }
    [contamination] = build_filters(config)
    examples = [make("para", VACCINE_PARAPHRASE), make("river", RIVER)]
    assert contamination(examples) == [examples[1]]
    [rejected] = contamination.rejected
    assert rejected.reason.startswith("contamination: context embedding cosine 0.9")
    assert rejected.reason.endswith(f">= 0.85 with a passage of {task_dir / 'task.jsonl'}")
    assert contamination.stats.reasons == {"embedding overlap with task.jsonl": 1}
    without_encoder = ContaminationFilter([task_dir / "task.jsonl"])
    assert without_encoder(examples) == examples


def test_parallel_translations_of_a_leaked_context_go_too(task_dir: Path):
    english = make("q-lease", LEASE)
    german = make(
        "q-lease", "Der Vermieter kann diesen Mietvertrag mit einer Frist von dreißig Tagen kündigen."
    )
    german.context_language = german.question_language = "de"
    other = make("q-river", RIVER)
    contamination = ContaminationFilter([task_dir / "squad.json"])
    assert contamination([english, german, other]) == [other]
    reasons = {r.example.context_language: r.reason for r in contamination.rejected}
    assert "squad.json" in reasons["en"]
    assert "parallel instance of id q-lease" in reasons["de"]
