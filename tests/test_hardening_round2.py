"""Regression tests of issue 20 (hardening, round 2), by the issue's item numbers. Each fails on the code
before the fix; the one-line CLI errors of the hostile inputs are cases of tests/test_bad_inputs.py."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.atomic import atomic_dir, remove_stale_temps
from mlqa_domain.errors import InputError
from mlqa_domain.example import Example
from mlqa_domain.jsonio import parse_json, parse_json_line
from tests.fixtures.cli import run_console
from tests.fixtures.faults import inject_os_error
from tests.fixtures.leaderboard import factory

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_MLQA = REPO_ROOT / "mlqa_domain" / "data" / "demo" / "MLQA_V1"


# -- 1: a swap killed between its renames -----------------------------------------------------------------

KILLED_SWAP = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from mlqa_domain import atomic

    target, fallback = Path(sys.argv[1]), sys.argv[2] == "fallback"
    if fallback:  # a system without renameat2(RENAME_EXCHANGE): two renames
        atomic.exchange_paths = lambda first, second: False
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # between moving the old output aside and the new one into place
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    os.replace = replace
    with atomic.atomic_dir(target) as tmp:
        (tmp / "data.txt").write_text("new")
    """
)


def _killed_swap(target: Path, mode: str) -> int:
    target.mkdir()
    (target / "data.txt").write_text("old")
    return subprocess.run([sys.executable, "-c", KILLED_SWAP, str(target), mode], cwd=REPO_ROOT).returncode


def test_a_killed_swap_leaves_the_old_or_the_new_output_in_place(tmp_path):
    _killed_swap(tmp_path / "out", "exchange")
    assert (tmp_path / "out" / "data.txt").read_text() in {"old", "new"}


def test_without_an_atomic_exchange_the_next_write_puts_the_old_output_back_first(tmp_path):
    code = _killed_swap(tmp_path / "out", "fallback")
    assert code == -9  # killed between the renames: only the hidden old copy is left
    assert not (tmp_path / "out").exists()
    remove_stale_temps(tmp_path / "out")  # what every next write of the target does first
    assert (tmp_path / "out" / "data.txt").read_text() == "old"
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "data.txt").write_text("newer")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (tmp_path / "out" / "data.txt").read_text() == "newer"


# -- 15: the current directory as the output ----------------------------------------------------------------


@pytest.mark.parametrize("out", [".", ""])
def test_the_current_directory_cannot_be_the_output(out, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="current directory|path is empty"), atomic_dir(out) as tmp:
        (tmp / "x").write_text("1")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_swap_leaves_no_temp_dir_and_the_old_output(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "data.txt").write_text("old")
    inject_os_error(monkeypatch, tmp_path, errno.ENOSPC, lambda p: p.name == "data.txt")
    with pytest.raises(InputError, match="No space left on device"), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "data.txt").write_text("new")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (tmp_path / "out" / "data.txt").read_text() == "old"


# -- 2: disk full during render -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A leaderboard with two entries and its dataset."""
    from mlqa_domain.leaderboard.dataset_info import init_leaderboard
    from mlqa_domain.leaderboard.store import LocalStore
    from mlqa_domain.leaderboard.verify import submit

    root = tmp_path_factory.mktemp("round2-board")
    repo = factory.build_dataset_repo(root / "mlqa-domain")
    gold = factory.load_gold(repo)
    init_leaderboard(LocalStore(root / "board"), repo)
    for model, skill in [("org/tiny-squad", 0.5), ("org/other", 0.7)]:
        run = factory.write_results_dir(root / model.replace("/", "-"), repo, gold, model, skill, scores=True)
        submit(run, LocalStore(root / "board"), submitter="ana")
    return root / "board", repo, gold


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_disk_full_during_render_stops_it_and_keeps_the_old_site(board, tmp_path, monkeypatch):
    from mlqa_domain.leaderboard.render import render_site
    from mlqa_domain.leaderboard.store import LocalStore

    store = LocalStore(board[0])
    render_site(store, tmp_path / "site")
    before = _tree(tmp_path / "site")
    assert len(json.loads((tmp_path / "site" / "leaderboard.json").read_text())["entries"]) == 2
    inject_os_error(
        monkeypatch, tmp_path, errno.ENOSPC, lambda p: p.suffix == ".html" and "entries" in p.parts
    )
    with pytest.raises(InputError, match="No space left on device") as caught:
        render_site(store, tmp_path / "site")
    monkeypatch.undo()
    assert str(tmp_path / "site") in str(caught.value)
    assert _tree(tmp_path / "site") == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


# -- 3, 10: JSON that the standard parser takes but must not be taken ----------------------------------------


def test_a_repeated_key_is_refused_with_its_line():
    with pytest.raises(InputError, match=r'f.json: line 3, column 2: the key "data" appears twice'):
        parse_json('{"version": "1.1",\n "data": [1],\n "data": [2]}', "f.json")
    with pytest.raises(InputError, match=r"x.jsonl: line 7, .*the key \"a\" appears twice"):
        parse_json_line('{"a": 1, "b": {"a": 2}, "a": 3}', "x.jsonl", 7)
    assert parse_json('{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}', "ok.json")["b"][1] == {"a": 3}


def test_a_lone_surrogate_is_refused_and_pairs_are_kept():
    with pytest.raises(InputError, match=r"f.json: line 2, column 16: \\ud83d is a lone surrogate"):
        parse_json('{"ok": "\\ud83d\\ude00",\n "context": "x \\ud83d y"}', "f.json")
    with pytest.raises(InputError, match=r"\\ude00 is a lone surrogate"):
        parse_json('["\\ude00"]', "g.json")
    assert parse_json('{"a": "\\ud83d\\ude00", "b": "\\\\ud83d"}', "ok.json") == {"a": "😀", "b": "\\ud83d"}


def test_a_json_source_with_a_repeated_key_loses_no_article(tmp_path):
    """The hf-mlqa reader takes one-line JSON documents too: a repeated key is refused there as well."""
    from mlqa_domain.builders.sources.hf_schema import _json_records

    with pytest.raises(InputError, match='one.json: line 1, column 28: the key "data" appears twice'):
        _json_records(b'{"data": [{"title": "A"}], "data": [{"title": "B"}]}', tmp_path / "one.json")


# -- 4: ids that collide across languages -----------------------------------------------------------------

CONTRACT = (
    "This lease agreement was signed on 12 March 2015 between the landlord and the tenant. The tenant shall "
    "pay the rent monthly; the agreement ends in 2020 unless either party gives notice in writing."
)
ASPIRIN = (
    "Acetylsalicylsäure wurde 1897 von Felix Hoffmann bei Bayer synthetisiert und 1899 als Aspirin auf den "
    "Markt gebracht. Es hemmt die Cyclooxygenase und wirkt schmerzstillend und fiebersenkend."
)
VERTRAG = (
    "Dieser Mietvertrag wurde am 12. März 2015 zwischen dem Vermieter und dem Mieter unterzeichnet. Der "
    "Mieter zahlt die Miete monatlich; der Vertrag endet 2020, sofern keine Partei schriftlich kündigt."
)


def _example(qid: str, lang: str, context: str, answer: str) -> Example:
    return Example(
        id=qid,
        split="test",
        context_language=lang,
        question_language=lang,
        context=context,
        question="?",
        answers={"text": [answer], "answer_start": [context.find(answer)]},
    )


def test_the_pivot_check_names_ids_whose_instances_are_not_parallel(caplog):
    from mlqa_domain.labeling.pivot import check_parallel, group_by_id
    from mlqa_domain.labeling.pivot_store import PivotStore

    examples = [
        _example("q-collide", "en", CONTRACT, "2015"),
        _example("q-collide", "de", ASPIRIN, "1897"),
        _example("q-parallel", "en", CONTRACT, "2015"),
        _example("q-parallel", "de", VERTRAG, "2015"),
        _example("q-short", "en", CONTRACT, "the tenant"),
        _example("q-short", "es", "El inquilino.", "El inquilino"),
        _example("q-english-only", "en", CONTRACT, "2015"),
    ]
    with caplog.at_level(logging.WARNING, logger="mlqa_domain.labeling.pivot"):
        check = check_parallel(group_by_id(examples))
    with PivotStore() as store:  # what the build checks: the groups as they wait on disk
        for example in examples:
            store.add(example)
        assert check_parallel(store.parallel_groups()).to_dict() == check.to_dict()
    assert check.checked == 3
    assert set(check.suspects) == {"q-collide", "q-short"}
    assert "year 2015 is not in the de context" in check.suspects["q-collide"]
    assert "expected length" in check.suspects["q-short"]
    assert "q-collide" in caplog.text and "q-short" in caplog.text and "q-parallel" not in caplog.text


def test_a_build_records_and_documents_the_pivot_check(tmp_path, tiny_sbert, caplog):
    from mlqa_domain.builders.build import build_dataset

    source = tmp_path / "MLQA_V1"
    shutil.copytree(DEMO_MLQA, source)
    # one id: an English contract paragraph in every English-context file, an unrelated German one in
    # every German-context file
    qid = json.loads((source / "test" / "test-context-en-question-en.json").read_text("utf-8"))["data"][0]
    qid = qid["paragraphs"][0]["qas"][0]["id"]
    for path in sorted(source.glob("*/*-context-*-question-*.json")):
        language = path.name.split("-context-")[1].split("-")[0]
        if language not in {"en", "de"}:
            continue
        context, answer = (CONTRACT, "2015") if language == "en" else (ASPIRIN, "Hoffmann")
        document = json.loads(path.read_text("utf-8"))
        for article in document["data"]:
            for paragraph in article["paragraphs"]:
                if any(question["id"] == qid for question in paragraph["qas"]):
                    paragraph["context"] = context
                    for question in paragraph["qas"]:
                        question["answers"] = [{"text": answer, "answer_start": context.index(answer)}]
        path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    with caplog.at_level(logging.WARNING):
        report = build_dataset(
            [str(source)], tmp_path / "out", embedding_model=str(tiny_sbert), cache_dir=tmp_path / "c",
            embedding_backend="torch",
        )  # fmt: skip
    check = report.info["parallel_check"]
    assert check["suspect_ids"] == 1 and list(check["examples"]) == [qid]
    assert check["checked_ids"] > 1
    assert qid in caplog.text
    assert json.loads((tmp_path / "out" / "build_info.json").read_text())["parallel_check"] == check
    card = (tmp_path / "out" / "README.md").read_text("utf-8")
    assert "assumes that instances sharing an `id` are the same question" in card
    assert f"1 of {check['checked_ids']} ids" in card
    assert next(s for s in report.steps if s.name == "label").flagged == 1


# -- 5: the same model under a look-alike name, the same predictions under another ---------------------------


def _resubmit(board, tmp_path, model_id: str, predictions_of: str, skill: float = 0.5):
    from mlqa_domain.leaderboard.store import LocalStore
    from mlqa_domain.leaderboard.verify import submit

    store_dir = tmp_path / "board"
    shutil.copytree(board[0], store_dir)
    run = factory.write_results_dir(tmp_path / "run", board[1], board[2], predictions_of, skill)
    results = json.loads((run / "results.json").read_text("utf-8"))
    results["model"]["id"] = model_id
    (run / "results.json").write_text(json.dumps(results, ensure_ascii=False), "utf-8")
    before = _tree(store_dir)
    try:
        return submit(run, LocalStore(store_dir), submitter="eve")
    finally:
        if _tree(store_dir) != before:
            assert len(LocalStore(store_dir).entry_ids()) == 3  # accepted: one entry more, nothing else


@pytest.mark.parametrize(
    "model_id",
    [
        "org/tiny-squ\u0430d",  # Cyrillic а
        "org/tiny-squ\u03b1d",  # Greek α
        "ORG/Tiny-Squad",  # case
        "\uff4frg/tiny-squad",  # full-width ｏ
        "org/tiny-\u200bsquad",  # zero-width space
        "org/tiny-sq\u0075\u0430d",
    ],
)
def test_a_look_alike_model_id_is_the_same_model(model_id, board, tmp_path):
    with pytest.raises(InputError, match="duplicate submission.*look alike"):
        _resubmit(board, tmp_path, model_id, "org/tiny-squad", skill=0.55)


def test_the_same_predictions_under_another_name_are_one_entry(board, tmp_path):
    with pytest.raises(InputError, match=r"score exactly as entry org-tiny-squad-\w+ .*on every question"):
        _resubmit(board, tmp_path, "someone/else", "org/tiny-squad")


def test_other_predictions_under_another_name_are_a_new_entry(board, tmp_path):
    entry = _resubmit(board, tmp_path, "someone/else", "someone/else")
    assert entry.submission.model.id == "someone/else"


def test_name_skeleton():
    from mlqa_domain.naming import name_skeleton

    assert name_skeleton("org/tiny-squ\u0430d") == name_skeleton("ORG/TINY\u2010SQUAD") == "org/tiny-squad"
    assert name_skeleton("xlm-roberta-base") != name_skeleton("xlm-roberta-large")
    assert name_skeleton("org/model-v1") == name_skeleton("org/model-vl")


# -- 8, 9: control characters of submitted strings on the terminal -------------------------------------------

HOSTILE_ID = "org/\x1b[2J\x1b]0;pwned\x07tiny\nsquad\u202e"


def _cli(cli_app, args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """`bench args` as its console script runs it (``cli_app``: the bench app, kept for the callers)."""
    return run_console("bench", args, capsys, monkeypatch)


def test_control_characters_of_a_model_id_never_reach_the_terminal(board, tmp_path, capsys, monkeypatch):
    from mlqa_domain.bench_cli import app

    store_dir = tmp_path / "board"
    shutil.copytree(board[0], store_dir)
    run = factory.write_results_dir(tmp_path / "run", board[1], board[2], HOSTILE_ID, 0.6)
    code, out, err = _cli(
        app, ["submit", str(run), "--leaderboard", str(store_dir), "--submitter", "eve"], capsys, monkeypatch
    )
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out and "\u202e" not in out
    code, out, err = _cli(app, ["leaderboard", "show", "--leaderboard", str(store_dir)], capsys, monkeypatch)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out.replace("\n", "").replace("│", "").replace(" ", "")
    # the duplicate's error echoes the id: on one line, spelled out
    code, out, err = _cli(
        app, ["submit", str(run), "--leaderboard", str(store_dir), "--submitter", "eve"], capsys, monkeypatch
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "duplicate submission" in lines[0] and "\\x1b[2J" in lines[0] and "\\n" in lines[0]
    assert "\x1b" not in err


def test_log_lines_spell_control_characters_out(capsys):
    from mlqa_domain.cli_utils import setup_logging

    setup_logging()
    logging.getLogger("mlqa_domain.test").warning("entry %s cannot be drawn", HOSTILE_ID)
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b]0;pwned\\x07tiny\\nsquad\\u202e" in err.replace("\n", "")


# -- 12, 13: disk full and read-only surface as one line (every command: tests/test_bad_inputs.py) ----------


def test_disk_full_in_the_embedding_cache_is_one_line(tmp_path):
    import sqlite3

    from mlqa_domain.embeddings import EmbeddingCache

    cache = EmbeddingCache(tmp_path, "emb")

    class FullDisk:
        def __init__(self, conn):
            self.conn = conn

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, *args):
            return self.conn.execute(*args)

        def executemany(self, *args):
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13
            raise error

    cache._db  # noqa: B018 - opens it
    cache._conn = FullDisk(cache._conn)
    with pytest.raises(
        InputError, match=r"embeddings-emb.sqlite: cannot write the embedding cache \(database"
    ):
        cache.put_many({"a": [0.0, 1.0]})
    assert [p.name for p in tmp_path.iterdir()] == ["embeddings-emb.sqlite"]  # not moved aside as corrupt


# -- 18: zip members are read within a size and ratio cap ----------------------------------------------------


def test_a_zip_member_is_read_within_the_size_and_ratio_caps(tmp_path, monkeypatch):
    import zipfile

    from mlqa_domain.builders.sources import mlqa_official

    path = tmp_path / "a.zip"
    data = b"[" + b" " * 5000 + b"]"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("m.json", data)
    monkeypatch.setattr(mlqa_official, "RATIO_FREE_BYTES", 100)
    monkeypatch.setattr(mlqa_official, "MAX_COMPRESSION_RATIO", 2)
    with zipfile.ZipFile(path) as archive, pytest.raises(InputError, match="a.zip:m.json: .*zip bomb"):
        mlqa_official.read_zip_member(archive, "m.json", "a.zip:m.json")
    monkeypatch.setattr(mlqa_official, "MAX_COMPRESSION_RATIO", 1000)
    monkeypatch.setattr(mlqa_official, "MAX_MEMBER_BYTES", 1000)
    with zipfile.ZipFile(path) as archive, pytest.raises(InputError, match="zip bomb"):
        mlqa_official.read_zip_member(archive, "m.json", "a.zip:m.json")
    monkeypatch.setattr(mlqa_official, "MAX_MEMBER_BYTES", 10_000)
    with zipfile.ZipFile(path) as archive:
        assert mlqa_official.read_zip_member(archive, "m.json", "a.zip:m.json") == data


# -- 19: two cold builds share one cache ---------------------------------------------------------------------


def test_the_int8_export_writes_no_shared_scratch_file_into_the_cache(tiny_sbert, tmp_path, monkeypatch):
    import onnx.shape_inference

    from mlqa_domain.embeddings import TextEncoder

    written: list[Path] = []
    real = onnx.shape_inference.infer_shapes_path

    def infer_shapes_path(model_path, output_path="", *args, **kwargs):
        written.append(Path(output_path or model_path).resolve())
        return real(model_path, output_path, *args, **kwargs)

    monkeypatch.setattr(onnx.shape_inference, "infer_shapes_path", infer_shapes_path)
    encoder = TextEncoder(str(tiny_sbert), cache_dir=tmp_path / "cache", backend="onnx-int8")
    assert encoder.encode(["a sentence"]).shape[0] == 1
    assert written and not any(p.is_relative_to((tmp_path / "cache").resolve()) for p in written)


COLD_EXPORT = textwrap.dedent(
    """
    import sys
    from mlqa_domain.embeddings import TextEncoder
    vectors = TextEncoder(sys.argv[1], cache_dir=sys.argv[2], backend="onnx-int8").encode(["a sentence"])
    print(vectors.shape[0])
    """
)


def test_two_cold_exports_into_one_cache_both_succeed(tiny_sbert, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", COLD_EXPORT, str(tiny_sbert), str(tmp_path / "cache")],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-2000:]
        assert out.strip() == "1"
    exported = [p for p in (tmp_path / "cache" / "onnx").iterdir() if p.is_dir()]
    assert len(exported) == 1
    assert {p.name for p in exported[0].iterdir()} == {"model.onnx", "model-int8.onnx"}


def test_a_warm_cache_fills_one_array_and_a_cache_of_mixed_sizes_is_moved_aside(tmp_path: Path) -> None:
    from mlqa_domain.embeddings import EmbeddingCache

    cache = EmbeddingCache(tmp_path, "emb")
    vectors = {f"h{i}": np.full(3, i, dtype=np.float32) for i in range(1200)}  # three 500-row reads
    cache.put_many(vectors)
    wanted = ["h5", "missing", *[f"h{i}" for i in range(1199, 600, -1)]]
    array, found = cache.fill(wanted)
    assert array is not None and array.shape == (len(wanted), 3)
    assert found.tolist() == [True, False, *[True] * 599]
    assert array[0].tolist() == [5.0, 5.0, 5.0] and array[2].tolist() == [1199.0] * 3
    with sqlite3.connect(cache.path) as db:  # one vector of another size: a damaged cache
        db.execute("UPDATE emb SET vec = ? WHERE hash = 'h7'", (np.zeros(4, dtype=np.float32).tobytes(),))
    cache.close()
    again = EmbeddingCache(tmp_path, "emb")
    array, found = again.fill([f"h{i}" for i in range(10)])
    assert array is None and not found.any()
    assert any(p.name.startswith("embeddings-emb.sqlite.corrupt-") for p in tmp_path.iterdir())


def test_a_full_disk_that_names_no_file_says_where_temporary_files_go():
    """A temporary file's write (a spill) fails without a file name: the line says where they go."""
    from mlqa_domain.errors import os_error_line

    line = os_error_line(OSError(errno.ENOSPC, "No space left on device"))
    assert line.startswith("No space left on device (temporary files go to ") and "TMPDIR" in line
    named = os_error_line(OSError(errno.ENOSPC, "No space left on device", "/data/out.parquet"))
    assert named == "/data/out.parquet: No space left on device"
