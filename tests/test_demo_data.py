"""The shipped demo data: parallel MLQA layout, audit labels, fastText text and mini task files."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mlqa_domain.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "make_demo_data.py"
DEMO = REPO_ROOT / "mlqa_domain" / "data" / "demo"
LANGS = ("en", "de", "es", "zh")
PAIRS = [(c, q) for c in LANGS for q in LANGS]
# A sentence ends at . ! ? before a capital, ¿ or digit, but not after a German ordinal ("am 15. Tag").
SENTENCE_BREAK = re.compile(
    r"(?<![\s]\d\.)(?<![\s]\d\d\.)(?<![\s]\d\d\d\.)(?<=[.!?])\s+(?=[A-ZÄÖÜÁÉÍÓÚ¿0-9])"
)


def _load_script():
    spec = importlib.util.spec_from_file_location("make_demo_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mdd = _load_script()


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return mdd.load_source(DEMO / "parallel_source.json")


def _pair_doc(split: str, c: str, q: str) -> dict:
    return json.loads((DEMO / "MLQA_V1" / mdd.pair_file_name(split, c, q)).read_text(encoding="utf-8"))


def _qas(doc: dict) -> list[tuple[str, dict, dict]]:
    return [(art["title"], par, qa) for art in doc["data"] for par in art["paragraphs"] for qa in par["qas"]]


# --------------------------------------------------------------------------- parallel source


def test_source_counts_and_ids(items):
    assert len(items) == 36
    assert Counter(it["split"] for it in items) == {"dev": 12, "test": 24}
    assert len({it["id"] for it in items}) == 36
    assert all(re.fullmatch(r"[0-9a-f]{40}", it["id"]) for it in items)
    straddling = [it for it in items if isinstance(it["intended_domain"], list)]
    assert len(straddling) == 2


def test_source_paragraphs_look_like_their_language(items):
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for it in items:
        for lang in LANGS:
            block = it[lang]
            n_cjk = len(cjk.findall(block["context"]))
            if lang == "zh":
                assert n_cjk > 0.5 * len(block["context"]), it["slug"]
                sentences = [s for s in block["context"].split("。") if s]
            else:
                assert n_cjk == 0, (it["slug"], lang)
                sentences = SENTENCE_BREAK.split(block["context"])
            assert 3 <= len(sentences) <= 6, (it["slug"], lang, len(sentences))
            assert block["question"].endswith(("?", "？")), (it["slug"], lang)
        # parallel items differ per language (they are translations, not copies)
        assert len({it[lang]["context"] for lang in LANGS}) == 4


# --------------------------------------------------------------------------- generated layout


def test_layout_has_every_pair_file_and_parses():
    names = sorted(
        p.relative_to(DEMO / "MLQA_V1").as_posix() for p in (DEMO / "MLQA_V1").rglob("*") if p.is_file()
    )
    assert names == sorted(mdd.pair_file_name(s, c, q) for s in ("dev", "test") for c, q in PAIRS)
    for name in names:
        doc = json.loads((DEMO / "MLQA_V1" / name).read_text(encoding="utf-8"))
        assert doc["version"] == "1.0" and doc["data"]


@pytest.mark.parametrize("split", ["dev", "test"])
def test_ids_are_parallel_across_all_pairs(items, split):
    expected = {it["id"] for it in items if it["split"] == split}
    for c, q in PAIRS:
        ids = [qa["id"] for _, _, qa in _qas(_pair_doc(split, c, q))]
        assert len(ids) == len(set(ids))
        assert set(ids) == expected, (split, c, q)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_spans_languages_and_text_match_the_source(items, split):
    by_id = {it["id"]: it for it in items}
    for c, q in PAIRS:
        for title, par, qa in _qas(_pair_doc(split, c, q)):
            item = by_id[qa["id"]]
            (answer,) = qa["answers"]
            start, text = answer["answer_start"], answer["text"]
            assert par["context"][start : start + len(text)] == text
            assert par["context"] == item[c]["context"] and title == item[c]["title"]
            assert text == item[c]["answer"]
            assert qa["question"] == item[q]["question"]


def test_layout_equals_a_fresh_generation(tmp_path):
    out = tmp_path / "MLQA_V1"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr
    committed = {p.relative_to(DEMO / "MLQA_V1"): p.read_bytes() for p in (DEMO / "MLQA_V1").rglob("*.json")}
    fresh = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.json")}
    assert fresh.keys() == committed.keys() and len(fresh) == 32
    assert fresh == committed
    assert all(data.endswith(b"}\n") for data in fresh.values())
    assert mdd.layout_differences(mdd.build_layout(mdd.load_source()), DEMO / "MLQA_V1") == []


def test_check_mode_reports_a_stale_layout(tmp_path):
    out = tmp_path / "MLQA_V1"
    mdd.write_layout(mdd.build_layout(mdd.load_source()), out)
    stale = out / "dev" / "dev-context-de-question-en.json"
    stale.write_text('{"data": [], "version": "1.0"}\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 1
    assert "dev/dev-context-de-question-en.json" in result.stdout


# --------------------------------------------------------------------------- span finding and bad input


def test_find_answer_start():
    context = "The court sat in Bonn. The court rose at noon."
    assert mdd.find_answer_start(context, "Bonn") == 17
    assert mdd.find_answer_start(context, "The court", occurrence=2) == 23
    with pytest.raises(InputError, match="does not occur"):
        mdd.find_answer_start(context, "Berlin", where="x")
    with pytest.raises(InputError, match="occurs 2 times"):
        mdd.find_answer_start(context, "The court")
    with pytest.raises(InputError, match="answer_occurrence 3"):
        mdd.find_answer_start(context, "The court", occurrence=3)


def _write_source(tmp_path: Path, mutate) -> Path:
    doc = json.loads((DEMO / "parallel_source.json").read_text(encoding="utf-8"))
    mutate(doc)
    path = tmp_path / "source.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["items"][0]["zh"].update(answer="不存在的答案"), "does not occur"),
        (lambda d: d["items"][1].update(id="0" * 40), "not the sha1"),
        (lambda d: d["items"][2].update(split="train"), "split must be"),
        (lambda d: d["items"][3].pop("es"), "missing language block"),
        (lambda d: d["items"][4].update(intended_domain="sports"), "intended_domain"),
        (lambda d: d["items"].append(d["items"][0]), "duplicate id"),
    ],
)
def test_load_source_rejects_bad_items(tmp_path, mutate, message):
    path = _write_source(tmp_path, mutate)
    with pytest.raises(InputError, match=message) as info:
        mdd.load_source(path)
    assert str(path) in str(info.value)


def test_ambiguous_answer_needs_an_occurrence(tmp_path):
    def make_ambiguous(doc):
        block = doc["items"][0]["en"]
        block["context"] += " " + block["answer"] + " again."

    path = _write_source(tmp_path, make_ambiguous)
    with pytest.raises(InputError, match="answer_occurrence"):
        mdd.load_source(path)

    def with_occurrence(doc):
        make_ambiguous(doc)
        doc["items"][0]["en"]["answer_occurrence"] = 1

    items = mdd.load_source(_write_source(tmp_path, with_occurrence))
    files = mdd.build_layout(items)
    doc = json.loads(files[mdd.pair_file_name(items[0]["split"], "en", "en")])
    (qa,) = [qa for _, _, qa in _qas(doc) if qa["id"] == items[0]["id"]]
    assert qa["answers"][0]["answer_start"] == items[0]["en"]["context"].find(items[0]["en"]["answer"])


def test_cli_bad_source_prints_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(bad), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "bad.json" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- audit labels, fastText text


def test_audit_labels_cover_every_id(items):
    labels = mdd.validate_audit_labels(DEMO / "audit_labels.jsonl", [it["id"] for it in items])
    assert len(labels) == 36
    per_domain = Counter(d for domains in labels.values() for d in domains)
    assert per_domain["legal"] >= 8 and per_domain["biomedical"] >= 8 and per_domain["finance"] >= 6
    assert per_domain["science"] >= 4 and per_domain["general"] >= 10
    assert sum(len(domains) > 1 for domains in labels.values()) == 2


def test_audit_labels_reject_unknown_domains(tmp_path, items):
    path = tmp_path / "labels.jsonl"
    rows = [{"id": it["id"], "domains": ["general"]} for it in items]
    rows[0]["domains"] = ["sports"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(InputError, match="domains must be"):
        mdd.validate_audit_labels(path, [it["id"] for it in items])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[1:]), encoding="utf-8")
    with pytest.raises(InputError, match="no label"):
        mdd.validate_audit_labels(path, [it["id"] for it in items])


def test_domain_train_text_is_balanced_and_unique():
    pairs = mdd.read_domain_train(DEMO / "domain_train.txt")
    assert Counter(domain for domain, _ in pairs) == {d: 40 for d in mdd.DOMAINS}
    assert len({text for _, text in pairs}) == len(pairs)
    first_fifty = Counter(domain for domain, _ in pairs[:50])
    assert set(first_fifty.values()) == {10}


def _ngrams(text: str, n: int = 8) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def _task_texts() -> list[str]:
    texts = []
    for name in ("mini_squad.json", "mini_cuad.json"):
        for article in json.loads((DEMO / "tasks" / name).read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                texts.append(paragraph["context"])
                texts += [qa["question"] for qa in paragraph["qas"]]
    for name in ("mini_mnli.jsonl", "mini_pubmedqa.jsonl", "mini_hellaswag.jsonl"):
        for line in (DEMO / "tasks" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [v for v in row.values() if isinstance(v, str)] + row.get("endings", [])
    return texts


def test_training_and_task_text_do_not_overlap_demo_contexts(items):
    demo = set().union(*(_ngrams(it["en"]["context"]) for it in items))
    train = [text for _, text in mdd.read_domain_train(DEMO / "domain_train.txt")]
    for text in train + _task_texts():
        shared = _ngrams(text) & demo
        assert not shared, (text[:60], sorted(shared)[:3])


# --------------------------------------------------------------------------- mini task files


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DEMO / "tasks" / name).read_text(encoding="utf-8").splitlines()]


def test_task_files_are_valid():
    counts = mdd.validate_tasks(DEMO / "tasks")
    assert counts == {
        "mini_squad.json": 33,
        "mini_cuad.json": 12,
        "mini_mnli.jsonl": 60,
        "mini_pubmedqa.jsonl": 24,
        "mini_hellaswag.jsonl": 24,
    }
    assert Counter(r["label"] for r in _rows("mini_mnli.jsonl")) == {0: 20, 1: 20, 2: 20}
    assert Counter(r["label"] for r in _rows("mini_hellaswag.jsonl")) == {0: 6, 1: 6, 2: 6, 3: 6}
    assert set(Counter(r["final_decision"] for r in _rows("mini_pubmedqa.jsonl"))) == {"yes", "no", "maybe"}
    cuad = json.loads((DEMO / "tasks" / "mini_cuad.json").read_text(encoding="utf-8"))
    questions = [qa["question"] for a in cuad["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert all(q.startswith("Highlight the parts (if any) of this contract related to") for q in questions)


def test_task_validators_reject_bad_rows(tmp_path):
    squad = json.loads((DEMO / "tasks" / "mini_squad.json").read_text(encoding="utf-8"))
    squad["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] += 1
    bad_squad = tmp_path / "squad.json"
    bad_squad.write_text(json.dumps(squad), encoding="utf-8")
    with pytest.raises(InputError, match="is not at offset"):
        mdd.validate_squad_file(bad_squad)

    cases = [
        (mdd.validate_mnli_file, {"premise": "a", "hypothesis": "b", "label": 3}, "label must be 0, 1 or 2"),
        (
            mdd.validate_mnli_file,
            {"premise": "a", "hypothesis": "b", "label": "0"},
            "label must be 0, 1 or 2",
        ),
        (
            mdd.validate_pubmedqa_file,
            {"question": "q", "context": "c", "final_decision": "perhaps"},
            "final_decision",
        ),
        (mdd.validate_hellaswag_file, {"ctx": "c", "endings": ["a", "b", "c"], "label": 0}, "four"),
        (mdd.validate_hellaswag_file, {"ctx": "c", "endings": ["a", "b", "c", "d"], "label": 4}, "0-3"),
    ]
    for validator, row, message in cases:
        path = tmp_path / "rows.jsonl"
        path.write_text(json.dumps(row) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=message):
            validator(path)


def test_demo_directory_stays_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 900_000
