"""`bench import` on real predictions: two multilingual-BERT models' answers to the real MLQA German dev
set (../shared/data/mlqa-de-dev/predictions), scored, compared, their power measured and submitted."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from mlqa_domain.benchmark.metric import per_question_scores
from tests.fixtures.cli import run_console
from tests.fixtures.lm_eval_run import run_lm_eval

# the two answer sets (official F1 on all 512 questions) and what the issue asks a comparison to give
TRANSLATED, GERMAN = "mbert-translated-squad", "mbert-german-mlqa"
F1 = {TRANSLATED: 61.37, GERMAN: 55.11}
# every filter but language ID (which drops one Russian discography line): all 512 questions stay
FILTERS = "text_clean: {}\nanswer_span: {}\nlength: {}\nexact_dedup: {}\n"


@pytest.fixture(scope="module")
def german(de_dev_dir: Path, tiny_sbert: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real German dev set built into a dataset repo, and each model's answers as ``all.de.json``."""
    from mlqa_domain.builders.build import build_dataset

    root = tmp_path_factory.mktemp("import")
    (root / "filters.yaml").write_text(FILTERS, "utf-8")
    build_dataset(
        [str(de_dev_dir / "mlqa.de.de.validation.jsonl")],
        root / "mlqa-de",
        embedding_model=str(tiny_sbert),
        cache_dir=root / "cache",
        filters=root / "filters.yaml",
    )
    paths = {"repo": root / "mlqa-de"}
    for name in (TRANSLATED, GERMAN):
        (root / name).mkdir()
        shutil.copyfile(de_dev_dir / "predictions" / f"{name}.json", root / name / "all.de.json")
        paths[name] = root / name
    return paths


def invoke(args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """`bench ...` as its console script runs it: (exit status, stdout, stderr)."""
    return run_console("bench", args, capsys, monkeypatch)


def import_run(german: dict[str, Path], name: str, out: Path, capsys, monkeypatch, *extra: str) -> dict:
    args = ["import", str(german[name]), "--data", str(german["repo"]), "--split", "validation"]
    code, stdout, err = invoke([*args, "--model-id", name, "--out", str(out), *extra], capsys, monkeypatch)
    assert code == 0, err
    assert "every question had an answer" in stdout
    return json.loads((out / "results.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def imported(german, tmp_path_factory) -> dict[str, Path]:
    """Both answer sets imported (module-wide; through the library, as the CLI calls it)."""
    from mlqa_domain.benchmark.importing import ImportSettings, import_predictions

    out = tmp_path_factory.mktemp("imported")
    for name in (TRANSLATED, GERMAN):
        import_predictions(
            german[name], str(german["repo"]), out / name, name, ImportSettings(split="validation")
        )
    return {name: out / name for name in (TRANSLATED, GERMAN)}


def test_import_scores_real_answers_as_the_official_script(german, tmp_path, capsys, monkeypatch) -> None:
    results = import_run(german, TRANSLATED, tmp_path / "r", capsys, monkeypatch)
    assert results["model"]["source"] == "imported"
    assert results["protocol"]["name"] == "external" and not results["protocol"]["declared"]
    assert results["settings"] == {}
    assert round(results["configs"]["all.de"]["f1"], 2) == F1[TRANSLATED]
    assert results["configs"]["all.de"]["count"] == 512
    assert results["import"]["unanswered"] == {} and results["import"]["ignored_ids"] == {}
    assert (
        results["aggregates"]["mlqa"]["f1_ci95"][0]
        < F1[TRANSLATED]
        < results["aggregates"]["mlqa"]["f1_ci95"][1]
    )
    # every domain config took its answers from the pair's file
    for name, entry in results["configs"].items():
        answers = json.loads((tmp_path / "r" / entry["predictions_file"]).read_text("utf-8"))
        assert len(answers) == entry["count"], name
    assert (tmp_path / "r" / "scores.json").is_file()


def test_comparing_the_two_real_runs_gives_the_official_difference(
    imported, tmp_path, capsys, monkeypatch
) -> None:
    out = tmp_path / "cmp.json"
    code, _, err = invoke(
        ["compare", str(imported[TRANSLATED]), str(imported[GERMAN]), "--out", str(out)], capsys, monkeypatch
    )
    assert code == 0, err
    report = json.loads(out.read_text("utf-8"))
    headline = report["aggregates"]["mlqa"]
    assert headline["a"]["f1"] == pytest.approx(F1[TRANSLATED], abs=0.005)
    assert headline["b"]["f1"] == pytest.approx(F1[GERMAN], abs=0.005)
    assert headline["difference"]["f1"] == pytest.approx(6.26, abs=0.005)
    low, high = headline["f1_ci95"]
    assert 0 < low < 6.26 < high  # the 95% CI excludes 0
    assert headline["p_value"] < 0.05
    assert report["protocol"] == "external"


def test_power_against_a_second_real_run_measures_the_difference_sd(imported, de_dev_dir: Path) -> None:
    from mlqa_domain import stats
    from mlqa_domain.benchmark.aggregates import power_report
    from mlqa_domain.benchmark.compare import load_results_run

    a, b = load_results_run(imported[TRANSLATED]), load_results_run(imported[GERMAN])
    report = power_report(a.scores, a.general, against=b.scores)
    gold = {
        row["id"]: row["answers"]["text"]
        for row in map(
            json.loads, (de_dev_dir / "mlqa.de.de.validation.jsonl").read_text("utf-8").splitlines()
        )
    }
    f1 = {}
    for name in (TRANSLATED, GERMAN):
        answers = json.loads((de_dev_dir / "predictions" / f"{name}.json").read_text("utf-8"))
        f1[name] = 100 * np.asarray(per_question_scores(gold, answers, "de")[1])
    sd_diff = float(np.std(f1[TRANSLATED] - f1[GERMAN], ddof=1))
    # the README's measured figure (the data's own README says 39.4; the official metric gives 39.73)
    assert sd_diff == pytest.approx(39.73, abs=0.01)
    expected = stats.z_sum() * sd_diff / np.sqrt(512)
    assert report["sd_basis"] == "measured"
    assert report["aggregates"]["mlqa"]["min_detectable_f1"] == pytest.approx(expected, abs=1e-3)


def test_power_cli_against(imported, capsys, monkeypatch) -> None:
    code, stdout, err = invoke(
        ["power", str(imported[TRANSLATED]), "--against", str(imported[GERMAN])], capsys, monkeypatch
    )
    assert code == 0, err
    assert "measured from the two runs" in " ".join(stdout.split())


def test_declared_protocol_is_recorded_as_declared(german, tmp_path, capsys, monkeypatch) -> None:
    results = import_run(german, GERMAN, tmp_path / "r", capsys, monkeypatch, "--protocol", "mlqa-v1")
    assert results["protocol"]["name"] == "mlqa-v1" and results["protocol"]["declared"] is True


def test_import_of_a_whole_test_language_is_fast(german, tmp_path) -> None:
    """5k questions (the German answers repeated under new ids) with 1,000 clustered resamples of every
    aggregate: the issue asks for < 10 s on one core; here it must at least stay well under a minute."""
    from mlqa_domain.benchmark import aggregates
    from mlqa_domain.benchmark.aggregates import QuestionScores

    rng = np.random.default_rng(0)
    ids = [f"q{i}" for i in range(5000)]
    per_question = {
        config: QuestionScores(ids[:n], rng.integers(0, 2, n).astype(float), rng.random(n))
        for config, n in (("all.de", 5000), ("legal.de", 600), ("biomedical.de", 900), ("general.de", 3500))
    }
    started = time.perf_counter()
    summary = aggregates.summarise(per_question)
    assert time.perf_counter() - started < 30
    assert summary["aggregates"]["mlqa"]["f1_ci95"][0] is not None


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("empty", "no predictions files"),
        ("not-a-string", "is not a string"),
        ("unknown-ids", "not in split 'validation'"),
        ("other-pair", "the dataset has no config all.es"),
        ("bad-json", "all.de.json"),
        ("bad-name", "file name is not a config name"),
    ],
)
def test_bad_predictions_are_one_line_exit_2_and_write_nothing(
    german, tmp_path, capsys, monkeypatch, case: str, expected: str
) -> None:
    source = tmp_path / "answers"
    source.mkdir()
    answers = json.loads((german[TRANSLATED] / "all.de.json").read_text("utf-8"))
    if case == "not-a-string":
        answers[next(iter(answers))] = ["a", "list"]
    if case == "unknown-ids":
        answers["no-such-question"] = "x"
    if case != "empty":
        (source / "all.de.json").write_text(json.dumps(answers), "utf-8")
    if case == "other-pair":
        (source / "all.es.json").write_text("{}", "utf-8")
    if case == "bad-json":
        (source / "all.de.json").write_text('{"a": "b",', "utf-8")
    if case == "bad-name":
        (source / "Legal DE.json").write_text("{}", "utf-8")
    out = tmp_path / "out"
    args = ["import", str(source), "--data", str(german["repo"]), "--split", "validation"]
    code, _, err = invoke([*args, "--model-id", "m", "--out", str(out)], capsys, monkeypatch)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert expected in lines[0] and "Traceback" not in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["answers"]  # no temp dir left either


def test_an_llm_through_lm_eval_is_imported_compared_submitted_and_rendered(
    german, imported, de_dev_dir: Path, tmp_path, capsys, monkeypatch
) -> None:
    """The German dev set's configs exported as lm-eval tasks, `python -m lm_eval` on a tiny random Llama
    (first 4 questions of each task), its samples imported, compared with a real imported run, submitted
    to a leaderboard of the generative protocol and rendered."""
    pytest.importorskip("lm_eval")
    from mlqa_domain.training.tiny_model import build_tiny_causal_lm

    tasks = tmp_path / "tasks"
    code, _, err = invoke(
        ["lm-eval", "export", "--data", str(german["repo"]), "--split", "validation", "--out", str(tasks)],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    lines = (de_dev_dir / "mlqa.de.de.validation.jsonl").read_text("utf-8").splitlines()
    texts = [json.loads(line)["context"] for line in lines[:64]]
    llm = build_tiny_causal_lm(tmp_path / "tiny-llama", texts)
    output = run_lm_eval(llm, tasks, "mlqa_domain", tmp_path / "lm-eval-out", limit=4)

    results_dir = tmp_path / "llm"
    args = ["import", str(output), "--data", str(german["repo"]), "--split", "validation"]
    code, stdout, err = invoke(
        [*args, "--model-id", "tiny-llama", "--out", str(results_dir)], capsys, monkeypatch
    )
    assert code == 0, err
    results = json.loads((results_dir / "results.json").read_text("utf-8"))
    assert results["model"]["source"] == "lm-eval"
    assert results["protocol"]["name"] == "lm-eval-0shot"
    details = results["import"]["details"]
    assert details["lm_eval_version"] and details["task_hashes"] and str(tmp_path) not in json.dumps(results)
    assert results["configs"]["all.de"]["count"] == 512  # unanswered questions are scored 0 and counted
    assert results["import"]["unanswered"]["all.de"] == 512 - 4

    # a generative run and an extractive one are different protocols: refused, unless asked for
    code, _, err = invoke(["compare", str(results_dir), str(imported[TRANSLATED])], capsys, monkeypatch)
    assert code == 2 and "different evaluation protocols" in err and len(err.strip().splitlines()) == 1
    compared = tmp_path / "cmp.json"
    code, _, err = invoke(
        [
            "compare",
            str(results_dir),
            str(imported[TRANSLATED]),
            "--allow-protocol-mismatch",
            "--out",
            str(compared),
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0 and "different protocols" in err
    report = json.loads(compared.read_text("utf-8"))
    assert report["protocol_mismatch"] and report["aggregates"]["mlqa"]["difference"]["f1"] < 0

    board, site = tmp_path / "board", tmp_path / "site"
    init = ["leaderboard", "init", "-l", str(board), "--data", str(german["repo"]), "--split", "validation"]
    assert invoke([*init, "--protocol", "lm-eval-0shot"], capsys, monkeypatch)[0] == 0
    submit = [
        "submit",
        str(results_dir),
        "-l",
        str(board),
        "--submitter",
        "ana",
        "--base-model",
        "tiny-llama",
    ]
    code, _, err = invoke(submit, capsys, monkeypatch)
    assert code == 0, err
    # an extractive run is not ranked on the generative board
    code, _, err = invoke(
        ["submit", str(imported[TRANSLATED]), "-l", str(board), "--submitter", "bo", "--base-model", "mbert"],
        capsys,
        monkeypatch,
    )
    assert code == 2 and "this leaderboard ranks lm-eval-0shot runs" in err
    assert (
        invoke(["leaderboard", "render", "-l", str(board), "--out", str(site)], capsys, monkeypatch)[0] == 0
    )
    (entry,) = json.loads((site / "leaderboard.json").read_text("utf-8"))["entries"]
    assert entry["source"] == "generated by an LLM under lm-eval, imported and re-scored here"
    assert entry["training_claims"] == "declared"
    page = next((site / "entries").glob("*.html")).read_text("utf-8")
    assert "generated by an LLM under lm-eval" in page and "lm-eval-0shot" in page


def test_imported_answers_enter_an_mlqa_v1_leaderboard_only_when_declared(
    german, imported, tmp_path, capsys, monkeypatch
) -> None:
    board = tmp_path / "board"
    init = ["leaderboard", "init", "-l", str(board), "--data", str(german["repo"]), "--split", "validation"]
    assert invoke(init, capsys, monkeypatch)[0] == 0
    submit = [
        "submit",
        "-l",
        str(board),
        "--submitter",
        "ana",
        "--base-model",
        "bert-base-multilingual-cased",
    ]
    code, _, err = invoke([*submit[:1], str(imported[TRANSLATED]), *submit[1:]], capsys, monkeypatch)
    assert code == 2 and "protocol external" in err and "bench import --protocol mlqa-v1" in err
    declared = tmp_path / "declared"
    import_run(german, TRANSLATED, declared, capsys, monkeypatch, "--protocol", "mlqa-v1")
    code, _, err = invoke([*submit[:1], str(declared), *submit[1:]], capsys, monkeypatch)
    assert code == 0, err
    (entry_dir,) = (board / "entries").iterdir()
    entry = json.loads((entry_dir / "entry.json").read_text("utf-8"))
    assert entry["submission"]["model"]["source"] == "imported"
    assert entry["submission"]["model"]["training_claims"] == "declared"
    assert entry["submission"]["protocol"]["declared"] is True
    assert round(entry["verification"]["configs"]["all.de"]["f1"], 2) == F1[TRANSLATED]  # re-scored


@pytest.mark.parametrize("bad", ["1e309", "NaN", "-0.5", '"x"'])
def test_compare_refuses_scores_that_are_not_finite_fractions(
    imported, tmp_path, capsys, monkeypatch, bad: str
) -> None:
    """A tampered scores.json (1e309 is inf in JSON, NaN, out of [0, 1], not a number): one line, exit 2,
    and no report written (it used to print +inf with p 0.001, or crash on NaN)."""
    from mlqa_domain.hashing import sha256_bytes

    run = tmp_path / "run"
    shutil.copytree(imported[GERMAN], run)
    text = (run / "scores.json").read_text("utf-8")
    start = text.index('"f1":[') + len('"f1":[')
    tampered = (text[:start] + bad + text[text.index(",", start) :]).encode("utf-8")
    (run / "scores.json").write_bytes(tampered)
    results = json.loads((run / "results.json").read_text("utf-8"))
    results["scores"]["sha256"] = sha256_bytes(tampered)
    (run / "results.json").write_text(json.dumps(results), "utf-8")
    out = tmp_path / "cmp.json"
    code, _, err = invoke(
        ["compare", str(imported[TRANSLATED]), str(run), "--out", str(out)], capsys, monkeypatch
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "scores.json" in lines[0] and not out.exists()


def test_answers_to_questions_the_filters_dropped_are_ignored_and_counted(german, tmp_path) -> None:
    from mlqa_domain.benchmark.importing import ImportSettings, import_predictions

    repo = tmp_path / "repo"
    shutil.copytree(german["repo"], repo)
    (repo / "rejected").mkdir(exist_ok=True)
    dropped = {"id": "dropped-1", "split": "validation", "context_language": "de", "question_language": "de"}
    (repo / "rejected" / "language_id.jsonl").write_text(json.dumps(dropped) + "\n", "utf-8")
    answers = tmp_path / "answers"
    answers.mkdir()
    given = json.loads((german[TRANSLATED] / "all.de.json").read_text("utf-8"))
    (answers / "all.de.json").write_text(json.dumps({**given, "dropped-1": "x"}), "utf-8")
    results = import_predictions(answers, str(repo), tmp_path / "r", "m", ImportSettings(split="validation"))
    assert results["import"]["ignored_ids"] == {"all.de": 1}
    assert round(results["configs"]["all.de"]["f1"], 2) == F1[TRANSLATED]
