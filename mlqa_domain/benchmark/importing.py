"""`bench import`: answers made elsewhere (HF ``run_qa.py``, an LLM, any toolkit) scored into a results dir.

The input is a directory of ``{question id: answer text}`` JSON files named by config, the layout `bench
run` writes under ``predictions/``: one file per language pair (``all.de.json``, ``all.de.en.json``), from
which every domain config of that pair takes its answers, or a config's own file (``legal.de.json``),
which wins. An lm-eval output directory (``--log_samples`` of tasks `bench lm-eval export` wrote) is read
by :mod:`mlqa_domain.benchmark.lm_eval_samples`. The output is an ordinary results dir (results.json with
aggregates, CIs, power and definitions; scores.json; predictions/), so `bench compare`, `bench power` and
`bench submit` take it like any other; ``model.source`` says it was imported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlqa_domain import __version__
from mlqa_domain.benchmark import protocol as protocols
from mlqa_domain.benchmark import results as results_mod
from mlqa_domain.benchmark.data import DatasetRepo, load_config_examples, open_repo, plan_configs
from mlqa_domain.benchmark.scoring import load_predictions
from mlqa_domain.configs import ALL, check_config_name, language_key, parse_config_name, suggest_config
from mlqa_domain.dataset_repo import REJECTED_DIR
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.jsonio import iter_jsonl
from mlqa_domain.naming import is_path_text, public_dataset_name, public_model_name
from mlqa_domain.progress import track

logger = logging.getLogger(__name__)
IMPORTED = "imported"
LM_EVAL = "lm-eval"
_SHOW = 3


@dataclass(frozen=True)
class ImportSettings:
    """How `bench import` reads and records answers made elsewhere."""

    split: str = "test"
    # a named protocol the answers were produced under (recorded as declared); None: external (unknown)
    protocol: str | None = None
    # ids in a file that the dataset's split does not hold (nor dropped by its filters): error, or ignored
    ignore_unknown_ids: bool = False
    force: bool = False


@dataclass
class Answers:
    """The answers read from the input: ``{file key: {id: answer}}`` and where they came from."""

    by_key: dict[str, dict[str, str]]
    files: dict[str, str]  # file key -> file name (for messages)
    source: str = IMPORTED
    details: dict[str, Any] = field(default_factory=dict)


def read_answer_dir(directory: Path) -> Answers:
    """Every ``<config>.json`` of ``directory`` as ``{question id: answer text}``."""
    if not directory.exists():
        raise InputError("no such predictions directory", directory)
    if not directory.is_dir():
        raise InputError(
            "predictions must be a directory of <config>.json files (e.g. all.de.json)", directory
        )
    paths = sorted(p for p in directory.iterdir() if p.suffix == ".json" and p.is_file())
    if not paths:
        raise InputError(
            "no predictions files: expected {question id: answer} JSON files named by config "
            "(all.de.json, all.de.en.json, legal.de.json, ...)",
            directory,
        )
    by_key = {}
    for path in paths:
        try:
            check_config_name(path.stem)
        except ConfigError as exc:
            raise InputError(f"file name is not a config name ({exc.problem})", path) from None
        by_key[path.stem] = load_predictions(path)
    return Answers(by_key, {key: f"{key}.json" for key in by_key})


def read_answers(path: Path, repo: DatasetRepo, split: str) -> Answers:
    """The answers at ``path``: an lm-eval output directory, else a directory of answer files."""
    from mlqa_domain.benchmark import lm_eval_samples

    if lm_eval_samples.is_lm_eval_output(path):
        by_config, details = lm_eval_samples.read_lm_eval_output(path, repo.fingerprint or "", split)
        files = {k: f"lm-eval samples of {k}" for k in by_config}
        return Answers(by_config, files, LM_EVAL, public_details(details))
    return read_answer_dir(path)


def _public_argument(value: str) -> str:
    return public_model_name(value) if is_path_text(value) else value


def public_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """What lm-eval recorded about a run, with local paths replaced by public names (model arguments
    such as ``pretrained=/home/me/ckpt`` become ``pretrained=ckpt``; results files by their names)."""
    out = dict(details)
    args = out.get("model_args")
    if isinstance(args, str):
        parts = [part.split("=", 1) for part in args.split(",")]
        out["model_args"] = ",".join(
            f"{p[0]}={_public_argument(p[1])}" if len(p) == 2 else _public_argument(p[0]) for p in parts
        )
    elif isinstance(args, Mapping):
        out["model_args"] = {k: _public_argument(v) if isinstance(v, str) else v for k, v in args.items()}
    if isinstance(out.get("model_name"), str):
        out["model_name"] = _public_argument(out["model_name"])
    out["results_files"] = [Path(str(p)).name for p in out.get("results_files") or []]
    return out


def pair_key(config: str) -> str:
    """The pair file a config takes its answers from: ``legal.de.en`` -> ``all.de.en``."""
    parsed = parse_config_name(config)
    return f"{ALL}.{language_key(parsed.context_language, parsed.question_language)}"


def answer_sources(configs: list[str], answers: Answers, where: Path) -> dict[str, str]:
    """``{config: file key}``: a config's own file, else its pair's; configs of pairs without any file are
    left out. A file that names no config of the split is an error."""
    available = set(configs)
    for key in answers.by_key:
        if key not in available:
            suggestion = suggest_config(key, sorted(available))
            hint = f"; did you mean {suggestion}?" if suggestion else ""
            raise InputError(
                f"{answers.files[key]}: the dataset has no config {key} in this split{hint}", where
            )
    sources = {}
    for config in configs:
        if config in answers.by_key:
            sources[config] = config
        elif pair_key(config) in answers.by_key:
            sources[config] = pair_key(config)
    return sources


def rejected_ids(repo: DatasetRepo, split: str) -> dict[str, set[str]]:
    """``{pair key: ids}`` the build's filters dropped from ``split`` (its ``rejected/``; local repos)."""
    out: dict[str, set[str]] = {}
    folder = Path(repo.location) / REJECTED_DIR
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.jsonl")):
        for _, row in iter_jsonl(path):
            if isinstance(row, dict) and row.get("split") == split:
                key = f"{ALL}.{language_key(row['context_language'], row['question_language'])}"
                out.setdefault(key, set()).add(str(row["id"]))
    return out


def check_known_ids(
    answers: Answers,
    known: Mapping[str, set[str]],
    dropped: Mapping[str, set[str]],
    settings: ImportSettings,
    where: Path,
) -> dict[str, int]:
    """``{file key: ids ignored}``; ids that neither the split nor its filters' drops hold are an error
    unless ``ignore_unknown_ids``."""
    ignored = {}
    for key, by_id in answers.by_key.items():
        extra = set(by_id) - known.get(key, set())
        filtered = extra & dropped.get(pair_key(key), set())
        unknown = sorted(extra - filtered)
        if unknown and not settings.ignore_unknown_ids:
            shown = ", ".join(unknown[:_SHOW])
            raise InputError(
                f"{answers.files[key]}: {len(unknown)} question id(s) are not in split {settings.split!r} of "
                f"this dataset (e.g. {shown}); pass --ignore-unknown-ids if they belong to another split",
                where,
            )
        if extra:
            ignored[key] = len(extra)
    return ignored


def _protocol(settings: ImportSettings, answers: Answers) -> protocols.Protocol:
    if answers.source == LM_EVAL:
        return protocols.of_lm_eval(answers.details)
    if settings.protocol:
        return protocols.named(settings.protocol, declared=True)
    return protocols.external(IMPORTED)


@dataclass
class ImportPlan:
    """What `bench import` scores: the dataset, the answers, the answer file each config takes its answers
    from and the protocol they are recorded under."""

    data: str
    repo: DatasetRepo
    source: Path
    answers: Answers
    sources: dict[str, str]  # config -> answer file key
    protocol: protocols.Protocol

    def identity(self, model_id: str, split: str) -> dict[str, Any]:
        """The results.json fields that say whether an output dir holds this same import."""
        return {
            "model": {"id": model_id},
            "dataset": {"fingerprint": self.repo.fingerprint, "split": split},
            "settings": {},
            "configs": dict.fromkeys(self.sources),
        }


@dataclass
class ScoredAnswers:
    """Per config: its scores, its predictions file and how many of its questions went unanswered; per
    answer file: the ids of the split its configs hold."""

    configs: dict[str, results_mod.ConfigResult] = field(default_factory=dict)
    predictions_files: dict[str, bytes] = field(default_factory=dict)
    unanswered: dict[str, int] = field(default_factory=dict)
    known: dict[str, set[str]] = field(default_factory=dict)


def plan_import(predictions: str | Path, data: str, settings: ImportSettings) -> ImportPlan:
    """Open the dataset, read the answers and match their files to the configs of the split."""
    repo = open_repo(data)
    configs, _ = plan_configs(repo, None, settings.split)
    source = Path(predictions).expanduser()
    answers = read_answers(source, repo, settings.split)
    sources = answer_sources(configs, answers, source)
    if not sources:
        raise InputError("no answers for any config of the dataset", source)
    return ImportPlan(data, repo, source, answers, sources, _protocol(settings, answers))


def score_answers(plan: ImportPlan, split: str) -> ScoredAnswers:
    """Score each config on the answers its file gives for the config's questions."""
    out = ScoredAnswers()
    for name in track(list(plan.sources), description="scoring", total=len(plan.sources)):
        examples = load_config_examples(plan.data, name, split, fingerprint=plan.repo.fingerprint)
        key = plan.sources[name]
        out.known.setdefault(key, set()).update(examples.ids)
        given = plan.answers.by_key[key]
        chosen = {qid: given[qid] for qid in examples.ids if qid in given}
        out.unanswered[name] = len(examples) - len(chosen)
        out.configs[name] = results_mod.score_config(examples, chosen)
        out.predictions_files[name] = results_mod.predictions_bytes(chosen)
    return out


def import_results(
    plan: ImportPlan,
    model_id: str,
    split: str,
    scored: ScoredAnswers,
    ignored: dict[str, int],
    scores: bytes,
    started: float,
) -> dict[str, Any]:
    """The results.json of an import (``started``: its ``time.perf_counter()`` at the start)."""
    answers, repo = plan.answers, plan.repo
    return {
        "schema_version": results_mod.SCHEMA_VERSION,
        "harness": {"name": "mlqa-domain", "version": __version__},
        "model": {
            "id": model_id,
            "revision": None,
            "commit_hash": None,
            "base_model": None,
            "intermediate_tasks": [],
            "source": answers.source,
        },
        "dataset": {
            "path": public_dataset_name(plan.data),
            "fingerprint": repo.fingerprint,
            "split": split,
            "general": repo.general_domain,
        },
        "settings": {},
        "protocol": plan.protocol.to_json(),
        "import": {
            "files": {answers.files[k]: len(v) for k, v in sorted(answers.by_key.items())},
            "unanswered": {k: v for k, v in scored.unanswered.items() if v},
            "ignored_ids": ignored,
            "details": answers.details or None,
        },
        "timings": {"total_seconds": time.perf_counter() - started},
        "configs": results_mod.config_entries(scored.configs, scored.predictions_files),
        "scores": {"file": results_mod.SCORES_FILE, "sha256": sha256_bytes(scores)},
        **results_mod.summary(scored.configs, general=repo.general_domain),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def import_predictions(
    predictions: str | Path,
    data: str,
    out: str | Path,
    model_id: str,
    settings: ImportSettings = ImportSettings(),
) -> dict[str, Any]:
    """Score the answers at ``predictions`` on every config of ``data`` they cover; write ``out``
    atomically (new, empty, or the same import unless ``settings.force``); return its results.json."""
    started = time.perf_counter()
    if not model_id or not model_id.strip():
        raise ConfigError("a public model name is needed", "--model-id")
    out_dir = Path(out).expanduser().resolve()
    results_mod.check_results_dir(out_dir)
    plan = plan_import(predictions, data, settings)
    identity = results_mod.run_identity(plan.identity(model_id, settings.split))
    results_mod.check_results_dir(out_dir, identity, force=settings.force)
    scored = score_answers(plan, settings.split)
    dropped = rejected_ids(plan.repo, settings.split)
    ignored = check_known_ids(plan.answers, scored.known, dropped, settings, plan.source)
    scores = results_mod.scores_bytes(scored.configs)
    results = import_results(plan, model_id, settings.split, scored, ignored, scores, started)
    results_mod.write_results_dir(out_dir, results, scored.predictions_files, scores)
    return results
