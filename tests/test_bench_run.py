"""End-to-end `bench run` on a small dataset repo with a tiny random XLM-R QA checkpoint."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from typer.testing import CliRunner

from mlqa_domain.builders.card import front_matter
from mlqa_domain.builders.export import write_build_info, write_configs
from mlqa_domain.configs import parse_config_name
from mlqa_domain.dataset_repo import list_configs
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example

VERTRAG = "Der Vertrag ist nichtig, weil der Mieter nicht unterschrieben hat."
# (context language, question language, domains, context, question, answer)
ROWS = [
    ("de", "de", ["legal"], VERTRAG, "Was ist nichtig?", "Der Vertrag"),
    ("de", "de", ["legal"], "Das Gericht entschied 1999 gegen den Vermieter.", "Wann?", "1999"),
    ("de", "de", ["biomedical"], "Der Patient wurde mit Antibiotika behandelt.", "Womit?", "Antibiotika"),
    ("de", "de", [], "Die Zentralbank erhöhte den Leitzins gegen die Inflation.", "Was?", "den Leitzins"),
    ("de", "de", [], "Der Fluss fließt durch die Altstadt.", "Wodurch?", "die Altstadt"),
    ("en", "en", ["legal"], "The court ruled that the contract was void.", "What was void?", "the contract"),
    ("en", "en", [], "The river flows through the old town.", "Where does it flow?", "through the old town"),
    ("zh", "zh", ["legal"], "法院裁定合同无效，因为租户没有签署租约。", "什么无效？", "合同"),
    ("zh", "zh", [], "中央银行提高了利率。", "谁提高了利率？", "中央银行"),
    ("de", "en", ["legal"], VERTRAG, "What is void?", "Der Vertrag"),
    ("de", "en", [], "Die Zentralbank erhöhte den Leitzins.", "What did the bank raise?", "den Leitzins"),
]


def make_examples(rows=ROWS, splits=("validation", "test")) -> list[Example]:
    examples = []
    for split in splits:
        for i, (ctx_lang, q_lang, domains, context, question, answer) in enumerate(rows):
            examples.append(
                Example(
                    id=f"{split[:3]}-{i:03d}",
                    split=split,
                    context_language=ctx_lang,
                    question_language=q_lang,
                    context=context,
                    question=question,
                    answers={"text": [answer], "answer_start": [context.index(answer)]},
                    domains=list(domains),
                    domain_scores={"legal": 0.5 if "legal" in domains else 0.1, "biomedical": 0.2},
                    classifier_scores={"embedding": {"legal": 0.5, "biomedical": 0.2}},
                    source="fixture",
                )
            )
    return examples


def write_repo(out: Path, examples: list[Example]) -> Path:
    """A dataset repo in the built layout, written with the builder's own export and card helpers."""
    out.mkdir(parents=True, exist_ok=True)
    counts = write_configs(out, examples, ["legal", "biomedical"], "general")
    languages = sorted({e.context_language for e in examples} | {e.question_language for e in examples})
    info = write_build_info(
        out,
        {
            "harness_version": "test",
            "domains": ["legal", "biomedical"],
            "general": "general",
            "languages": languages,
            "configs": counts,
        },
    )
    header = yaml.safe_dump(front_matter(counts, languages), sort_keys=False, allow_unicode=True)
    (out / "README.md").write_text(f"---\n{header}---\n\n# fixture\n", encoding="utf-8")
    assert info["dataset_fingerprint"].startswith("sha256:")
    return out


@pytest.fixture(scope="module")
def bench_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_repo(tmp_path_factory.mktemp("repo") / "mlqa-domain", make_examples())


@pytest.fixture(scope="module")
def qa_checkpoint(tiny_xlmr: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny XLM-R with its QA head saved, so every load gives the same weights."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(tiny_xlmr)
    out = tmp_path_factory.mktemp("tiny-xlmr-qa")
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_xlmr).save_pretrained(out)
    return out


def make_app() -> typer.Typer:
    from mlqa_domain.benchmark.commands.run import run

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    app.command("run")(run)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps `run` a named subcommand
        pass

    return app


def invoke(*args: str):
    return CliRunner().invoke(make_app(), ["run", *args])


def run_cli(model: Path, data: Path, out: Path, *extra: str) -> dict:
    """`bench run` with short features; returns results.json."""
    args = ["--model", str(model), "--data", str(data), "--out", str(out)]
    result = invoke(*args, "--max-seq-length", "192", "--doc-stride", "32", "--batch-size", "4", *extra)
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text("utf-8"))


def check_results_dir(results: dict, out: Path, repo: Path, model: Path, split: str) -> None:
    """Every contract-C field of results.json and the prediction files."""
    build_info = json.loads((repo / "build_info.json").read_text("utf-8"))
    assert results["schema_version"] == 1
    assert results["harness"]["name"] == "mlqa-domain" and results["harness"]["version"]
    assert results["model"] == {
        "id": model.name,  # the public name: the directory's, never its path
        "revision": None,
        "commit_hash": None,
        "base_model": None,
        "intermediate_tasks": [],
        "source": "bench run",
    }
    assert results["dataset"] == {
        "path": repo.name,
        "fingerprint": build_info["dataset_fingerprint"],
        "split": split,
        "general": "general",
    }
    assert results["settings"] == {
        "max_seq_length": 192,
        "doc_stride": 32,
        "max_answer_length": 30,
        "n_best": 20,
        "batch_size": 4,
        "precision": "fp32",
        "device": "cpu",
    }
    # 192/32 is not a named protocol: recorded as custom, with the values that change scores
    assert results["protocol"]["name"] == "custom"
    assert results["protocol"]["settings"]["max_seq_length"] == 192
    assert results["protocol"]["hash"].startswith("sha256:")
    expected_configs = [name for name, splits in build_info["configs"].items() if split in splits]
    assert list(results["configs"]) == expected_configs
    assert list(results["timings"]["per_config_seconds"]) == expected_configs
    assert results["timings"]["examples_per_second"] > 0
    assert results["timings"]["total_seconds"] >= sum(results["timings"]["per_config_seconds"].values())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", results["created"])
    assert sorted(p.name for p in (out / "predictions").iterdir()) == sorted(
        f"{c}.json" for c in expected_configs
    )
    for name, entry in results["configs"].items():
        parsed = parse_config_name(name)
        assert (entry["domain"], entry["context_language"], entry["question_language"]) == (
            parsed.domain,
            parsed.context_language,
            parsed.question_language,
        )
        data = (out / entry["predictions_file"]).read_bytes()
        assert entry["predictions_file"] == f"predictions/{name}.json"
        assert hashlib.sha256(data).hexdigest() == entry["predictions_sha256"]
        predictions = json.loads(data)
        assert len(predictions) == entry["count"] == build_info["configs"][name][split]
        assert data == json.dumps(predictions, sort_keys=True, ensure_ascii=False).encode("utf-8")
        assert 0.0 <= entry["exact_match"] <= entry["f1"] <= 100.0
    for name, gap in results["config_gaps"].items():
        general = gap["general_config"]
        assert general == f"{build_info['general']}.{name.split('.', 1)[1]}"
        assert gap["f1_gap"] == pytest.approx(
            results["configs"][name]["f1"] - results["configs"][general]["f1"], abs=1e-4
        )
        assert gap["f1_ci95"][0] <= gap["f1_gap"] <= gap["f1_ci95"][1]
        assert gap["em_ci95"][0] <= gap["em_gap"] <= gap["em_ci95"][1]
    all_mono = [e for n, e in results["configs"].items() if n.startswith("all.") and n.count(".") == 1]
    if all_mono:  # the headline: all.<lang>, each question once
        assert results["aggregates"]["mlqa"]["count"] == sum(e["count"] for e in all_mono)
        assert results["aggregates"]["mlqa"]["f1"] == pytest.approx(
            np.mean([e["f1"] for e in all_mono]), abs=1e-4
        )
    assert set(results["definitions"]) >= {"mlqa", "domain", "gap", "cross_lingual", "count", "ci95"}
    assert results["bootstrap"]["resamples"] == 1000 and results["bootstrap"]["seed"] == 0
    scores = (out / "scores.json").read_bytes()
    assert hashlib.sha256(scores).hexdigest() == results["scores"]["sha256"]
    per_question = json.loads(scores)
    assert set(per_question) == set(results["configs"])
    for name, power in results["power"].items():
        assert power["count"] == results["configs"][name]["count"] == len(per_question[name]["ids"])


@pytest.fixture(scope="module")
def demo_repo(minilm_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `mlqa-domain build` of the bundled demo MLQA sample (de and en: 4 language pairs)."""
    from mlqa_domain.builders.build import build_dataset
    from mlqa_domain.demo import DEMO_DIR

    out = tmp_path_factory.mktemp("demo") / "mlqa-domain"
    cache = tmp_path_factory.mktemp("demo-cache")
    build_dataset(
        [str(DEMO_DIR / "MLQA_V1")],
        out,
        embedding_model=str(minilm_path),
        cache_dir=cache,
        languages=["de", "en"],
    )
    return out


def test_bench_run_end_to_end_on_the_built_demo_data(
    demo_repo: Path, qa_checkpoint: Path, tmp_path: Path
) -> None:
    results = run_cli(qa_checkpoint, demo_repo, tmp_path / "results")
    check_results_dir(results, tmp_path / "results", demo_repo, qa_checkpoint, "test")
    assert {"legal.de", "general.de", "legal.de.en", "all.en.de"} <= set(results["configs"])
    assert results["config_gaps"]["legal.de.en"]["general_config"] == "general.de.en"
    assert results["aggregates"]["mlqa"]["languages"] == ["de", "en"]
    assert (
        results["cross_lingual"]["languages"] == ["de", "en"] and "en" in results["cross_lingual"]["f1"]["de"]
    )

    # A rerun gives the same predictions, scores and intervals; --model-id only renames the model.
    again = run_cli(qa_checkpoint, demo_repo, tmp_path / "again", "--model-id", "my-qa-model")
    assert again["model"]["id"] == "my-qa-model"
    assert again["configs"] == results["configs"]
    for block in ("config_gaps", "aggregates", "cross_lingual", "power"):
        assert again[block] == results[block], block

    validation = run_cli(qa_checkpoint, demo_repo, tmp_path / "validation", "--split", "validation")
    check_results_dir(validation, tmp_path / "validation", demo_repo, qa_checkpoint, "validation")


def test_configs_without_the_split_are_skipped_not_failed(qa_checkpoint: Path, tmp_path: Path) -> None:
    """A repo whose validation split has only general rows: the domain configs are skipped there."""
    examples = make_examples(splits=("test",)) + [
        e for e in make_examples(splits=("validation",)) if not e.domains
    ]
    repo = write_repo(tmp_path / "mlqa-domain", examples)
    results = run_cli(qa_checkpoint, repo, tmp_path / "validation", "--split", "validation")
    assert results["configs"] and not any(name.startswith("legal.") for name in results["configs"])
    assert "general.de" in results["configs"]


def test_bench_run_on_a_hand_made_repo_with_chinese(
    bench_repo: Path, qa_checkpoint: Path, tmp_path: Path
) -> None:
    results = run_cli(qa_checkpoint, bench_repo, tmp_path / "results")
    check_results_dir(results, tmp_path / "results", bench_repo, qa_checkpoint, "test")
    values = results["aggregates"]
    assert values["mlqa"]["languages"] == ["de", "en", "zh"]
    assert {"domain:legal", "domain:biomedical", "domain:general", "gap:legal", "gap:biomedical"} == set(
        values
    ) - {"mlqa"}
    assert values["gap:legal"]["languages"] == ["de", "en", "zh"]
    assert set(results["config_gaps"]) == {"legal.de", "legal.en", "legal.zh", "legal.de.en", "biomedical.de"}
    zh_predictions = json.loads((tmp_path / "results" / "predictions" / "legal.zh.json").read_text("utf-8"))
    context = dict(zip([f"tes-{i:03d}" for i in range(len(ROWS))], [r[3] for r in ROWS], strict=True))
    assert all(answer in context[id_] for id_, answer in zh_predictions.items())  # sliced from the context


def test_configs_glob_selection(bench_repo: Path, qa_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = invoke(
        "--model",
        str(qa_checkpoint),
        "--data",
        str(bench_repo),
        "--out",
        str(out),
        "--configs",
        "legal.*,general.de",
        "--configs",
        "all.zh",
        "--split",
        "validation",
        "--max-seq-length",
        "48",
        "--doc-stride",
        "16",
    )
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text("utf-8"))
    wanted = {"all.zh", "legal.de", "legal.en", "legal.zh", "legal.de.en", "general.de"}
    assert list(results["configs"]) == [c for c in list_configs(bench_repo) if c in wanted]  # repo order
    assert set(results["configs"]) == wanted
    assert results["dataset"]["split"] == "validation"
    assert sorted(p.name for p in (out / "predictions").iterdir()) == sorted(
        f"{name}.json" for name in results["configs"]
    )
    assert set(results["config_gaps"]) == {"legal.de"}


def test_select_configs_patterns() -> None:
    from mlqa_domain.benchmark.data import select_configs

    available = ["all.de", "legal.de", "legal.de.en", "biomedical.de", "general.de"]
    assert select_configs(available, None) == available
    assert select_configs(available, ["biomedical.*, legal.de"]) == ["legal.de", "biomedical.de"]
    assert select_configs(available, ["*.de.en", "legal.*"]) == ["legal.de", "legal.de.en"]
    with pytest.raises(ConfigError, match=r"unknown config 'legal\.fr'.*available: all\.de"):
        select_configs(available, ["legal.de", "legal.fr"])
    with pytest.raises(ConfigError, match=r"unknown pattern 'finance\.\*'"):
        select_configs(available, ["finance.*"])


def test_bad_inputs_raise_one_clear_error(bench_repo: Path, qa_checkpoint: Path, tmp_path: Path) -> None:
    base = ["--data", str(bench_repo), "--out", str(tmp_path / "r")]
    result = invoke("--model", str(tmp_path / "no-such-model"), *base)
    assert isinstance(result.exception, InputError) and "model not found" in str(result.exception)
    result = invoke("--model", str(qa_checkpoint), *base, "--configs", "legal.fr")
    assert isinstance(result.exception, ConfigError) and "legal.fr" in str(result.exception)
    empty = tmp_path / "empty-repo"
    empty.mkdir()
    (empty / "README.md").write_text("---\npretty_name: x\n---\n", encoding="utf-8")
    (empty / "build_info.json").write_text("{}", encoding="utf-8")
    result = invoke("--model", str(qa_checkpoint), "--data", str(empty), "--out", str(tmp_path / "r"))
    assert isinstance(result.exception, InputError) and "no configs" in str(result.exception)
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    result = invoke("--model", str(not_a_model), *base)
    assert isinstance(result.exception, InputError)
    assert "cannot load a question-answering model" in str(result.exception)
    result = invoke("--model", str(qa_checkpoint), *base, "--doc-stride", "400")
    assert isinstance(result.exception, ConfigError) and "--doc-stride" in str(result.exception)
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_output_dir_that_is_not_a_results_dir_is_not_overwritten(
    bench_repo: Path, qa_checkpoint: Path, tmp_path: Path
) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    result = invoke("--model", str(qa_checkpoint), "--data", str(bench_repo), "--out", str(tmp_path))
    assert isinstance(result.exception, InputError) and "not overwriting" in str(result.exception)
    assert (tmp_path / "precious.txt").read_text("utf-8") == "keep me"


SCRIPT = (
    "import sys, typer; from mlqa_domain.benchmark.commands.run import run; "
    "from mlqa_domain.cli_utils import run_app; "
    "app = typer.Typer(pretty_exceptions_enable=False); app.command('run')(run); "
    "app.command('noop')(lambda: None); sys.argv = ['bench', 'run', *sys.argv[1:]]; run_app(app)"
)


@pytest.mark.parametrize("case", ["model", "config", "no-configs"])
def test_cli_prints_one_error_line_and_exits_2(
    case: str, bench_repo: Path, qa_checkpoint: Path, tmp_path: Path
) -> None:
    data, model, extra = str(bench_repo), str(qa_checkpoint), []
    if case == "model":
        model = str(tmp_path / "missing-model")
    elif case == "config":
        extra = ["--configs", "legal.fr"]
    else:
        (tmp_path / "repo").mkdir()
        (tmp_path / "repo" / "README.md").write_text("# no configs\n", encoding="utf-8")
        (tmp_path / "repo" / "build_info.json").write_text("{}", encoding="utf-8")
        data = str(tmp_path / "repo")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            "--model",
            model,
            "--data",
            data,
            "--out",
            str(tmp_path / "out"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    expected = {"model": "missing-model", "config": "legal.fr", "no-configs": "no configs"}[case]
    assert expected in lines[0]


def test_hub_id_from_the_local_hub_cache_records_the_commit_hash(qa_checkpoint: Path, tmp_path: Path) -> None:
    """A hub id resolves offline from an HF cache snapshot; the snapshot's commit is what gets recorded."""
    import shutil

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_cache = tmp_path / "hub" / "models--someorg--tiny-qa"
    shutil.copytree(qa_checkpoint, repo_cache / "snapshots" / commit)
    (repo_cache / "refs").mkdir()
    (repo_cache / "refs" / "main").write_text(commit, encoding="utf-8")
    code = (
        "from mlqa_domain.benchmark.runner import load_qa_model; "
        "model, tokenizer, commit = load_qa_model('someorg/tiny-qa'); print(commit)"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == commit
    # A local directory inside a snapshot is recognised too.
    from mlqa_domain.benchmark.runner import load_qa_model

    assert load_qa_model(str(repo_cache / "snapshots" / commit))[2] == commit
    assert load_qa_model(str(qa_checkpoint))[2] is None


def test_settings_are_recorded_as_applied_and_the_default_is_the_mlqa_v1_protocol(
    bench_repo: Path, qa_checkpoint: Path, tmp_path: Path
) -> None:
    """--max-seq-length 4096 on a 512-token model runs (and is recorded, and identified) as 512: the same
    run asked for 512 is not a different run; the defaults are the named protocol mlqa-v1."""
    clamped = run_cli(
        qa_checkpoint, bench_repo, tmp_path / "r", "--max-seq-length", "4096", "--doc-stride", "128"
    )
    assert clamped["settings"]["max_seq_length"] == 512
    assert (
        clamped["protocol"]["name"] == "custom" and clamped["protocol"]["settings"]["max_seq_length"] == 512
    )
    again = invoke(
        *("--model", str(qa_checkpoint), "--data", str(bench_repo), "--out", str(tmp_path / "r")),
        *("--max-seq-length", "512", "--doc-stride", "128", "--batch-size", "4"),
    )
    assert again.exit_code == 0, again.output  # the same run: no --force needed
    default = invoke("--model", str(qa_checkpoint), "--data", str(bench_repo), "--out", str(tmp_path / "d"))
    assert default.exit_code == 0, default.output
    results = json.loads((tmp_path / "d" / "results.json").read_text("utf-8"))
    assert results["protocol"]["name"] == "mlqa-v1" and not results["protocol"]["declared"]
    assert results["protocol"]["settings"] == {
        "kind": "extractive",
        "max_seq_length": 384,
        "doc_stride": 128,
        "max_answer_length": 30,
        "n_best": 20,
        "normalisation": "mlqa-v1-official",
    }
