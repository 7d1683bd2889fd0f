"""The demo behind `make demo`: build -> audit -> STILTs train -> evaluate -> leaderboard, on bundled data.

Every step is the command a researcher would type; the demo prints it and then runs it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

DEMO_DIR = Path(str(resources.files("mlqa_domain") / "data" / "demo"))
MLQA = [sys.executable, "-m", "mlqa_domain.cli"]
BENCH = [sys.executable, "-m", "mlqa_domain.benchmark.cli"]
OUTPUTS = ("mlqa-domain", "classifier", "audit", "tiny-xlmr", "runs", "leaderboard", "site")


def run(command: list[str], shown: str) -> None:
    """Print ``shown`` (what a user types) and run ``command``; stop the demo if it fails."""
    print(f"\n$ {shown}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        sys.exit(f"demo step failed (exit {result.returncode}): {shown}")
    print(f"  ({time.perf_counter() - start:.1f}s)", flush=True)


def step(program: str, args: list[str]) -> None:
    """Run ``mlqa-domain ...`` or ``bench ...`` through this interpreter."""
    base = MLQA if program == "mlqa-domain" else BENCH
    run([*base, *args], " ".join([program, *map(shlex.quote, args)]))


def demo_corpus() -> list[str]:
    """Texts to train the tiny model's tokenizer on: demo contexts/questions and task files."""
    texts: list[str] = []
    for item in json.loads((DEMO_DIR / "parallel_source.json").read_text("utf-8"))["items"]:
        for lang in ("en", "de", "es", "zh"):
            texts += [item[lang]["context"], item[lang]["question"]]
    for path in sorted((DEMO_DIR / "tasks").iterdir()):
        texts += path.read_text("utf-8").splitlines()
    return texts


def main(argv: list[str] | None = None) -> None:
    """Run the whole loop into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-output"))
    parser.add_argument("--embedding-model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--max-steps", type=int, default=30)
    args = parser.parse_args(argv)
    out: Path = args.out
    for name in OUTPUTS:  # a fresh run each time; the embedding cache in OUT/.cache is kept
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    data, cache = out / "mlqa-domain", out / ".cache"
    tasks = DEMO_DIR / "tasks"

    print("== 1. Build the domain splits from the demo MLQA sample (en, de, es, zh) ==")
    step(
        "mlqa-domain",
        [
            "build",
            "--source",
            str(DEMO_DIR / "MLQA_V1"),
            "--out",
            str(data),
            "--embedding-model",
            args.embedding_model,
            "--cache-dir",
            str(cache),
        ],
    )

    print("\n== 2. Check the labels: a fastText classifier and an audit against hand labels ==")
    step(
        "mlqa-domain",
        [
            "train-classifier",
            "--data",
            str(DEMO_DIR / "domain_train.txt"),
            "--out",
            str(out / "classifier" / "domain.bin"),
        ],
    )
    step(
        "mlqa-domain",
        [
            "audit",
            "--data",
            str(data),
            "--labels",
            str(DEMO_DIR / "audit_labels.jsonl"),
            "--plot",
            str(out / "audit" / "sweep.png"),
            "--json",
            str(out / "audit" / "audit.json"),
            "--no-sweep",
        ],
    )

    print("\n== 3. STILTs with a tiny XLM-R: (MNLI ->) SQuAD -> every domain config ==")
    from mlqa_domain.benchmark.tiny_model import build_tiny_xlmr

    tiny = out / "tiny-xlmr"
    print(
        f"\n$ python -c 'build_tiny_xlmr(\"{tiny}\", <demo texts>)'  # random weights, tokenizer trained here"
    )
    build_tiny_xlmr(tiny, demo_corpus(), vocab_size=4000, hidden_size=64, num_layers=2, num_heads=2)
    common = [
        "--target",
        f"squad={tasks / 'mini_squad.json'}",
        "--eval-data",
        str(data),
        "--max-steps",
        str(args.max_steps),
        "--lr",
        "5e-4",
        "--intermediate-lr",
        "5e-4",
        "--batch-size",
        "8",
        "--intermediate-batch-size",
        "8",
        "--max-seq-length",
        "256",
        "--save-steps",
        "10",
    ]
    runs = {
        "tiny-squad": ["--intermediate", "none"],
        "tiny-mnli-squad": ["--intermediate", f"mnli={tasks / 'mini_mnli.jsonl'}"],
    }
    for name, extra in runs.items():
        step("bench", ["stilts", "--base", str(tiny), *extra, *common, "--out", str(out / "runs" / name)])

    print("\n== 4. Verified submissions in, a static leaderboard out ==")
    board = out / "leaderboard"
    step("bench", ["leaderboard", "init", "--leaderboard", str(board), "--data", str(data)])
    for name in runs:
        step(
            "bench",
            [
                "submit",
                str(out / "runs" / name / "eval" / "results"),
                "--leaderboard",
                str(board),
                "--submitter",
                "mlqa-domain demo",
            ],
        )
    step("bench", ["leaderboard", "render", "--leaderboard", str(board), "--out", str(out / "site")])
    step("bench", ["leaderboard", "show", "--leaderboard", str(board)])
    print(f"\nDone. Dataset: {data}  Leaderboard: {out / 'site' / 'index.html'}")
    print("The tiny model is random and trained for seconds: its scores show the plumbing, not a result.")


if __name__ == "__main__":
    main()
