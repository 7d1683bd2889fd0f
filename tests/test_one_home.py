"""One home per concept (issue 24): SQuAD walking, the output-dir guard, precision/recall, run identity
and JSON sniffing each live in one module; a copy elsewhere fails the scan, and the homes' behaviour is
pinned by unit tests (including the undefined-precision convention)."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.atomic import check_output_dir
from mlqa_domain.benchmark.results import identity_differences
from mlqa_domain.benchmark.scoring import read_gold
from mlqa_domain.builders.sources import parse_squad
from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import finite_or_null, looks_like_json_lines, parse_json_or_lines
from mlqa_domain.squad_format import iter_paragraphs, iter_squad
from mlqa_domain.stats import precision_recall_f1, prf_scores
from mlqa_domain.task_files import squad_questions

PACKAGE = Path(__file__).resolve().parents[1] / "mlqa_domain"

# function name -> the one module (relative to mlqa_domain/) that may define it
HOMES = {
    "_prf": None,  # the old copies' name: gone everywhere
    "precision_recall_f1": "stats.py",
    "prf_scores": "stats.py",
    "check_output_dir": "atomic.py",
    "check_output": None,
    "check_site_dir": None,
    "run_identity": "benchmark/results.py",
    "_differences": None,
    "identity_differences": "benchmark/results.py",
    "is_squad_document": "squad_format.py",
    "is_squad": None,
    "iter_squad": "squad_format.py",
    "iter_paragraphs": "squad_format.py",
    "looks_like_json_lines": "jsonio.py",
    "parse_json_or_lines": "jsonio.py",
    "_json_or_lines": None,
}
# messages of the output-dir guard: written only by its home
GUARD_MESSAGES = ("output exists and is not a directory", "output directory is not empty")


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text("utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _keys_read(function: ast.AST) -> set[str]:
    """The constant keys a function reads: ``x["key"]``, ``x.get("key")``."""
    keys = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            keys.add(node.slice.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            keys.add(node.args[0].value)
    return keys


def test_each_function_is_defined_only_in_its_home() -> None:
    misplaced = [
        f"{name}() in {module}"
        for module, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (name := node.name) in HOMES
        and HOMES[name] != module
    ]
    assert misplaced == []


def test_squad_structure_is_walked_only_in_squad_format() -> None:
    """No function outside the SQuAD home reads ``qas``, or ``paragraphs`` next to ``data``."""
    found = []
    for module, tree in _modules():
        for node in ast.walk(tree):
            if module == "squad_format.py" or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            keys = _keys_read(node)
            if "qas" in keys or {"paragraphs", "data"} <= keys:
                found.append(f"{module}: {node.name}()")
    assert found == []


def test_json_is_sniffed_only_in_jsonio() -> None:
    """No ``startswith("{")``-style peeking at the first character outside jsonio."""
    found = []
    for module, tree in _modules():
        if module == "jsonio.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "startswith"
                and any(isinstance(a, ast.Constant) and a.value in ("{", "[", b"{", b"[") for a in node.args)
            ):
                found.append(f"{module}:{node.lineno}")
    assert found == []


def test_the_output_dir_guard_messages_come_from_atomic_only() -> None:
    found = []
    for module, tree in _modules():
        if module == "atomic.py":
            continue
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
            if any(message in text for message in GUARD_MESSAGES):
                found.append(f"{module}:{node.lineno}")
    assert found == []


# --- precision / recall / F1 -------------------------------------------------------------------------


def test_undefined_precision_and_recall_are_nan_and_f1_is_zero_without_a_hit() -> None:
    nothing_predicted = prf_scores(0, 0, 3)
    assert math.isnan(nothing_predicted["precision"])
    assert nothing_predicted["recall"] == 0.0 and nothing_predicted["f1"] == 0.0
    no_gold = prf_scores(0, 2, 0)
    assert no_gold["precision"] == 0.0 and math.isnan(no_gold["recall"]) and no_gold["f1"] == 0.0
    neither = prf_scores(0, 0, 0)
    assert math.isnan(neither["precision"]) and math.isnan(neither["recall"]) and neither["f1"] == 0.0
    assert prf_scores(2, 3, 2) == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8})


def test_array_and_scalar_forms_agree() -> None:
    tp, predicted, gold = np.array([2, 0, 0, 5]), np.array([3, 0, 4, 5]), np.array([2, 3, 0, 10])
    arrays = precision_recall_f1(tp, predicted, gold)
    for index in range(len(tp)):
        scalar = prf_scores(int(tp[index]), int(predicted[index]), int(gold[index]))
        for key, column in zip(("precision", "recall", "f1"), arrays, strict=True):
            assert np.array_equal(np.array(scalar[key]), column[index], equal_nan=True)


def test_undefined_values_are_written_as_json_null() -> None:
    report = {"precision": math.nan, "recall": 0.5, "ci": (float("inf"), 1.0), "rows": [np.float64("nan")]}
    assert json.dumps(finite_or_null(report)) == (
        '{"precision": null, "recall": 0.5, "ci": [null, 1.0], "rows": [null]}'
    )


# --- JSON sniffing -----------------------------------------------------------------------------------


def test_json_or_lines() -> None:
    assert parse_json_or_lines(b'{"a": 1}\n', "x") == ({"a": 1}, False)
    assert parse_json_or_lines("[1, 2]", "x") == ([1, 2], False)
    assert parse_json_or_lines(b'\n{"a": 1}\n{"a": 2}\n', "x") == (None, True)
    assert looks_like_json_lines('{"a": 1}\n{') and not looks_like_json_lines("[1]\n[2]")
    with pytest.raises(InputError, match="line 1, column 2: invalid JSON"):
        parse_json_or_lines("{oops}\n{}", "x")


# --- the output-dir guard ----------------------------------------------------------------------------


def test_output_dir_may_be_new_empty_or_ours(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert check_output_dir(out, "is not ours", markers=("done.json",)) is False
    out.mkdir()
    assert check_output_dir(out, "is not ours", markers=("done.json",)) is False
    (out / "done.json").write_text("{}", encoding="utf-8")
    (out / "extra").write_text("", encoding="utf-8")
    assert check_output_dir(out, "is not ours", markers=("done.json",)) is True
    (out / "done.json").unlink()
    with pytest.raises(InputError, match=r"out: output directory is not empty and is not ours$"):
        check_output_dir(out, "is not ours", markers=("done.json",))
    assert check_output_dir(out, "holds others", known={"extra"}.__contains__) is True
    for name in ("c", "b", "a", "d"):
        (out / name).mkdir()
    with pytest.raises(InputError, match=r"not empty and holds others \(a, b, c\)$"):
        check_output_dir(out, "holds others", known={"extra"}.__contains__)
    with pytest.raises(InputError, match="output exists and is not a directory"):
        check_output_dir(out / "extra", "is not ours", markers=("done.json",))


# --- run identity ------------------------------------------------------------------------------------


def test_identity_differences_name_each_changed_value() -> None:
    old = {"model": "m", "settings": {"stride": 128, "max": 384}, "configs": [f"c{i}" for i in range(20)]}
    new = {"model": "m", "settings": {"stride": 64, "max": 384, "extra": 1}, "configs": ["c0"]}
    assert identity_differences(old, new) == [
        "configs: 20 items -> ['c0']",
        "settings.extra: None -> 1",
        "settings.stride: 128 -> 64",
    ]
    assert identity_differences(old, json.loads(json.dumps(old))) == []


# --- SQuAD walking -----------------------------------------------------------------------------------

DOCUMENT = {
    "version": "1.0",
    "data": [
        {
            "title": "T",
            "paragraphs": [
                {
                    "context": "ab cd",
                    "qas": [{"id": "q1", "question": "?", "answers": [{"text": "cd", "answer_start": 3}]}],
                },
                {"context": "ef", "qas": []},
            ],
        },
        {
            "title": "U",
            "paragraphs": [
                {
                    "context": "gh",
                    "qas": [{"id": "q2", "question": "!", "answers": [{"text": "gh", "answer_start": 0}]}],
                }
            ],
        },
    ],
}


def test_iter_squad_walks_in_file_order_with_labels() -> None:
    questions = list(iter_squad(DOCUMENT, "doc.json"))
    assert [(q.label, q.title, q.context, q.qa["id"]) for q in questions] == [
        ("data[0].paragraphs[0].qas[0]", "T", "ab cd", "q1"),
        ("data[1].paragraphs[0].qas[0]", "U", "gh", "q2"),
    ]
    assert [p.label for p in iter_paragraphs(DOCUMENT, "doc.json")] == [
        "data[0].paragraphs[0]",
        "data[0].paragraphs[1]",
        "data[1].paragraphs[0]",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"data": {}}, "not SQuAD format"),
        ({"data": [{"title": "x"}]}, r"data\[0\]: every article needs a 'paragraphs' list"),
        ({"data": [{"paragraphs": ["p"]}]}, r"data\[0\].paragraphs\[0\]: every paragraph must be an object"),
        (
            {"data": [{"paragraphs": [{"context": "c"}]}]},
            r"paragraphs\[0\]: every paragraph needs a 'qas' list",
        ),
        ({"data": [{"paragraphs": [{"context": "c", "qas": [1]}]}]}, r"qas\[0\]: every question must be"),
    ],
)
def test_malformed_structure_says_where(document: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        list(iter_squad(document, "doc.json"))


def test_every_squad_reader_sees_the_same_questions(tmp_path: Path) -> None:
    """The build's reader, the task-file reader and the gold reader of `bench score` agree."""
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(DOCUMENT), encoding="utf-8")
    examples = parse_squad(
        DOCUMENT, where=path, split="test", context_language="en", question_language="en", source="doc"
    )
    rows = list(squad_questions(DOCUMENT, path))
    gold = read_gold(path).pairs
    assert [e.id for e in examples] == [r["id"] for r in rows] == [qid for qid, _ in gold] == ["q1", "q2"]
    assert [e.context for e in examples] == [r["context"] for r in rows] == ["ab cd", "gh"]
    assert [e.answers["text"] for e in examples] == [r["answers"]["text"] for r in rows]
    assert [texts for _, texts in gold] == [["cd"], ["gh"]]
