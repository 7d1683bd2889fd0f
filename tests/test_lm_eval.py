"""`bench lm-eval export` and the lm-eval sample reader, against lm-evaluation-harness itself (offline).

A small dataset repo is exported as lm-eval tasks, `python -m lm_eval` runs them on a tiny random Llama
made here, and the reader takes the answers back out of its `--log_samples` files. The exported metric
is checked against `bench score` on real predictions through lm-eval's own task loading.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from fixtures.leaderboard.factory import build_dataset_repo
from fixtures.lm_eval_run import run_lm_eval
from typer.testing import CliRunner

from mlqa_domain.benchmark import metric
from mlqa_domain.benchmark.lm_eval_export import (
    MANIFEST,
    METADATA_KEY,
    PROMPT,
    ExportSettings,
    export_tasks,
    task_name,
)
from mlqa_domain.benchmark.lm_eval_metric import answer_text, process_results
from mlqa_domain.benchmark.lm_eval_samples import is_lm_eval_output, read_lm_eval_output
from mlqa_domain.builders.card import front_matter
from mlqa_domain.builders.export import write_build_info, write_configs
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example

LIMIT = 4
RUN_TASKS = ["mlqa_domain_all_de", "mlqa_domain_legal_es", "mlqa_domain_biomedical_de_en"]


class _TaskLoader(yaml.SafeLoader):
    """Reads exported task files, keeping ``!function`` references as text."""


_TaskLoader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def read_task(path: Path) -> dict:
    return yaml.load(path.read_text("utf-8"), Loader=_TaskLoader)  # noqa: S506 (a SafeLoader subclass)


def fingerprint_of(repo: Path) -> str:
    return json.loads((repo / "build_info.json").read_text("utf-8"))["dataset_fingerprint"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """biomedical/legal/general/all × de, es, de.en; test (18 questions) and validation (6)."""
    return build_dataset_repo(tmp_path_factory.mktemp("repo") / "mlqa-domain")


@pytest.fixture(scope="module")
def tasks_dir(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tasks(
        str(repo), tmp_path_factory.mktemp("export") / "tasks", ExportSettings(num_fewshot=1)
    ).out


@pytest.fixture(scope="module")
def tiny_causal_lm(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datasets import load_dataset

    from mlqa_domain.training.tiny_model import build_tiny_causal_lm

    rows = load_dataset(str(repo), "all.de", split="test", cache_dir=str(repo.parent / "cache"))
    texts = [f"Context: {r['context']}\n\nQuestion: {r['question']}\n\nAnswer:" for r in rows]
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama"), texts)


@pytest.fixture(scope="module")
def lm_eval_output(tasks_dir: Path, tiny_causal_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m lm_eval` on three exported tasks (first LIMIT questions each), with --log_samples."""
    pytest.importorskip("lm_eval")
    out = tmp_path_factory.mktemp("lm-eval") / "out"
    return run_lm_eval(tiny_causal_lm, tasks_dir, ",".join(RUN_TASKS), out, LIMIT)


def model_dir(output: Path) -> Path:
    (directory,) = [child for child in output.iterdir() if child.is_dir()]
    return directory


# --- export ---------------------------------------------------------------------------------------


def test_export_writes_a_task_per_config_a_group_per_domain_and_one_of_all(
    repo: Path, tasks_dir: Path
) -> None:
    manifest = json.loads((tasks_dir / MANIFEST).read_text("utf-8"))
    configs = json.loads((repo / "build_info.json").read_text("utf-8"))["configs"]
    assert manifest["tasks"] == {task_name(c): c for c in configs}
    assert task_name("legal.de.en") == "mlqa_domain_legal_de_en"
    assert manifest["groups"]["mlqa_domain"] == [
        "mlqa_domain_all",
        "mlqa_domain_biomedical",
        "mlqa_domain_general",
        "mlqa_domain_legal",
    ]
    assert manifest["groups"]["mlqa_domain_legal"] == [
        "mlqa_domain_legal_de",
        "mlqa_domain_legal_es",
        "mlqa_domain_legal_de_en",
    ]
    for group, members in manifest["groups"].items():
        assert read_task(tasks_dir / f"{group}.yaml") == {
            "group": group,
            "task": members,
            "metadata": {"version": 1},
        }
    task = read_task(tasks_dir / "mlqa_domain_legal_de_en.yaml")
    assert task["task"] == "mlqa_domain_legal_de_en"
    assert task["dataset_path"] == str(repo.resolve()) and task["dataset_name"] == "legal.de.en"
    assert task["test_split"] == "test" and task["fewshot_split"] == "validation"
    assert task["num_fewshot"] == 1 and task["output_type"] == "generate_until"
    assert task["doc_to_text"] == PROMPT == "Context: {{context}}\n\nQuestion: {{question}}\n\nAnswer:"
    assert task["generation_kwargs"]["until"] == ["\n"]
    assert task["process_results"] == "!function utils.process_results"
    assert [m["aggregation"] for m in task["metric_list"]] == ["!function utils.mlqa_score"] * 2
    recorded = task["metadata"][METADATA_KEY]
    assert recorded["dataset_fingerprint"] == fingerprint_of(repo) and recorded["split"] == "test"
    assert (recorded["config"], recorded["context_language"], recorded["question_language"]) == (
        "legal.de.en",
        "de",
        "en",
    )
    assert "from mlqa_domain.benchmark.lm_eval_metric import" in (tasks_dir / "utils.py").read_text("utf-8")
    assert sorted(p.name for p in tasks_dir.parent.iterdir()) == ["tasks"]  # no temp dir left


def test_export_few_shot_needs_another_split(tmp_path: Path) -> None:
    # one validation question (index 18, biomedical): legal and general have no validation split
    repo = build_dataset_repo(tmp_path / "repo", n_test=9, n_validation=1)
    zero_shot = export_tasks(str(repo), tmp_path / "zero")
    assert "fewshot_split" not in read_task(zero_shot.out / "mlqa_domain_legal_de.yaml")
    assert read_task(zero_shot.out / "mlqa_domain_biomedical_de.yaml")["fewshot_split"] == "validation"
    few_shot = export_tasks(str(repo), tmp_path / "few", ExportSettings(num_fewshot=3))
    assert {config.split(".")[0] for config in few_shot.tasks.values()} == {"all", "biomedical"}
    assert "legal.de" in few_shot.skipped and "general.es" in few_shot.skipped
    with pytest.raises(ConfigError, match="'legal.de' has no 'validation' split"):
        export_tasks(str(repo), tmp_path / "x", ExportSettings(num_fewshot=3, configs=("legal.de",)))
    with pytest.raises(ConfigError, match="another split"):
        export_tasks(str(repo), tmp_path / "x", ExportSettings(fewshot_split="test"))
    validation = export_tasks(str(repo), tmp_path / "val", ExportSettings(split="validation"))
    assert set(validation.tasks.values()) == {
        "all.de",
        "all.es",
        "all.de.en",
        *(f"biomedical.{k}" for k in ("de", "es", "de.en")),
    }
    assert read_task(validation.out / "mlqa_domain_all_de.yaml")["fewshot_split"] == "test"
    assert not (tmp_path / "x").exists()


def test_export_replaces_an_earlier_export_and_nothing_else(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks"
    export_tasks(str(repo), out, ExportSettings(configs=("legal.*",)))
    export_tasks(str(repo), out, ExportSettings(configs=("all.de",)))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST, "mlqa_domain.yaml", "mlqa_domain_all.yaml", "mlqa_domain_all_de.yaml", "utils.py"]
    )
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine", "utf-8")
    with pytest.raises(InputError, match="not empty and holds no mlqa_domain_export.json"):
        export_tasks(str(repo), other)
    assert [p.name for p in other.iterdir()] == ["keep.txt"]


def export_app() -> typer.Typer:
    from mlqa_domain.benchmark.commands import GROUPS

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    (group_name, _, commands), *_ = GROUPS
    group = typer.Typer()
    for name, command in commands:
        group.command(name)(command)
    app.add_typer(group, name=group_name)
    return app


def test_bench_lm_eval_export_command(repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        export_app(),
        [
            "lm-eval",
            "export",
            "--data",
            str(repo),
            "--out",
            str(tmp_path / "t"),
            "--configs",
            "legal.*,all.de",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 task(s) and 3 group(s) of the test split" in result.output
    assert "--include_path" in result.output
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlqa_domain.bench_cli",
            "lm-eval",
            "export",
            "--data",
            str(repo),
            "--out",
            str(repo),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {repo}: output directory is not empty and holds no {MANIFEST}; not overwriting (choose "
        "another --out)"
    ]


# --- the metric -------------------------------------------------------------------------------------


def gold_rows(path: Path) -> list[dict]:
    """Rows (id, context, question, answers) of an HF-schema jsonl or a SQuAD-v1 json gold file."""
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    rows = []
    for article in json.loads(path.read_text("utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = {
                    "text": [a["text"] for a in qa["answers"]],
                    "answer_start": [a["answer_start"] for a in qa["answers"]],
                }
                rows.append(
                    {
                        "id": qa["id"],
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": answers,
                    }
                )
    return rows


def repo_of(rows: list[dict], language: str, out: Path) -> Path:
    """A dataset repo whose general.<language> / all.<language> test configs hold ``rows``, in order."""
    examples = [
        Example(
            id=row["id"],
            split="test",
            context_language=language,
            question_language=language,
            context=row["context"],
            question=row["question"],
            answers=row["answers"],
            domains=[],
            domain_scores={"legal": 0.1},
            classifier_scores={"embedding": {"legal": 0.1}},
            source="test",
        )
        for row in rows
    ]
    out.mkdir(parents=True)
    counts = write_configs(out, examples, ["legal"], "general")
    write_build_info(
        out, {"domains": ["legal"], "general": "general", "languages": [language], "configs": counts}
    )
    header = yaml.safe_dump(front_matter(counts, [language]), sort_keys=False, allow_unicode=True)
    (out / "README.md").write_text(f"---\n{header}---\n\n# metric test\n", "utf-8")
    return out


def bench_score(gold: Path, predictions: Path, language: str) -> dict[str, float]:
    from mlqa_domain.benchmark.commands.score import score

    app = typer.Typer(add_completion=False)
    app.command()(score)
    result = CliRunner().invoke(app, [str(gold), str(predictions), "--lang", language])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


METRIC_CASES = {
    "de-fixture": ("fixtures/metric/gold_de.jsonl", "fixtures/metric/predictions_de.json", "de"),
    "zh-fixture": ("fixtures/metric/gold_zh.json", "fixtures/metric/predictions_zh.json", "zh"),
    "de-dev-mbert": ("SHARED/mlqa.de.de.validation.jsonl", "SHARED/predictions/mbert-german-mlqa.json", "de"),
}


@pytest.mark.parametrize("case", list(METRIC_CASES))
def test_exported_task_metric_equals_bench_score(
    case: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """lm-eval loads the exported task (utils.py and all) and scores answers as `bench score` does."""
    pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager, get_task_dict

    gold_name, predictions_name, language = METRIC_CASES[case]
    base = request.getfixturevalue("de_dev_dir") if "SHARED" in gold_name else Path(__file__).parent
    gold = base / gold_name.replace("SHARED/", "")
    predictions_file = base / predictions_name.replace("SHARED/", "")
    predictions = json.loads(predictions_file.read_text("utf-8"))
    repo = repo_of(gold_rows(gold), language, tmp_path / "repo")
    tasks = export_tasks(str(repo), tmp_path / "tasks", ExportSettings(configs=(f"all.{language}",))).out
    (task,) = get_task_dict(
        [f"mlqa_domain_all_{language}"], TaskManager(include_path=str(tasks), include_defaults=False)
    ).values()
    per_metric: dict[str, list[float]] = {"exact_match": [], "f1": []}
    for doc in task.eval_docs:
        # a generation goes on after its first line; a missing prediction is an empty generation
        generation = f" {predictions[doc['id']]}  \nQuestion: more" if doc["id"] in predictions else ""
        for name, value in task.process_results(doc, [generation]).items():
            per_metric[name].append(value)
    lm_eval_scores = {name: task.aggregation()[name](values) for name, values in per_metric.items()}
    expected = bench_score(gold, predictions_file, language)
    assert lm_eval_scores == expected  # the same floats, bit for bit
    assert expected == metric.evaluate(
        {r["id"]: r["answers"]["text"] for r in gold_rows(gold)}, predictions, language
    )
    if case == "de-dev-mbert":
        assert 0 < expected["exact_match"] < expected["f1"] < 100


def test_answer_is_the_first_line_stripped() -> None:
    assert answer_text("  Der Vertrag \n\nQuestion: Wer?") == "Der Vertrag"
    assert answer_text("\nDer Vertrag") == ""
    doc = {"answers": {"text": ["den Mietvertrag"]}, "context_language": "de"}
    assert process_results(doc, ["Mietvertrag\nmehr"]) == {"exact_match": 1.0, "f1": 1.0}


# --- lm_eval itself, and reading its samples ----------------------------------------------------------


@pytest.mark.slow
def test_lm_eval_runs_the_exported_tasks_and_the_reader_takes_the_answers(
    repo: Path, lm_eval_output: Path
) -> None:
    from importlib.metadata import version

    from mlqa_domain.benchmark.data import load_config_examples

    assert is_lm_eval_output(lm_eval_output) and is_lm_eval_output(model_dir(lm_eval_output))
    answers, details = read_lm_eval_output(lm_eval_output, fingerprint_of(repo), "test")
    assert set(answers) == {"all.de", "legal.es", "biomedical.de.en"}
    assert details["lm_eval_version"] == version("lm_eval")
    assert details["model"] == "hf" and details["model_args"]["dtype"] == "float32"
    assert set(details["task_hashes"]) == set(RUN_TASKS) and all(details["task_hashes"].values())
    assert details["num_fewshot"] == dict.fromkeys(RUN_TASKS, 1)
    assert details["limit"] == LIMIT and details["tasks"]["mlqa_domain_legal_es"] == "legal.es"
    samples = {p.name.split("_20")[0]: p for p in model_dir(lm_eval_output).glob("samples_*.jsonl")}
    for config, by_id in answers.items():
        examples = load_config_examples(str(repo), config, "test")
        gold = dict(list(examples.gold.items())[:LIMIT])  # --limit: the split's first questions
        assert list(by_id) == list(gold) or set(by_id) == set(gold)
        lines = [
            json.loads(line)
            for line in samples[f"samples_{task_name(config)}"].read_text("utf-8").splitlines()
        ]
        assert {s["doc"]["id"]: answer_text(s["filtered_resps"][0]) for s in lines} == by_id
        assert "Answer: " in lines[0]["arguments"]["gen_args_0"]["arg_0"]  # the one-shot example
        # lm-eval's own table shows the official MLQA scores of the answers the reader took
        assert details["scores"][config] == metric.evaluate(gold, by_id, examples.context_language)


def copy_output(source: Path, tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    shutil.copytree(source, out)
    return out, model_dir(out)


def assert_one_line(exc: pytest.ExceptionInfo, file: Path, *words: str) -> None:
    text = str(exc.value)
    assert "\n" not in text and text.startswith(f"{file}: "), text
    for word in words:
        assert word in text, text


@pytest.mark.slow
def test_reader_rejects_another_dataset_or_split(repo: Path, lm_eval_output: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(lm_eval_output, "sha256:" + "0" * 64, "test")
    assert_one_line(exc, next(model_dir(lm_eval_output).glob("samples_mlqa_domain_all_de_*")), "fingerprint")
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(lm_eval_output, fingerprint_of(repo), "validation")
    assert "scored the 'test' split, not 'validation'" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.slow
def test_reader_rejects_samples_of_a_foreign_task(repo: Path, lm_eval_output: Path, tmp_path: Path) -> None:
    out, directory = copy_output(lm_eval_output, tmp_path)
    (results_file,) = directory.glob("results_*.json")
    date = results_file.stem.removeprefix("results_")
    results = json.loads(results_file.read_text("utf-8"))
    foreign = json.loads(json.dumps(results["configs"]["mlqa_domain_all_de"]))
    foreign["task"] = "mlqa_de_de"
    del foreign["metadata"][METADATA_KEY]
    results["configs"]["mlqa_de_de"] = foreign
    results_file.write_text(json.dumps(results), "utf-8")
    foreign_samples = directory / f"samples_mlqa_de_de_{date}.jsonl"
    shutil.copy(directory / f"samples_mlqa_domain_all_de_{date}.jsonl", foreign_samples)
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint_of(repo), "test")
    assert_one_line(exc, foreign_samples, "'mlqa_de_de' is not a task exported by `bench lm-eval export`")


@pytest.mark.slow
def test_reader_rejects_missing_truncated_and_malformed_samples(
    repo: Path, lm_eval_output: Path, tmp_path: Path
) -> None:
    fingerprint = fingerprint_of(repo)
    out, directory = copy_output(lm_eval_output, tmp_path / "missing")
    (results_file,) = directory.glob("results_*.json")
    next(directory.glob("samples_mlqa_domain_legal_es_*")).unlink()
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint, "test")
    assert_one_line(exc, results_file, "no samples_mlqa_domain_legal_es_", "--log_samples")

    out, directory = copy_output(lm_eval_output, tmp_path / "truncated")
    samples = next(directory.glob("samples_mlqa_domain_all_de_*"))
    data = samples.read_bytes()
    samples.write_bytes(data[: len(data) - 40])  # a run killed while writing its last line
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint, "test")
    assert_one_line(exc, samples, f"line {LIMIT}, column", "invalid JSON")

    out, directory = copy_output(lm_eval_output, tmp_path / "short")
    samples = next(directory.glob("samples_mlqa_domain_all_de_*"))
    samples.write_text("".join(samples.read_text("utf-8").splitlines(keepends=True)[:-1]), "utf-8")
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint, "test")
    assert_one_line(exc, samples, f"holds {LIMIT - 1} samples", f"lists {LIMIT}")

    out, directory = copy_output(lm_eval_output, tmp_path / "no-id")
    samples = next(directory.glob("samples_mlqa_domain_all_de_*"))
    lines = samples.read_text("utf-8").splitlines()
    first = json.loads(lines[0])
    del first["doc"]["id"]
    samples.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", "utf-8")
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint, "test")
    assert_one_line(exc, samples, "line 1: sample has no doc.id")

    out, directory = copy_output(lm_eval_output, tmp_path / "no-results")
    results_file = next(directory.glob("results_*.json"))
    results_file.unlink()
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint, "test")
    assert f"no {results_file.name} beside this samples file" in str(exc.value)

    empty = tmp_path / "empty"
    empty.mkdir()
    assert not is_lm_eval_output(empty) and not is_lm_eval_output(repo)
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(empty, fingerprint, "test")
    assert_one_line(exc, empty, "no lm-eval output here")


@pytest.mark.slow
def test_reader_merges_runs_and_refuses_two_models(repo: Path, lm_eval_output: Path, tmp_path: Path) -> None:
    fingerprint = fingerprint_of(repo)
    out, directory = copy_output(lm_eval_output, tmp_path / "runs")
    (results_file,) = directory.glob("results_*.json")
    date = results_file.stem.removeprefix("results_")
    later = "2999-01-01T00-00-00.000001"
    results = json.loads(results_file.read_text("utf-8"))
    results["configs"] = {"mlqa_domain_all_de": results["configs"]["mlqa_domain_all_de"]}
    (directory / f"results_{later}.json").write_text(json.dumps(results), "utf-8")
    lines = (directory / f"samples_mlqa_domain_all_de_{date}.jsonl").read_text("utf-8").splitlines()
    rerun = [json.loads(line) for line in lines]
    for sample in rerun:
        sample["filtered_resps"] = [" Rerun answer \nmore"]
    (directory / f"samples_mlqa_domain_all_de_{later}.jsonl").write_text(
        "".join(json.dumps(s) + "\n" for s in rerun), "utf-8"
    )
    answers, details = read_lm_eval_output(out, fingerprint, "test")
    assert set(answers["all.de"].values()) == {"Rerun answer"}  # the latest run of a task counts
    assert len(answers) == 3 and details["results_files"] == [results_file.name, f"results_{later}.json"]

    results["config"]["model_args"] = {"pretrained": "another-model"}
    (directory / f"results_{later}.json").write_text(json.dumps(results), "utf-8")
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint, "test")
    assert_one_line(exc, directory / f"results_{later}.json", "other model arguments")

    out, directory = copy_output(lm_eval_output, tmp_path / "two")
    shutil.copytree(directory, out / "another__model")
    with pytest.raises(InputError) as exc:
        read_lm_eval_output(out, fingerprint, "test")
    assert_one_line(exc, out, "several models")
