"""Speed of `bench import` on one whole MLQA test language (5,000 questions by default), on one core.

A dataset repo of ``--questions`` German questions (real German contexts when ../shared/data/mlqa-de-dev
is there, repeated under new ids, else synthetic text) is written with the builder's own export code,
split into four domains and general; an answer file ``all.de.json`` answers 95% of them (gold answers
for half, a wrong span for the rest). Timed in the same process, fastest of ``--repeat`` rounds:

- ``score``: the baseline, the official MLQA metric over every config (what `bench score` does per file);
- ``bootstrap``: every aggregate's 1,000 clustered (question-id) resamples (:func:`aggregates.summarise`);
- ``import``: the whole `bench import` (read, check ids, load every config, score, bootstrap, write).

The issue's target is ``import`` < 10 s. BLAS and torch are held to one thread.

    python perf/bench_import_speed.py [--questions 5000] [--repeat 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mlqa_domain.benchmark import aggregates  # noqa: E402
from mlqa_domain.benchmark.data import load_config_examples  # noqa: E402
from mlqa_domain.benchmark.importing import ImportSettings, import_predictions  # noqa: E402
from mlqa_domain.benchmark.results import score_config  # noqa: E402
from mlqa_domain.builders.card import front_matter  # noqa: E402
from mlqa_domain.builders.export import write_build_info, write_configs  # noqa: E402
from mlqa_domain.example import Example  # noqa: E402

DOMAINS = ["biomedical", "finance", "legal", "science"]
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mlqa-de-dev"


def _rows(n: int) -> list[tuple[str, str, str]]:
    """``(context, question, answer)`` rows: the real German dev set cycled, else synthetic sentences."""
    path = SHARED / "mlqa.de.de.validation.jsonl"
    if path.is_file():
        real = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        base = [(r["context"], r["question"], r["answers"]["text"][0]) for r in real]
    else:
        base = [
            (
                f"Im Bericht {i} wird Person {i} genannt, die {1900 + i % 100} kam.",
                f"Wer in {i}?",
                f"Person {i}",
            )
            for i in range(500)
        ]
    return [base[i % len(base)] for i in range(n)]


def write_repo(out: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    examples = []
    for i, (context, question, answer) in enumerate(_rows(n)):
        domains = [DOMAINS[int(rng.integers(len(DOMAINS)))]] if rng.random() < 0.35 else []
        examples.append(
            Example(
                id=f"q{i:06d}",
                split="test",
                context_language="de",
                question_language="de",
                context=context,
                question=question,
                answers={"text": [answer], "answer_start": [context.index(answer)]},
                domains=domains,
                domain_scores={d: 0.9 if d in domains else 0.1 for d in DOMAINS},
                classifier_scores={"embedding": {d: 0.9 if d in domains else 0.1 for d in DOMAINS}},
                source="benchmark",
            )
        )
    out.mkdir(parents=True)
    counts = write_configs(out, examples, DOMAINS, "general")
    write_build_info(
        out, {"harness_version": "bench", "domains": DOMAINS, "general": "general", "configs": counts}
    )
    header = json.dumps(front_matter(counts, ["de"]))  # YAML is a superset of JSON
    (out / "README.md").write_text(f"---\n{header}\n---\n\n# import speed\n", "utf-8")
    answers = {}
    for example in examples:
        draw = rng.random()
        if draw < 0.5:
            answers[example.id] = example.answers["text"][0]
        elif draw < 0.95:
            answers[example.id] = example.context[: max(1, len(example.context) // 4)]
    (out.parent / "answers").mkdir()
    (out.parent / "answers" / "all.de.json").write_text(json.dumps(answers, ensure_ascii=False), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import datasets

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_repo(root / "repo", args.questions)
        answers = json.loads((root / "answers" / "all.de.json").read_text("utf-8"))
        configs = ["all.de", "general.de", *(f"{d}.de" for d in DOMAINS)]
        examples = {c: load_config_examples(str(root / "repo"), c, "test") for c in configs}  # warm the cache
        timings: dict[str, list[float]] = {"score": [], "bootstrap": [], "import": []}
        for round_ in range(args.repeat):
            started = time.perf_counter()
            scored = {c: score_config(examples[c], answers) for c in configs}
            timings["score"].append(time.perf_counter() - started)
            started = time.perf_counter()
            aggregates.summarise({c: r.question_scores() for c, r in scored.items()})
            timings["bootstrap"].append(time.perf_counter() - started)
            started = time.perf_counter()
            out = root / f"results-{round_}"
            import_predictions(root / "answers", str(root / "repo"), out, "bench", ImportSettings())
            timings["import"].append(time.perf_counter() - started)
        best = {name: min(values) for name, values in timings.items()}
        questions = sum(len(e) for e in examples.values())
        print(f"{args.questions} questions ({questions} config rows, {len(configs)} configs), one thread")
        for name, seconds in best.items():
            print(f"  {name:<9} {seconds:6.2f} s  ({seconds / best['score']:.2f}x the official scoring)")
        print(f"  first import (its configs' datasets cache cold): {timings['import'][0]:.2f} s")
        print(f"  target: import < 10 s -> {'met' if best['import'] < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
