"""`bench compare A B`: does run A beat run B, per config and per aggregate, on the same questions?

Each config's per-question differences (A minus B) are resampled together (a *paired* bootstrap,
:func:`mlqa_domain.stats.bootstrap_means`); an aggregate combines its configs' draws with its weights
(:mod:`mlqa_domain.benchmark.aggregates`). For a multi-seed run, each question's score is its mean over
the seeds. A run is a `bench run` results dir (its ``scores.json``, or its predictions re-scored against
the dataset), a `bench stilts` run dir (its ``eval/results``) or a leaderboard entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from mlqa_domain import stats
from mlqa_domain.benchmark import aggregates
from mlqa_domain.benchmark import protocol as protocols
from mlqa_domain.benchmark.aggregates import QuestionScores
from mlqa_domain.benchmark.results import RESULTS_FILE, SCORES_FILE, read_results_json
from mlqa_domain.configs import GENERAL
from mlqa_domain.errors import InputError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.jsonio import parse_json
from mlqa_domain.naming import directory_name, looks_local
from mlqa_domain.plotting import plain_text
from mlqa_domain.terminal_tables import fit_table

# where `bench stilts` writes its phase-3 results: one seed, and the multi-seed results of --seeds
STILTS_RESULTS = (Path("eval") / "results", Path("results"))


@dataclass
class Run:
    """One side of a comparison: what it is called and its per-question scores (seed means)."""

    label: str  # the model's public name
    source: str  # results dir name or leaderboard entry id
    fingerprint: str | None
    split: str | None
    scores: dict[str, QuestionScores]
    seeds: list[int] = field(default_factory=list)  # [] for a single run
    general: str = GENERAL
    model: dict[str, Any] = field(default_factory=dict)
    protocol: protocols.Protocol | None = None

    def describe(self) -> dict[str, Any]:
        """The JSON description of this side."""
        return {
            "label": self.label,
            "source": self.source,
            "model": self.model,
            "protocol": self.protocol.to_json() if self.protocol else None,
            "seeds": self.seeds or None,
            "configs": len(self.scores),
        }


def resolve_results_dir(path: str | Path) -> Path:
    """A results dir (holds results.json), or a `bench stilts` run dir (its ``eval/results``, or the
    ``results`` of a multi-seed run)."""
    path = Path(path).expanduser()
    if (path / RESULTS_FILE).is_file():
        return path
    for inside in STILTS_RESULTS:
        if (path / inside / RESULTS_FILE).is_file():
            return path / inside
    if not path.exists():
        raise InputError("no such results directory", path)
    raise InputError(
        f"not a results directory: no {RESULTS_FILE} (nor eval/results/{RESULTS_FILE} or "
        f"results/{RESULTS_FILE} of a `bench stilts` run)",
        path,
    )


def _relative_dir(name: str, where: Path) -> str:
    parts = PurePosixPath(str(name)).parts
    if len(parts) != 1 or parts[0] in ("..", ".") or "\\" in str(name):
        raise InputError(f"seed directory {name!r} must be a directory name inside the results dir", where)
    return parts[0]


def seed_dirs(results_dir: Path, results: Mapping[str, Any]) -> list[tuple[int | None, Path]]:
    """``[(seed, dir)]`` of a multi-seed results dir (its ``seeds`` block), else ``[(None, results_dir)]``."""
    block = results.get("seeds")
    if not block:
        return [(None, results_dir)]
    if not isinstance(block, Mapping) or not isinstance(block.get("values"), list) or not block["values"]:
        raise InputError("seeds: expected {'values': [...], 'dirs': {...}}", results_dir / RESULTS_FILE)
    dirs = block.get("dirs") or {}
    out = []
    for value in block["values"]:
        name = _relative_dir(dirs.get(str(value), f"seed-{value}"), results_dir / RESULTS_FILE)
        out.append((int(value), results_dir / name))
    return out


def read_scores_file(results_dir: Path, results: Mapping[str, Any]) -> dict[str, QuestionScores] | None:
    """``scores.json`` when present and matching the sha256 results.json records for it."""
    path = results_dir / SCORES_FILE
    if not path.is_file():
        return None
    data = path.read_bytes()
    recorded = (results.get("scores") or {}).get("sha256")
    if recorded and sha256_bytes(data) != recorded:
        raise InputError(f"{SCORES_FILE} does not match the sha256 results.json records for it", path)
    raw = parse_json(data, path)
    if not isinstance(raw, dict):
        raise InputError(f"malformed {SCORES_FILE}: expected an object of configs", path)
    try:
        return {name: QuestionScores.from_json(value, checked=True) for name, value in raw.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"malformed {SCORES_FILE} ({exc})", path) from None


def rescore_results_dir(
    results_dir: Path, results: Mapping[str, Any], data: str
) -> dict[str, QuestionScores]:
    """Per-question scores of a results dir's predictions against the gold answers of ``data``."""
    from mlqa_domain.benchmark.data import load_config_examples
    from mlqa_domain.benchmark.results import score_config

    dataset = results.get("dataset") or {}
    out = {}
    for config, claim in (results.get("configs") or {}).items():
        path = results_dir / claim.get("predictions_file", f"predictions/{config}.json")
        if not path.is_file():
            raise InputError(f"predictions file of config {config} is missing", path)
        predictions = parse_json(path.read_bytes(), path)
        examples = load_config_examples(
            data, config, dataset.get("split", "test"), fingerprint=dataset.get("fingerprint")
        )
        out[config] = score_config(examples, predictions).question_scores()
    return out


def mean_over_seeds(
    per_seed: Sequence[Mapping[str, QuestionScores]], where: Path
) -> dict[str, QuestionScores]:
    """Each question's EM and F1 averaged over the seeds (every seed must have scored the same questions)."""
    if len(per_seed) == 1:
        return dict(per_seed[0])
    out = {}
    for config, first in per_seed[0].items():
        order = {qid: i for i, qid in enumerate(first.ids)}
        em, f1 = np.zeros(first.count), np.zeros(first.count)
        for scores in per_seed:
            other = scores.get(config)
            if other is None or set(other.ids) != set(order):
                raise InputError(f"config {config}: the seeds did not score the same questions", where)
            index = np.array([order[qid] for qid in other.ids], dtype=int)
            em[index] += other.em
            f1[index] += other.f1
        out[config] = QuestionScores(list(first.ids), em / len(per_seed), f1 / len(per_seed))
    return out


def _data_for(results: Mapping[str, Any], data: str | None, where: Path) -> str:
    """The dataset to re-score against: ``data``, else the recorded dataset when it is a hub id."""
    if data:
        return data
    recorded = (results.get("dataset") or {}).get("path")
    if recorded and not looks_local(recorded) and "/" in recorded:
        return recorded
    raise InputError(
        f"no {SCORES_FILE} to pair questions on: pass --data REPO (the dataset it was scored on) to re-score "
        "its predictions",
        where,
    )


def load_results_run(path: str | Path, data: str | None = None) -> Run:
    """A results dir (or `bench stilts` run dir, or multi-seed dir) as one side of a comparison."""
    results_dir = resolve_results_dir(path)
    results = read_results_json(results_dir)
    dataset = results.get("dataset") or {}
    if data:
        from mlqa_domain.benchmark.data import open_repo

        fingerprint = open_repo(data).fingerprint
        if fingerprint != dataset.get("fingerprint"):
            raise InputError(
                f"--data {data} has fingerprint {fingerprint}, "
                f"the run was scored on {dataset.get('fingerprint')}",
                results_dir / RESULTS_FILE,
            )
    per_seed = []
    seeds = seed_dirs(results_dir, results)
    for _, directory in seeds:
        seed_results = results if directory == results_dir else read_results_json(directory)
        scores = read_scores_file(directory, seed_results)
        if scores is None:
            scores = rescore_results_dir(directory, seed_results, _data_for(seed_results, data, directory))
        per_seed.append(scores)
    model = dict(results.get("model") or {})
    return Run(
        label=str(model.get("id") or results_dir.name),
        source=directory_name(results_dir),
        fingerprint=dataset.get("fingerprint"),
        split=dataset.get("split"),
        scores=mean_over_seeds(per_seed, results_dir),
        seeds=[s for s, _ in seeds if s is not None],
        general=str(dataset.get("general") or GENERAL),
        model=model,
        protocol=protocols.of_results(results),
    )


def _r(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), aggregates.DIGITS)


def _ci(draws: np.ndarray) -> list[float | None]:
    return [_r(v) for v in stats.percentile_ci(draws)]


def check_comparable(a: Run, b: Run, allow_protocol_mismatch: bool = False) -> list[str]:
    """The protocol differences of A and B (``[]``: none); runs on different data, or under different
    protocols unless ``allow_protocol_mismatch``, are refused."""
    if a.fingerprint != b.fingerprint or a.split != b.split:
        raise InputError(
            f"the runs were scored on different data: {a.source} on {a.fingerprint} ({a.split}), "
            f"{b.source} on {b.fingerprint} ({b.split})"
        )
    mismatch = protocols.differences(a.protocol, b.protocol)
    if mismatch and not allow_protocol_mismatch:
        raise InputError(
            f"the runs were scored under different evaluation protocols ({'; '.join(mismatch[:4])}); "
            "their scores do not compare: rescore one, or pass --allow-protocol-mismatch"
        )
    return mismatch


def paired_config_differences(
    a: Run, b: Run, configs: Sequence[str] | None = None
) -> dict[str, QuestionScores]:
    """``{config: per-question differences A - B}`` of the configs both runs scored (of ``configs``, when
    given), configs without questions left out."""
    names = [c for c in a.scores if c in b.scores and (configs is None or c in configs)]
    if not names:
        raise InputError(f"{a.source} and {b.source} have no config in common")
    try:
        differences = aggregates.paired_differences(
            {c: a.scores[c] for c in names}, {c: b.scores[c] for c in names}
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return {c: d for c, d in differences.items() if d.count}


def config_row(name: str, diff: QuestionScores, sa: QuestionScores, sb: QuestionScores) -> dict[str, Any]:
    """One config's row: each side's F1/EM, the difference, its paired 95% CIs, p-values and MDE."""
    draws = 100.0 * stats.bootstrap_means(diff.columns(), name)
    sd = 100.0 * stats.sample_sd(diff.f1)
    point = {"exact_match": 100.0 * float(diff.em.mean()), "f1": 100.0 * float(diff.f1.mean())}
    return {
        "count": sa.count,
        "a": {"f1": _r(100 * sa.f1.mean()), "exact_match": _r(100 * sa.em.mean())},
        "b": {"f1": _r(100 * sb.f1.mean()), "exact_match": _r(100 * sb.em.mean())},
        "difference": {k: _r(v) for k, v in point.items()},
        "f1_ci95": _ci(draws[1]),
        "em_ci95": _ci(draws[0]),
        "p_value": _r(stats.bootstrap_p_value(point["f1"], draws[1])),
        "em_p_value": _r(stats.bootstrap_p_value(point["exact_match"], draws[0])),
        "min_detectable_f1": _r(stats.min_detectable_difference({name: sd}, {name: sa.count})),
    }


def aggregate_row(
    spec: aggregates.Aggregate,
    differences: Mapping[str, QuestionScores],
    rows: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """One aggregate's row: its configs' rows weighted, with CIs and p-values from their joint draws."""
    combined = aggregates.joint_draws(differences, spec)
    point = {
        key: sum(w * rows[c]["difference"][key] for c, w in spec.weights.items())
        for key in ("f1", "exact_match")
    }
    side = {
        s: {
            key: _r(sum(w * rows[c][s][key] for c, w in spec.weights.items()))
            for key in ("f1", "exact_match")
        }
        for s in ("a", "b")
    }
    counts = {c: rows[c]["count"] for c in spec.weights}
    return {
        "count": int(sum(counts.values())),
        "languages": spec.languages,
        "configs": spec.configs,
        **side,
        "difference": {k: _r(v) for k, v in point.items()},
        "f1_ci95": _ci(combined[1]),
        "em_ci95": _ci(combined[0]),
        "p_value": _r(stats.bootstrap_p_value(point["f1"], combined[1])),
        "em_p_value": _r(stats.bootstrap_p_value(point["exact_match"], combined[0])),
        "min_detectable_f1": aggregates.clustered_power(differences, spec, correlation=None),
    }


def compare_runs(
    a: Run, b: Run, configs: Sequence[str] | None = None, allow_protocol_mismatch: bool = False
) -> dict[str, Any]:
    """The comparison of A with B (differences A - B, points): per config and per aggregate, each side's
    F1/EM, the difference, its paired 95% CI, p-value and the minimum detectable F1 difference.

    Runs scored under different evaluation protocols are refused unless ``allow_protocol_mismatch``; then
    the report lists the differences (``protocol_mismatch``)."""
    mismatch = check_comparable(a, b, allow_protocol_mismatch)
    differences = paired_config_differences(a, b, configs)
    rows = {
        name: config_row(name, diff, a.scores[name], b.scores[name]) for name, diff in differences.items()
    }
    aggregate_rows = {
        spec.name: aggregate_row(spec, differences, rows)
        for spec in aggregates.aggregate_specs(list(rows), a.general)
    }
    return {
        "a": a.describe(),
        "b": b.describe(),
        "difference": "A - B (points)",
        "dataset": {"fingerprint": a.fingerprint, "split": a.split},
        "protocol": protocols.describe(a.protocol) if not mismatch else None,
        "protocol_mismatch": mismatch or None,
        "paired": True,
        "aggregates": aggregate_rows,
        "configs": rows,
        "bootstrap": stats.settings(),
        "definitions": dict(aggregates.DEFINITIONS),
    }


def _num(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}" if sign else f"{value:.2f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def comparison_table(report: Mapping[str, Any], configs: bool = True, width: int | None = None) -> Table:
    """Rich table: aggregates, then configs: F1 of A and B, the difference, its 95% CI, p, MDE; fitted to
    ``width`` terminal columns (None: every column, see :mod:`mlqa_domain.terminal_tables`)."""
    a, b = report["a"]["label"], report["b"]["label"]
    title = f"A = {a}  vs  B = {b}  (F1, paired bootstrap over the same questions)"
    # labels are model names: shown as typed, never as markup
    table = Table(title=Text(title), caption_justify="left")
    table.add_column("", no_wrap=True)
    for column in ("n", "A", "B", "A - B", "95% CI", "p", "MDE"):
        table.add_column(column, justify="right")
    sections = [report["aggregates"]] + ([report["configs"]] if configs else [])
    for section in sections:
        for name, row in section.items():
            ci = row["f1_ci95"]
            significant = ci[0] is not None and (ci[0] > 0 or ci[1] < 0)
            diff = _num(row["difference"]["f1"], sign=True)
            table.add_row(
                f"[bold]{name}[/]" if name == aggregates.HEADLINE else name,
                str(row["count"]),
                _num(row["a"]["f1"]),
                _num(row["b"]["f1"]),
                f"[bold]{diff}[/]" if significant else diff,
                f"[{_num(ci[0], True)}, {_num(ci[1], True)}]",
                _p(row["p_value"]),
                _num(row["min_detectable_f1"]),
            )
        table.add_section()
    table.caption = (
        "n: questions; bold: the 95% CI excludes 0; MDE: the smallest F1 difference this paired test "
        "detects with 80% power at alpha 0.05 (from the observed per-question differences); MDE '-': "
        "every question's difference is the same (e.g. both runs scored 0), so there is no spread to "
        "compute it from"
    )
    fit_table(table, width, ["n", "MDE"])
    return table


def forest_rows(report: Mapping[str, Any]) -> list[tuple[str, float, float, float, bool]]:
    """``(label, difference, low, high, is_aggregate)`` for the forest plot: aggregates, then the
    monolingual configs (cross-lingual pairs are left to the table and the JSON)."""
    rows = []
    for name, row in report["aggregates"].items():
        rows.append((name, row["difference"]["f1"], *row["f1_ci95"], True))
    for name, row in report["configs"].items():
        if name.count(".") == 1:
            rows.append((name, row["difference"]["f1"], *row["f1_ci95"], False))
    return [r for r in rows if None not in r[1:4]]


@plain_text
def forest_plot(report: Mapping[str, Any], path: str | Path) -> Path:
    """A forest plot PNG of the F1 differences A - B with their 95% CIs (aggregates in bold)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = forest_rows(report)
    path = Path(path)
    fig = Figure(figsize=(7.0, 1.2 + 0.28 * max(1, len(rows))))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    for yi, (_, value, low, high, bold) in zip(y, rows, strict=True):
        colour = "#1d2330" if bold else "#2f5bd3"
        ax.errorbar(
            value,
            yi,
            xerr=[[value - low], [high - value]],
            fmt="D" if bold else "o",
            color=colour,
            capsize=3,
            ms=5,
        )
    ax.axvline(0, color="#b3261e", lw=1, ls="--")
    ax.set_yticks(y, [r[0] for r in rows])
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_fontweight("bold" if row[4] else "normal")
    a, b = report["a"]["label"], report["b"]["label"]
    ax.set_xlabel("F1 difference A - B (points), paired bootstrap 95% CI")
    ax.set_title(f"A = {a}\nB = {b}", fontsize=9)
    ax.grid(axis="x", color="#e4e7ec")
    ax.set_axisbelow(True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    return path
