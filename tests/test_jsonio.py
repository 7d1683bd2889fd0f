"""One JSON / JSON-lines reader, one error format: ``<file>: line <n>[, column <c>]: <problem>``."""

from __future__ import annotations

import pytest

from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import iter_jsonl, parse_json, parse_jsonl, read_json


def _error(call) -> str:
    with pytest.raises(InputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_good_json_and_json_lines(tmp_path):
    (tmp_path / "a.json").write_text('{"a": [1, 2], "b": "é"}', "utf-8")
    assert read_json(tmp_path / "a.json") == {"a": [1, 2], "b": "é"}
    (tmp_path / "b.jsonl").write_text('{"a": 1}\n\n  \n[2]\n"x"', "utf-8")
    assert list(iter_jsonl(tmp_path / "b.jsonl")) == [(1, {"a": 1}), (4, [2]), (5, "x")]
    assert list(parse_jsonl(b'{"a": 1}\n\n[2]\n', "m.jsonl")) == [(1, {"a": 1}), (3, [2])]
    assert parse_json(b"\xef\xbb\xbf[1]", "bom.json") == [1]  # a UTF-8 byte-order mark is fine


def test_bad_json_names_file_line_column_and_problem(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1,\n  "b": }\n', "utf-8")
    assert _error(lambda: read_json(path)) == f"{path}: line 3, column 8: invalid JSON (Expecting value)"
    assert _error(lambda: parse_json("[1, 2", "x.json")) == (
        "x.json: line 1, column 6: invalid JSON (Expecting ',' delimiter)"
    )


def test_bad_json_lines_name_the_files_line_and_column(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": oops}\n', "utf-8")
    expected = f"{path}: line 3, column 7: invalid JSON (Expecting value)"
    assert _error(lambda: list(iter_jsonl(path))) == expected
    assert _error(lambda: list(parse_jsonl(path.read_text("utf-8"), path))) == expected


def test_bytes_that_are_not_utf8_name_their_line_and_column(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    assert _error(lambda: list(iter_jsonl(path))) == (
        f"{path}: line 2, column 11: not UTF-8 text (invalid continuation byte)"
    )
    doc = tmp_path / "latin1.json"
    doc.write_bytes(b'{\n "a": "\xe9t\xe9"}')
    assert (
        _error(lambda: read_json(doc))
        == f"{doc}: line 2, column 8: not UTF-8 text (invalid continuation byte)"
    )


def test_a_line_cut_short_is_named_by_its_own_line_number(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text('{"text": "ok"}\r\n{"text": \r\n{"text": "ok"}\n', "utf-8")
    assert (
        _error(lambda: list(iter_jsonl(path))) == f"{path}: line 2, column 10: invalid JSON (Expecting value)"
    )
