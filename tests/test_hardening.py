"""Regression tests of issue 12: one name rule, value ranges, text cleaning, caches, file modes, temp
dirs and the leaderboard store lock. Each fails on the code before the fix."""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.atomic import atomic_dir, atomic_file, write_text_atomic
from mlqa_domain.configs import check_config_name, check_name, check_names, is_submittable_name
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example
from mlqa_domain.filters import build_filters
from mlqa_domain.filters.answer_span import AnswerSpanFilter
from mlqa_domain.filters.text_clean import TextCleanFilter, clean_text
from mlqa_domain.labeling.taxonomy import Taxonomy, check_delta, check_thresholds, load_taxonomy
from mlqa_domain.leaderboard.store import ENTRIES, LocalStore

DOMAIN = "  legal:\n    description: law\n    threshold: 0.3\n"


def _taxonomy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tax.yaml"
    path.write_text(text, "utf-8")
    return path


# -- 2, 3: one name rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"general: all\ndomains:\n{DOMAIN}", "bad general label name 'all'"),
        (f"general: legal\ndomains:\n{DOMAIN}", "general label 'legal' is also a domain"),
        (f"general: Général\ndomains:\n{DOMAIN}", "bad general label name"),
        ("domains:\n  légal:\n    description: x\n    threshold: 0.3\n", "bad domain name 'légal'"),
        ("domains:\n  Legal:\n    description: x\n    threshold: 0.3\n", "bad domain name 'Legal'"),
        ("domains:\n  _legal:\n    description: x\n    threshold: 0.3\n", "bad domain name '_legal'"),
        ("domains:\n  all:\n    description: x\n    threshold: 0.3\n", "'all' is reserved"),
    ],
)
def test_taxonomy_names_follow_the_one_rule(tmp_path, text, problem):
    path = _taxonomy(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert problem in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_the_rule_holds_for_a_taxonomy_made_in_code():
    spec = {"description": "x", "threshold": 0.3}
    with pytest.raises(ValueError, match="reserved"):
        Taxonomy.model_validate({"general": "all", "domains": {"legal": spec}})
    with pytest.raises(ValueError, match="also a domain"):
        Taxonomy.model_validate({"general": "legal", "domains": {"legal": spec}})


def test_names_accepted_by_the_build_are_submittable():
    for domain in ("legal", "bio_medical", "finance2"):
        check_names([domain], "general")
        assert is_submittable_name(f"{domain}.de") and is_submittable_name(f"{domain}.de.en")
        assert check_config_name(f"{domain}.de.en").domain == domain
    for bad in ("légal", "Legal", "le-gal", "1legal", "", "all"):
        with pytest.raises(ConfigError):
            check_name(bad)
    for bad in ("légal.de", "Legal.de", "le-gal.de", "legal.DE", "legal.d3", "legal"):
        assert not is_submittable_name(bad)
        with pytest.raises(ConfigError, match="bad config name"):
            check_config_name(bad, "repo")
    assert is_submittable_name("all.de") and is_submittable_name("general.de.en")


def test_leaderboard_init_refuses_a_name_the_schema_would_refuse(tmp_path):
    store = LocalStore(tmp_path / "board")
    with pytest.raises(ConfigError, match="bad config name 'légal.de'"):
        store.initialise("data", "sha256:" + "0" * 64, "test", {"légal.de": 3, "all.de": 3}, "general")
    with pytest.raises(ConfigError, match="bad general label name 'all'"):
        store.initialise("data", "sha256:" + "0" * 64, "test", {"legal.de": 3}, "all")
    assert not (tmp_path / "board").exists()


# -- 6: value ranges ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "problem"),
    [(".nan", "finite"), (".inf", "finite"), ("1.5", "less than or equal to 1"), ("-3", "greater than")],
)
def test_thresholds_are_range_checked_on_load(tmp_path, threshold, problem):
    path = _taxonomy(tmp_path, f"domains:\n  legal:\n    description: x\n    threshold: {threshold}\n")
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert "domains.legal.threshold" in str(info.value) and problem in str(info.value)


@pytest.mark.parametrize("delta", [".nan", "-0.1", "2"])
def test_delta_is_range_checked_on_load(tmp_path, delta):
    path = _taxonomy(tmp_path, f"classification:\n  delta: {delta}\ndomains:\n{DOMAIN}")
    with pytest.raises(ConfigError, match="classification.delta"):
        load_taxonomy(path)


def test_a_threshold_only_a_perfect_score_reaches_is_warned_about(tmp_path, caplog):
    path = _taxonomy(tmp_path, "domains:\n  legal:\n    description: x\n    threshold: 1.0\n")
    with caplog.at_level(logging.WARNING):
        load_taxonomy(path)
    assert any("domain legal is unreachable" in r.getMessage() for r in caplog.records)


def test_classifier_thresholds_and_delta_in_the_declared_range():
    assert check_thresholds({"legal": 0.5}, "t") == {"legal": 0.5}
    with pytest.raises(ConfigError, match="finite"):
        check_thresholds({"legal": float("nan")}, "classifier 'x' thresholds", "tax.yaml")
    with pytest.raises(ConfigError, match=r"must be in \[0, 1\]"):
        check_thresholds({"legal": -0.5}, "classification thresholds", "tax.yaml", (0.0, 1.0))
    with pytest.raises(ConfigError, match="must be a number"):
        check_delta("much", "classifier 'x' delta")
    with pytest.raises(ConfigError, match="finite"):
        check_delta(float("inf"), "classifier 'x' delta")


def test_classifier_options_out_of_range_are_a_config_error(tmp_path):
    from mlqa_domain.labeling.labelers import build_labeler

    path = _taxonomy(
        tmp_path,
        "classification:\n  classifiers:\n"
        "    - {name: ft, type: fasttext, model: nowhere.bin, thresholds: .nan}\n"
        f"domains:\n{DOMAIN}",
    )
    with pytest.raises(ConfigError):
        build_labeler(load_taxonomy(path))


# -- 7: control and bidi-override characters ----------------------------------------------------------


def _example(context: str, question: str, answer: str, start: int, title: str = "T") -> Example:
    return Example(
        id="q1",
        split="test",
        context_language="en",
        question_language="en",
        context=context,
        question=question,
        answers={"text": [answer], "answer_start": [start]},
        title=title,
    )


def test_control_and_bidi_characters_are_removed_and_offsets_moved():
    context = "A\x00B\u202e lease \x01was\x7f signed by \u2066Anna\u2069 Berg in 1999."
    answer = "\u2066Anna\u2069 Berg"
    example = _example(context, "Who\x00 signed\u202e?", answer, context.index(answer), "Ti\x1btle")
    step = TextCleanFilter()
    kept = step([example])
    assert kept == [example] and step.stats.flagged == 1
    assert example.context == "AB lease was signed by Anna Berg in 1999."
    assert example.question == "Who signed?" and example.title == "Title"
    assert example.answers["text"] == ["Anna Berg"]
    start = example.answers["answer_start"][0]
    assert example.context[start : start + len("Anna Berg")] == "Anna Berg"
    assert "control/bidi" in example.flags[0]
    assert AnswerSpanFilter()([example]) == [example]  # the moved offset is valid


def test_whitespace_and_bidi_marks_are_kept():
    text = "Zeile 1\n\tZeile 2\r\n\u200fعربي\u200e"
    assert clean_text(text) == text
    example = _example(text, "Wo?", "Zeile 2", text.index("Zeile 2"))
    step = TextCleanFilter()
    assert step([example]) == [example] and step.stats.flagged == 0 and not example.flags


@pytest.mark.parametrize(
    ("question", "context", "answer", "key"),
    [
        ("\x00\x00\x00", "The lease was signed.", "lease", "blank question"),
        ("What?", "\u202e\x00", "\x00", "blank context"),
        ("What?", "The lease was signed.\x00", "\x00", "blank answer"),
    ],
)
def test_texts_left_blank_are_rejected_with_a_reason(question, context, answer, key):
    step = TextCleanFilter()
    example = _example(context, question, answer, max(context.find(answer), 0))
    assert step([example]) == []
    assert step.stats.reasons == {key: 1} and step.rejected[0].reason.startswith("text-clean:")


def test_text_cleaning_is_on_by_default_and_runs_first():
    from mlqa_domain.builders.build import load_filters_config

    filters = build_filters(load_filters_config(None))
    assert isinstance(filters[0], TextCleanFilter)


# -- 5: a corrupt or mismatched embedding cache -------------------------------------------------------


def _encoder(model: Path, cache: Path):
    from mlqa_domain.embeddings import TextEncoder

    return TextEncoder(str(model), cache_dir=cache, backend="torch")


def test_a_corrupt_embedding_cache_is_moved_aside_and_rebuilt(tiny_sbert, tmp_path, caplog):
    texts = ["The court ruled.", "Der Vertrag ist nichtig."]
    fresh = _encoder(tiny_sbert, tmp_path / "c0").encode(texts)
    encoder = _encoder(tiny_sbert, tmp_path / "c1")
    path = encoder._cache.path
    encoder.encode(texts)
    encoder._cache.close()
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * (len(data) - 100))  # header kept, pages overwritten
    with caplog.at_level(logging.WARNING):
        again = _encoder(tiny_sbert, tmp_path / "c1").encode(texts)
    np.testing.assert_allclose(again, fresh, atol=1e-6)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0] and "moved it aside" in warnings[0]
    assert list(path.parent.glob(f"{path.name}.corrupt-*"))


def test_a_cache_that_is_not_a_database_is_replaced(tiny_sbert, tmp_path, caplog):
    cache = tmp_path / "c"
    encoder = _encoder(tiny_sbert, cache)
    cache.mkdir()
    encoder._cache.path.write_bytes(b"not a database at all" * 100)
    with caplog.at_level(logging.WARNING):
        vectors = _encoder(tiny_sbert, cache).encode(["a text"])
    assert vectors.shape[0] == 1 and any("embedding cache" in r.getMessage() for r in caplog.records)


def test_cached_vectors_of_another_size_are_encoded_again(tiny_sbert, tmp_path, caplog):
    from mlqa_domain.embeddings import text_hash

    texts = ["The court ruled.", "Der Vertrag ist nichtig.", "A third text."]
    fresh = _encoder(tiny_sbert, tmp_path / "c0").encode(texts)
    encoder = _encoder(tiny_sbert, tmp_path / "c1")
    encoder._cache.put_many({text_hash(texts[0]): np.ones(3, dtype=np.float32)})  # another model's size
    encoder._cache.close()
    with caplog.at_level(logging.WARNING):
        again = _encoder(tiny_sbert, tmp_path / "c1").encode(texts)
    np.testing.assert_allclose(again, fresh, atol=1e-6)
    assert any("3 dimensions" in r.getMessage() for r in caplog.records)


# -- 9: file modes honour the umask -------------------------------------------------------------------


def test_atomic_files_and_dirs_get_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "leaderboard.json", "{}")
        with atomic_file(tmp_path / "rejected" / "x.jsonl") as handle:
            handle.write("")
        with atomic_dir(tmp_path / "model") as tmp:
            (tmp / "weights.bin").write_bytes(b"1")
    finally:
        os.umask(old)
    assert (tmp_path / "leaderboard.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "rejected" / "x.jsonl").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755


# -- 11: temp dirs of a killed run ----------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_next_write_removes_what_a_killed_run_left(tmp_path):
    from mlqa_domain.atomic import _host

    dead, host = _dead_pid(), _host()
    (tmp_path / f".out.tmp-{dead}.{host}_abc").mkdir()
    (tmp_path / f".out.tmp-{dead}.{host}_abc" / "data.parquet").write_bytes(b"x")
    (tmp_path / f".out.old-{dead}.{host}").mkdir()
    (tmp_path / f".leaderboard.json.tmp-{dead}.{host}_xyz").write_text("{")
    legacy = tmp_path / ".out.tmp-k2j3h4"  # the old naming, without a pid: stale once an hour old
    legacy.mkdir()
    os.utime(legacy, (time.time() - 7200, time.time() - 7200))
    alive = tmp_path / f".out.tmp-{os.getppid()}.{host}_live"  # a writer that is still running
    alive.mkdir()
    elsewhere = tmp_path / f".out.tmp-{dead}.{host}-2_abc"  # another machine's pid: age decides
    elsewhere.mkdir()
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "x").write_text("1")
    write_text_atomic(tmp_path / "leaderboard.json", "{}")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([alive.name, elsewhere.name, "leaderboard.json", "out"])


# -- 4: the store lock ------------------------------------------------------------------------------------


def _add(root: str, entry_id: str, marker: str, barrier, results) -> None:
    barrier.wait()
    try:
        # enough files that the check-then-write window of an unlocked store is wide
        files = {f"predictions/{i}.json": b"x" * 50_000 for i in range(40)}
        LocalStore(root).add_entry(entry_id, {"entry.json": marker.encode(), **files})
        results.put(("ok", marker))
    except InputError as exc:
        results.put(("refused", str(exc)))
    except Exception as exc:  # the race this guards against: OSError: [Errno 39] Directory not empty
        results.put(("crashed", repr(exc)))


def test_concurrent_duplicates_land_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    n = 8
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [
        ctx.Process(target=_add, args=(str(tmp_path), "e1", f"m{i}", barrier, results)) for i in range(n)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    outcomes = [results.get(timeout=5) for _ in range(n)]
    accepted = [m for kind, m in outcomes if kind == "ok"]
    assert len(accepted) == 1, outcomes
    assert all(kind == "refused" and "duplicate submission" in m for kind, m in outcomes if kind != "ok")
    assert (tmp_path / ENTRIES / "e1" / "entry.json").read_text() == accepted[0]


def test_add_waits_for_the_lock_and_then_refuses_the_duplicate(tmp_path):
    store = LocalStore(tmp_path)
    outcome: list[str] = []

    def second() -> None:
        try:
            LocalStore(tmp_path).add_entry("e1", {"entry.json": b"second"})
            outcome.append("added")
        except InputError as exc:
            outcome.append(str(exc))

    with store.locked():
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not outcome  # blocked on the lock
        (tmp_path / ENTRIES / "e1").mkdir(parents=True)  # the first submit lands meanwhile
        (tmp_path / ENTRIES / "e1" / "entry.json").write_bytes(b"first")
    thread.join(10)
    assert outcome and "duplicate submission: entry e1" in outcome[0]
    assert (tmp_path / ENTRIES / "e1" / "entry.json").read_bytes() == b"first"


class _Response:
    status_code = 412
    headers: dict = {}
    request = None


class _FakeHub:
    """The two HfApi calls HubStore makes, with one concurrent commit landing in between (the hub
    itself cannot be reached from tests)."""

    def __init__(self, land_first: str | None) -> None:
        self.head, self.files, self.commits = "a" * 40, [], []
        self.land_first = land_first

    def dataset_info(self, repo_id, revision=None, files_metadata=False):
        from types import SimpleNamespace

        return SimpleNamespace(sha=self.head, siblings=[SimpleNamespace(rfilename=f) for f in self.files])

    def create_commit(self, repo_id, operations, commit_message, repo_type, revision, parent_commit):
        from huggingface_hub.errors import HfHubHTTPError

        if self.land_first is not None:  # someone else commits first
            self.files.append(self.land_first)
            self.head, self.land_first = "b" * 40, None
        if parent_commit != self.head:
            raise HfHubHTTPError("412 Precondition Failed: a commit has happened since", response=_Response())
        self.files += [op.path_in_repo for op in operations]
        self.commits.append(commit_message)


def _hub_store(fake: _FakeHub):
    from mlqa_domain.leaderboard.store import HubStore

    store = HubStore("org/board")
    store._api = lambda: fake
    return store


def test_hub_store_retries_a_commit_whose_parent_moved():
    fake = _FakeHub(land_first="entries/other/entry.json")
    _hub_store(fake).add_entry("e1", {"entry.json": b"{}"})
    assert fake.commits == ["Add leaderboard entry e1"]
    assert "entries/e1/entry.json" in fake.files and "entries/other/entry.json" in fake.files


def test_hub_store_refuses_a_duplicate_that_landed_meanwhile():
    fake = _FakeHub(land_first="entries/e1/entry.json")
    with pytest.raises(InputError, match="duplicate submission: entry e1"):
        _hub_store(fake).add_entry("e1", {"entry.json": b"{}"})
    assert fake.commits == []


def test_control_characters_never_reach_the_published_dataset(tiny_sbert, tmp_path):
    import json
    import shutil

    import pyarrow.parquet as pq

    from mlqa_domain.builders.build import build_dataset
    from mlqa_domain.filters.text_clean import UNWANTED

    source = tmp_path / "MLQA_V1"
    shutil.copytree(Path(__file__).resolve().parents[1] / "mlqa_domain" / "data" / "demo" / "MLQA_V1", source)
    path = source / "test" / "test-context-de-question-de.json"
    data = json.loads(path.read_text("utf-8"))
    first, second = data["data"][0]["paragraphs"][0], data["data"][1]["paragraphs"][0]
    first["qas"][0]["question"] = "\x00\x00\x00"
    blank_id = first["qas"][0]["id"]
    qa = second["qas"][0]
    qa["question"] = "\u202e" + qa["question"] + "\x00"
    second["context"] = "\x01\u2066" + second["context"]  # every answer offset moves by 2
    qa["answers"][0]["answer_start"] += 2
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    out = tmp_path / "out"
    build_dataset(
        [str(source)], out, embedding_model=str(tiny_sbert), cache_dir=tmp_path / "c", languages=["de"]
    )
    rows = [r for p in sorted((out / "data").rglob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert rows
    for row in rows:
        for field in ("context", "question", "title"):
            assert not UNWANTED.search(row[field] or ""), (field, row["id"])
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"], strict=True):
            assert row["context"][start : start + len(text)] == text
    assert blank_id not in {r["id"] for r in rows}
    cleaned = [r for r in rows if r["id"] == qa["id"]]
    assert cleaned and cleaned[0]["question"] == qa["question"][1:-1]
    rejected = (out / "rejected" / "text_clean.jsonl").read_text("utf-8")
    assert blank_id in rejected and "question is blank" in rejected


# -- 1, 10: submitted strings are data wherever they are shown ------------------------------------------


@pytest.fixture(scope="module")
def lb_dataset(tmp_path_factory):
    from tests.fixtures.leaderboard import factory

    repo = factory.build_dataset_repo(tmp_path_factory.mktemp("hardening-lb") / "mlqa-domain")
    return repo, factory.load_gold(repo)


def _board_with(tmp_path, lb_dataset, models):
    from mlqa_domain.leaderboard.dataset_info import init_leaderboard
    from mlqa_domain.leaderboard.verify import submit
    from tests.fixtures.leaderboard import factory

    repo, gold = lb_dataset
    store = LocalStore(tmp_path / "board")
    init_leaderboard(store, repo)
    for i, (model, skill) in enumerate(models):
        run = factory.write_results_dir(tmp_path / f"run{i}", repo, gold, model, skill)
        submit(run, store, submitter="ana")
    return store


EVIL = [("evil$\\foo{$x", 0.7), ('=HYPERLINK("http://x")', 0.6), ("org/plain[/x] [bold]", 0.5)]


def test_mathtext_markup_and_formulas_in_a_model_id_are_shown_as_typed(tmp_path, lb_dataset):
    import csv
    import io

    from typer.testing import CliRunner

    from mlqa_domain.bench_cli import app
    from mlqa_domain.leaderboard.render import render_site

    store = _board_with(tmp_path, lb_dataset, EVIL)
    site = tmp_path / "site"
    table = render_site(store, site)  # the mathtext model id used to stop every render
    assert len(table.rows) == 3
    assert (site / "plots" / "domain-gap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.reader(io.StringIO((site / "leaderboard.csv").read_text("utf-8"))))
    models = {row[rows[0].index("model")] for row in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in models and "evil$\\foo{$x" in models

    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    formulas = [c for row in rows[1:] for c in row if c.startswith(("=", "+", "-", "@")) and not is_number(c)]
    assert formulas == []
    shown = CliRunner().invoke(app, ["leaderboard", "show", "--leaderboard", str(store.root)])
    assert shown.exit_code == 0, shown.output
    assert "org/plain[/x" in shown.output and "[bold]" in shown.output  # as typed, not as markup


def test_csv_formula_prefixes_are_neutralised():
    from mlqa_domain.leaderboard.table import csv_safe

    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_safe(cell) == "'" + cell
    assert csv_safe("org/model") == "org/model" and csv_safe(-1.5) == -1.5 and csv_safe(None) is None


def test_an_entry_that_cannot_be_drawn_is_reported_and_skipped(tmp_path, lb_dataset, caplog):
    import json

    from mlqa_domain.leaderboard.render import render_site

    store = _board_with(tmp_path, lb_dataset, [("org/good", 0.7), ("org/odd", 0.5)])
    odd = next(e for e in store.entries() if e.submission.model.id == "org/odd")
    path = store.root / ENTRIES / odd.entry_id / "entry.json"
    data = json.loads(path.read_text("utf-8"))
    gaps = data["verification"]["domain_gaps"]
    next(iter(gaps.values()))["languages"].append("zz")  # a gap for a config it has no score of
    path.write_text(json.dumps(data), "utf-8")
    site = tmp_path / "site"
    with caplog.at_level(logging.WARNING):
        table = render_site(store, site)
    assert [r.model for r in table.rows] == ["org/good"]
    assert not list((site / "entries").glob(f"{odd.entry_id}*"))
    assert not list((site / "plots").glob(f"{odd.entry_id}*"))
    assert "org/odd" not in (site / "index.html").read_text("utf-8")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and odd.entry_id in warnings[0] and "cannot be drawn" in warnings[0]


def test_a_page_never_compares_with_an_entry_left_off_the_site(tmp_path, lb_dataset, caplog):
    """When an entry's default baseline cannot be drawn, its page compares with the next plain-SQuAD run
    of the same base model instead of linking to a page that does not exist."""
    import json

    from mlqa_domain.leaderboard.compare import default_baseline
    from mlqa_domain.leaderboard.dataset_info import init_leaderboard
    from mlqa_domain.leaderboard.render import render_site
    from mlqa_domain.leaderboard.verify import submit
    from tests.fixtures.leaderboard import factory

    repo, gold = lb_dataset
    store = LocalStore(tmp_path / "board")
    init_leaderboard(store, repo)
    for i, (model, tasks) in enumerate([("org/plain-a", []), ("org/plain-b", []), ("org/mnli", ["mnli"])]):
        run = factory.write_results_dir(
            tmp_path / f"run{i}", repo, gold, model, 0.5 + i / 10, intermediate_tasks=tasks
        )
        submit(run, store, submitter="ana")
    entries = store.entries()
    mnli = next(e for e in entries if e.submission.model.id == "org/mnli")
    broken = default_baseline(mnli, entries)
    other = next(e for e in entries if e.submission.model.intermediate_tasks == [] and e is not broken)
    path = store.root / ENTRIES / broken.entry_id / "entry.json"
    data = json.loads(path.read_text("utf-8"))
    next(iter(data["verification"]["domain_gaps"].values()))["languages"].append("zz")
    path.write_text(json.dumps(data), "utf-8")
    site = tmp_path / "site"
    with caplog.at_level(logging.WARNING):
        table = render_site(store, site)
    assert broken.entry_id not in {r.entry_id for r in table.rows} and len(table.rows) == 2
    page = (site / "entries" / f"{mnli.entry_id}.html").read_text("utf-8")
    assert f'href="{other.entry_id}.html"' in page and broken.entry_id not in page
    plots = {p.name for p in (site / "plots").iterdir()}
    assert f"{mnli.entry_id}-vs-{other.entry_id}.png" in plots
    assert not [name for name in plots if broken.entry_id in name]
