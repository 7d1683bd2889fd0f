"""The demo behind `make demo`: build -> audit -> STILTs train -> evaluate -> leaderboard, on bundled data.

Every step is the command a researcher would type; the demo prints it and then runs it.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

from mlqa_domain.jsonio import read_json

DEMO_DIR = Path(str(resources.files("mlqa_domain") / "data" / "demo"))
MLQA = [sys.executable, "-m", "mlqa_domain.cli"]
BENCH = [sys.executable, "-m", "mlqa_domain.bench_cli"]
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
    for item in read_json(DEMO_DIR / "parallel_source.json")["items"]:
        for lang in ("en", "de", "es", "zh"):
            texts += [item[lang]["context"], item[lang]["question"]]
    for path in sorted((DEMO_DIR / "tasks").iterdir()):
        texts += path.read_text("utf-8").splitlines()
    return texts


RUNS = {
    "tiny-squad": ["--intermediate", "none"],
    "tiny-mnli-squad": ["--intermediate", "mnli=TASKS/mini_mnli.jsonl"],
}


def build_and_audit(out: Path, data: Path, embedding_model: str) -> None:
    """Steps 1 and 2: build the domain splits; train fastText and audit the labels."""
    print("== 1. Build the domain splits from the demo MLQA sample (en, de, es, zh) ==")
    source, cache = DEMO_DIR / "MLQA_V1", out / ".cache"
    step(
        "mlqa-domain",
        ["build", "--source", str(source), "--out", str(data)]
        + ["--embedding-model", embedding_model, "--cache-dir", str(cache)],
    )
    print("\n== 2. Check the labels: a fastText classifier and an audit against hand labels ==")
    classifier = out / "classifier" / "domain.bin"
    step(
        "mlqa-domain",
        ["train-classifier", "--data", str(DEMO_DIR / "domain_train.txt"), "--out", str(classifier)],
    )
    audit = out / "audit"
    step(
        "mlqa-domain",
        ["audit", "--data", str(data), "--labels", str(DEMO_DIR / "audit_labels.jsonl")]
        + ["--plot", str(audit / "sweep.png"), "--json", str(audit / "audit.json"), "--no-sweep"],
    )


def stilts_runs(out: Path, data: Path, max_steps: int) -> None:
    """Step 3: a tiny random XLM-R through STILTs, with and without an intermediate task."""
    print("\n== 3. STILTs with a tiny XLM-R: (MNLI ->) SQuAD -> every domain config ==")
    from mlqa_domain.training.tiny_model import build_tiny_xlmr

    tiny, tasks = out / "tiny-xlmr", DEMO_DIR / "tasks"
    print(
        f"\n$ python -c 'build_tiny_xlmr(\"{tiny}\", <demo texts>)'  # random weights, tokenizer trained here"
    )
    build_tiny_xlmr(tiny, demo_corpus(), vocab_size=4000, hidden_size=64, num_layers=2, num_heads=2)
    common = ["--target", f"squad={tasks / 'mini_squad.json'}", "--eval-data", str(data)]
    common += ["--max-steps", str(max_steps), "--lr", "5e-4", "--intermediate-lr", "5e-4"]
    common += [
        "--batch-size",
        "8",
        "--intermediate-batch-size",
        "8",
        "--max-seq-length",
        "256",
        "--save-steps",
        "10",
    ]
    for name, extra in RUNS.items():
        extra = [arg.replace("TASKS", str(tasks)) for arg in extra]
        step("bench", ["stilts", "--base", str(tiny), *extra, *common, "--out", str(out / "runs" / name)])


def leaderboard(out: Path, data: Path) -> None:
    """Step 4: verified submissions in, the static leaderboard out."""
    print("\n== 4. Verified submissions in, a static leaderboard out ==")
    board = out / "leaderboard"
    step("bench", ["leaderboard", "init", "--leaderboard", str(board), "--data", str(data)])
    for name in RUNS:
        results = out / "runs" / name / "eval" / "results"
        step(
            "bench", ["submit", str(results), "--leaderboard", str(board), "--submitter", "mlqa-domain demo"]
        )
    step("bench", ["leaderboard", "render", "--leaderboard", str(board), "--out", str(out / "site")])
    step("bench", ["leaderboard", "show", "--leaderboard", str(board)])


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
    data = out / "mlqa-domain"
    build_and_audit(out, data, args.embedding_model)
    stilts_runs(out, data, args.max_steps)
    leaderboard(out, data)
    print(f"\nDone. Dataset: {data}  Leaderboard: {out / 'site' / 'index.html'}")
    print("The tiny model is random and trained for seconds: its scores show the plumbing, not a result.")


if __name__ == "__main__":
    main()
