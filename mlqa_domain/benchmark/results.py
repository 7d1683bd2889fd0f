"""Scores per config, averages, domain gaps with bootstrap CIs, the results directory and its table."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.table import Table

from mlqa_domain.atomic import atomic_dir
from mlqa_domain.benchmark import bootstrap, metric
from mlqa_domain.benchmark.data import ConfigExamples
from mlqa_domain.configs import ALL, GENERAL, format_config_name, language_key, parse_config_name
from mlqa_domain.errors import InputError

RESULTS_FILE = "results.json"
PREDICTIONS_DIR = "predictions"
SCHEMA_VERSION = 1


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

    @property
    def is_monolingual(self) -> bool:
        return self.context_language == self.question_language

    @property
    def language_key(self) -> str:
        """``de`` or ``de.en`` (context.question)."""
        return language_key(self.context_language, self.question_language)


def score_config(examples: ConfigExamples, predictions: Mapping[str, str]) -> ConfigResult:
    """Official MLQA EM/F1 of ``predictions`` (rules of the context language)."""
    gold = examples.gold
    lang = examples.context_language
    totals = metric.evaluate(gold, predictions, lang)
    em, f1 = metric.per_question_scores(gold, predictions, lang)
    parsed = parse_config_name(examples.config)
    return ConfigResult(
        config=examples.config,
        domain=parsed.domain,
        context_language=parsed.context_language,
        question_language=parsed.question_language,
        exact_match=float(totals["exact_match"]),
        f1=float(totals["f1"]),
        count=len(gold),
        em_per_question=np.asarray(em, dtype=np.float64),
        f1_per_question=np.asarray(f1, dtype=np.float64),
    )


def _mean_of(results: list[ConfigResult]) -> dict:
    return {
        "exact_match": float(np.mean([r.exact_match for r in results])),
        "f1": float(np.mean([r.f1 for r in results])),
        "count": int(sum(r.count for r in results)),
        "configs": [r.config for r in results],
    }


def averages(results: Mapping[str, ConfigResult]) -> dict:
    """Unweighted means of config scores (``count`` sums the questions).

    - ``overall``: monolingual configs except ``all.*`` (domains and ``general``);
    - ``per_domain``: monolingual configs of each domain (``all`` included as its own entry);
    - ``per_language``: by context language over every config except ``all.*`` (cross-lingual configs
      count for their context language), plus one entry per cross-lingual pair (``de.en``).
    """
    values = list(results.values())
    overall = [r for r in values if r.is_monolingual and r.domain != ALL]
    per_domain: dict[str, list[ConfigResult]] = defaultdict(list)
    per_language: dict[str, list[ConfigResult]] = defaultdict(list)
    for r in values:
        if r.is_monolingual:
            per_domain[r.domain].append(r)
        if r.domain != ALL:
            per_language[r.context_language].append(r)
            if not r.is_monolingual:
                per_language[r.language_key].append(r)
    empty = {"exact_match": None, "f1": None, "count": 0, "configs": []}
    return {
        "overall": _mean_of(overall) if overall else empty,
        "per_domain": {d: _mean_of(rs) for d, rs in sorted(per_domain.items())},
        "per_language": {k: _mean_of(rs) for k, rs in sorted(per_language.items())},
    }


def domain_gaps(
    results: Mapping[str, ConfigResult],
    general: str = GENERAL,
    n_resamples: int = bootstrap.N_RESAMPLES,
    seed: int = bootstrap.SEED,
) -> dict:
    """Domain F1/EM minus the ``general`` config of the same language (pair), with 95% bootstrap CIs.

    Questions of the two configs are resampled independently; configs whose general counterpart was
    not scored in this run get no entry.
    """
    gaps = {}
    for name, r in results.items():
        if r.domain in (ALL, general):
            continue
        general_name = format_config_name(general, r.context_language, r.question_language)
        g = results.get(general_name)
        if g is None or r.count == 0 or g.count == 0:
            continue
        seq = bootstrap.seed_for(name, seed)
        f1_ci = bootstrap.diff_ci(r.f1_per_question, g.f1_per_question, n_resamples, seed=seq)
        em_ci = bootstrap.diff_ci(r.em_per_question, g.em_per_question, n_resamples, seed=seq)
        gaps[name] = {
            "general_config": general_name,
            "f1_gap": r.f1 - g.f1,
            "ci95": [100.0 * f1_ci[0], 100.0 * f1_ci[1]],
            "em_gap": r.exact_match - g.exact_match,
            "em_ci95": [100.0 * em_ci[0], 100.0 * em_ci[1]],
        }
    return gaps


def predictions_bytes(predictions: Mapping[str, str]) -> bytes:
    """The exact bytes of ``predictions/<config>.json`` (sorted keys, UTF-8, compact)."""
    return json.dumps(dict(predictions), sort_keys=True, ensure_ascii=False).encode("utf-8")


def check_output_dir(out: Path) -> None:
    """``out`` may be new, empty or an earlier results dir; anything else is not overwritten."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError("output exists and is not a directory", out)
    if any(out.iterdir()) and not (out / RESULTS_FILE).is_file():
        raise InputError(f"output directory is not empty and holds no {RESULTS_FILE}; not overwriting", out)


def write_results_dir(out: str | Path, results: dict, predictions: Mapping[str, bytes]) -> None:
    """Write ``predictions/<config>.json`` and ``results.json`` into a temp dir, then move it onto ``out``."""
    out = Path(out).resolve()
    check_output_dir(out)
    with atomic_dir(out) as tmp:
        (tmp / PREDICTIONS_DIR).mkdir()
        for config, data in predictions.items():
            (tmp / PREDICTIONS_DIR / f"{config}.json").write_bytes(data)
        text = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
        (tmp / RESULTS_FILE).write_text(text, encoding="utf-8")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def results_table(results: dict) -> Table:
    """Rich table: one row per config (count, EM, F1, gap ± CI), then the averages."""
    title = f"{results['model']['id']} on {results['dataset']['path']} ({results['dataset']['split']})"
    table = Table(title=title)
    for column in ("config", "count", "EM", "F1", "F1 gap vs general [95% CI]"):
        table.add_column(column, justify="left" if column == "config" else "right")
    gaps = results.get("domain_gap", {})
    for name, entry in results["configs"].items():
        gap = gaps.get(name)
        gap_text = f"{gap['f1_gap']:+.2f} [{gap['ci95'][0]:+.2f}, {gap['ci95'][1]:+.2f}]" if gap else ""
        table.add_row(name, str(entry["count"]), _fmt(entry["exact_match"]), _fmt(entry["f1"]), gap_text)
    table.add_section()
    avg = results["averages"]
    rows = [("overall", avg["overall"])]
    rows += [(f"domain {d}", v) for d, v in avg["per_domain"].items()]
    rows += [(f"language {k}", v) for k, v in avg["per_language"].items()]
    for label, value in rows:
        em, f1 = _fmt(value["exact_match"]), _fmt(value["f1"])
        table.add_row(f"[bold]{label}[/]", str(value["count"]), em, f1, "")
    return table
