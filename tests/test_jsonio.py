"""One JSON / JSON-lines reader, one error format: ``<file>: line <n>[, column <c>]: <problem>``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlqa_domain import jsonio
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes
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


@pytest.mark.parametrize("chunk", [1, 5, 7, 13, 1 << 20])
def test_a_stream_reads_surrogate_pairs_and_leaves_lone_surrogates_to_the_whole_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(jsonio, "_SCAN_CHUNK", chunk)  # a pair's halves in two chunks too
    path = tmp_path / "doc.json"
    paired = '{"version": "1", "data": ["a\\ud83d\\ude00b", {"k": [1.5, null, "\\u00e9"]}]}'
    path.write_text(paired, "ascii")
    scan = jsonio.scan_json_file(path, "data")
    assert scan.streamable and scan.size == len(paired) and scan.sha256 == sha256_bytes(paired.encode())
    assert list(jsonio.iter_list_items(path, "data")) == json.loads(paired)["data"]
    for lone in ('{"data": ["a\\ud83db"]}', '{"data": ["a\\ude00b"]}', '{"data": ["\\ude00\\ud83d"]}'):
        path.write_text(lone, "ascii")
        assert not jsonio.scan_json_file(path, "data").streamable
        with pytest.raises(InputError, match="lone surrogate"):
            jsonio.parse_json(path.read_bytes(), path)


@pytest.mark.parametrize(
    "text",
    [
        '{"data": 1}',
        '{"x": []}',
        "[]",
        '{"data": [], "data": []}',
        '\ufeff{"data": []}',
        '{"data": [NaN]}',
        "",
    ],
)
def test_what_a_stream_cannot_read_exactly_is_not_streamable(tmp_path: Path, text: str) -> None:
    path = tmp_path / "doc.json"
    path.write_text(text, "utf-8")
    assert not jsonio.scan_json_file(path, "data").streamable


def test_a_repeated_key_inside_a_streamed_item_is_the_whole_parse_s_error(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('{"data": [{"a": 1}, {"b": 1,\n  "b": 2}]}', "utf-8")
    assert jsonio.scan_json_file(path, "data").streamable
    with pytest.raises(InputError, match=r'line 2, column 3: the key "b" appears twice'):
        list(jsonio.iter_list_items(path, "data"))  # (ijson may build the next items before one is yielded)


def test_a_file_gone_between_its_scan_and_its_stream_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('{"data": [1, 2]}', "utf-8")
    assert jsonio.scan_json_file(path, "data").streamable
    path.unlink()
    with pytest.raises(InputError, match=r"doc\.json: no such file$"):
        list(jsonio.iter_list_items(path, "data"))
