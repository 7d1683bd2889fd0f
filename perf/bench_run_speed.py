"""Speed of `bench run`'s engine against two baselines, on the same model and data, in one run.

Routes (each: raw examples in -> ``{id: answer}`` out; scoring is not timed):

- ``engine``: ``mlqa_domain.benchmark.runner.predict_answers`` (unpadded features, length-sorted batches
  padded to their longest member, ``torch.inference_mode``, vectorised n-best spans);
- ``run_qa``: the route of transformers' ``examples/pytorch/question-answering/run_qa.py``, rewritten here
  from its documented behaviour: ``prepare_validation_features`` through ``datasets.map(batched=True)`` with
  every feature padded to ``max_seq_length``, ``Trainer.predict`` over them, then ``utils_qa``'s
  ``postprocess_qa_predictions`` per-example n-best Python loop;
- ``per_example``: one example at a time (tokenise it, run the model on its features, pick the span), as
  the old ``pipeline("question-answering")`` did.

Default model: a random XLM-R (hidden 256, 4 layers, 4 heads) with a tokenizer trained on the data, saved
with its QA head so every route loads identical weights. Default data: the real MLQA German dev set in
../shared/data/mlqa-de-dev, else the bundled demo's de-de test file. Each route runs in a fresh process
(one torch thread by default), interleaved over ``--repeat`` rounds; the fastest run counts.

    python perf/bench_run_speed.py [--model DIR] [--data FILE.jsonl|REPO_DIR] [--config all.de]
        [--limit N] [--repeat 3] [--threads N]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from mlqa_domain.configs import parse_config_name

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mlqa-de-dev" / "mlqa.de.de.validation.jsonl"


# ----------------------------------------------------------------------------------------------- data
def read_rows(path: Path) -> list[dict]:
    """Rows in the HF ``mlqa`` schema from a jsonl file or a SQuAD/MLQA v1 json file."""
    text = path.read_text("utf-8")
    if path.suffix != ".json":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = []
    for article in json.loads(text)["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = {"text": [a["text"] for a in qa["answers"]]}
                rows.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "context": paragraph["context"],
                        "answers": answers,
                    }
                )
    return rows


def default_data() -> Path | None:
    """The real German dev set in ../shared, else the bundled demo sample (de-de test), else None."""
    if DEFAULT_DATA.is_file():
        return DEFAULT_DATA
    demo = (
        REPO_ROOT / "mlqa_domain" / "data" / "demo" / "MLQA_V1" / "test" / "test-context-de-question-de.json"
    )
    return demo if demo.is_file() else None


def load_examples(data: Path, config: str, limit: int | None):
    """ConfigExamples from an HF-``mlqa``-schema jsonl file, or from a built dataset repo's ``config``."""
    from mlqa_domain.benchmark.data import ConfigExamples, load_config_examples

    if data.is_dir() and (data / "build_info.json").is_file():
        examples = load_config_examples(str(data), config, "validation")
    else:
        path = data if data.is_file() else next(iter(sorted(data.glob("*.jsonl"))), None)
        if path is None:
            raise SystemExit(f"no .jsonl file in {data}")
        rows = read_rows(path)
        lang = parse_config_name(config).context_language if "." in config else "de"
        examples = ConfigExamples(
            config=config,
            ids=[r["id"] for r in rows],
            questions=[r["question"] for r in rows],
            contexts=[r["context"] for r in rows],
            answers=[list(r["answers"]["text"]) for r in rows],
            context_language=lang,
            question_language=lang,
        )
    if limit:
        for name in ("ids", "questions", "contexts", "answers"):
            setattr(examples, name, getattr(examples, name)[:limit])
    return examples


def build_default_model(examples, out: Path, hidden: int, layers: int, vocab_size: int) -> Path:
    """Random XLM-R with a tokenizer trained on the data; saved with its QA head for identical loads."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from mlqa_domain.training.tiny_model import build_tiny_xlmr

    base = build_tiny_xlmr(
        out / "base",
        list(examples.contexts) + list(examples.questions),
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=max(1, hidden // 64),
    )
    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    model.save_pretrained(out / "qa")
    AutoTokenizer.from_pretrained(base).save_pretrained(out / "qa")
    return out / "qa"


# ------------------------------------------------------------------------------ baseline (a): run_qa
def run_qa_prepare_validation_features(examples, tokenizer, max_seq_length: int, doc_stride: int) -> dict:
    """``run_qa.py``'s ``prepare_validation_features`` (pad_to_max_length=True, its default)."""
    pad_on_right = tokenizer.padding_side == "right"
    examples["question"] = [q.lstrip() for q in examples["question"]]
    tokenized = tokenizer(
        examples["question" if pad_on_right else "context"],
        examples["context" if pad_on_right else "question"],
        truncation="only_second" if pad_on_right else "only_first",
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    sample_mapping = tokenized.pop("overflow_to_sample_mapping")
    tokenized["example_id"] = []
    for i in range(len(tokenized["input_ids"])):
        sequence_ids = tokenized.sequence_ids(i)
        context_index = 1 if pad_on_right else 0
        tokenized["example_id"].append(examples["id"][sample_mapping[i]])
        tokenized["offset_mapping"][i] = [
            (o if sequence_ids[k] == context_index else None)
            for k, o in enumerate(tokenized["offset_mapping"][i])
        ]
    return tokenized


def utils_qa_postprocess(examples, features, predictions, n_best_size: int, max_answer_length: int) -> dict:
    """``utils_qa.postprocess_qa_predictions`` (version_2_with_negative=False): per-example n-best loop."""
    all_start_logits, all_end_logits = predictions
    example_id_to_index = {k: i for i, k in enumerate(examples["id"])}
    features_per_example = collections.defaultdict(list)
    for i, feature in enumerate(features):
        features_per_example[example_id_to_index[feature["example_id"]]].append(i)
    all_predictions = collections.OrderedDict()
    for example_index, example in enumerate(examples):
        prelim_predictions = []
        for feature_index in features_per_example[example_index]:
            start_logits = all_start_logits[feature_index]
            end_logits = all_end_logits[feature_index]
            offset_mapping = features[feature_index]["offset_mapping"]
            start_indexes = np.argsort(start_logits)[-1 : -n_best_size - 1 : -1].tolist()
            end_indexes = np.argsort(end_logits)[-1 : -n_best_size - 1 : -1].tolist()
            for start_index in start_indexes:
                for end_index in end_indexes:
                    if (
                        start_index >= len(offset_mapping)
                        or end_index >= len(offset_mapping)
                        or offset_mapping[start_index] is None
                        or len(offset_mapping[start_index]) < 2
                        or offset_mapping[end_index] is None
                        or len(offset_mapping[end_index]) < 2
                    ):
                        continue
                    if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                        continue
                    prelim_predictions.append(
                        {
                            "offsets": (offset_mapping[start_index][0], offset_mapping[end_index][1]),
                            "score": start_logits[start_index] + end_logits[end_index],
                            "start_logit": start_logits[start_index],
                            "end_logit": end_logits[end_index],
                        }
                    )
        predictions_ = sorted(prelim_predictions, key=lambda x: x["score"], reverse=True)[:n_best_size]
        context = example["context"]
        for pred in predictions_:
            offsets = pred.pop("offsets")
            pred["text"] = context[offsets[0] : offsets[1]]
        if len(predictions_) == 0 or (len(predictions_) == 1 and predictions_[0]["text"] == ""):
            predictions_.insert(0, {"text": "empty", "start_logit": 0.0, "end_logit": 0.0, "score": 0.0})
        scores = np.array([pred.pop("score") for pred in predictions_])
        exp_scores = np.exp(scores - np.max(scores))
        probs = exp_scores / exp_scores.sum()
        for prob, pred in zip(probs, predictions_, strict=True):
            pred["probability"] = prob
        all_predictions[example["id"]] = predictions_[0]["text"]
    return all_predictions


def route_run_qa(model, tokenizer, examples, args, workdir: Path) -> dict[str, str]:
    import datasets
    from transformers import Trainer, TrainingArguments, default_data_collator

    raw = datasets.Dataset.from_dict(
        {"id": examples.ids, "question": examples.questions, "context": examples.contexts}
    )
    features = raw.map(
        run_qa_prepare_validation_features,
        batched=True,
        remove_columns=raw.column_names,
        fn_kwargs={
            "tokenizer": tokenizer,
            "max_seq_length": args.max_seq_length,
            "doc_stride": args.doc_stride,
        },
    )
    training_args = TrainingArguments(
        output_dir=str(workdir / "trainer"),
        per_device_eval_batch_size=args.batch_size,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=training_args, data_collator=default_data_collator)
    output = trainer.predict(features)
    start_logits, end_logits = output.predictions[:2]
    _LAST_RUN_QA.update(raw=raw, features=features, logits=(start_logits, end_logits))
    return utils_qa_postprocess(
        raw, features, (start_logits, end_logits), args.n_best, args.max_answer_length
    )


_LAST_RUN_QA: dict = {}


def run_qa_without_padding_candidates(args) -> dict[str, str]:
    """The last run_qa route's answers again, with padding positions' logits set to -inf (not timed).

    utils_qa ranks every position of a max-length-padded feature, so with an untrained head the padding
    positions can take n-best slots that real tokens would get; this tells such differences apart.
    """
    features = _LAST_RUN_QA["features"]
    padding = np.asarray(features["attention_mask"]) == 0
    start, end = (np.where(padding, -np.inf, logits) for logits in _LAST_RUN_QA["logits"])
    return utils_qa_postprocess(
        _LAST_RUN_QA["raw"], features, (start, end), args.n_best, args.max_answer_length
    )


# ------------------------------------------------------------------------ baseline (b): per example
def route_per_example(model, tokenizer, examples, args) -> dict[str, str]:
    import torch

    from mlqa_domain.benchmark.features import prepare_validation_features
    from mlqa_domain.benchmark.spans import logits_to_answers

    answers = {}
    with torch.inference_mode():
        for example_id, question, context in zip(
            examples.ids, examples.questions, examples.contexts, strict=True
        ):
            features = prepare_validation_features(
                [question], [context], tokenizer, args.max_seq_length, args.doc_stride
            )
            width = features.context_mask.shape[1]
            input_ids = np.full((len(features), width), tokenizer.pad_token_id, dtype=np.int64)
            for row, ids in enumerate(features.input_ids):
                input_ids[row, : len(ids)] = ids
            attention = np.arange(width)[None, :] < features.lengths[:, None]
            out = model(
                input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention).long()
            )
            start = np.where(attention, out.start_logits.numpy(), -np.inf)
            end = np.where(attention, out.end_logits.numpy(), -np.inf)
            answer = logits_to_answers(
                {"id": [example_id], "context": [context]},
                features,
                start,
                end,
                args.n_best,
                args.max_answer_length,
            )
            answers.update(answer)
    return answers


# -------------------------------------------------------------------------------------- the engine
def route_engine(model, tokenizer, examples, args) -> dict[str, str]:
    from mlqa_domain.benchmark.runner import predict_answers
    from mlqa_domain.benchmark.settings import RunSettings

    settings = RunSettings(
        max_seq_length=args.max_seq_length,
        doc_stride=args.doc_stride,
        max_answer_length=args.max_answer_length,
        n_best=args.n_best,
        batch_size=args.batch_size,
    )
    return predict_answers(model, tokenizer, examples, settings, description="engine")


# ----------------------------------------------------------------------------------------- harness
class PeakRss:
    """Peak resident memory of this process while the block runs (sampled every 2 ms from /proc)."""

    def __init__(self) -> None:
        self.start = self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        try:
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self.start = self.peak = self.rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


ROUTES = ("engine", "run_qa", "per_example")


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="QA checkpoint dir (default: a random XLM-R built on the data)")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="jsonl (HF mlqa schema), SQuAD/MLQA json or a built repo dir (default: the German dev set "
        "in ../shared, else the demo's de-de test file)",
    )
    parser.add_argument("--config", default="all.de", help="config of a built repo (and the metric language)")
    parser.add_argument("--limit", type=int, default=None, help="first N examples only")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument("--n-best", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=256, help="default model: hidden size")
    parser.add_argument("--layers", type=int, default=4, help="default model: layers")
    parser.add_argument(
        "--vocab-size",
        type=int,
        default=16000,
        help="default model: tokenizer vocabulary (16000 gives "
        "about 1.3 tokens per German word on this data, close to XLM-R's own tokenizer)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per route (default 1: timings stay stable on a shared machine, where several "
        "OpenMP threads stall each other; 0 = torch's default)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per route, interleaved; the fastest counts"
    )
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument(
        "--engine-precision",
        default="fp32",
        choices=("fp32", "bf16", "fp16"),
        help="precision of the engine route only (the baselines stay fp32; answers may then differ)",
    )


def worker(args: argparse.Namespace) -> int:
    """Run one route in this (fresh) process; write seconds, memory and answers as JSON to --result."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    examples = load_examples(args.data, args.config, args.limit)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForQuestionAnswering.from_pretrained(args.model).eval()
    with torch.inference_mode():  # first-call allocations are nobody's cost
        model(input_ids=torch.ones((2, 64), dtype=torch.long))
    if args.worker == "engine" and args.engine_precision != "fp32":
        from mlqa_domain.benchmark.inference import prepare_model

        model = prepare_model(model, torch.device("cpu"), args.engine_precision)
        with torch.inference_mode():
            model(input_ids=torch.ones((2, 64), dtype=torch.long))
    routes = {
        "engine": lambda: route_engine(model, tokenizer, examples, args),
        "run_qa": lambda: route_run_qa(model, tokenizer, examples, args, Path(args.result).parent),
        "per_example": lambda: route_per_example(model, tokenizer, examples, args),
    }
    import gc

    gc.collect()
    with PeakRss() as memory:
        start, cpu_start = time.perf_counter(), time.process_time()
        answers = routes[args.worker]()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_start": memory.start,
        "rss_peak": memory.peak,
        "answers": answers,
        "threads": torch.get_num_threads(),
    }
    if args.worker == "run_qa":
        result["answers_without_padding_candidates"] = run_qa_without_padding_candidates(args)
    Path(args.result).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


def run_worker(route: str, argv: list[str], model: Path, workdir: Path) -> dict:
    result = workdir / f"{route}.json"
    env = {**os.environ, "MLQA_DOMAIN_NO_PROGRESS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    cmd = [sys.executable, __file__, *argv, "--model", str(model), "--worker", route, "--result", str(result)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"route {route} failed:\n{proc.stderr[-3000:]}")
    return json.loads(result.read_text("utf-8"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    parser.add_argument("--worker", choices=ROUTES, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    if args.data is None:
        args.data = default_data()
        if args.data is None:
            print(
                f"skipped: neither the German dev set ({DEFAULT_DATA}) nor the demo data is here; pass --data"
            )
            return 0
        argv += ["--data", str(args.data)]
        if args.data != DEFAULT_DATA:
            print(f"note: {DEFAULT_DATA} not found; using the demo sample {args.data}")
    if not args.data.exists():
        print(f"skipped: data not found at {args.data}")
        return 0

    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    from mlqa_domain.benchmark import metric

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    examples = load_examples(args.data, args.config, args.limit)
    chosen = [name.strip() for name in args.routes.split(",") if name.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_path = (
            Path(args.model)
            if args.model
            else build_default_model(examples, workdir / "model", args.hidden, args.layers, args.vocab_size)
        )
        config = AutoModelForQuestionAnswering.from_pretrained(model_path).config
        n_params = sum(
            p.numel() for p in AutoModelForQuestionAnswering.from_pretrained(model_path).parameters()
        )
        worker_argv = argv  # a later --model (the built one) wins in the worker
        runs: dict[str, list[dict]] = {name: [] for name in chosen}
        for _ in range(args.repeat):  # interleaved, so a noisy moment does not hit one route only
            for name in chosen:
                runs[name].append(run_worker(name, worker_argv, model_path, workdir))

    label = "random XLM-R" if not args.model else str(model_path)
    threads = runs[chosen[0]][0]["threads"]
    print(
        f"model: {label}, {n_params / 1e6:.1f} M parameters, {config.num_hidden_layers} layers, hidden "
        f"{config.hidden_size}, vocab {config.vocab_size}; CPU, torch threads {threads}"
    )
    print(
        f"data: {args.data} ({len(examples)} examples, metric language {examples.context_language}); "
        f"max_seq_length {args.max_seq_length}, doc_stride {args.doc_stride}, batch {args.batch_size}, "
        f"best of {args.repeat} interleaved runs, each route in a fresh process; "
        f"engine precision {args.engine_precision}, baselines fp32"
    )
    mib = 1024**2
    best = {name: min(rs, key=lambda r: r["seconds"]) for name, rs in runs.items()}
    min_cpu = {name: min(r["cpu_seconds"] for r in rs) for name, rs in runs.items()}
    median = {name: float(np.median([r["seconds"] for r in rs])) for name, rs in runs.items()}
    scores = {
        name: metric.evaluate(examples.gold, r["answers"], examples.context_language)
        for name, r in best.items()
    }
    print(
        f"\n{'route':<12} {'seconds':>8} {'examples/s':>11} {'EM':>7} {'F1':>7} {'peak RSS MiB':>13} "
        f"{'route +MiB':>11} {'CPU s':>7}   all runs: wall s (CPU s)"
    )
    for name, r in best.items():
        peak = max(x["rss_peak"] for x in runs[name])
        grow = max(x["rss_peak"] - x["rss_start"] for x in runs[name])
        all_runs = ", ".join(f"{x['seconds']:.2f} ({x['cpu_seconds']:.2f})" for x in runs[name])
        print(
            f"{name:<12} {r['seconds']:8.2f} {len(examples) / r['seconds']:11.1f} "
            f"{scores[name]['exact_match']:7.2f} {scores[name]['f1']:7.2f} "
            f"{peak / mib:13.0f} {grow / mib:11.0f} {min_cpu[name]:7.2f}   {all_runs}"
        )
    if "engine" in best:
        engine = best["engine"]
        for name, r in best.items():
            if name == "engine":
                continue
            differ = sum(engine["answers"].get(k) != v for k, v in r["answers"].items())
            if "answers_without_padding_candidates" in r:
                unpadded = r["answers_without_padding_candidates"]
                left = sum(engine["answers"].get(k) != v for k, v in unpadded.items())
                print(
                    f"  run_qa answers that differ from the engine's: {differ}; with padding positions "
                    f"kept out of utils_qa's n-best (they are never answers): {left}"
                )
            print(
                f"engine vs {name}: {r['seconds'] / engine['seconds']:.2f}x the examples/s (best runs), "
                f"{median[name] / median['engine']:.2f}x (median runs), "
                f"{min_cpu[name] / min_cpu['engine']:.2f}x in CPU time; "
                f"{differ} of {len(r['answers'])} answers differ; "
                f"EM {scores['engine']['exact_match']:.2f} vs {scores[name]['exact_match']:.2f}, "
                f"F1 {scores['engine']['f1']:.2f} vs {scores[name]['f1']:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
