"""`mlqa-domain build`: sources -> filters -> pivot labels -> a repo that `datasets.load_dataset` reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from mlqa_domain.builders.build import build_dataset
from mlqa_domain.dataset_repo import list_configs, load_build_info
from mlqa_domain.errors import ConfigError, InputError

LANGS = ("en", "de", "es", "zh")
NO_LID = {"answer_span": {}, "length": {}, "exact_dedup": {}}


def write_mlqa_dir(parallel: dict, root: Path) -> Path:
    """Write the official MLQA_V1 layout (all 16 context/question pairs) from the parallel fixture."""
    for split, prefix in (("validation", "dev"), ("test", "test")):
        (root / "MLQA_V1" / prefix).mkdir(parents=True, exist_ok=True)
        for c in LANGS:
            for q in LANGS:
                data = []
                for id_, item in parallel.items():
                    if item["split"] != split:
                        continue
                    context, _, answer = item[c]
                    question = item[q][1]
                    qa = {
                        "id": id_,
                        "question": question,
                        "answers": [{"answer_start": context.index(answer), "text": answer}],
                    }
                    data.append({"title": id_, "paragraphs": [{"context": context, "qas": [qa]}]})
                path = root / "MLQA_V1" / prefix / f"{prefix}-context-{c}-question-{q}.json"
                path.write_text(json.dumps({"version": "1.0", "data": data}, ensure_ascii=False), "utf-8")
    return root / "MLQA_V1"


@pytest.fixture(scope="module")
def mlqa_dir(fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    parallel = json.loads((fixtures_dir / "build" / "parallel.json").read_text("utf-8"))
    return write_mlqa_dir(parallel, tmp_path_factory.mktemp("src"))


@pytest.fixture(scope="module")
def filters_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("filters") / "filters.yaml"
    path.write_text(json.dumps(NO_LID))
    return path


@pytest.fixture(scope="module")
def built(mlqa_dir: Path, minilm_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "mlqa-domain"
    cache = tmp_path_factory.mktemp("cache")
    build_dataset([str(mlqa_dir)], out, embedding_model=str(minilm_path), cache_dir=cache)
    return out


def test_build_writes_every_config(built: Path) -> None:
    info = load_build_info(built)
    configs = list_configs(built)
    assert set(configs) == set(info["configs"])
    for lang in LANGS:
        assert f"all.{lang}" in configs and f"legal.{lang}" in configs and f"general.{lang}" in configs
    assert "legal.de.en" in configs and "all.zh.es" in configs
    assert info["configs"]["all.de"] == {"validation": 2, "test": 4}
    assert info["examples"]["read"] == 6 * 16
    assert info["dataset_fingerprint"].startswith("sha256:")
    for name, splits in info["configs"].items():
        for split in splits:
            assert (built / "data" / name / f"{split}.parquet").is_file()


def test_load_dataset_round_trip(built: Path) -> None:
    legal_de = datasets.load_dataset(str(built), "legal.de", split="test")
    legal_es = datasets.load_dataset(str(built), "legal.es", split="test")
    assert legal_de["id"] == legal_es["id"] == ["q-legal-1"]  # same questions in both languages
    row = legal_de[0]
    assert row["context_language"] == row["question_language"] == "de"
    assert row["domains"][0] == "legal"
    assert set(row["domain_scores"]) == {"biomedical", "legal", "finance", "science"}
    assert row["answers"]["text"] == ["der Mietvertrag"]
    assert row["context"][row["answers"]["answer_start"][0] :].startswith("der Mietvertrag")
    provenance = json.loads(row["provenance"])
    assert provenance["label_source"] == "pivot:en"
    assert provenance["route"] == "en"  # the default taxonomy: English contexts go to the trained head
    assert provenance["classifiers"]["head"]["type"] == "embedding-head"
    assert provenance["classifiers"]["head"]["guidelines_version"] == "1.1"
    assert row["classifier"] == "head"
    assert row["classifier_scores"]["head"] == row["domain_scores"]
    general = datasets.load_dataset(str(built), "general.zh", split="validation")
    assert general["id"] == ["q-gen-2"]
    cross = datasets.load_dataset(str(built), "biomedical.de.en", split="test")
    assert cross[0]["question"] == "What did the patients receive?"
    assert cross[0]["answers"]["text"] == ["den Impfstoff"]


def test_load_dataset_by_name_from_parent_dir(built: Path) -> None:
    cwd = os.getcwd()
    os.chdir(built.parent)
    try:
        ds = datasets.load_dataset("mlqa-domain", "legal.de")
    finally:
        os.chdir(cwd)
    assert set(ds) == {"validation", "test"}
    assert ds["validation"]["id"] == ["q-legal-2"]


def test_card_documents_the_build(built: Path) -> None:
    card = (built / "README.md").read_text("utf-8")
    assert card.startswith("---\n") and "config_name: legal.de\n" in card
    assert "sha256" in card and "CC BY-SA 3.0" in card and "@inproceedings{lewis2020mlqa" in card
    assert "| legal |" in card and "τ" in card
    assert "Route `en`" in card and "Route `other`" in card  # which classifier labels which languages
    assert "### Label quality" in card and "neither trained nor tuned on" in card


def test_rebuild_is_byte_identical(mlqa_dir: Path, tiny_sbert: Path, tmp_path: Path) -> None:
    first = build_dataset(
        [str(mlqa_dir)], tmp_path / "a", embedding_model=str(tiny_sbert), cache_dir=tmp_path
    )
    second = build_dataset(
        [str(mlqa_dir)], tmp_path / "b", embedding_model=str(tiny_sbert), cache_dir=tmp_path
    )
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / "data").rglob("*.parquet"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / "data").rglob("*.parquet"))
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert first.info["dataset_fingerprint"] == second.info["dataset_fingerprint"]


def test_german_dev_set_builds(de_dev_dir: Path, tiny_sbert: Path, tmp_path: Path) -> None:
    report = build_dataset(
        [str(de_dev_dir / "mlqa.de.de.validation.jsonl")],
        tmp_path / "de",
        embedding_model=str(tiny_sbert),
        cache_dir=tmp_path,
    )
    # language ID drops the one context that is a Russian discography line, not German text
    assert report.counts["all.de"] == {"validation": 511}
    assert report.info["examples"] == {"read": 512, "kept": 511, "rejected": 1}
    assert report.info["labeling"] == {
        "pivot": 0,
        "own_language": 512,  # labelled before filtering
        "pivot_contexts": 0,
        "own_language_contexts": 456,
    }
    rejected = (tmp_path / "de" / "rejected" / "language_id.jsonl").read_text("utf-8").splitlines()
    assert len(rejected) == 1 and "predicted ru" in json.loads(rejected[0])["reason"]
    ds = datasets.load_dataset(str(tmp_path / "de"), "all.de", split="validation")
    assert len(ds) == 511 and ds[0]["context_language"] == "de"


def test_failed_build_leaves_old_output_untouched(mlqa_dir: Path, tiny_sbert: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = build_dataset([str(mlqa_dir)], out, embedding_model=str(tiny_sbert), cache_dir=tmp_path)
    with pytest.raises(ConfigError):
        build_dataset(
            [str(mlqa_dir)], out, embedding_model=str(tmp_path / "missing-model"), cache_dir=tmp_path
        )
    assert load_build_info(out)["dataset_fingerprint"] == first.info["dataset_fingerprint"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_out_must_be_new_empty_or_an_earlier_build(mlqa_dir: Path, tiny_sbert: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-files"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not an mlqa-domain build"):
        build_dataset([str(mlqa_dir)], mine, embedding_model=str(tiny_sbert), cache_dir=tmp_path)
    assert (mine / "notes.txt").read_text() == "mine"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        build_dataset([str(mlqa_dir)], a_file, embedding_model=str(tiny_sbert), cache_dir=tmp_path)


def test_filters_that_drop_everything_write_nothing(mlqa_dir: Path, tiny_sbert: Path, tmp_path: Path) -> None:
    strict = tmp_path / "filters.yaml"
    strict.write_text(json.dumps({"length": {"min_context_chars": 19999}}))
    with pytest.raises(InputError, match="no example is left"):
        build_dataset(
            [str(mlqa_dir)],
            tmp_path / "out",
            embedding_model=str(tiny_sbert),
            filters=strict,
            cache_dir=tmp_path,
        )
    assert not (tmp_path / "out").exists()


def test_bad_filter_config_fails_before_reading(tmp_path: Path) -> None:
    bad = tmp_path / "filters.yaml"
    bad.write_text(json.dumps({"no_such_filter": {}}))
    with pytest.raises(ConfigError, match="no_such_filter"):
        build_dataset([str(tmp_path / "never-read.jsonl")], tmp_path / "out", filters=bad)


def test_languages_subset_still_uses_the_english_pivot(
    mlqa_dir: Path, minilm_path: Path, filters_yaml: Path, tmp_path: Path
) -> None:
    report = build_dataset(
        [str(mlqa_dir)],
        tmp_path / "out",
        embedding_model=str(minilm_path),
        languages=["de", "es"],
        filters=filters_yaml,
        cache_dir=tmp_path,
    )
    assert report.info["languages"] == ["de", "es"]
    assert not any(".en" in name or name.endswith("en") for name in report.counts)
    steps = {stats.name: stats for stats in report.steps}
    assert list(steps) == ["read", "label", "keep_languages", "answer_span", "length", "exact_dedup", "write"]
    assert steps["read"].seen == steps["label"].kept == 6 * 9  # en, de, es: 9 pairs, 6 ids each
    assert steps["keep_languages"].kept == steps["write"].seen == 6 * 4  # de and es only
    assert steps["keep_languages"].dropped == 6 * 5 and all(s.seconds >= 0 for s in report.steps)
    assert [f["name"] for f in report.info["filters"]] == ["answer_span", "length", "exact_dedup"]
    assert not any("seconds" in f for f in report.info["filters"])  # timings stay out of build_info
    legal_de = datasets.load_dataset(str(tmp_path / "out"), "legal.de", split="test")
    legal_es = datasets.load_dataset(str(tmp_path / "out"), "legal.es", split="test")
    assert legal_de["id"] == legal_es["id"] == ["q-legal-1"]
    assert json.loads(legal_de[0]["provenance"])["label_source"] == "pivot:en"


def test_labels_survive_when_a_filter_drops_the_english_instance(
    mlqa_dir: Path, minilm_path: Path, filters_yaml: Path, tmp_path: Path
) -> None:
    # break the answer span of q-legal-1 in every English-context file: the span filter drops those
    # four instances, yet the pivot labels them first, so de/es/zh keep the English labels
    broken = tmp_path / "MLQA_V1"
    shutil.copytree(mlqa_dir, broken)
    for path in (broken / "test").glob("test-context-en-question-*.json"):
        doc = json.loads(path.read_text("utf-8"))
        for article in doc["data"]:
            for qa in article["paragraphs"][0]["qas"]:
                if qa["id"] == "q-legal-1":
                    qa["answers"][0]["answer_start"] += 1
        path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    report = build_dataset(
        [str(broken)],
        tmp_path / "out",
        embedding_model=str(minilm_path),
        filters=filters_yaml,
        cache_dir=tmp_path,
    )
    assert report.info["examples"]["rejected"] == 4
    assert "q-legal-1" not in datasets.load_dataset(str(tmp_path / "out"), "all.en", split="test")["id"]
    for lang in ("de", "es", "zh"):
        rows = datasets.load_dataset(str(tmp_path / "out"), f"legal.{lang}", split="test")
        assert rows["id"] == ["q-legal-1"]
        assert json.loads(rows[0]["provenance"])["label_source"] == "pivot:en"


def test_missing_source_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        build_dataset([str(tmp_path / "nope.jsonl")], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MLQA_DOMAIN_NO_PROGRESS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlqa_domain.cli", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ('{"id": "a", "context": "x"', "mlqa.de.de.validation.jsonl", "JSON"),
        ('{"id": "a", "context": "abc", "question": "q"}\n', "mlqa.de.de.validation.jsonl", "answers"),
        (
            '{"id": "a", "context": "abc", "question": "q", "answers": {"text": ["a"], '
            '"answer_start": [0]}}\n',
            "mlqa.xx.de.validation.jsonl",
            "language",
        ),
        ("", "mlqa.de.de.validation.jsonl", "empty"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path: Path, content: str, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = _cli("build", "--source", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and name in lines[0] and message.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_build_and_bad_taxonomy(
    mlqa_dir: Path, tiny_sbert: Path, filters_yaml: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "tax.yaml"
    bad.write_text("domains: {}\n")
    result = _cli("build", "--source", str(mlqa_dir), "--taxonomy", str(bad), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "tax.yaml" in result.stderr and "Traceback" not in result.stderr
    result = _cli(
        "build",
        "--source",
        str(mlqa_dir),
        "--out",
        str(tmp_path / "o"),
        "--embedding-model",
        str(tiny_sbert),
        "--filters",
        str(filters_yaml),
        "--cache-dir",
        str(tmp_path / "c"),
        "--languages",
        "en,de",
    )
    assert result.returncode == 0, result.stderr
    info = load_build_info(tmp_path / "o")
    assert info["languages"] == ["de", "en"] and "all.de.en" in info["configs"]
    assert [f["name"] for f in info["filters"]][0] == "answer_span"


def test_rebuild_in_place_is_seen_by_load_dataset(mlqa_dir: Path, tiny_sbert: Path, tmp_path: Path) -> None:
    from mlqa_domain.dataset_repo import load_config

    squad = json.loads((mlqa_dir / "test" / "test-context-de-question-de.json").read_text("utf-8"))
    rows = [
        {
            "id": qa["id"],
            "context": p["context"],
            "question": qa["question"],
            "answers": {
                "text": [a["text"] for a in qa["answers"]],
                "answer_start": [a["answer_start"] for a in qa["answers"]],
            },
        }
        for article in squad["data"]
        for p in article["paragraphs"]
        for qa in p["qas"]
    ]
    source = tmp_path / "mlqa.de.de.test.jsonl"
    out = tmp_path / "mlqa-domain"

    def build_with_first_question(question: str) -> None:
        rows[0]["question"] = question
        source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        build_dataset([str(source)], out, embedding_model=str(tiny_sbert), cache_dir=tmp_path)

    build_with_first_question("Was war nichtig?")
    assert load_config(out, "all.de", "test")["question"][0] == "Was war nichtig?"
    assert datasets.load_dataset(str(out), "all.de", split="test")["question"][0] == "Was war nichtig?"
    # same path, same configs and row counts, one question changed: datasets keys its cache of a local
    # folder on the card's YAML, whose dataset_info sizes change; load_config keys on the fingerprint
    build_with_first_question("Was genau war laut dem Gericht nichtig?")
    assert load_config(out, "all.de", "test")["question"][0] == "Was genau war laut dem Gericht nichtig?"
    plain = datasets.load_dataset(str(out), "all.de", split="test")
    assert plain["question"][0] == "Was genau war laut dem Gericht nichtig?"


@pytest.mark.parametrize("args", [["build", "--bogus"], ["nosuchcmd"], ["push"], ["build", "--taxonomy"]])
def test_cli_usage_errors_have_no_traceback(args: list[str]) -> None:
    result = _cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Error:" in result.stderr


def test_bench_usage_error_has_no_traceback() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mlqa_domain.bench_cli", "run", "--bogus"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and "No such option" in result.stderr
