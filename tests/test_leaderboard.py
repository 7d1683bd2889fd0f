"""Leaderboard: submission schema, verified submissions (and every kind of tampering), stores, render."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from fixtures.leaderboard import factory
from typer.testing import CliRunner

from mlqa_domain.errors import InputError
from mlqa_domain.leaderboard.dataset_info import init_leaderboard
from mlqa_domain.leaderboard.render import render_site
from mlqa_domain.leaderboard.schema import SCHEMA_PATH, Submission, submission_json_schema
from mlqa_domain.leaderboard.store import HubStore, LocalStore, open_store
from mlqa_domain.leaderboard.verify import submit


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return factory.build_dataset_repo(tmp_path_factory.mktemp("lb-dataset") / "mlqa-domain")


@pytest.fixture(scope="module")
def gold(dataset):
    return factory.load_gold(dataset)


@pytest.fixture
def store(tmp_path, dataset) -> LocalStore:
    store = LocalStore(tmp_path / "board")
    init_leaderboard(store, dataset)
    return store


@pytest.fixture
def results(tmp_path, dataset, gold) -> Path:
    return factory.write_results_dir(tmp_path / "results", dataset, gold, "org/xlmr-large-squad", 0.6)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file (hidden ones too) under ``root`` with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def edit_results(results_dir: Path, change) -> None:
    path = results_dir / "results.json"
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), "utf-8")


def rewrite_prediction(results_dir: Path, config: str, gold_answers: dict, update_hash: bool) -> str:
    """Turn one correct answer of ``config`` into a wrong one; return the question id."""
    path = results_dir / "predictions" / f"{config}.json"
    predictions = json.loads(path.read_text("utf-8"))
    qid = next(q for q, a in sorted(predictions.items()) if a in gold_answers[q])
    predictions[qid] = "völlig falsch"
    data = factory.predictions_bytes(predictions)
    path.write_bytes(data)
    if update_hash:
        edit_results(
            results_dir,
            lambda r: r["configs"][config].__setitem__(
                "predictions_sha256", hashlib.sha256(data).hexdigest()
            ),
        )
    return qid


# -- schema -------------------------------------------------------------------------------------------


def test_committed_json_schema_matches_the_model():
    assert json.loads(SCHEMA_PATH.read_text("utf-8")) == submission_json_schema()
    schema = submission_json_schema()
    assert schema["properties"]["schema_version"]["const"] == 1
    assert {"model", "submitter", "date", "harness", "dataset", "settings", "configs"} <= set(
        schema["required"]
    )


def _valid_submission() -> dict:
    return {
        "schema_version": 1,
        "submitter": "ana",
        "date": "2026-11-25T12:00:00Z",
        "model": {
            "id": "org/m",
            "revision": "main",
            "commit_hash": "a" * 40,
            "base_model": "xlm-roberta-base",
        },
        "harness": {"name": "mlqa-domain", "version": "0.1.0"},
        "dataset": {"path": "x", "fingerprint": "sha256:" + "0" * 64, "split": "test"},
        "settings": dict(factory.SETTINGS),
        "configs": {
            "legal.de": {
                "domain": "legal",
                "context_language": "de",
                "question_language": "de",
                "exact_match": 50.0,
                "f1": 60.0,
                "count": 12,
                "predictions_file": "predictions/legal.de.json",
                "predictions_sha256": "b" * 64,
            }
        },
    }


def test_schema_accepts_a_valid_submission():
    submission = Submission.model_validate(_valid_submission())
    assert submission.model.intermediate_tasks == []
    assert submission.entry_id().startswith("org-m-")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("schema_version",), 2),
        (("model", "base_model"), None),
        (("dataset", "fingerprint"), "md5:abc"),
        (("configs", "legal.de", "predictions_sha256"), "xyz"),
        (("configs", "legal.de", "predictions_file"), "../../etc/passwd.json"),
        (("configs", "legal.de", "predictions_file"), "entry.json"),
        (("configs", "legal.de", "f1"), 101.0),
        (("settings", "max_seq_length"), 0),
    ],
)
def test_schema_rejects_bad_fields(path, value):
    data = _valid_submission()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValueError):
        Submission.model_validate(data)


def test_duplicate_key_ignores_device_and_batch_size_but_not_precision():
    a = Submission.model_validate(_valid_submission())
    other = _valid_submission()
    other["settings"].update(device="cuda", batch_size=64)
    assert Submission.model_validate(other).duplicate_key() == a.duplicate_key()
    other["settings"]["precision"] = "bf16"
    assert Submission.model_validate(other).duplicate_key() != a.duplicate_key()


# -- stores -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "repo_id", "revision"),
    [
        ("hf://datasets/mlqa-domain/leaderboard", "mlqa-domain/leaderboard", None),
        ("hf://datasets/org/board.v2/", "org/board.v2", None),
        ("hf://datasets/org/board@results-branch", "org/board", "results-branch"),
    ],
)
def test_hub_store_locations(location, repo_id, revision):
    store = open_store(location)
    assert isinstance(store, HubStore)
    assert (store.repo_id, store.revision) == (repo_id, revision)


@pytest.mark.parametrize(
    "location", ["hf://models/org/name", "hf://datasets/only-org", "hf://datasets/a/b/c", "hf://datasets//x"]
)
def test_bad_hub_locations_are_one_clear_error(location):
    with pytest.raises(InputError, match="hf://datasets/ORG/NAME"):
        open_store(location)


def test_unreachable_hub_store_is_one_clear_error():
    # offline, the hub store must say it cannot reach the hub (not "no leaderboard", not a traceback)
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        pytest.skip("run with HF_HUB_OFFLINE=1 (tests/conftest.py sets it)")
    store = open_store("hf://datasets/mlqa-domain/leaderboard")
    with pytest.raises(InputError, match=r"cannot read leaderboard\.json from the hub leaderboard") as caught:
        store.manifest()
    assert str(caught.value).startswith("hf://datasets/mlqa-domain/leaderboard: ")
    with pytest.raises(InputError, match="cannot list the hub leaderboard"):
        store.entries()


def test_local_store_location(tmp_path):
    assert isinstance(open_store(tmp_path / "board"), LocalStore)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="must be a directory"):
        open_store(tmp_path / "file")


def test_init_records_the_dataset(store, dataset):
    manifest = store.manifest()
    info = json.loads((dataset / "build_info.json").read_text())
    assert manifest.dataset_fingerprint == info["dataset_fingerprint"]
    assert manifest.dataset_location == str(dataset.resolve())
    assert manifest.split == "test"
    assert manifest.configs["legal.de"] == info["configs"]["legal.de"]["test"]
    assert init_leaderboard(store, dataset) == manifest  # idempotent for the same dataset


def test_init_refuses_another_dataset_and_a_missing_one(store, tmp_path, dataset):
    other = tmp_path / "other"
    shutil.copytree(dataset, other)
    info = json.loads((other / "build_info.json").read_text())
    info["dataset_fingerprint"] = "sha256:" + "1" * 64
    (other / "build_info.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match="already a leaderboard"):
        init_leaderboard(store, other)
    with pytest.raises(InputError, match="dataset not found"):
        init_leaderboard(LocalStore(tmp_path / "b2"), tmp_path / "nowhere")
    with pytest.raises(InputError, match="cannot resolve the dataset's hub commit"):  # offline in tests
        init_leaderboard(LocalStore(tmp_path / "b3"), "mlqa-domain/mlqa-domain")
    assert not (tmp_path / "b2").exists() and not (tmp_path / "b3").exists()


def test_dataset_changed_after_init_is_rejected(tmp_path, gold):
    dataset = factory.build_dataset_repo(tmp_path / "data" / "mlqa-domain")
    store = LocalStore(tmp_path / "board")
    init_leaderboard(store, dataset)
    run = factory.write_results_dir(tmp_path / "run", dataset, gold, "org/m", 0.5)
    before = snapshot(store.root)
    parquet = dataset / "data" / "legal.de" / "test.parquet"
    parquet.write_bytes(parquet.read_bytes() + b"\0")  # the files change, build_info.json does not
    with pytest.raises(InputError, match="the leaderboard's dataset changed since `bench leaderboard init`"):
        submit(run, store, submitter="ana")
    assert snapshot(store.root) == before


def test_gold_comes_from_the_leaderboards_own_dataset_not_a_stale_cache(tmp_path):
    # two dataset repos with the same dir name and config layout but different questions: `datasets`
    # alone would serve the second from the first one's cache
    boards = []
    for n_test in (12, 21):
        repo = factory.build_dataset_repo(tmp_path / f"n{n_test}" / "mlqa-domain", n_test=n_test)
        store = LocalStore(tmp_path / f"board{n_test}")
        init_leaderboard(store, repo)
        boards.append((repo, store))
    for repo, store in boards:
        run = factory.write_results_dir(
            store.root.parent / f"run-{store.root.name}", repo, factory.load_gold(repo), "m", 0.5
        )
        entry = submit(run, store, submitter="ana")
        assert (
            entry.verification.configs["all.de"].count
            == json.loads((repo / "build_info.json").read_text())["configs"]["all.de"]["test"]
        )


def test_submit_to_an_uninitialised_store_explains(tmp_path, results):
    with pytest.raises(InputError, match="bench leaderboard init"):
        submit(results, LocalStore(tmp_path / "empty"), submitter="ana")


# -- accepted submissions -----------------------------------------------------------------------------


def test_accepted_submission_is_stored_with_verified_scores(store, results):
    entry = submit(results, store, submitter="Ana", intermediate_tasks=["mnli"])
    claimed = json.loads((results / "results.json").read_text())
    assert store.entry_ids() == [entry.entry_id]
    stored = store.entries()[0]
    assert stored == entry
    assert stored.submission.model.intermediate_tasks == ["mnli"]
    assert stored.submission.submitter == "Ana"
    for config, claim in claimed["configs"].items():
        verified = stored.verification.configs[config]
        assert verified.f1 == pytest.approx(claim["f1"], abs=1e-9)
        assert verified.exact_match == pytest.approx(claim["exact_match"], abs=1e-9)
        assert verified.count == claim["count"]
    # the entry keeps the submitted results.json and every predictions file, byte for byte
    entry_dir = store.root / "entries" / entry.entry_id
    assert (entry_dir / "results.json").read_bytes() == (results / "results.json").read_bytes()
    for config in claimed["configs"]:
        rel = f"predictions/{config}.json"
        assert (entry_dir / rel).read_bytes() == (results / rel).read_bytes()
    # gaps to general for each domain config in each language pair, CIs around the point estimate
    gaps = stored.verification.config_gaps
    assert set(gaps) == {f"{d}.{p}" for d in ("biomedical", "legal") for p in ("de", "es", "de.en")}
    legal_de = gaps["legal.de"]
    assert legal_de.f1_gap == pytest.approx(
        claimed["configs"]["legal.de"]["f1"] - claimed["configs"]["general.de"]["f1"]
    )
    assert legal_de.f1_ci95[0] <= legal_de.f1_gap <= legal_de.f1_ci95[1]
    # a domain's gap: over the monolingual languages with both configs (cross-lingual pairs per config)
    assert stored.verification.domain_gaps["legal"].languages == ["de", "es"]
    assert "legal.de.en" in gaps
    # per-question scores (what `bench compare` and the entry pages pair on), one per gold question
    scores = json.loads((entry_dir / "scores.json").read_text("utf-8"))
    assert {c: len(s["ids"]) for c, s in scores.items()} == {
        c: v["count"] for c, v in claimed["configs"].items()
    }
    # nothing but the entry directory was left behind (no temp dirs)
    assert sorted(p.name for p in (store.root / "entries").iterdir()) == [entry.entry_id]


def test_missing_metadata_is_named_at_once_in_plain_words(store, tmp_path, dataset, gold):
    run = factory.write_results_dir(tmp_path / "r", dataset, gold, "org/m", 0.5, base_model=None)
    before = snapshot(store.root)
    with pytest.raises(InputError) as caught:
        submit(run, store)
    message = str(caught.value)
    assert message.startswith(f"{run / 'results.json'}: cannot submit yet, missing: who submits it")
    assert "(pass --submitter NAME)" in message and "(pass --base-model MODEL" in message  # both, at once
    with pytest.raises(InputError, match=r"missing: the pretrained model .*--base-model"):
        submit(run, store, submitter="ana")
    with pytest.raises(InputError, match=r"missing: who submits it \(pass --submitter NAME\)$"):
        submit(run, store, base_model="xlm-roberta-base")
    assert snapshot(store.root) == before
    entry = submit(run, store, submitter="ana", base_model="xlm-roberta-base")
    assert entry.submission.model.base_model == "xlm-roberta-base"


def test_submit_help_declares_what_is_required() -> None:
    from mlqa_domain.bench_cli import app

    result = CliRunner().invoke(app, ["submit", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    lines = {
        line.split()[1]: line for line in result.output.splitlines() if line.strip("│ *").startswith("--")
    }
    assert "[required]" in lines["--submitter"]
    assert "[required unless the run records it" in lines["--base-model"]


def test_schema_problems_are_listed_together(store, results):
    def break_two(r):
        r["configs"]["legal.de"]["f1"] = 140.0
        r["settings"]["max_seq_length"] = 0

    edit_results(results, break_two)
    with pytest.raises(InputError) as caught:
        submit(results, store, submitter="ana")
    message = str(caught.value)
    assert "invalid submission, 2 problems: " in message and "\n" not in message
    assert "settings.max_seq_length should be greater than 0" in message
    assert "configs.legal.de.f1 should be less than or equal to 100" in message


def test_what_a_stilts_run_recorded_is_read_from_it(store, tmp_path, dataset, gold):
    """A `bench stilts` run dir is submitted as it is: its results, base model and tasks come from it."""
    run_dir = tmp_path / "runs" / "xlmr-mnli"
    factory.write_results_dir(
        run_dir / "eval" / "results", dataset, gold, "xlmr-mnli", 0.5, intermediate_tasks=["mnli"]
    )
    entry = submit(run_dir, store, submitter="ana")
    assert entry.submission.model.base_model == "xlm-roberta-base"
    assert entry.submission.model.intermediate_tasks == ["mnli"]


def test_local_paths_of_older_results_are_not_published(store, tmp_path, dataset, gold):
    run = factory.write_results_dir(tmp_path / "old", dataset, gold, str(tmp_path / "ckpt" / "model"), 0.5)
    edit_results(run, lambda r: r["dataset"].__setitem__("path", str(dataset)))
    edit_results(run, lambda r: r["model"].__setitem__("base_model", str(tmp_path / "xlmr-base")))
    entry = submit(run, store, submitter="ana")
    assert entry.submission.model.id == "ckpt/model" and entry.submission.model.base_model == "xlmr-base"
    assert entry.submission.dataset.path == "mlqa-domain"
    for path in (store.root / "entries").rglob("*.json"):
        assert str(tmp_path) not in path.read_text("utf-8"), path


def test_conflicting_metadata_is_rejected(store, results):
    with pytest.raises(InputError, match="base_model is 'xlm-roberta-base' in results.json but 'mbert'"):
        submit(results, store, submitter="ana", base_model="mbert")


# -- rejected submissions: one clear error, store untouched --------------------------------------------


def _score_changed(results, gold):
    edit_results(
        results, lambda r: r["configs"]["legal.de"].__setitem__("f1", r["configs"]["legal.de"]["f1"] + 2.5)
    )
    return r"config legal\.de: claimed f1 [\d.]+ but the predictions score [\d.]+"


def _prediction_changed(results, gold):
    rewrite_prediction(results, "legal.es", gold["legal.es"][0], update_hash=False)
    return r"legal\.es\.json: sha256 mismatch for config legal\.es: the file has [0-9a-f]{64}, results\.json"


def _prediction_and_hash_changed(results, gold):
    rewrite_prediction(results, "biomedical.de", gold["biomedical.de"][0], update_hash=True)
    return r"config biomedical\.de: claimed exact_match [\d.]+ but the predictions score [\d.]+"


def _file_missing(results, gold):
    (results / "predictions" / "general.es.json").unlink()
    return r"general\.es\.json: predictions file of config general\.es is missing"


def _wrong_fingerprint(results, gold):
    edit_results(results, lambda r: r["dataset"].__setitem__("fingerprint", "sha256:" + "f" * 64))
    return r"dataset fingerprint sha256:f{64} does not match the leaderboard's dataset sha256:[0-9a-f]{64}"


def _count_changed(results, gold):
    edit_results(results, lambda r: r["configs"]["all.de"].__setitem__("count", 17))
    return r"config all\.de: claimed count 17 but the gold set has 18 questions"


def _unknown_config(results, gold):
    def add(r):
        r["configs"]["finance.de"] = dict(r["configs"]["legal.de"], domain="finance")

    edit_results(results, add)
    return r"config finance\.de is not in the leaderboard's dataset"


def _config_relabelled(results, gold):
    edit_results(results, lambda r: r["configs"]["legal.de"].__setitem__("domain", "biomedical"))
    return r"config legal\.de is labelled biomedical/de/de in results\.json"


def _stray_prediction(results, gold):
    path = results / "predictions" / "legal.de.json"
    predictions = json.loads(path.read_text("utf-8"))
    predictions["not-a-question"] = "x"
    data = factory.predictions_bytes(predictions)
    path.write_bytes(data)
    edit_results(
        results,
        lambda r: r["configs"]["legal.de"].__setitem__(
            "predictions_sha256", hashlib.sha256(data).hexdigest()
        ),
    )
    return r"config legal\.de: 1 predicted ids are not in the gold set"


def _cherry_picked_subset(results, gold):
    def keep_one(r):
        r["configs"] = {"legal.de": r["configs"]["legal.de"]}

    edit_results(results, keep_one)
    return r"\d+ of the leaderboard's \d+ configs are missing \(e\.g\. [\w.]+\); run `bench run` on every"


def _not_json(results, gold):
    (results / "results.json").write_text("{not json", "utf-8")
    return r"results\.json: line 1, column 2: invalid JSON \(Expecting property name"


@pytest.mark.parametrize(
    "tamper",
    [
        _score_changed,
        _prediction_changed,
        _prediction_and_hash_changed,
        _file_missing,
        _wrong_fingerprint,
        _count_changed,
        _unknown_config,
        _config_relabelled,
        _stray_prediction,
        _cherry_picked_subset,
        _not_json,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_tampered_submission_is_rejected_and_the_store_untouched(store, results, gold, tamper):
    pattern = tamper(results, gold)
    before = snapshot(store.root)
    with pytest.raises(InputError, match=pattern) as caught:
        submit(results, store, submitter="ana")
    assert "\n" not in str(caught.value)
    assert snapshot(store.root) == before


def test_score_mismatch_names_both_values(store, results, gold):
    claimed = json.loads((results / "results.json").read_text())["configs"]["legal.de"]["f1"]
    _score_changed(results, gold)
    with pytest.raises(InputError) as caught:
        submit(results, store, submitter="ana")
    message = str(caught.value)
    assert repr(claimed + 2.5) in message and repr(claimed) in message


def test_duplicate_submission_is_rejected(store, results, tmp_path, dataset, gold):
    first = submit(results, store, submitter="ana")
    before = snapshot(store.root)
    with pytest.raises(
        InputError, match=rf"duplicate submission: .* already on the leaderboard as entry {first.entry_id}"
    ):
        submit(results, store, submitter="ana")
    # the same model, revision and settings run on another device is still the same submission
    rerun = factory.write_results_dir(
        tmp_path / "rerun",
        dataset,
        gold,
        "org/xlmr-large-squad",
        0.6,
        settings={
            "max_seq_length": 384,
            "doc_stride": 128,
            "max_answer_length": 30,
            "n_best": 20,
            "batch_size": 8,
            "precision": "fp32",
            "device": "cuda",
        },
    )
    with pytest.raises(InputError, match="duplicate submission"):
        submit(rerun, store, submitter="bo")
    assert snapshot(store.root) == before
    # another revision, with predictions of its own, is a new entry (the same predictions would not be)
    other = factory.write_results_dir(
        tmp_path / "r2", dataset, gold, "org/xlmr-large-squad", 0.8, revision="v2"
    )
    assert submit(other, store, submitter="ana").entry_id != first.entry_id


# -- CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def app() -> typer.Typer:
    from mlqa_domain.bench_cli import app

    return app


def test_cli_init_submit_show_render(app, tmp_path, dataset, gold):
    runner = CliRunner()
    board, site = tmp_path / "board", tmp_path / "site"
    result = runner.invoke(app, ["leaderboard", "init", "--leaderboard", str(board), "--data", str(dataset)])
    assert result.exit_code == 0, result.output
    assert "12 configs" in result.output
    for i, (model, skill) in enumerate([("org/weak", 0.3), ("org/strong", 0.8)]):
        run = factory.write_results_dir(tmp_path / f"run{i}", dataset, gold, model, skill)
        command = ["submit"] if i == 0 else ["leaderboard", "submit"]  # the alias of `bench submit`
        args = [
            *command,
            str(run),
            "--leaderboard",
            str(board),
            "--submitter",
            "ana",
            "--intermediate",
            "mnli",
        ]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert f"accepted {model}" in result.output
    result = runner.invoke(app, ["leaderboard", "show", "--leaderboard", str(board)])
    assert result.exit_code == 0, result.output
    assert result.output.index("org/strong") < result.output.index("org/weak")
    result = runner.invoke(app, ["leaderboard", "render", "--leaderboard", str(board), "--out", str(site)])
    assert result.exit_code == 0, result.output
    assert (site / "index.html").is_file()


def test_cli_rejection_is_one_line_and_exit_status_2(tmp_path, store, results, gold):
    _score_changed(results, gold)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlqa_domain.bench_cli",
            "submit",
            str(results),
            "--leaderboard",
            str(store.root),
            "--submitter",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {results / 'results.json'}: config legal.de: claimed f1 ")


# -- render -------------------------------------------------------------------------------------------


def _three_entries(store, tmp_path, dataset, gold):
    models = [
        ("org/xlmr-squad", 0.45, []),
        ('org/xlmr-mnli-squad"><script>alert(1)</script>', 0.75, ["mnli"]),
        ("org/xlmr-cuad-squad", 0.6, ["cuad"]),
    ]
    for i, (model, skill, tasks) in enumerate(models):
        run = factory.write_results_dir(
            tmp_path / f"run{i}", dataset, gold, model, skill, intermediate_tasks=tasks
        )
        submit(run, store, submitter="Ana & <Bo>")
    return models


def test_render_writes_the_site(store, tmp_path, dataset, gold):
    _three_entries(store, tmp_path, dataset, gold)
    site = tmp_path / "site"
    table = render_site(store, site)
    assert [r.rank for r in table.rows] == [1, 2, 3]
    assert table.rows[0].model.startswith("org/xlmr-mnli-squad")
    assert "entry" not in table.rows[0].model
    index = (site / "index.html").read_text("utf-8")
    assert index.count('<tr data-entry="') == 3
    # user strings are escaped: no live script tag, the text shows as typed
    assert "<script>alert" not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "Ana &amp; &lt;Bo&gt;" in index
    assert "https://" not in index and "http://" not in index  # no CDN, nothing fetched
    for row in table.rows:
        page = site / "entries" / f"{row.entry_id}.html"
        assert page.is_file()
        assert "<script>alert" not in page.read_text("utf-8")
        for plot in (f"{row.entry_id}-heatmap.png", f"{row.entry_id}-gap.png"):
            assert (site / "plots" / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (site / "plots" / "domain-gap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (site / "assets" / "sort.js").is_file() and (site / "assets" / "style.css").is_file()
    exported = json.loads((site / "leaderboard.json").read_text("utf-8"))
    assert [e["entry_id"] for e in exported["entries"]] == [r.entry_id for r in table.rows]
    top = exported["entries"][0]
    assert top["configs"]["legal.de"]["count"] == 6
    assert set(top["domain_f1"]) == {"biomedical", "legal", "general"}
    assert set(top["language_f1"]) == {"de", "es"}
    rows = list(csv.DictReader(io.StringIO((site / "leaderboard.csv").read_text("utf-8"))))
    assert [r["model"] for r in rows] == [r.model for r in table.rows]
    assert float(rows[0]["mlqa_f1"]) == pytest.approx(table.rows[0].mlqa_f1)
    assert {"f1_legal", "f1_lang_de", "gap_legal", "gap_legal_ci_low"} <= set(rows[0])


def test_the_headline_is_mlqa_all_lang_as_in_bench_run(store, results):
    entry = submit(results, store, submitter="ana")
    table = render_site(store, store.root.parent / "site")
    scores = entry.verification.configs
    assert table.rows[0].mlqa_f1 == pytest.approx((scores["all.de"].f1 + scores["all.es"].f1) / 2, abs=1e-4)
    assert table.rows[0].mlqa_count == scores["all.de"].count + scores["all.es"].count
    assert table.rows[0].language_f1 == {
        "de": pytest.approx(scores["all.de"].f1),
        "es": pytest.approx(scores["all.es"].f1),
    }
    legal = (scores["legal.de"].f1 + scores["legal.es"].f1) / 2
    assert table.rows[0].domain_f1["legal"] == pytest.approx(legal, abs=1e-4)
    assert entry.verification.aggregates["mlqa"].f1 == pytest.approx(table.rows[0].mlqa_f1)
    assert set(entry.verification.power) == set(scores)


def test_render_of_an_empty_leaderboard(store, tmp_path):
    table = render_site(store, tmp_path / "site")
    assert table.rows == []
    assert "No entries yet" in (tmp_path / "site" / "index.html").read_text("utf-8")


def test_render_failure_leaves_the_previous_site(store, results, tmp_path):
    entry = submit(results, store, submitter="ana")
    site = tmp_path / "site"
    render_site(store, site)
    before = snapshot(site)
    (store.root / "entries" / entry.entry_id / "entry.json").write_text('{"entry_id": "broken"}')
    with pytest.raises(InputError, match="stored entry is invalid"):
        render_site(store, site)
    assert snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == []


def test_render_replaces_an_earlier_site_but_nothing_else(store, results, tmp_path):
    submit(results, store, submitter="ana")
    site = tmp_path / "site"
    render_site(store, site)
    render_site(store, site)  # an earlier rendered site is replaced
    (entry,) = store.entries()
    page = (site / "entries" / f"{entry.entry_id}.html").read_text("utf-8")
    # the cross-lingual pairs as their own matrix (context rows, question columns), all.<lang> on the diagonal
    matrix = page[page.index('<section id="cross-lingual">') :].split("</section>")[0]
    de_en = entry.verification.configs["all.de.en"].f1
    assert "<th>de</th>" in matrix and f'<td class="num">{de_en:.1f}</td>' in matrix
    assert f'<td class="num strong">{entry.verification.configs["all.de"].f1:.1f}</td>' in matrix
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine", "utf-8")
    with pytest.raises(InputError, match="is not a rendered leaderboard"):
        render_site(store, notes)
    assert [p.name for p in notes.iterdir()] == ["keep.txt"]
    (tmp_path / "file").write_text("x", "utf-8")
    with pytest.raises(InputError, match="output exists and is not a directory"):
        render_site(store, tmp_path / "file")
    assert (tmp_path / "file").read_text("utf-8") == "x"
