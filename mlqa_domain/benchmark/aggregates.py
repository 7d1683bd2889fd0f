"""Every number above the config level, defined once: `bench run`, `bench compare`, `bench submit` and
the leaderboard page all compute their aggregates, gaps, CIs and power here (CIs and power through
:mod:`mlqa_domain.stats`), and ``DEFINITIONS`` is written into results.json and the README.

An aggregate is a weighted mean of config scores (``Aggregate.weights``): the headline ``mlqa``
(``all.<lang>``), one ``domain:<d>`` per domain and for the general label, one ``gap:<d>`` per domain
(``<d>.<lang>`` minus ``general.<lang>`` over the languages with both). Its 95% CI combines the
bootstrap draws of its configs with the same weights, so every interval is one bootstrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlqa_domain import stats
from mlqa_domain.configs import ALL, GENERAL, parse_config_name

HEADLINE = "mlqa"
DOMAIN_PREFIX = "domain:"
GAP_PREFIX = "gap:"
DIGITS = 4  # rounding of every published number (points)

DEFINITIONS: dict[str, str] = {
    "mlqa": (
        "MLQA F1/EM (the headline): the mean over languages of the monolingual all.<lang> configs, every "
        "question of a language counted once; the number comparable to published MLQA results."
    ),
    "domain": (
        "Domain F1/EM (domain:<domain>): the mean over languages of the monolingual <domain>.<lang> "
        "configs; domain:general is the same for the questions no domain matched."
    ),
    "gap": (
        "Domain gap (gap:<domain>): domain F1 minus general F1 over the languages that have both, i.e. the "
        "mean over those languages of <domain>.<lang> minus general.<lang>; per config, <domain>.<key> "
        "minus general.<key> of the same language pair (cross-lingual pairs included)."
    ),
    "cross_lingual": (
        "Cross-lingual matrix (as MLQA's G-XLT table): F1 and EM of all.<ctx>.<q> for each context language "
        "(row) and question language (column), all.<lang> on the diagonal; cross-lingual pairs enter no "
        "per-language or headline average."
    ),
    "count": (
        "count: the number of distinct questions an aggregate rests on; a question counts once per "
        "language it is asked in, and a question of two domains counts once in each domain's aggregate."
    ),
    "ci95": (
        f"95% CI: percentile bootstrap over questions, {stats.N_RESAMPLES} resamples, seed {stats.SEED} "
        "combined with the quantity's name (mlqa_domain/stats.py); an aggregate combines the draws of its "
        "configs with its weights; a gap resamples the domain and the general questions independently; a "
        "comparison of two runs resamples the same questions for both (paired)."
    ),
    "p_value": (
        "p-value (bench compare): two-sided paired bootstrap test of a difference against 0, "
        "(1 + #{|draw - difference| >= |difference|}) / (1 + resamples)."
    ),
    "min_detectable_f1": (
        f"Minimum detectable F1 difference: the smallest difference in F1 points between two models that a "
        f"paired test on the same questions detects with {stats.POWER:.0%} power at alpha = {stats.ALPHA} "
        "(two-sided), (z(0.975) + z(0.8)) * sd_d / sqrt(n); sd_d is the SD of per-question F1 differences, "
        "taken from a reference run as sd * sqrt(2 (1 - rho)) with rho = "
        f"{stats.REFERENCE_CORRELATION} (so sd_d = sd) when only one run is known."
    ),
}


@dataclass
class QuestionScores:
    """Per-question EM (0/1) and F1 (0..1) of one config, in ``ids`` order."""

    ids: list[str]
    em: np.ndarray
    f1: np.ndarray

    def __post_init__(self) -> None:
        self.em = np.asarray(self.em, dtype=np.float64)
        self.f1 = np.asarray(self.f1, dtype=np.float64)
        if not len(self.ids) == len(self.em) == len(self.f1):
            raise ValueError("ids, em and f1 differ in length")

    @property
    def count(self) -> int:
        return len(self.ids)

    def columns(self) -> np.ndarray:
        """``(2, n)``: EM and F1 rows."""
        return np.vstack([self.em, self.f1]) if self.count else np.zeros((2, 0))

    def to_json(self) -> dict[str, list]:
        """``{"ids": [...], "em": [...], "f1": [...]}`` (exact floats)."""
        return {"ids": list(self.ids), "em": self.em.tolist(), "f1": self.f1.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuestionScores:
        return cls(list(data["ids"]), np.asarray(data["em"]), np.asarray(data["f1"]))


PerQuestion = Mapping[str, QuestionScores]


@dataclass(frozen=True)
class Aggregate:
    """A weighted mean of config scores: the headline, a domain, or a domain's gap to general."""

    name: str
    kind: str  # "headline" | "domain" | "gap"
    weights: dict[str, float]
    languages: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How tables show it: ``MLQA``, ``legal``, ``gap legal``."""
        if self.kind == "headline":
            return "MLQA"
        return self.name.split(":", 1)[1] if self.kind == "domain" else f"gap {self.name.split(':', 1)[1]}"

    @property
    def configs(self) -> list[str]:
        return list(self.weights)


def _r(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), DIGITS)


def _ci(draws: np.ndarray) -> list[float | None]:
    return [_r(v) for v in stats.percentile_ci(draws)]


def domain_order(domains: set[str] | list[str], general: str = GENERAL) -> list[str]:
    """Domains alphabetically, the general label last."""
    domains = set(domains) - {ALL}
    return sorted(domains - {general}) + ([general] if general in domains else [])


def aggregate_specs(config_names: list[str] | Mapping[str, Any], general: str = GENERAL) -> list[Aggregate]:
    """The aggregates the given configs support: headline, domains (general last), gaps."""
    parsed = [parse_config_name(name) for name in config_names]
    mono: dict[str, dict[str, str]] = {}
    for config in parsed:
        if config.is_monolingual:
            mono.setdefault(config.domain, {})[config.context_language] = config.name
    specs: list[Aggregate] = []
    if ALL in mono:
        langs = sorted(mono[ALL])
        specs.append(
            Aggregate(HEADLINE, "headline", {mono[ALL][lang]: 1 / len(langs) for lang in langs}, langs)
        )
    for domain in domain_order(set(mono), general):
        langs = sorted(mono[domain])
        weights = {mono[domain][lang]: 1 / len(langs) for lang in langs}
        specs.append(Aggregate(DOMAIN_PREFIX + domain, "domain", weights, langs))
    for domain in domain_order(set(mono) - {general}, general):
        langs = sorted(set(mono[domain]) & set(mono.get(general, {})))
        if not langs:
            continue
        weights: dict[str, float] = {}
        for lang in langs:
            weights[mono[domain][lang]] = 1 / len(langs)
            weights[mono[general][lang]] = -1 / len(langs)
        specs.append(Aggregate(GAP_PREFIX + domain, "gap", weights, langs))
    return specs


def aggregate_scores(configs: Mapping[str, Mapping[str, Any]], general: str = GENERAL) -> dict[str, dict]:
    """Point values of every aggregate from config-level scores (``{config: {f1, exact_match, count}}``,
    in points): ``{name: {f1, exact_match, count, configs, languages}}``. For a multi-seed run, the mean
    over seeds of an aggregate is this function of the mean config scores."""
    out: dict[str, dict] = {}
    for spec in aggregate_specs(list(configs), general):
        scores = {name: configs[name] for name in spec.weights}
        out[spec.name] = {
            "f1": _r(sum(w * float(scores[c]["f1"]) for c, w in spec.weights.items())),
            "exact_match": _r(sum(w * float(scores[c]["exact_match"]) for c, w in spec.weights.items())),
            "count": int(sum(int(scores[c]["count"]) for c in spec.weights)),
            "configs": spec.configs,
            "languages": spec.languages,
        }
    return out


def cross_lingual_matrix(configs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """F1/EM/count of ``all.<ctx>.<q>`` per context (rows) and question language (columns)."""
    cells = {}
    for name, score in configs.items():
        config = parse_config_name(name)
        if config.domain == ALL:
            cells[(config.context_language, config.question_language)] = score
    languages = sorted({lang for pair in cells for lang in pair})
    matrix: dict[str, Any] = {"languages": languages, "f1": {}, "exact_match": {}, "count": {}}
    for ctx in languages:
        for key in ("f1", "exact_match", "count"):
            row = {q: cells[(ctx, q)][key] for q in languages if (ctx, q) in cells}
            if row:
                matrix[key][ctx] = {q: (_r(v) if key != "count" else int(v)) for q, v in row.items()}
    return matrix


def config_draws(per_question: PerQuestion, n_resamples: int = stats.N_RESAMPLES) -> dict[str, np.ndarray]:
    """Bootstrap means (points) of each config's EM and F1: ``{config: (2, resamples)}``, seeded by name."""
    return {
        name: 100.0 * stats.bootstrap_means(scores.columns(), name, n_resamples)
        for name, scores in per_question.items()
    }


def _combine(draws: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    return sum(w * draws[c] for c, w in weights.items())  # type: ignore[return-value]


def config_gaps(
    per_question: PerQuestion, general: str = GENERAL, draws: Mapping[str, np.ndarray] | None = None
) -> dict[str, dict[str, Any]]:
    """Each domain config's F1/EM minus its general config's (same language pair), with 95% CIs."""
    draws = draws if draws is not None else config_draws(per_question)
    gaps: dict[str, dict[str, Any]] = {}
    for name in sorted(per_question):
        general_config = parse_config_name(name).general_config(general)
        if general_config is None or general_config.name not in per_question:
            continue
        g = general_config.name
        if not per_question[name].count or not per_question[g].count:
            continue
        diff = draws[name] - draws[g]
        em_d, f1_d = per_question[name].em.mean(), per_question[name].f1.mean()
        em_g, f1_g = per_question[g].em.mean(), per_question[g].f1.mean()
        gaps[name] = {
            "general_config": g,
            "f1_gap": _r(100.0 * (f1_d - f1_g)),
            "f1_ci95": _ci(diff[1]),
            "em_gap": _r(100.0 * (em_d - em_g)),
            "em_ci95": _ci(diff[0]),
        }
    return gaps


def config_power(per_question: PerQuestion) -> dict[str, dict[str, Any]]:
    """Per config: questions, SD of per-question F1 (points) and the minimum detectable F1 difference of a
    paired test against another model (reference-run assumption of ``stats.paired_sd``)."""
    out = {}
    for name, scores in per_question.items():
        sd = 100.0 * stats.sample_sd(scores.f1)
        mde = stats.min_detectable_difference({name: stats.paired_sd(sd)}, {name: scores.count})
        out[name] = {"count": scores.count, "f1_sd": _r(sd), "min_detectable_f1": _r(mde)}
    return out


def aggregate_power(spec: Aggregate, power: Mapping[str, Mapping[str, Any]]) -> float | None:
    """Minimum detectable F1 difference of an aggregate, from its configs' per-question SDs."""
    sds = {c: stats.paired_sd(power[c]["f1_sd"] or 0.0) for c in spec.weights}
    counts = {c: int(power[c]["count"]) for c in spec.weights}
    return _r(stats.min_detectable_difference(sds, counts, spec.weights))


def summarise(per_question: PerQuestion, general: str = GENERAL) -> dict[str, Any]:
    """Everything `bench run` and the leaderboard derive from per-question scores (points, rounded):
    ``aggregates`` (with 95% CIs and power), ``config_gaps``, ``cross_lingual``, ``power``."""
    draws = config_draws(per_question)
    configs = {
        name: {"f1": 100.0 * s.f1.mean(), "exact_match": 100.0 * s.em.mean(), "count": s.count}
        for name, s in per_question.items()
        if s.count
    }
    power = config_power({n: s for n, s in per_question.items() if s.count})
    aggregates = aggregate_scores(configs, general)
    for spec in aggregate_specs(list(configs), general):
        combined = _combine(draws, spec.weights)
        entry = aggregates[spec.name]
        entry["f1_ci95"] = _ci(combined[1])
        entry["em_ci95"] = _ci(combined[0])
        entry["min_detectable_f1"] = aggregate_power(spec, power)
    return {
        "aggregates": aggregates,
        "config_gaps": config_gaps(per_question, general, draws),
        "cross_lingual": cross_lingual_matrix(configs),
        "power": power,
    }


def is_domain_config(name: str) -> bool:
    """A monolingual config of a domain or of the general label (the splits whose power matters)."""
    config = parse_config_name(name)
    return config.is_monolingual and config.domain != ALL


def power_report(per_question: PerQuestion, general: str = GENERAL) -> dict[str, Any]:
    """Minimum detectable F1 differences of the monolingual domain configs and of every aggregate, from a
    reference run's per-question scores (what `bench power` prints and writes into the dataset card)."""
    scored = {name: s for name, s in per_question.items() if s.count}
    power = config_power(scored)
    configs = {name: power[name] for name in scored if is_domain_config(name)}
    specs = aggregate_specs(list(scored), general)
    return {
        "definition": DEFINITIONS["min_detectable_f1"],
        "configs": configs,
        "aggregates": {
            spec.name: {
                "count": sum(power[c]["count"] for c in spec.weights),
                "min_detectable_f1": aggregate_power(spec, power),
            }
            for spec in specs
        },
    }
