"""Builds killed with SIGKILL lose nothing: a rerun resumes from the cache, byte-identical to an
uninterrupted build; ``--out`` is never left half-written. Also the ONNX embedding backends."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from mlqa_domain import embeddings
from mlqa_domain.embeddings import TextEncoder, text_hash
from mlqa_domain.labeling.taxonomy import default_taxonomy_path

WORDS = [
    "court",
    "statute",
    "contract",
    "patient",
    "vaccine",
    "gene",
    "market",
    "price",
    "bank",
    "river",
    "castle",
    "song",
    "orbit",
    "atom",
]


def write_squad(path: Path, paragraphs: int) -> Path:
    """A SQuAD-format file of distinct synthetic paragraphs, one question each."""
    rng = np.random.default_rng(0)
    data = []
    for article in range(paragraphs // 10):
        items = []
        for k in range(10):
            words = rng.choice(WORDS, size=int(rng.integers(20, 60)))
            context = f"Paragraph {article}-{k}: " + " ".join(words) + "."
            answer = context.split()[2]
            qa = {"id": f"q{article}-{k}", "question": "Which word?",
                  "answers": [{"text": answer, "answer_start": context.index(answer)}]}  # fmt: skip
            items.append({"context": context, "qas": [qa]})
        data.append({"title": f"Article {article}", "paragraphs": items})
    path.write_text(json.dumps({"version": "1.1", "data": data}), "utf-8")
    return path


def prototype_taxonomy(path: Path, model: Path, batch_size: int) -> Path:
    """The shipped domains with one prototype classifier for every language (one text per batch)."""
    raw = yaml.safe_load(default_taxonomy_path().read_text("utf-8"))
    raw["classification"]["classifiers"] = [
        {"name": "embedding", "type": "embedding", "model": str(model), "batch_size": batch_size}
    ]
    path.write_text(yaml.safe_dump(raw), "utf-8")
    return path


def build_command(source: Path, out: Path, cache: Path, taxonomy: Path, backend: str = "torch") -> list[str]:
    filters = out.parent / "filters.yaml"
    filters.write_text(json.dumps({"answer_span": {}, "exact_dedup": {}}), "utf-8")
    return [
        sys.executable, "-m", "mlqa_domain.cli", "build", "--source", str(source), "--out", str(out),
        "--cache-dir", str(cache), "--taxonomy", str(taxonomy), "--filters", str(filters),
        "--context-language", "en", "--split", "test", "--embedding-backend", backend,
    ]  # fmt: skip


def cached_rows(cache: Path) -> int:
    for file in cache.glob("embeddings-*.sqlite"):
        try:
            with sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=0.05) as db:
                return db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        except sqlite3.Error:
            return 0
    return 0


def kill_when(command: list[str], ready, timeout: float = 120) -> bool:
    """Start ``command``; SIGKILL it once ``ready()`` holds. False when it finished first."""
    env = {**os.environ, "MLQA_DOMAIN_NO_PROGRESS": "1"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.005)
    process.wait()
    return False


def parquet_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "data").rglob("*.parquet"))}


def uninterrupted_build(root: Path, tiny_sbert: Path, batch_size: int, backend: str):
    """(source, taxonomy, parquet bytes) of a cold-cache build of 400 synthetic paragraphs."""
    source = write_squad(root / "squad.json", 400)
    taxonomy = prototype_taxonomy(root / "taxonomy.yaml", tiny_sbert, batch_size=batch_size)
    out = root / "reference" / "out"
    out.parent.mkdir()
    done = subprocess.run(
        build_command(source, out, root / "cache-ref", taxonomy, backend), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return source, taxonomy, parquet_bytes(out)


@pytest.fixture(scope="module")
def reference_build(tmp_path_factory, tiny_sbert):
    """An uninterrupted fp32 build with one text per batch."""
    return uninterrupted_build(tmp_path_factory.mktemp("resume"), tiny_sbert, 1, "torch")


def killed_and_resumed(reference, tmp_path: Path, backend: str) -> None:
    """Kill a build while it embeds, check nothing was published, rerun it: the reference parquet."""
    source, taxonomy, expected = reference
    out, cache = tmp_path / "out", tmp_path / "cache"
    command = build_command(source, out, cache, taxonomy, backend)
    assert kill_when(command, lambda: 0 < cached_rows(cache) < 400), "the build finished before it was killed"
    assert not out.exists()  # nothing published
    partial = cached_rows(cache)
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 0 < partial < 400 and parquet_bytes(out) == expected


@pytest.mark.slow
def test_killed_while_embedding_resumes_to_identical_parquet(reference_build, tmp_path):
    killed_and_resumed(reference_build, tmp_path, "torch")


@pytest.mark.slow
def test_killed_while_embedding_on_the_int8_route_resumes_to_identical_parquet(
    tmp_path_factory, tiny_sbert, tmp_path
):
    """The CPU default: int8 vectors depend on which texts share a batch, and batches run on two threads."""
    reference = uninterrupted_build(tmp_path_factory.mktemp("resume-int8"), tiny_sbert, 4, "onnx-int8")
    killed_and_resumed(reference, tmp_path, "onnx-int8")


@pytest.mark.slow
def test_killed_while_writing_leaves_out_untouched_and_reruns(reference_build, tmp_path):
    source, taxonomy, expected = reference_build
    out, cache = tmp_path / "out", tmp_path / "cache"
    command = build_command(source, out, cache, taxonomy)
    for _ in range(5):  # writing takes a fraction of a second: catch it in one of a few tries
        killed = kill_when(command, lambda: any(tmp_path.glob(".out.tmp-*")))
        if killed:
            break
        assert out.is_dir()
        __import__("shutil").rmtree(out)
    assert killed, "never caught the build while it wrote"
    assert not out.exists() or parquet_bytes(out) == expected
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert parquet_bytes(out) == expected


def test_onnx_backends_match_torch(tiny_sbert, tmp_path):
    """The ONNX route runs the same model: fp32 within rounding, int8 close (per-channel weights)."""
    texts = ["The court ruled that the contract was void.", "Cells divide by mitosis.", "A short one."]
    torch_vectors = TextEncoder(str(tiny_sbert), backend="torch", use_cache=False).encode(texts)
    onnx = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="onnx")
    int8 = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="onnx-int8")
    cosine_fp32 = (torch_vectors * onnx.encode(texts)).sum(axis=1)
    cosine_int8 = (torch_vectors * int8.encode(texts)).sum(axis=1)
    assert cosine_fp32.min() > 0.99999 and cosine_int8.min() > 0.95
    assert onnx.model_key != int8.model_key  # each backend caches its own vectors
    exported = tmp_path / "onnx" / int8.model_key.removesuffix("-onnx-int8")  # one export for both
    assert {p.name for p in exported.iterdir()} == {"model.onnx", "model-int8.onnx"}


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_a_run_resumed_from_a_partial_cache_gives_the_cold_run_vectors(
    tiny_sbert, tmp_path, monkeypatch, backend
):
    """Batches are formed over all the texts, so re-encoding what an interrupted run left out gives
    exactly the vectors of an uninterrupted run (no batch changes composition), also when ONNX Runtime
    encodes batches on two threads."""
    monkeypatch.setattr(embeddings, "onnx_workers", lambda: 2)
    texts = [f"text number {i} " + "word " * (i % 7) for i in range(40)]
    cold = TextEncoder(str(tiny_sbert), cache_dir=tmp_path / "a", backend=backend, batch_size=8).encode(texts)
    first = TextEncoder(str(tiny_sbert), cache_dir=tmp_path / "b", backend=backend, batch_size=8)
    first.encode(texts)
    with sqlite3.connect(first._cache.path) as db:  # as if killed after 3 of 5 batches (rows in batch order)
        db.execute("DELETE FROM emb WHERE rowid > 24")
    resumed = TextEncoder(str(tiny_sbert), cache_dir=tmp_path / "b", backend=backend, batch_size=8)
    np.testing.assert_array_equal(resumed.encode(texts), cold)
    assert resumed.encoded_count == 16


def test_batches_hold_texts_of_one_token_count(tiny_sbert, tmp_path):
    """Texts are ordered by their token count, not their characters, so a batch pads little."""
    encoder = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="torch", batch_size=1)
    texts = ["a b c d e f g h i j k", "contract", "patient court", "x, y; z!", "vaccine vaccine vaccine"]
    tokens = [len(ids) for ids in encoder.model.tokenizer(texts)["input_ids"]]
    by_tokens = sorted(texts, key=lambda t: (tokens[texts.index(t)], len(t)))
    assert by_tokens != sorted(texts, key=len)  # the two orders differ for these texts
    hashes = [text_hash(t) for t in texts]
    assert [texts[i] for (i,) in encoder._batches(hashes, list(range(len(texts))), texts)] == by_tokens


def test_encoding_parts_of_cached_texts_gives_the_vectors_of_one_call(tiny_sbert, tmp_path):
    """cache() embeds in the batches of one call, so encode() on parts after it reads those vectors."""
    texts = [f"text number {i} " + "word " * (i % 7) for i in range(40)]
    whole = TextEncoder(str(tiny_sbert), cache_dir=tmp_path / "a", backend="onnx-int8", batch_size=4)
    at_once = whole.encode(texts)
    parts = TextEncoder(str(tiny_sbert), cache_dir=tmp_path / "b", backend="onnx-int8", batch_size=4)
    assert parts.cache(texts) == 40 and parts.cache(texts) == 0
    np.testing.assert_array_equal(
        np.concatenate([parts.encode(texts[i : i + 7]) for i in range(0, 40, 7)]), at_once
    )
    alone = TextEncoder(str(tiny_sbert), cache_dir=tmp_path / "c", backend="onnx-int8", batch_size=4)
    windowed = np.concatenate([alone.encode(texts[i : i + 7]) for i in range(0, 40, 7)])
    assert not np.array_equal(windowed, at_once)  # int8 vectors depend on their batch: why cache() exists
    uncached = TextEncoder(
        str(tiny_sbert), cache_dir=tmp_path / "d", backend="onnx-int8", batch_size=4, use_cache=False
    )
    np.testing.assert_array_equal(uncached.encode(texts), at_once)


def test_onnx_batches_on_several_threads_give_the_one_thread_vectors(tiny_sbert, tmp_path, monkeypatch):
    """Replicas share one ONNX Runtime session; batches come back in order whatever thread ran them."""
    texts = [f"sentence {i} about " + "the court and the patient " * (i % 5) for i in range(30)]
    monkeypatch.setattr(embeddings, "onnx_workers", lambda: 1)
    one = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="onnx-int8", batch_size=3, use_cache=False)
    monkeypatch.setattr(embeddings, "onnx_workers", lambda: 3)
    three = TextEncoder(
        str(tiny_sbert), cache_dir=tmp_path, backend="onnx-int8", batch_size=3, use_cache=False
    )
    sessions = {id(replica[0].model) for replica in three.replicas}
    tokenizers = {id(replica.tokenizer) for replica in three.replicas}
    assert len(three.replicas) == 3 and len(sessions) == 1 and len(tokenizers) == 3
    np.testing.assert_allclose(three.encode(texts), one.encode(texts), rtol=0, atol=1e-6)


def test_unknown_backend_is_a_config_error():
    from mlqa_domain.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown embedding backend 'tensorrt'"):
        TextEncoder("sentence-transformers/all-MiniLM-L6-v2", backend="tensorrt", use_cache=False)


def test_int8_scores_near_a_threshold_are_refined_with_the_fp32_model(tiny_sbert, tmp_path):
    """Rows whose int8 probability lies within the margin of a head threshold get the fp32 probability;
    the others keep the int8 one."""
    from mlqa_domain.labeling.classifiers.domain_head import DomainHead, HeadClassifier
    from mlqa_domain.labeling.domain_head_training import probe_embedding

    domains = ["biomedical", "legal"]
    texts = ["The court ruled that the contract was void.", "Cells divide by mitosis.", "A song."]
    fp32 = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="torch")
    int8 = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="onnx-int8")
    rng = np.random.default_rng(0)
    dim = fp32.encode(texts[:1]).shape[1]
    layers = [(rng.normal(size=(2, dim)).astype(np.float32) * 4, np.zeros(2, dtype=np.float32))]
    head = DomainHead(domains, layers, {d: 0.5 for d in domains}, str(tiny_sbert), probe_embedding(fp32))
    quantized = head.probabilities(int8.encode(texts))
    exact = head.probabilities(fp32.encode(texts))
    assert not np.array_equal(quantized, exact)
    gap = float(np.abs(quantized[1:, 0] - quantized[0, 0]).min())  # only text 0 is near the threshold
    assert gap > 0
    head.thresholds = {"biomedical": float(quantized[0, 0]), "legal": 2.0}
    path = head.save(tmp_path / "head.safetensors")
    classifier = HeadClassifier(
        path, int8, domains=domains, refine_margin=gap / 2, reference_encoder=lambda: fp32
    )
    scores = classifier.scores(texts, "en")
    assert classifier.refined_count == 1
    np.testing.assert_allclose(scores[0], exact[0], rtol=1e-6)
    np.testing.assert_allclose(scores[1:], quantized[1:], rtol=1e-6)


def test_a_damaged_onnx_export_is_moved_aside_and_made_again(tiny_sbert, tmp_path, caplog):
    first = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="onnx-int8", use_cache=False)
    expected = first.encode(["Cells divide by mitosis."])
    int8 = next((tmp_path / "onnx").rglob("model-int8.onnx"))
    int8.write_bytes(b"not an onnx graph")
    again = TextEncoder(str(tiny_sbert), cache_dir=tmp_path, backend="onnx-int8", use_cache=False)
    with caplog.at_level("WARNING"):
        np.testing.assert_allclose(again.encode(["Cells divide by mitosis."]), expected, atol=1e-6)
    assert "unreadable ONNX export" in caplog.text and str(int8) in caplog.text
    assert any(p.name.startswith("model-int8.onnx.corrupt-") for p in int8.parent.iterdir())
