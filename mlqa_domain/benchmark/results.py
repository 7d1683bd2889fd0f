"""Scores per config, the results directory (results.json, predictions/, scores.json) and its tables.

Aggregates, gaps, CIs and power are computed in :mod:`mlqa_domain.benchmark.aggregates` (one definition
each, written into results.json as ``definitions``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from mlqa_domain import stats
from mlqa_domain.atomic import atomic_dir, check_output_dir
from mlqa_domain.benchmark import aggregates, metric
from mlqa_domain.benchmark.data import ConfigExamples
from mlqa_domain.configs import language_key, parse_config_name
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.jsonio import parse_json
from mlqa_domain.terminal_tables import fit_table

RESULTS_FILE = "results.json"
PREDICTIONS_DIR = "predictions"
SCORES_FILE = "scores.json"  # per-question EM/F1 of every config (what `bench compare` pairs)
SCHEMA_VERSION = 1
# settings that change where/how fast a run goes, not what it predicts
RUNTIME_ONLY_SETTINGS = frozenset({"device", "batch_size"})


@dataclass
class ConfigResult:
    """EM/F1 of one config, with the per-question scores the bootstrap needs."""

    config: str
    domain: str
    context_language: str
    question_language: str
    exact_match: float
    f1: float
    count: int
    em_per_question: np.ndarray = field(repr=False)
    f1_per_question: np.ndarray = field(repr=False)
    ids: list[str] = field(default_factory=list, repr=False)

    @property
    def is_monolingual(self) -> bool:
        return self.context_language == self.question_language

    @property
    def language_key(self) -> str:
        """``de`` or ``de.en`` (context.question)."""
        return language_key(self.context_language, self.question_language)

    def question_scores(self) -> aggregates.QuestionScores:
        """Per-question scores in the aggregates' form (ids numbered when none were kept)."""
        ids = self.ids or [str(i) for i in range(self.count)]
        return aggregates.QuestionScores(ids, self.em_per_question, self.f1_per_question)


def score_config(examples: ConfigExamples, predictions: Mapping[str, str]) -> ConfigResult:
    """Official MLQA EM/F1 of ``predictions`` (rules of the context language); a question without an
    answer scores 0. The totals are the official script's sums of the same per-question scores."""
    gold = examples.gold
    em, f1 = metric.per_question_scores(gold, predictions, examples.context_language)
    parsed = parse_config_name(examples.config)
    return ConfigResult(
        config=examples.config,
        domain=parsed.domain,
        context_language=parsed.context_language,
        question_language=parsed.question_language,
        exact_match=metric.file_score(em) if em else 0.0,
        f1=metric.file_score(f1) if f1 else 0.0,
        count=len(gold),
        em_per_question=np.asarray(em, dtype=np.float64),
        f1_per_question=np.asarray(f1, dtype=np.float64),
        ids=list(gold),
    )


def config_entries(scored: Mapping[str, ConfigResult], predictions: Mapping[str, bytes]) -> dict[str, dict]:
    """results.json's ``configs``: EM/F1/count per config and its predictions file with its sha256."""
    return {
        name: {
            "domain": r.domain,
            "context_language": r.context_language,
            "question_language": r.question_language,
            "exact_match": r.exact_match,
            "f1": r.f1,
            "count": r.count,
            "predictions_file": f"{PREDICTIONS_DIR}/{name}.json",
            "predictions_sha256": sha256_bytes(predictions[name]),
        }
        for name, r in scored.items()
    }


def summary(scored: Mapping[str, ConfigResult], general: str) -> dict[str, Any]:
    """The blocks of results.json above the config level (see :func:`aggregates.summarise`)."""
    blocks = aggregates.summarise({name: r.question_scores() for name, r in scored.items()}, general)
    return {
        **blocks,
        "definitions": dict(aggregates.DEFINITIONS),
        "bootstrap": stats.settings(),
    }


def predictions_bytes(predictions: Mapping[str, str]) -> bytes:
    """The exact bytes of ``predictions/<config>.json`` (sorted keys, UTF-8, compact)."""
    return json.dumps(dict(predictions), sort_keys=True, ensure_ascii=False).encode("utf-8")


def scores_bytes(scored: Mapping[str, ConfigResult]) -> bytes:
    """``scores.json``: ``{config: {"ids", "em", "f1"}}`` per question (exact floats)."""
    data = {name: r.question_scores().to_json() for name, r in scored.items()}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def read_results_json(results_dir: Path) -> dict[str, Any]:
    """results.json of a results dir, as a dict (an InputError naming the file otherwise)."""
    path = results_dir / RESULTS_FILE
    if not path.is_file():
        raise InputError(f"no {RESULTS_FILE} (is this a `bench run` output dir?)", results_dir)
    data = parse_json(path.read_bytes(), path)
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path)
    return data


def run_identity(results: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two results dirs the same run: model and revision, dataset and split, the configs,
    and the settings that change predictions (not device or batch size)."""
    model = results.get("model") or {}
    dataset = results.get("dataset") or {}
    settings = {k: v for k, v in (results.get("settings") or {}).items() if k not in RUNTIME_ONLY_SETTINGS}
    return {
        "model": model.get("id"),
        "revision": model.get("revision"),
        "dataset": dataset.get("fingerprint"),
        "split": dataset.get("split"),
        "configs": sorted(results.get("configs") or {}),
        "settings": settings,
    }


def identity_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """What differs between two run identities (results dirs', STILTs runs'): one ``key.path: old ->
    new`` line per differing value, keys of both sides in sorted order; a long list or mapping is shown
    by its length."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in sorted(set(old) | set(new)):
            out += identity_differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {_shown(old)} -> {_shown(new)}"]


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return f"{len(value)} items" if len(text) > limit and isinstance(value, (list, tuple, dict)) else text


def check_results_dir(out: Path, identity: Mapping[str, Any] | None = None, force: bool = False) -> None:
    """``out`` may be new, empty, or a finished results dir of the same run (``identity``); an earlier
    results dir of another run only with ``force``; a directory that is not a results dir never
    (:func:`mlqa_domain.atomic.check_output_dir`)."""
    not_ours = f"holds no {RESULTS_FILE}; not overwriting (choose another --out)"
    if not check_output_dir(out, not_ours, markers=(RESULTS_FILE,)) or identity is None or force:
        return
    try:
        existing = run_identity(read_results_json(out))
    except InputError:
        existing = {}
    differences = identity_differences(existing, dict(identity))
    if differences:
        raise InputError(
            "holds the results of a different run (" + "; ".join(differences[:3]) + "); "
            "pass --force to replace them or choose another --out",
            out,
        )


def write_results_dir(
    out: str | Path, results: dict, predictions: Mapping[str, bytes], scores: bytes | None = None
) -> None:
    """Write ``predictions/<config>.json``, ``scores.json`` and ``results.json`` into a temp dir, then move
    it onto ``out`` (which :func:`check_results_dir` allows)."""
    out = Path(out).resolve()
    check_results_dir(out)
    with atomic_dir(out) as tmp:
        (tmp / PREDICTIONS_DIR).mkdir()
        for config, data in predictions.items():
            (tmp / PREDICTIONS_DIR / f"{config}.json").write_bytes(data)
        if scores is not None:
            (tmp / SCORES_FILE).write_bytes(scores)
        text = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
        (tmp / RESULTS_FILE).write_text(text, encoding="utf-8")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ci_text(value: float | None, ci: list | tuple | None, sign: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value:+.2f}" if sign else f"{value:.2f}"
    if ci and None not in ci:
        text += f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if sign else f" [{ci[0]:.2f}, {ci[1]:.2f}]"
    return text


MDE_NOTE = (
    "MDE: the smallest F1 difference between two models that a paired test on these questions detects "
    "(80% power, alpha 0.05); MDE '-': every question got the same score (e.g. all 0), so there is no "
    "spread to compute it from"
)


def results_table(results: dict, width: int | None = None) -> Table:
    """Rich table: one row per config (questions, EM, F1, gap to general with its CI, minimum detectable F1
    difference); fitted to ``width`` terminal columns (None: every column, see :mod:`terminal_tables`)."""
    title = f"{results['model']['id']} on {results['dataset']['path']} ({results['dataset']['split']})"
    table = Table(title=title, caption_justify="left")
    table.add_column("config", no_wrap=True)
    for column in ("n", "EM", "F1", "F1 gap [95% CI]", "MDE"):
        table.add_column(column, justify="right")
    gaps = results.get("config_gaps", {})
    power = results.get("power", {})
    for name, entry in results["configs"].items():
        gap = gaps.get(name)
        gap_text = _ci_text(gap["f1_gap"], gap["f1_ci95"], sign=True) if gap else ""
        mde = (power.get(name) or {}).get("min_detectable_f1")
        table.add_row(
            name, str(entry["count"]), _fmt(entry["exact_match"]), _fmt(entry["f1"]), gap_text, _fmt(mde)
        )
    table.caption = (
        f"n: questions; F1 gap: F1 minus the F1 of the general config of the same languages; {MDE_NOTE}; "
        "definitions in results.json"
    )
    fit_table(table, width, ["MDE", "n"])
    return table


def _languages_text(languages: list[str], every: list[str]) -> str:
    return "all" if languages == every else " ".join(languages)


def aggregates_table(results: dict, width: int | None = None) -> Table:
    """Rich table of the headline, the domains and the gaps (each with its 95% CI and MDE), fitted to
    ``width`` terminal columns (None: every column)."""
    values = results.get("aggregates", {})
    every = sorted({lang for value in values.values() for lang in value.get("languages") or []})
    table = Table(title="aggregates (results.json: aggregates, definitions)", caption_justify="left")
    table.add_column("aggregate", no_wrap=True)
    table.add_column("langs")
    for column in ("n", "EM", "F1 [95% CI]", "MDE"):
        table.add_column(column, justify="right")
    for name, value in values.items():
        gap = name.startswith(aggregates.GAP_PREFIX)
        table.add_row(
            f"[bold]{name}[/]" if name == aggregates.HEADLINE else name,
            _languages_text(list(value.get("languages") or []), every),
            str(value["count"]),
            _fmt(value["exact_match"]),
            _ci_text(value["f1"], value.get("f1_ci95"), sign=gap),
            _fmt(value.get("min_detectable_f1")),
        )
    table.caption = "n: questions; MDE '-': every question got the same score"
    if "langs" not in fit_table(table, width, ["langs", "MDE", "n"]):
        table.caption = f"langs: all = {' '.join(every)}; {table.caption}"
    return table


def cross_lingual_table(results: dict, width: int | None = None) -> Table | None:
    """Rich table of the cross-lingual F1 matrix (context rows, question columns); None for one language.
    Fitted to ``width`` terminal columns (None: every column)."""
    matrix = results.get("cross_lingual") or {}
    languages = matrix.get("languages") or []
    if len(languages) < 2:
        return None
    table = Table(title="F1 of all.<context>.<question> (rows: context, columns: question)")
    table.add_column("context")
    for lang in languages:
        table.add_column(lang, justify="right")
    for ctx in languages:
        row = matrix["f1"].get(ctx, {})
        table.add_row(ctx, *(_fmt(row.get(q)) for q in languages))
    fit_table(table, width, list(reversed(languages)))
    return table
