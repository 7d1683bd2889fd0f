"""How fast `mlqa-domain build` is at full scale, against a plain fp32 sentence-transformers encode.

    python perf/bench_build_speed.py                         # SQuAD v1.1 train from ../shared
    python perf/bench_build_speed.py --limit 2000            # a quick run on 2,000 paragraphs
    python perf/bench_build_speed.py --fractions 0.25,0.5,1  # peak memory as the input grows
    python perf/bench_build_speed.py --fractions 1,0.5,0.25 --cache-dir C  # one cache: after the first, warm
    python perf/bench_build_speed.py --fractions 2,1,0.5,0.25 --cache-dir C  # 2: every question asked twice
    python perf/bench_build_speed.py --compare-fp32          # + labels of the fp32 route
    python perf/bench_build_speed.py --compare-fp32 --fp32-backend onnx   # fp32 in ONNX Runtime (faster)

Every build runs in a fresh process (so its peak RSS is its own) with a cold embedding cache, then
once more with that cache warm. In the same run, the naive baseline encodes the same texts with a
plain fp32 ``SentenceTransformer.encode`` (batch 64), and the label stage's contexts/s is reported as
a ratio to it. ``--compare-fp32`` also builds with ``--embedding-backend torch`` and reports how many
contexts get the same domain set on both routes (``--fp32-backend onnx`` runs that fp32 route in ONNX
Runtime, whose vectors match torch's to 1e-5 cosine, about 1.4x as fast on a CPU). Timings on a shared
machine are noisy: compare ratios measured in one run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLQA_DOMAIN_NO_PROGRESS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data" / "squad-v1.1-train" / "train-v1.1.json"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def subset(source: Path, paragraphs: int | None, out: Path) -> tuple[Path, int, int]:
    """A SQuAD-format file with the first ``paragraphs`` paragraphs of ``source`` (all when None).

    More paragraphs than ``source`` has repeat it (see :func:`repeats`): the same contexts and titles, so the
    labelling work stays that of the whole source, while the examples (and the rows written) grow.
    """
    data = json.loads(source.read_text("utf-8"))["data"]
    kept, count, questions = [], 0, 0
    for article in data if paragraphs is None else repeats(data):
        if paragraphs is not None and count >= paragraphs:
            break
        take = article["paragraphs"][: None if paragraphs is None else paragraphs - count]
        kept.append({**article, "paragraphs": take})
        count += len(take)
        questions += sum(len(p["qas"]) for p in take)
    out.write_text(json.dumps({"version": "1.1", "data": kept}), "utf-8")
    return out, count, questions


def repeats(data: list[dict]) -> Iterator[dict]:
    """The articles of ``data``, then copies of them without end: copy k asks each question again (its
    id ends in ``-repeat-k``, its text in ``(asked again k)``), so no copy is an exact duplicate."""
    yield from data
    for k in itertools.count(1):
        for article in data:
            paragraphs = [{**p, "qas": [ask_again(qa, k) for qa in p["qas"]]} for p in article["paragraphs"]]
            yield {**article, "paragraphs": paragraphs}


def ask_again(qa: dict, k: int) -> dict:
    """Question ``qa`` asked again (copy ``k``): a new id and a question text of its own."""
    return {**qa, "id": f"{qa['id']}-repeat-{k}", "question": f"{qa['question']} (asked again {k})"}


def child_build(source: str, out: str, cache: str, backend: str) -> None:
    """Run one build in this process, set up as the ``mlqa-domain`` console script sets it up, and print
    its step stats and peak RSS as JSON."""
    from mlqa_domain.entry import prepare_process

    prepare_process()  # before anything imports pyarrow
    from mlqa_domain.builders.build import BuildSettings, run_build

    start = time.perf_counter()
    report = run_build(
        BuildSettings(
            sources=[source],
            out=Path(out),
            cache_dir=Path(cache),
            context_language="en",
            question_language="en",
            split="test",
            embedding_backend=backend,
        )
    )
    print(
        json.dumps(
            {
                "wall_seconds": time.perf_counter() - start,
                "steps": {
                    s.name: {"seconds": s.seconds, "seen": s.seen, "kept": s.kept} for s in report.steps
                },
                "contexts": report.info["labeling"]["pivot_contexts"]
                + report.info["labeling"]["own_language_contexts"],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def child_baseline(source: str, sample: str) -> None:
    """Encode the texts the build's label stage embeds (or a seeded sample of ``sample`` of them) with
    a plain fp32 SentenceTransformer."""
    import random

    from sentence_transformers import SentenceTransformer

    from mlqa_domain.embeddings import resolve_model
    from mlqa_domain.labeling.reference import classifier_input

    data = json.loads(Path(source).read_text("utf-8"))["data"]
    texts = sorted({classifier_input(p["context"], a["title"]) for a in data for p in a["paragraphs"]})
    if int(sample) and int(sample) < len(texts):
        texts = random.Random(0).sample(texts, int(sample))
    model = SentenceTransformer(resolve_model(MODEL), device="cpu")
    start = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"texts": len(texts), "seconds": seconds, "texts_per_second": len(texts) / seconds}))


def run_child(*args: str) -> dict:
    """Run this script in a fresh process with ``--child ...``; return the JSON it prints."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"child {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def domains_by_context(out: Path) -> dict[str, tuple[str, ...]]:
    """Each context's domain set in a built repo (from the all.en config)."""
    import pyarrow.parquet as pq

    table = pq.read_table(out / "data" / "all.en" / "test.parquet", columns=["context", "domains"])
    pairs = zip(table["context"].to_pylist(), table["domains"].to_pylist(), strict=True)
    return {context: tuple(sorted(domains)) for context, domains in pairs}


def measure(source: Path, work: Path, backend: str, cache: Path | None = None) -> dict:
    """Cold and warm builds of ``source`` (the first one is warm too when ``cache`` is given)."""
    cache, out = cache or work / "cache", work / "out"
    cold = run_child("build", str(source), str(out), str(cache), backend)
    warm = run_child("build", str(source), str(work / "out-warm"), str(cache), backend)
    return {"cold": cold, "warm": warm, "out": str(out)}


def print_row(label: str, result: dict, baseline: float | None) -> None:
    cold, warm = result["cold"], result["warm"]
    label_seconds = cold["steps"]["label"]["seconds"]
    rate = cold["contexts"] / label_seconds if label_seconds else float("inf")
    ratio = f"{rate / baseline:.2f}x" if baseline else "-"
    whole = cold["contexts"] / cold["wall_seconds"]
    whole_ratio = f" ({whole / baseline:.2f}x)" if baseline else ""
    steps = ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in cold["steps"].items())
    print(
        f"{label}: cold {cold['wall_seconds']:.1f}s ({steps}); {cold['contexts']} contexts, "
        f"label {rate:.1f} contexts/s = {ratio} the fp32 encode, whole build {whole:.1f}/s{whole_ratio}; "
        f"peak RSS {cold['peak_rss_mb']:.0f} MB; "
        f"warm rebuild {warm['wall_seconds']:.1f}s (peak RSS {warm['peak_rss_mb']:.0f} MB)"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *args = sys.argv[2:]
        child_build(*args) if kind == "build" else child_baseline(*args)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="SQuAD/MLQA-format json")
    parser.add_argument("--limit", type=int, help="only the first N paragraphs")
    parser.add_argument(
        "--fractions", default="1", help="input fractions to build, e.g. 0.25,0.5,1 (over 1: it repeats)"
    )
    parser.add_argument("--backend", default="auto", help="the build's --embedding-backend")
    parser.add_argument("--compare-fp32", action="store_true", help="also build on an fp32 route")
    parser.add_argument(
        "--fp32-backend", default="torch", choices=("torch", "onnx"), help="that fp32 route's backend"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--baseline-sample", type=int, default=0, help="time the baseline on a seeded sample of N texts"
    )
    parser.add_argument(
        "--fp32-cache", type=Path, help="with --compare-fp32: reuse this fp32 embedding cache (no timing)"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="one embedding cache for every fraction (kept): the subsets are prefixes, so after a first "
        "build of the largest every build is warm (memory figures without paying a cold encode each)",
    )
    parser.add_argument("--json", type=Path, help="write every figure as JSON")
    args = parser.parse_args()
    if not args.source.is_file():
        sys.exit(f"{args.source}: not found (give --source)")
    report: dict = {"source": args.source.name, "backend": args.backend, "builds": {}}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        root = Path(tmp)
        total = sum(len(a["paragraphs"]) for a in json.loads(args.source.read_text("utf-8"))["data"])
        full = min(args.limit, total) if args.limit else total
        baseline = None
        for fraction in (float(f) for f in args.fractions.split(",")):
            source, paragraphs, questions = subset(
                args.source, round(full * fraction), root / f"in-{fraction}.json"
            )
            if not args.skip_baseline and baseline is None and fraction == 1:
                report["baseline"] = run_child("baseline", str(source), str(args.baseline_sample))
                baseline = report["baseline"]["texts_per_second"]
                print(
                    f"baseline: plain fp32 SentenceTransformer.encode {baseline:.1f} texts/s "
                    f"({report['baseline']['texts']} texts)"
                )
            result = measure(source, root / f"build-{fraction}", args.backend, args.cache_dir)
            result.update(paragraphs=paragraphs, questions=questions)
            report["builds"][str(fraction)] = result
            print_row(
                f"{fraction:.0%} of the input ({paragraphs} paragraphs, {questions} questions)",
                result,
                baseline,
            )
        if args.compare_fp32:
            fp32 = measure(source, root / "build-fp32", args.fp32_backend, args.fp32_cache)
            ours, theirs = domains_by_context(Path(result["out"])), domains_by_context(Path(fp32["out"]))
            same = sum(ours[c] == theirs[c] for c in ours)
            report["fp32"] = {**fp32, "same_domains": same, "contexts": len(ours)}
            if args.fp32_cache:  # warm: its timing says nothing about the fp32 route's speed
                print_row(f"fp32 {args.fp32_backend} route (given cache)", fp32, None)
            else:
                print_row(f"fp32 {args.fp32_backend} route", fp32, baseline)
            share = f"{same}/{len(ours)} contexts ({same / len(ours):.2%})"
            print(f"labels: {share} get the same domains on both routes")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), "utf-8")


if __name__ == "__main__":
    main()
