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
        "combined with the quantity's name (mlqa_domain/stats.py); a config resamples its questions; an "
        "aggregate (and a gap) resamples question ids jointly: one draw picks ids with replacement from the "
        "ids of its configs and every config takes its instances of the drawn ids (an MLQA id is one "
        "question in several languages, so its languages are drawn together); a comparison of two runs "
        "resamples the same ids for both (paired)."
    ),
    "p_value": (
        "p-value (bench compare): two-sided paired bootstrap test of a difference against 0, "
        "(1 + #{|draw - difference| >= |difference|}) / (1 + resamples)."
    ),
    "min_detectable_f1": (
        f"Minimum detectable F1 difference: the smallest difference in F1 points between two models that a "
        f"paired test on the same questions detects with {stats.POWER:.0%} power at alpha = {stats.ALPHA} "
        "(two-sided), (z(0.975) + z(0.8)) * SE; for a config SE = sd_d / sqrt(n), sd_d the SD of "
        "per-question F1 differences; for an aggregate SE is clustered by question id (the per-id sums of "
        "each config's weighted influence terms), so parallel languages are not counted as independent "
        "evidence. sd_d comes from two runs when both are known (bench compare, bench power --against); "
        "from one reference run it is sd * sqrt(2 (1 - rho)) with rho = "
        f"{stats.REFERENCE_CORRELATION} (so sd_d = sd)."
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
    def from_json(cls, data: Mapping[str, Any], checked: bool = False) -> QuestionScores:
        """From :meth:`to_json`'s form; ``checked``: ids must be distinct strings and every score a finite
        number in [0, 1] (a file read from disk: NaN, inf or 1e309 would poison every mean)."""
        scores = cls(list(data["ids"]), np.asarray(data["em"]), np.asarray(data["f1"]))
        if checked:
            if not all(isinstance(qid, str) for qid in scores.ids) or len(set(scores.ids)) != scores.count:
                raise ValueError("question ids must be distinct strings")
            for key, values in (("em", scores.em), ("f1", scores.f1)):
                if not np.all(np.isfinite(values)) or np.any((values < 0) | (values > 1)):
                    raise ValueError(f"every {key} score must be a finite number in [0, 1]")
        return scores


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


def groups_of(per_question: PerQuestion, configs: list[str] | Mapping[str, float]) -> dict[str, stats.Group]:
    """``{config: (ids, (EM, F1) rows)}`` of the given configs, for :func:`stats.joint_bootstrap_means`."""
    return {c: (per_question[c].ids, per_question[c].columns()) for c in configs}


def joint_draws(per_question: PerQuestion, spec: Aggregate) -> np.ndarray:
    """Bootstrap draws (points, ``(2, resamples)``: EM, F1) of an aggregate, question ids resampled jointly
    over its configs (seeded by the aggregate's name)."""
    draws = stats.joint_bootstrap_means(groups_of(per_question, spec.weights), spec.name)
    return 100.0 * sum(w * draws[c] for c, w in spec.weights.items())  # type: ignore[return-value]


def clustered_power(
    per_question: PerQuestion, spec: Aggregate, correlation: float | None = stats.REFERENCE_CORRELATION
) -> float | None:
    """Minimum detectable F1 difference of an aggregate with an SE clustered by question id.

    ``per_question`` holds per-question F1 differences of two runs (``correlation=None``) or the scores of
    one reference run, scaled by ``sqrt(2 (1 - correlation))`` as :func:`stats.paired_sd` does."""
    groups = {c: (per_question[c].ids, 100.0 * per_question[c].f1) for c in spec.weights}
    se = stats.linearized_se(groups, spec.weights)
    if correlation is not None:
        se = stats.paired_sd(se, correlation)
    return _r(stats.min_detectable_from_se(se))


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


def config_power(
    per_question: PerQuestion, correlation: float | None = stats.REFERENCE_CORRELATION
) -> dict[str, dict[str, Any]]:
    """Per config: questions, SD of per-question F1 (points) and the minimum detectable F1 difference of a
    paired test against another model. ``per_question`` holds one reference run's scores, whose SD of
    differences is assumed (``stats.paired_sd`` at ``correlation``), or (``correlation=None``) two runs'
    per-question differences, whose SD is measured (``f1_sd_diff``)."""
    out = {}
    for name, scores in per_question.items():
        sd = 100.0 * stats.sample_sd(scores.f1)
        sd_diff = sd if correlation is None else stats.paired_sd(sd, correlation)
        mde = stats.min_detectable_difference({name: sd_diff}, {name: scores.count})
        key = "f1_sd_diff" if correlation is None else "f1_sd"
        out[name] = {"count": scores.count, key: _r(sd), "min_detectable_f1": _r(mde)}
    return out


def summarise(per_question: PerQuestion, general: str = GENERAL) -> dict[str, Any]:
    """Everything `bench run` and the leaderboard derive from per-question scores (points, rounded):
    ``aggregates`` (with 95% CIs and power), ``config_gaps``, ``cross_lingual``, ``power``."""
    draws = config_draws(per_question)
    scored = {n: s for n, s in per_question.items() if s.count}
    configs = {
        name: {"f1": 100.0 * s.f1.mean(), "exact_match": 100.0 * s.em.mean(), "count": s.count}
        for name, s in scored.items()
    }
    power = config_power(scored)
    aggregates = aggregate_scores(configs, general)
    for spec in aggregate_specs(list(configs), general):
        combined = joint_draws(scored, spec)
        entry = aggregates[spec.name]
        entry["f1_ci95"] = _ci(combined[1])
        entry["em_ci95"] = _ci(combined[0])
        entry["min_detectable_f1"] = clustered_power(scored, spec)
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


def paired_differences(a: PerQuestion, b: PerQuestion) -> dict[str, QuestionScores]:
    """Per-question differences A - B (EM and F1) of the configs both runs scored, in A's order; a config
    the two scored on different questions is an error."""
    out = {}
    for name, sa in a.items():
        sb = b.get(name)
        if sb is None:
            continue
        if set(sa.ids) != set(sb.ids):
            only_a, only_b = len(set(sa.ids) - set(sb.ids)), len(set(sb.ids) - set(sa.ids))
            raise ValueError(
                f"config {name}: the runs scored different questions ({only_a} only in A, {only_b} only in B)"
            )
        order = {qid: i for i, qid in enumerate(sb.ids)}
        index = np.array([order[qid] for qid in sa.ids], dtype=int)
        out[name] = QuestionScores(list(sa.ids), sa.em - sb.em[index], sa.f1 - sb.f1[index])
    return out


def power_report(
    per_question: PerQuestion, general: str = GENERAL, against: PerQuestion | None = None
) -> dict[str, Any]:
    """Minimum detectable F1 differences of the monolingual domain configs and of every aggregate (what
    `bench power` prints and writes into the dataset card).

    From one reference run's per-question scores, the SD of differences is assumed (``stats.paired_sd``);
    with ``against`` (a second run on the same questions) it is measured from the two runs' per-question
    differences. Aggregates use an SE clustered by question id either way."""
    values = {name: s for name, s in per_question.items() if s.count}
    correlation: float | None = stats.REFERENCE_CORRELATION
    if against is not None:
        values = {n: d for n, d in paired_differences(values, against).items() if d.count}
        correlation = None
    power = config_power(values, correlation)
    basis = "reference" if correlation is not None else "measured"
    configs = {name: power[name] for name in values if is_domain_config(name)}
    specs = aggregate_specs(list(values), general)
    return {
        "definition": DEFINITIONS["min_detectable_f1"],
        "sd_basis": basis,
        "configs": configs,
        "aggregates": {
            spec.name: {
                "count": sum(power[c]["count"] for c in spec.weights),
                "min_detectable_f1": clustered_power(values, spec, correlation),
            }
            for spec in specs
        },
    }
