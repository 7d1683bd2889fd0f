"""The one reader of intermediate-task files: every file type, directories, tables, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlqa_domain.errors import InputError
from mlqa_domain.task_files import SUFFIXES, iter_records, list_files, read_dataset

CONTEXT = "The court ruled that the contract was void."
SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Law",
            "paragraphs": [
                {
                    "context": CONTEXT,
                    "qas": [
                        {
                            "id": "q1",
                            "question": "What was void?",
                            "answers": [{"text": "the contract", "answer_start": 21}],
                        },
                        {
                            "id": "q2",
                            "question": "Who ruled?",
                            "answers": [{"text": "The court", "answer_start": 0}],
                        },
                    ],
                },
                {"context": "A paragraph without questions.", "qas": []},
            ],
        }
    ],
}
ROWS = [
    {"premise": "A man sleeps.", "hypothesis": "A person rests.", "label": 0},
    {"premise": "It rains.", "hypothesis": "It is dry.", "label": 2},
]


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """One file of each supported type, holding the same two NLI rows (SQuAD json: a SQuAD document)."""
    out = {
        "squad.json": json.dumps(SQUAD),
        "rows.json": json.dumps(ROWS),
        "rows.jsonl": "".join(json.dumps(row) + "\n\n" for row in ROWS),
        "rows.csv": "premise,hypothesis,label\nA man sleeps.,A person rests.,0\nIt rains.,It is dry.,2\n",
        "rows.tsv": "premise\thypothesis\tlabel\nA man sleeps.\tA person rests.\t0\n"
        "It rains.\tIt is dry.\t2\n",
        "lines.txt": "A man sleeps.\n\n  It rains.  \n",
    }
    paths = {}
    for name, text in out.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    paths["rows.parquet"] = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), paths["rows.parquet"])
    return paths


def test_every_supported_suffix_is_covered(files: dict[str, Path]) -> None:
    assert {path.suffix for path in files.values()} == set(SUFFIXES)


def test_records_of_each_file_type(files: dict[str, Path]) -> None:
    paragraphs = list(iter_records(files["squad.json"]))
    assert [p["context"] for p in paragraphs] == [CONTEXT, "A paragraph without questions."]
    assert {p["title"] for p in paragraphs} == {"Law"} and len(paragraphs[0]["qas"]) == 2
    for name in ("rows.json", "rows.jsonl", "rows.parquet"):
        assert list(iter_records(files[name])) == ROWS, name
    as_text = [{**row, "label": str(row["label"])} for row in ROWS]
    assert list(iter_records(files["rows.csv"])) == as_text
    assert list(iter_records(files["rows.tsv"])) == as_text
    assert list(iter_records(files["lines.txt"])) == ["A man sleeps.", "It rains."]
    assert list(iter_records(files["rows.parquet"], columns=["premise", "other"])) == [
        {"premise": row["premise"]} for row in ROWS
    ]
    single = files["rows.json"].with_name("one.json")
    single.write_text(json.dumps(ROWS[0]), encoding="utf-8")
    assert list(iter_records(single)) == [ROWS[0]]  # any other JSON document is one record


def test_tables_of_each_file_type(files: dict[str, Path]) -> None:
    squad = read_dataset([files["squad.json"]])
    assert squad["id"] == ["q1", "q2"] and squad["title"] == ["Law", "Law"]
    assert squad["answers"][0] == {"text": ["the contract"], "answer_start": [21]}
    for name in ("rows.json", "rows.jsonl", "rows.parquet", "rows.csv", "rows.tsv"):
        table = read_dataset([files[name]])
        assert table["premise"] == ["A man sleeps.", "It rains."] and table["label"] == [0, 2], name
    assert read_dataset([files["lines.txt"]])["text"] == ["A man sleeps.", "It rains."]


def test_a_directory_stands_for_its_task_files(files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not task data", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.jsonl").write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    assert list_files(tmp_path) == sorted([*files.values(), tmp_path / "sub" / "more.jsonl"])
    assert list_files(files["rows.csv"]) == [files["rows.csv"]]


def _one_line_error(call, path: Path, problem: str) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert info.value.where == str(path)
    assert problem in info.value.problem and "\n" not in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("task.xml", "<a/>", "unsupported task data format '.xml'"),
        ("bad.jsonl", '{"text": "ok"}\n{"text": \n', "line 2, column 10: invalid JSON"),
        ("bad.json", "[1, 2", "line 1, column 6: invalid JSON"),
        ("latin1.txt", "Stra\xdfe\n".encode("latin-1"), "not UTF-8 text"),
        ("latin1.jsonl", b'{"text": "Stra\xdfe"}\n', "not UTF-8 text"),
        ("broken.parquet", b"PAR1 not really parquet", "cannot read parquet file"),
        ("article.json", json.dumps({"data": [{"title": "x"}]}), "every article needs a 'paragraphs' list"),
    ],
)
def test_bad_task_files_are_one_line_errors_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes, problem: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    _one_line_error(lambda: list(iter_records(path)), path, problem)


def test_bad_paths_and_tables_are_one_line_errors(files: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    _one_line_error(lambda: list_files(missing), missing, "task data file not found")
    _one_line_error(lambda: read_dataset([missing]), missing, "task data file not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(lambda: list_files(empty), empty, "no task data files")
    mixed = [files["rows.jsonl"], files["rows.parquet"]]
    _one_line_error(
        lambda: read_dataset(mixed), files["rows.jsonl"], "files of one split must share a format"
    )
    parquet = files["rows.parquet"]
    _one_line_error(
        lambda: list(iter_records(parquet, columns=["text"])), parquet, "none of the columns text"
    )
    ragged = tmp_path / "ragged.csv"
    ragged.write_text('a,b\n1,2\n"3,4\n', encoding="utf-8")
    _one_line_error(lambda: read_dataset([ragged]), ragged, "cannot read csv file")
