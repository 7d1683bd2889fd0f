"""Published output never names a local path; `bench run --out` never replaces another run by accident.

The whole loop runs from a temp dir through the real command lines (build, bench run, submit, render,
compare), with a local taxonomy, a local sentence-transformers model (inside site-packages), a local QA
checkpoint and a local base-model path, and every published file is searched for those paths.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlqa_domain.benchmark.settings import MODEL_NOT_FOUND
from mlqa_domain.demo import DEMO_DIR
from mlqa_domain.naming import public_dataset_name, public_file_name, public_model_name

REPO_ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = REPO_ROOT / "mlqa_domain" / "data" / "taxonomy.yaml"


def command(program: str, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    module = "mlqa_domain.cli" if program == "mlqa-domain" else "mlqa_domain.bench_cli"
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    if check:
        assert proc.returncode == 0, f"{program} {' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc


def published_text(work: Path) -> dict[str, str]:
    """Every published file as text: the dataset repo (card, build_info, rows' provenance and source),
    results dirs, leaderboard entries, the site, and the comparison."""
    import pyarrow.parquet as pq

    texts = {}
    for folder in ("mlqa-domain", "results", "board/entries", "site"):
        for path in (work / folder).rglob("*"):
            if path.suffix in {".json", ".md", ".html", ".csv", ".jsonl"}:
                texts[str(path.relative_to(work))] = path.read_text("utf-8")
            elif path.suffix == ".parquet":
                table = pq.read_table(path, columns=["provenance", "source"])
                texts[str(path.relative_to(work))] = json.dumps(table.to_pylist())
    texts["cmp.json"] = (work / "cmp.json").read_text("utf-8")
    return texts


@pytest.fixture(scope="module")
def loop(tmp_path_factory, tiny_xlmr: Path, minilm_path: Path) -> tuple[Path, list[str]]:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    work = tmp_path_factory.mktemp("public") / "work"
    shutil.copytree(DEMO_DIR / "MLQA_V1", work / "src" / "MLQA_V1")
    shutil.copyfile(TAXONOMY, work / "my-taxonomy.yaml")
    shutil.copytree(TAXONOMY.parent / "heads", work / "heads")  # the taxonomy names its head relative to it
    checkpoint = work / "runs" / "tiny-squad" / "target" / "model"
    AutoModelForQuestionAnswering.from_pretrained(tiny_xlmr).save_pretrained(checkpoint)
    AutoTokenizer.from_pretrained(tiny_xlmr).save_pretrained(checkpoint)
    command(
        "mlqa-domain",
        *("build", "--source", "src/MLQA_V1", "--out", "mlqa-domain", "--languages", "de,en"),
        *("--embedding-model", str(minilm_path), "--taxonomy", str(work / "my-taxonomy.yaml")),
        *("--cache-dir", str(work / "cache")),
        cwd=work,
    )
    run = ("--data", "mlqa-domain", "--device", "cpu")  # the default protocol (mlqa-v1), as the board
    command("bench", "run", "--model", str(checkpoint), *run, "--out", "results", cwd=work)
    command("bench", "leaderboard", "init", "-l", "board", "--data", "mlqa-domain", cwd=work)
    command(
        "bench",
        "submit",
        "results",
        "-l",
        "board",
        "--submitter",
        "ana",
        "--base-model",
        str(tiny_xlmr),
        cwd=work,
    )
    command("bench", "leaderboard", "render", "-l", "board", "--out", "site", cwd=work)
    command("bench", "compare", "results", "results", "--out", "cmp.json", cwd=work)
    local = [
        str(work),
        str(tmp_path_factory.getbasetemp()),
        str(REPO_ROOT),
        str(minilm_path),
        "site-packages",
    ]
    return work, local


def test_nothing_published_names_a_local_path(loop) -> None:
    work, local = loop
    texts = published_text(work)
    assert {
        "mlqa-domain/README.md",
        "mlqa-domain/build_info.json",
        "results/results.json",
        "site/index.html",
    } <= set(texts)
    assert any(name.startswith("board/entries/") for name in texts)
    leaks = {name: path for name, text in texts.items() for path in local if path in text}
    assert leaks == {}


def test_public_names_say_what_was_used(loop) -> None:
    work, _ = loop
    results = json.loads((work / "results" / "results.json").read_text("utf-8"))
    assert results["model"]["id"] == "tiny-squad/target/model"  # the generic dirs keep their parents
    assert results["dataset"]["path"] == "mlqa-domain"
    info = json.loads((work / "mlqa-domain" / "build_info.json").read_text("utf-8"))
    (source,) = info["sources"]
    assert (source["dataset"], source["location"]) == ("mlqa", "MLQA_V1")
    assert source["files"][0]["path"].startswith("dev/") and len(source["files"][0]["sha256"]) == 64
    assert info["taxonomy"]["source"] == "my-taxonomy.yaml"
    head = info["labeler"]["routes"]["en"]["classifiers"]["head"]
    assert head["model"] == "sentence-transformers/all-MiniLM-L6-v2"  # the package's copy, by its hub id
    card = (work / "mlqa-domain" / "README.md").read_text("utf-8")
    assert "source_datasets:\n- mlqa\n" in card
    (entry,) = json.loads((work / "site" / "leaderboard.json").read_text("utf-8"))["entries"]
    assert entry["entry_id"].startswith("tiny-squad-target-model-") and entry["base_model"] == "tiny-xlmr0"


def test_bench_run_keeps_a_different_run_unless_forced(loop) -> None:
    work, _ = loop
    before = (work / "results" / "results.json").read_bytes()
    model = str(work / "runs" / "tiny-squad" / "target" / "model")
    args = ("run", "--model", model, "--data", "mlqa-domain", "--configs", "legal.de", "--out", "results")
    proc = command("bench", *args, "--max-seq-length", "128", "--doc-stride", "32", cwd=work, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "holds the results of a different run (configs:" in proc.stderr and "--force" in proc.stderr
    assert (work / "results" / "results.json").read_bytes() == before
    forced = command(
        "bench", *args, "--max-seq-length", "128", "--doc-stride", "32", "--out", "forced", cwd=work
    )
    assert forced.returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--model", "./missing", "--data", "./nowhere", "--out", "out"),
        ("stilts", "--base", "./missing", "--out", "runs/x", "--max-steps", "1"),
    ],
    ids=["run", "stilts"],
)
def test_a_missing_model_path_fails_before_anything_is_created(tmp_path, args) -> None:
    proc = command("bench", *args, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: ./missing: {MODEL_NOT_FOUND}"  # the same line for both
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("given", "public"),
    [
        ("xlm-roberta-base", "xlm-roberta-base"),
        ("org/model", "org/model"),
        ("/data/ckpts/xlmr-mnli", "xlmr-mnli"),
        ("/data/runs/x/target/model", "x/target/model"),
        ("/data/out/checkpoint-500", "out/checkpoint-500"),
        ("/h/.cache/huggingface/hub/models--org--qa/snapshots/" + "a" * 40, "org/qa"),
    ],
)
def test_public_model_names(given, public) -> None:
    assert public_model_name(given) == public


def test_public_file_and_dataset_names() -> None:
    assert public_file_name("/home/ana/data/MLQA_V1.zip") == "MLQA_V1.zip"
    assert (
        public_file_name("https://ana:secret@example.org/MLQA_V1.zip?token=x")
        == "https://example.org/MLQA_V1.zip"
    )
    assert public_file_name("file:///home/ana/MLQA_V1.zip") == "MLQA_V1.zip"
    assert public_dataset_name("/home/ana/mlqa-domain") == "mlqa-domain"
    assert public_dataset_name("org/mlqa-domain") == "org/mlqa-domain"


@pytest.mark.parametrize(
    ("kind", "location", "files", "dataset"),
    [
        ("mlqa-official", "/home/ana/MLQA_V1.zip", ["/home/ana/MLQA_V1.zip"], "mlqa"),
        ("hf-mlqa", "facebook/mlqa", [], "mlqa"),
        ("squad-parallel", "/home/ana/xquad", ["/home/ana/xquad/xquad.de.json"], "xquad"),
        ("squad-parallel", "/home/ana/squad/train-v1.1.json", ["/home/ana/squad/train-v1.1.json"], "squad"),
    ],
)
def test_sources_are_named_by_the_public_dataset_and_file_names(kind, location, files, dataset) -> None:
    from mlqa_domain.builders.card import source_datasets
    from mlqa_domain.builders.sources.base import SourceInfo

    info = SourceInfo(kind, location, [{"path": f, "bytes": 10, "sha256": "0" * 64} for f in files])
    public = info.to_dict()
    assert public["dataset"] == dataset and "/home/ana" not in json.dumps(public)
    assert source_datasets({"sources": [public]}) == [dataset]


def test_bench_power_tells_which_splits_can_answer_and_writes_the_card(loop) -> None:
    work, local = loop
    results = json.loads((work / "results" / "results.json").read_text("utf-8"))
    proc = command("bench", "power", "results", "--card", "mlqa-domain", cwd=work)
    assert "minimum detectable F1 difference" in proc.stdout and "legal.de" in proc.stdout
    info = json.loads((work / "mlqa-domain" / "build_info.json").read_text("utf-8"))
    power = info["power"]
    assert power["reference"] == {
        "model": "tiny-squad/target/model",
        "fingerprint": results["dataset"]["fingerprint"],
        "split": "test",
    }
    for name, value in power["configs"].items():  # the same figures as bench run's summary
        assert value == results["power"][name]
    assert set(power["configs"]) == {
        n for n in results["configs"] if n.count(".") == 1 and not n.startswith("all.")
    }
    assert (
        power["aggregates"]["mlqa"]["min_detectable_f1"] == results["aggregates"]["mlqa"]["min_detectable_f1"]
    )
    card = (work / "mlqa-domain" / "README.md").read_text("utf-8")
    assert "## Which splits can answer the question" in card and "`tiny-squad/target/model`" in card
    assert "| `legal.de` |" in card
    assert not any(path in card for path in local)
    # a reference run on another dataset is refused
    other = json.loads((work / "results" / "results.json").read_text("utf-8"))
    shutil.copytree(work / "results", work / "other-results")
    other["dataset"]["fingerprint"] = "sha256:" + "0" * 64
    (work / "other-results" / "results.json").write_text(json.dumps(other), "utf-8")
    proc = command("bench", "power", "other-results", "--card", "mlqa-domain", cwd=work, check=False)
    assert proc.returncode == 2 and "the reference run was scored on sha256:000" in proc.stderr
