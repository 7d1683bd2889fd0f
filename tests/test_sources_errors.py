"""Every malformed input stops with one InputError line that names the file and the problem."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mlqa_domain.builders.sources import SourceOptions, load_source
from mlqa_domain.cli_utils import err_console
from mlqa_domain.errors import ConfigError, InputError, MlqaDomainError

SOURCES = Path(__file__).resolve().parent / "fixtures" / "sources"
ROW = {
    "id": "q1",
    "context": "Der Mieter zahlt.",
    "question": "Wer zahlt?",
    "answers": {"answer_start": [0], "text": ["Der Mieter"]},
}
SQUAD = json.loads((SOURCES / "xquad" / "xquad.en.json").read_text(encoding="utf-8"))


def jsonl(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def squad_with(change: Callable[[dict], None]) -> str:
    document = json.loads(json.dumps(SQUAD))
    change(document)
    return json.dumps(document)


def _drop_question(document: dict) -> None:
    del document["data"][0]["paragraphs"][0]["qas"][1]["question"]


def _drop_context(document: dict) -> None:
    del document["data"][0]["paragraphs"][0]["context"]


def _bad_answer(document: dict) -> None:
    document["data"][0]["paragraphs"][0]["qas"][0]["answers"] = [{"text": "x"}]


def _mlqa_dir_with(tmp: Path, name: str, text: str) -> Path:
    root = tmp / "MLQA_V1"
    shutil.copytree(SOURCES / "MLQA_V1", root)
    write(root, name, text)
    return root


def _zip_without_mlqa(tmp: Path) -> Path:
    path = tmp / "MLQA_V1.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MLQA_V1/LICENSE", "license\n")
        archive.writestr("MLQA_V1/README.md", "readme\n")
    return path


def _parquet_without_answers(tmp: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp / "mlqa.de.de.test.parquet"
    pq.write_table(pa.table({"id": ["a"], "context": ["c"], "question": ["q"]}), path)
    return path


# (name, build the bad input in tmp -> path to pass, file name the message must show, problem text)
CASES: list[tuple[str, Callable[[Path], Path], str, str]] = [
    (
        "jsonl bad json",
        lambda t: write(t, "mlqa.de.de.test.jsonl", jsonl(ROW, '{"id": "q2", "context": ')),
        "mlqa.de.de.test.jsonl",
        "line 2, column 25: invalid JSON",
    ),
    (
        "jsonl missing question",
        lambda t: write(
            t, "mlqa.de.de.test.jsonl", jsonl(ROW, {k: v for k, v in ROW.items() if k != "question"})
        ),
        "mlqa.de.de.test.jsonl",
        "line 2 (id 'q1'): missing key 'question'",
    ),
    (
        "jsonl missing answers",
        lambda t: write(t, "mlqa.de.de.test.jsonl", jsonl({k: v for k, v in ROW.items() if k != "answers"})),
        "mlqa.de.de.test.jsonl",
        "line 1 (id 'q1'): missing key 'answers'",
    ),
    (
        "jsonl missing id",
        lambda t: write(t, "mlqa.de.de.test.jsonl", jsonl({k: v for k, v in ROW.items() if k != "id"})),
        "mlqa.de.de.test.jsonl",
        "line 1: missing key 'id'",
    ),
    (
        "answers without answer_start",
        lambda t: write(t, "mlqa.de.de.test.jsonl", jsonl(dict(ROW, answers={"text": ["Der Mieter"]}))),
        "mlqa.de.de.test.jsonl",
        "missing key 'answers.answer_start'",
    ),
    (
        "answers of unequal length",
        lambda t: write(
            t, "mlqa.de.de.test.jsonl", jsonl(dict(ROW, answers={"text": ["a", "b"], "answer_start": [0]}))
        ),
        "mlqa.de.de.test.jsonl",
        "'answers' has 2 text(s) but 1 answer_start(s)",
    ),
    (
        "answer_start not an integer",
        lambda t: write(
            t, "mlqa.de.de.test.jsonl", jsonl(dict(ROW, answers={"text": ["a"], "answer_start": ["0"]}))
        ),
        "mlqa.de.de.test.jsonl",
        "every answer_start must be an integer",
    ),
    (
        "context not a string",
        lambda t: write(t, "mlqa.de.de.test.jsonl", jsonl(dict(ROW, context=None))),
        "mlqa.de.de.test.jsonl",
        "'context' must be a string",
    ),
    (
        "row not an object",
        lambda t: write(t, "mlqa.de.de.test.jsonl", jsonl(ROW, "[1, 2]")),
        "mlqa.de.de.test.jsonl",
        "line 2: expected a JSON object",
    ),
    (
        "duplicate id",
        lambda t: write(t, "mlqa.de.de.test.jsonl", jsonl(ROW, ROW)),
        "mlqa.de.de.test.jsonl",
        "duplicate id 'q1'",
    ),
    ("empty jsonl", lambda t: write(t, "mlqa.de.de.test.jsonl", ""), "mlqa.de.de.test.jsonl", "empty file"),
    (
        "blank jsonl",
        lambda t: write(t, "mlqa.de.de.test.jsonl", "\n \n"),
        "mlqa.de.de.test.jsonl",
        "empty file",
    ),
    (
        "unknown context language in hf name",
        lambda t: write(t, "mlqa.xx.de.validation.jsonl", jsonl(ROW)),
        "mlqa.xx.de.validation.jsonl",
        "unknown language code 'xx'",
    ),
    (
        "unknown split in hf name",
        lambda t: write(t, "mlqa.de.de.train.jsonl", jsonl(ROW)),
        "mlqa.de.de.train.jsonl",
        "unknown split 'train'",
    ),
    (
        "hf file with no names and no options",
        lambda t: write(t, "rows.jsonl", jsonl(ROW)),
        "rows.jsonl",
        "cannot tell the languages",
    ),
    (
        "squad document in an hf-named json",
        lambda t: write(t, "mlqa.de.de.test.json", json.dumps(SQUAD)),
        "mlqa.de.de.test.json",
        "looks like a SQuAD-format file",
    ),
    (
        "unreadable parquet",
        lambda t: write(t, "mlqa.de.de.test.parquet", b"PAR1 this is not parquet"),
        "mlqa.de.de.test.parquet",
        "not a readable parquet file",
    ),
    (
        "parquet missing a column",
        _parquet_without_answers,
        "mlqa.de.de.test.parquet",
        "missing column 'answers'",
    ),
    (
        "squad bad json",
        lambda t: write(t, "xquad.de.json", '{"data": [\n  {"title": "x",\n  "paragraphs": [}]}'),
        "xquad.de.json",
        "line 3, column 18: invalid JSON",
    ),
    (
        "squad missing question",
        lambda t: write(t, "xquad.de.json", squad_with(_drop_question)),
        "xquad.de.json",
        "data[0].paragraphs[0].qas[1] (id '5726a00cf1498d1400e8e552'): missing key 'question'",
    ),
    (
        "squad missing context",
        lambda t: write(t, "xquad.de.json", squad_with(_drop_context)),
        "xquad.de.json",
        "data[0].paragraphs[0]: missing key 'context'",
    ),
    (
        "squad answer without answer_start",
        lambda t: write(t, "xquad.de.json", squad_with(_bad_answer)),
        "xquad.de.json",
        "answers[0] is missing key 'answer_start'",
    ),
    (
        "squad unknown language",
        lambda t: write(t, "xquad.xx.json", json.dumps(SQUAD)),
        "xquad.xx.json",
        "unknown language code 'xx'",
    ),
    ("squad empty file", lambda t: write(t, "xquad.de.json", "  \n"), "xquad.de.json", "empty file"),
    (
        "squad file without questions",
        lambda t: write(t, "xquad.de.json", '{"data": []}'),
        "xquad.de.json",
        "no questions in the file",
    ),
    (
        "two squad files for one language",
        lambda t: (
            (write(t, "d/xquad.de.json", json.dumps(SQUAD)), write(t, "d/other.de.json", json.dumps(SQUAD)))[
                0
            ].parent
        ),
        "xquad.de.json",
        "two files for language 'de'",
    ),
    (
        "mlqa file with unknown language",
        lambda t: _mlqa_dir_with(t, "dev/dev-context-xx-question-en.json", json.dumps(SQUAD)),
        "dev-context-xx-question-en.json",
        "unknown language code 'xx'",
    ),
    (
        "mlqa file with bad json",
        lambda t: _mlqa_dir_with(t, "test/test-context-en-question-de.json", '{"data": ['),
        "test-context-en-question-de.json",
        "line 1, column 11: invalid JSON",
    ),
    (
        "mlqa empty file",
        lambda t: _mlqa_dir_with(t, "dev/dev-context-de-question-en.json", ""),
        "dev-context-de-question-en.json",
        "empty file",
    ),
    ("zip without mlqa files", _zip_without_mlqa, "MLQA_V1.zip", "no MLQA_V1 files"),
    (
        "zip that is not a zip",
        lambda t: write(t, "MLQA_V1.zip", b"not a zip"),
        "MLQA_V1.zip",
        "not a readable zip",
    ),
    (
        "directory with no recognised files",
        lambda t: write(t, "empty/README.md", "nothing here\n").parent,
        "empty",
        "no recognised files",
    ),
    (
        "missing path",
        lambda t: t / "does-not-exist.jsonl",
        "does-not-exist.jsonl",
        "no such file or directory",
    ),
    ("unknown file type", lambda t: write(t, "notes.txt", "hello\n"), "notes.txt", "unrecognised input"),
]


@pytest.mark.parametrize(("build", "file_name", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_the_file(
    tmp_path: Path, build: Callable[[Path], Path], file_name: str, problem: str
) -> None:
    path = build(tmp_path)
    with pytest.raises(InputError) as error:
        load_source(str(path))
    message = str(error.value)
    assert "\n" not in message
    assert file_name in message
    assert problem in message


def test_non_existent_file_url(tmp_path: Path) -> None:
    url = (tmp_path / "missing" / "MLQA_V1.zip").as_uri()
    with pytest.raises(InputError) as error:
        load_source(url, SourceOptions(cache_dir=tmp_path / "cache"))
    message = str(error.value)
    assert "\n" not in message and message.startswith(url) and "download failed" in message


def test_checksum_mismatch_through_load_source(tmp_path: Path) -> None:
    archive = tmp_path / "MLQA_V1.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(
            SOURCES / "MLQA_V1" / "dev" / "dev-context-en-question-en.json",
            "MLQA_V1/dev/dev-context-en-question-en.json",
        )
    with pytest.raises(InputError, match="checksum mismatch") as error:
        load_source(archive.as_uri(), SourceOptions(cache_dir=tmp_path / "cache", expected_sha256="f" * 64))
    assert "\n" not in str(error.value)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    with pytest.raises(InputError, match="checksum mismatch"):
        load_source(str(archive), SourceOptions(expected_sha256="f" * 64))


def test_unknown_language_in_the_languages_option() -> None:
    with pytest.raises(InputError, match="unknown language code 'klingon'"):
        load_source(str(SOURCES / "xquad"), SourceOptions(languages=["en", "klingon"]))


def test_filters_that_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="match the language/split options"):
        load_source(str(SOURCES / "MLQA_V1"), SourceOptions(languages=["es"]))
    with pytest.raises(InputError, match="no examples match"):
        load_source(str(SOURCES / "xquad"), SourceOptions(languages=["zh"]))


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown source kind"):
        load_source(str(SOURCES / "xquad"), kind="tydiqa")


def test_error_prints_as_one_cli_line(tmp_path: Path) -> None:
    """What the CLI wrapper prints: `error: <file>: <problem>` on one line."""
    path = write(tmp_path, "mlqa.de.de.validation.jsonl", jsonl(ROW, "{oops"))
    with pytest.raises(MlqaDomainError) as error:
        load_source(str(path))
    with err_console.capture() as captured:
        err_console.print(f"error: {error.value}", markup=False)
    lines = captured.get().strip().splitlines()
    assert lines == [
        f"error: {path}: line 2, column 2: invalid JSON (Expecting property name enclosed in double quotes)"
    ]
