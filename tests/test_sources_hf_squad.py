"""The HF `mlqa`-schema reader (jsonl / json / parquet) and the SQuAD-format parallel reader (XQuAD)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlqa_domain.builders.sources import SourceOptions, load_source, parse_squad, stream_source
from mlqa_domain.builders.sources.hf_schema import HfMlqaSource
from mlqa_domain.builders.sources.squad_parallel import SquadParallelSource
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.jsonio import parse_json

SOURCES = Path(__file__).resolve().parent / "fixtures" / "sources"
LEGAL_1 = hashlib.sha1(b"legal-1").hexdigest()


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {
        "id": "q1",
        "context": "Der Mieter zahlt die Miete.",
        "question": "Wer zahlt die Miete?",
        "answers": {"answer_start": [0], "text": ["Der Mieter"]},
    },
    {
        "id": "q2",
        "title": "Mietrecht",
        "context": "Der Vermieter kündigt.",
        "question": "Wer kündigt?",
        "answers": {"answer_start": [0], "text": ["Der Vermieter"]},
    },
]


# --- HF schema -------------------------------------------------------------------------------


def test_real_german_dev_set(de_dev_dir: Path) -> None:
    loaded = load_source(str(de_dev_dir))
    examples = loaded.examples
    assert loaded.info.kind == "hf-mlqa"
    assert len(examples) == 512
    assert len({e.context for e in examples}) == 456
    assert len({e.id for e in examples}) == 512
    assert {(e.context_language, e.question_language, e.split) for e in examples} == {
        ("de", "de", "validation")
    }
    assert all(len(e.answers["text"]) == len(e.answers["answer_start"]) >= 1 for e in examples)
    assert all(e.title is None and e.source == "mlqa.de.de.validation.jsonl" for e in examples)
    [record] = loaded.info.files
    data = (de_dev_dir / "mlqa.de.de.validation.jsonl").read_bytes()
    assert record["bytes"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
    # the file order is kept
    first_id = json.loads(data.split(b"\n", 1)[0])["id"]
    assert examples[0].id == first_id


def test_real_german_dev_file_directly(de_dev_dir: Path) -> None:
    examples = load_source(str(de_dev_dir / "mlqa.de.de.validation.jsonl")).examples
    assert len(examples) == 512


def test_fixture_directory_reads_jsonl_and_parquet_in_name_order() -> None:
    loaded = load_source(str(SOURCES / "hf"))
    assert loaded.info.kind == "hf-mlqa"
    assert [Path(f["path"]).name for f in loaded.info.files] == [
        "mlqa.de.en.test.jsonl",
        "mlqa.zh.zh.validation.parquet",
    ]
    keys = [(e.context_language, e.question_language, e.split) for e in loaded.examples]
    assert keys == [("de", "en", "test"), ("de", "en", "test"), ("zh", "zh", "validation")]


def test_parquet_row_matches_the_official_release() -> None:
    [from_parquet] = load_source(str(SOURCES / "hf" / "mlqa.zh.zh.validation.parquet")).examples
    official = load_source(str(SOURCES / "MLQA_V1" / "dev" / "dev-context-zh-question-zh.json")).examples
    [same] = [e for e in official if e.id == from_parquet.id]
    assert from_parquet.id == LEGAL_1
    for field in ("split", "context_language", "question_language", "context", "question", "answers"):
        assert getattr(from_parquet, field) == getattr(same, field)
    assert isinstance(from_parquet.answers["answer_start"][0], int)


def test_options_name_languages_and_split_of_an_unnamed_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    examples = load_source(
        str(path), SourceOptions(context_language="de", question_language="en", split="dev")
    ).examples
    assert [(e.context_language, e.question_language, e.split) for e in examples] == [
        ("de", "en", "validation")
    ] * 2
    assert [e.title for e in examples] == [None, "Mietrecht"]
    same_language = (
        HfMlqaSource().read(str(path), SourceOptions(context_language="es", split="test")).examples
    )
    assert {(e.context_language, e.question_language) for e in same_language} == {("es", "es")}


def test_file_name_wins_and_dev_means_validation(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mlqa.es.ar.dev.jsonl", ROWS)
    examples = load_source(str(path), SourceOptions(context_language="de", split="test")).examples
    assert {(e.context_language, e.question_language, e.split) for e in examples} == {
        ("es", "ar", "validation")
    }


def test_json_list_and_json_lines_in_a_json_file(tmp_path: Path) -> None:
    as_list = tmp_path / "mlqa.de.de.test.json"
    as_list.write_text(json.dumps(ROWS), encoding="utf-8")
    as_lines = write_jsonl(tmp_path / "lines.json", ROWS)
    from_list = load_source(str(as_list)).examples
    from_lines = load_source(str(as_lines), SourceOptions(context_language="de", split="test")).examples
    assert [e.id for e in from_list] == [e.id for e in from_lines] == ["q1", "q2"]
    assert [e.answers for e in from_list] == [e.answers for e in from_lines]


def test_squad_style_answer_list_is_accepted(tmp_path: Path) -> None:
    row = dict(ROWS[0], answers=[{"text": "Der Mieter", "answer_start": 0}], id=7)
    [example] = load_source(str(write_jsonl(tmp_path / "mlqa.de.de.test.jsonl", [row]))).examples
    assert example.id == "7"
    assert example.answers == {"text": ["Der Mieter"], "answer_start": [0]}


def test_languages_option_skips_other_files() -> None:
    examples = load_source(str(SOURCES / "hf"), SourceOptions(languages=["zh"])).examples
    assert {(e.context_language, e.question_language) for e in examples} == {("zh", "zh")}


# --- SQuAD-format parallel sets -----------------------------------------------------------------


def test_xquad_directory() -> None:
    loaded = load_source(str(SOURCES / "xquad"))
    examples = loaded.examples
    assert loaded.info.kind == "squad-parallel"
    assert [Path(f["path"]).name for f in loaded.info.files] == [
        "xquad.de.json",
        "xquad.en.json",
        "xquad.es.json",
    ]
    assert [e.context_language for e in examples] == ["de", "de", "en", "en", "es", "es"]
    assert all(e.question_language == e.context_language and e.split == "test" for e in examples)
    ids = {lang: [e.id for e in examples if e.context_language == lang] for lang in ("en", "de", "es")}
    assert ids["en"] == ids["de"] == ids["es"] == ["5726a00cf1498d1400e8e551", "5726a00cf1498d1400e8e552"]
    spanish = examples[4]
    assert spanish.title == "Selva amazónica"
    assert spanish.answers == {"text": ["América del Sur"], "answer_start": [65]}
    assert spanish.context[65 : 65 + len("América del Sur")] == "América del Sur"


def test_xquad_split_option_and_language_filter() -> None:
    examples = load_source(
        str(SOURCES / "xquad"), SourceOptions(split="dev", languages=["en", "es"])
    ).examples
    assert {(e.context_language, e.split) for e in examples} == {("en", "validation"), ("es", "validation")}


def test_single_squad_file_language_from_name_or_option(tmp_path: Path) -> None:
    document = json.loads((SOURCES / "xquad" / "xquad.de.json").read_text(encoding="utf-8"))
    named = tmp_path / "my-set.vi.json"
    named.write_text(json.dumps(document), encoding="utf-8")
    assert {e.context_language for e in load_source(str(named)).examples} == {"vi"}
    unnamed = tmp_path / "dev-v1.1.json"
    unnamed.write_text(json.dumps(document), encoding="utf-8")
    loaded = load_source(str(unnamed), SourceOptions(context_language="de", split="validation"))
    assert loaded.info.kind == "squad-parallel"
    assert {(e.context_language, e.question_language, e.split) for e in loaded.examples} == {
        ("de", "de", "validation")
    }


def test_parse_squad_on_a_document() -> None:
    document = {
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "Alpha beta gamma.",
                        "qas": [
                            {
                                "id": "a",
                                "question": "Which?",
                                "answers": [{"text": "beta", "answer_start": 6}],
                            },
                            {
                                "id": "b",
                                "question": "Two golds?",
                                "answers": [
                                    {"text": "Alpha", "answer_start": 0},
                                    {"text": "gamma", "answer_start": 11},
                                ],
                            },
                        ],
                    }
                ],
            }
        ]
    }
    examples = parse_squad(
        document,
        where="doc.json",
        split="test",
        context_language="en",
        question_language="de",
        source="doc.json",
    )
    assert [(e.id, e.title, e.question_language) for e in examples] == [("a", "T", "de"), ("b", "T", "de")]
    assert examples[1].answers == {"text": ["Alpha", "gamma"], "answer_start": [0, 11]}


def test_read_squad_parallel_directly() -> None:
    loaded = SquadParallelSource().read(str(SOURCES / "xquad" / "xquad.en.json"), SourceOptions())
    assert len(list(loaded.examples)) == 2 and loaded.info.kind == "squad-parallel"


def test_a_squad_file_is_read_an_article_at_a_time_with_the_whole_parse_s_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = {
        "version": "1.1",
        "data": [
            {
                "title": f"T{a}",
                "paragraphs": [
                    {
                        "context": f"Alpha {a} beta.",
                        "qas": [
                            {
                                "id": f"{a}-{q}",
                                "question": "Which?",
                                "answers": [{"text": "beta", "answer_start": 6 + len(str(a))}],
                            }
                            for q in range(3)
                        ],
                    }
                ],
            }
            for a in range(4)
        ],
    }
    path = tmp_path / "doc.en.json"
    path.write_text(json.dumps(document, indent=1), "utf-8")
    whole = parse_squad(
        document, where=path, split="test", context_language="en", question_language="en", source=path.name
    )
    import mlqa_domain.builders.sources.squad_parallel as squad_parallel

    def no_whole_parse(*args, **kwargs):
        raise AssertionError("the file was parsed whole")

    monkeypatch.setattr(squad_parallel, "decode_json", no_whole_parse)
    monkeypatch.setattr(squad_parallel, "decode_json_or_lines", no_whole_parse)
    loaded = stream_source(str(path))
    stream = iter(loaded.examples)
    first = next(stream)  # pulled before the rest of the file is parsed
    assert [e.to_dict() for e in [first, *stream]] == [e.to_dict() for e in whole]
    data = path.read_bytes()
    assert loaded.info.files == [{"path": str(path), "bytes": len(data), "sha256": sha256_bytes(data)}]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"data": [{"title": "T", "title": "U", "paragraphs": []}]}', 'the key "title" appears twice'),
        ('{"data": [{"paragraphs": [{"context": "\\ud83d", "qas": []}]}]}', "\\ud83d is a lone surrogate"),
        (
            '{"data": [{"paragraphs": [{"context": "x", "qas": []}]}], "data": []}',
            'the key "data" appears twice',
        ),
        ('{"data": [{"paragraphs": [{"context": "x", "qas": [}]}]}', "invalid JSON"),
        ('{"data": [{"paragraphs": {}}]}', "data[0]: every article needs a 'paragraphs' list"),
    ],
)
def test_a_streamed_squad_file_s_errors_are_those_of_the_whole_parse(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "doc.en.json"
    path.write_text(text, "utf-8")
    with pytest.raises(InputError) as caught:
        list(SquadParallelSource().read(str(path), SourceOptions()).examples)
    assert problem in str(caught.value) and str(path) in str(caught.value)
    try:  # the message is the whole document's: the same line and column
        parse_squad(
            parse_json(path.read_bytes(), path),
            where=path,
            split="test",
            context_language="en",
            question_language="en",
            source=path.name,
        )
    except InputError as whole:
        assert str(whole) == str(caught.value)
    else:
        raise AssertionError("the whole document was accepted")
