"""`bench score` (drop-in for mlqa_evaluation_v1.py) and the `evaluate`-compatible metric module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mlqa_domain.benchmark import metric
from mlqa_domain.benchmark.commands.score import score
from mlqa_domain.benchmark.scoring import read_gold
from mlqa_domain.errors import InputError

# zh fixture, 4 questions (hand-computed, official rules):
#   q1 "北京。" vs "北京": [北, 京] both -> EM 1, F1 1
#   q2 "iPhone5手机" = [iphone5, 手, 机] vs "iPhone 5手机" = [iphone, 5, 手, 机]: 2 shared, P 2/3, R 1/2
#      -> F1 = 2 * 1/3 / (7/6) = 4/7; vs "苹果手机" = [苹, 果, 手, 机]: also 4/7; EM 0
#   q3 missing -> 0, 0 (reported on stderr)
#   q4 "红楼梦" vs "《红楼梦》" -> EM 1, F1 1
#   EM = 100 * 2/4 = 50; F1 = 100 * (1 + 4/7 + 0 + 1) / 4 = 450/7 = 64.2857...
ZH_RESULT = {"exact_match": 50.0, "f1": 64.28571428571429}
# de jsonl fixture (HF mlqa schema), 3 questions:
#   d1 "Mietvertrag" vs "den Mietvertrag" -> 1, 1
#   d2 "3.662.803" = [3662803] vs "3.662.803 Pfund" = [3662803, pfund]: P 1, R 1/2 -> F1 2/3; EM 0
#   d3 [könig, friedrich, wilhelm, iv] vs [friedrich, wilhelm, iv]: P 3/4, R 1 -> F1 6/7; EM 0
#   EM = 100/3; F1 = 100 * (1 + 2/3 + 6/7) / 3 = 5300/63 = 84.1269...
DE_RESULT = {"exact_match": 33.333333333333336, "f1": 84.12698412698413}


@pytest.fixture()
def metric_fixtures(fixtures_dir: Path) -> Path:
    return fixtures_dir / "metric"


@pytest.fixture()
def app() -> typer.Typer:
    """A bench-like app holding only `score` (the real top-level app imports other helpers' modules)."""
    bench = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @bench.callback()
    def main() -> None:
        """Test app."""

    bench.command("score")(score)
    return bench


def test_score_prints_official_json_and_reports_unanswered_on_stderr(
    app: typer.Typer, metric_fixtures: Path
) -> None:
    gold, predictions = metric_fixtures / "gold_zh.json", metric_fixtures / "predictions_zh.json"
    result = CliRunner().invoke(app, ["score", str(gold), str(predictions), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert result.stdout == json.dumps(ZH_RESULT) + "\n"
    assert result.stderr == "Unanswered question q3 will receive score 0.\n"


def test_score_accepts_the_official_positional_language(app: typer.Typer, metric_fixtures: Path) -> None:
    gold, predictions = metric_fixtures / "gold_zh.json", metric_fixtures / "predictions_zh.json"
    result = CliRunner().invoke(app, ["score", str(gold), str(predictions), "zh"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ZH_RESULT


def test_score_reads_hf_mlqa_jsonl_gold(app: typer.Typer, metric_fixtures: Path) -> None:
    gold, predictions = metric_fixtures / "gold_de.jsonl", metric_fixtures / "predictions_de.json"
    result = CliRunner().invoke(app, ["score", str(gold), str(predictions), "--lang", "de"])
    assert result.exit_code == 0, result.output
    assert result.stdout == json.dumps(DE_RESULT) + "\n"
    assert result.stderr == ""


def test_score_warns_on_other_dataset_version(
    app: typer.Typer, metric_fixtures: Path, tmp_path: Path
) -> None:
    document = json.loads((metric_fixtures / "gold_zh.json").read_text(encoding="utf-8"))
    document["version"] = "2.0"
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["score", str(gold), str(metric_fixtures / "predictions_zh.json"), "--lang", "zh"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ZH_RESULT
    assert "Evaluation expects v-1.0, but got dataset with v-2.0" in result.stderr


SQUAD_OK = {"version": "1.0", "data": [{"paragraphs": [{"qas": [{"id": "a", "answers": [{"text": "x"}]}]}]}]}


@pytest.mark.parametrize(
    ("gold_text", "predictions_text", "args", "bad", "message"),
    [
        (None, "{}", ["--lang", "en"], "gold", "file not found"),
        (json.dumps(SQUAD_OK), None, ["--lang", "en"], "predictions", "file not found"),
        ("{not json", "{}", ["--lang", "en"], "gold", "line 1, column 2: invalid JSON"),
        (json.dumps(SQUAD_OK), '{"a": "x",}', ["--lang", "en"], "predictions", "invalid JSON"),
        ('{"data": {"paragraphs": []}}', "{}", ["--lang", "en"], "gold", "no 'data' list"),
        ('{"data": [{"paragraphs": [{"qas": [{"answers": []}]}]}]}', "{}", ["--lang", "en"], "gold", "'id'"),
        (
            '{"data": [{"paragraphs": [{"qas": [{"id": "a", "answers": "x"}]}]}]}',
            "{}",
            ["--lang", "en"],
            "gold",
            "answers",
        ),
        (
            '{"data": [{"paragraphs": [{"qas": [{"id": "a", "answers": []}]}]}]}',
            "{}",
            ["--lang", "en"],
            "gold",
            "no gold",
        ),
        ('{"data": []}', "{}", ["--lang", "en"], "gold", "no questions"),
        (
            '{"id": "a", "answers": {"text": ["x"]}}\n{"id": "b", oops}\n',
            "{}",
            ["--lang", "en"],
            "gold",
            "line 2",
        ),
        (
            '{"id": "a", "answers": {"text": "x"}}\n{"id": "b", "answers": {"text": ["y"]}}\n',
            "{}",
            ["--lang", "en"],
            "gold",
            "row 1",
        ),
        ("[1, 2]", "{}", ["--lang", "en"], "gold", "row 1"),
        ('"text"', "{}", ["--lang", "en"], "gold", "expected MLQA/SQuAD"),
        (json.dumps(SQUAD_OK), '["x"]', ["--lang", "en"], "predictions", "JSON object"),
        (json.dumps(SQUAD_OK), '{"a": null}', ["--lang", "en"], "predictions", "not a string"),
        (json.dumps(SQUAD_OK), "{}", ["--lang", "fr"], "--lang", "unknown answer language 'fr'"),
        (json.dumps(SQUAD_OK), "{}", [], "--lang", "give the answer language"),
        (json.dumps(SQUAD_OK), "{}", ["en", "--lang", "de"], "--lang", "two different answer languages"),
    ],
)
def test_score_bad_input_is_one_input_error_naming_the_file(
    app: typer.Typer,
    tmp_path: Path,
    gold_text: str | None,
    predictions_text: str | None,
    args: list[str],
    bad: str,
    message: str,
) -> None:
    gold, predictions = tmp_path / "gold.json", tmp_path / "predictions.json"
    if gold_text is not None:
        gold.write_text(gold_text, encoding="utf-8")
    if predictions_text is not None:
        predictions.write_text(predictions_text, encoding="utf-8")
    result = CliRunner().invoke(app, ["score", str(gold), str(predictions), *args])
    assert isinstance(result.exception, InputError), result.output
    expected_where = {"gold": str(gold), "predictions": str(predictions), "--lang": "--lang"}[bad]
    assert result.exception.where == expected_where
    assert message in result.exception.problem
    assert result.stdout == ""


_SCRIPT = """
import typer
from mlqa_domain.benchmark.commands.score import score
from mlqa_domain.cli_utils import run_app

app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

@app.callback()
def main() -> None:
    pass

app.command("score")(score)
run_app(app)
"""


def _run_score(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, "score", *args], capture_output=True, text=True, timeout=120
    )


def test_score_end_to_end_in_a_subprocess(metric_fixtures: Path, tmp_path: Path) -> None:
    done = _run_score(
        str(metric_fixtures / "gold_zh.json"), str(metric_fixtures / "predictions_zh.json"), "zh"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == json.dumps(ZH_RESULT) + "\n"
    assert done.stderr == "Unanswered question q3 will receive score 0.\n"

    missing = tmp_path / "missing.json"
    failed = _run_score(str(missing), str(metric_fixtures / "predictions_zh.json"), "--lang", "zh")
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr.splitlines() == [f"error: {missing}: file not found"]


def test_real_bench_app_has_score(metric_fixtures: Path) -> None:
    """The top-level `bench` app."""
    from mlqa_domain.bench_cli import app as bench_app

    gold, predictions = metric_fixtures / "gold_de.jsonl", metric_fixtures / "predictions_de.json"
    result = CliRunner().invoke(bench_app, ["score", str(gold), str(predictions), "--lang", "de"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == DE_RESULT


def _evaluate_inputs(gold_path: Path, predictions_path: Path) -> tuple[list[dict], list[dict]]:
    """squad-style evaluate inputs for every gold question (empty answer where none was predicted)."""
    answers = json.loads(predictions_path.read_text(encoding="utf-8"))
    predictions, references = [], []
    for question_id, texts in read_gold(gold_path).pairs:
        predictions.append({"id": question_id, "prediction_text": answers.get(question_id, "")})
        references.append({"id": question_id, "answers": {"text": texts, "answer_start": [0] * len(texts)}})
    return predictions, references


def test_evaluate_load_of_the_local_module_directory(metric_fixtures: Path, tmp_path: Path) -> None:
    import evaluate

    predictions, references = _evaluate_inputs(
        metric_fixtures / "gold_zh.json", metric_fixtures / "predictions_zh.json"
    )
    module = evaluate.load(str(metric.EVALUATE_METRIC_DIR), config_name="zh", cache_dir=str(tmp_path))
    # q3 answered with "" here: EM 0, F1 0, the same as missing -> ZH_RESULT.
    assert module.compute(predictions=predictions, references=references) == ZH_RESULT

    module = metric.load_evaluate_metric(cache_dir=str(tmp_path))
    for prediction, reference in zip(predictions, references, strict=True):
        module.add(prediction=prediction, reference=reference)
    assert module.compute(language="zh") == ZH_RESULT
    with pytest.raises(ValueError, match="answer language"):
        module.compute(predictions=predictions, references=references)


def test_load_evaluate_metric_with_language(metric_fixtures: Path, tmp_path: Path) -> None:
    predictions, references = _evaluate_inputs(
        metric_fixtures / "gold_de.jsonl", metric_fixtures / "predictions_de.json"
    )
    module = metric.load_evaluate_metric("de", cache_dir=str(tmp_path))
    assert module.compute(predictions=predictions, references=references) == DE_RESULT
    with pytest.raises(InputError, match="unknown answer language"):
        metric.load_evaluate_metric("fr")
