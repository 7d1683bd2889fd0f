"""Leaderboard plots as PNG (matplotlib's Agg canvas; no display, no global pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mlqa_domain.configs import ALL, ConfigName, config_name, parse_config_name, sort_language_keys
from mlqa_domain.leaderboard.schema import Entry
from mlqa_domain.leaderboard.table import Row, domain_order
from mlqa_domain.plotting import plain_text

PNG_METADATA = {"Software": None}  # keep the files byte-stable across matplotlib versions


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata=PNG_METADATA)
    return path


@plain_text
def f1_heatmap(entry: Entry, path: Path) -> Path:
    """F1 per domain (rows) × language pair (columns), annotated; missing cells grey."""
    scores = entry.verification.configs
    parsed: dict[str, ConfigName] = {name: parse_config_name(name) for name in scores}
    domains = domain_order({c.domain for c in parsed.values() if c.domain != ALL})
    if any(c.domain == ALL for c in parsed.values()):
        domains.append(ALL)
    pairs = sort_language_keys({c.language_key for c in parsed.values()})
    grid = np.full((len(domains), len(pairs)), np.nan)
    for name, config in parsed.items():
        grid[domains.index(config.domain), pairs.index(config.language_key)] = scores[name].f1
    fig = Figure(figsize=(1.0 + 0.85 * len(pairs), 0.9 + 0.55 * len(domains)))
    ax = fig.add_subplot()
    cmap = colormaps["viridis"].with_extremes(bad="#e4e7ec")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=100, aspect="auto")
    for i in range(len(domains)):
        for j in range(len(pairs)):
            value = grid[i, j]
            text, colour = (
                ("–", "#667085") if np.isnan(value) else (f"{value:.1f}", "white" if value < 60 else "black")
            )
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color=colour)
    ax.set_xticks(range(len(pairs)), pairs)
    ax.set_yticks(range(len(domains)), domains)
    ax.set_xlabel("language (context[.question])")
    ax.tick_params(length=0)
    fig.colorbar(image, ax=ax, label="F1", fraction=0.046, pad=0.03)
    ax.set_title("F1 per domain × language", fontsize=10)
    return _save(fig, path)


@plain_text
def entry_gap_plot(entry: Entry, path: Path) -> Path | None:
    """Each domain config's F1 gap to general (and each domain's mean), with 95% CIs; None if no gaps."""
    gaps = entry.verification.config_gaps
    summaries = entry.verification.domain_gaps
    if not gaps:
        return None
    labels, values, lows, highs, bold = [], [], [], [], []
    for domain in domain_order(set(summaries)):
        summary = summaries[domain]
        labels.append(f"{domain} (mean)")
        values.append(summary.f1_gap)
        lows.append(summary.f1_ci95[0])
        highs.append(summary.f1_ci95[1])
        bold.append(True)
        for pair in sort_language_keys(set(summary.languages)):
            name = config_name(domain, pair)
            gap = gaps[name]
            labels.append(name)
            values.append(gap.f1_gap)
            lows.append(gap.f1_ci95[0])
            highs.append(gap.f1_ci95[1])
            bold.append(False)
    return _gap_figure(labels, values, lows, highs, bold, path)


def _gap_figure(labels, values, lows, highs, bold, path: Path) -> Path:
    y = np.arange(len(labels))[::-1]
    values, lows, highs = np.asarray(values), np.asarray(lows), np.asarray(highs)
    fig = Figure(figsize=(6.4, 0.9 + 0.32 * len(labels)))
    ax = fig.add_subplot()
    colours = ["#1d2330" if b else "#2f5bd3" for b in bold]
    for yi, v, lo, hi, c, b in zip(y, values, lows, highs, colours, bold, strict=True):
        ax.errorbar(
            v, yi, xerr=[[v - lo], [hi - v]], fmt="D" if b else "o", color=c, capsize=3, ms=6 if b else 5
        )
    ax.axvline(0, color="#b3261e", lw=1, ls="--")
    ax.set_yticks(y, labels)
    for tick, b in zip(ax.get_yticklabels(), bold, strict=True):
        tick.set_fontweight("bold" if b else "normal")
    ax.set_xlabel("F1 gap to general (points), 95% bootstrap CI")
    ax.grid(axis="x", color="#e4e7ec")
    ax.set_axisbelow(True)
    return _save(fig, path)


@plain_text
def overview_gap_plot(rows: list[Row], gap_domains: list[str], path: Path) -> Path | None:
    """Per domain, each top entry's mean F1 gap to general with its 95% CI; None if no gaps."""
    rows = [r for r in rows if r.domain_gap]
    if not rows or not gap_domains:
        return None
    fig = Figure(figsize=(7.5, 1.2 + 0.45 * len(gap_domains) * max(1, len(rows)) ** 0.5))
    ax = fig.add_subplot()
    colours = colormaps["tab10"].colors
    spread = 0.7
    offsets = np.linspace(spread / 2, -spread / 2, len(rows)) if len(rows) > 1 else np.zeros(1)  # #1 on top
    base = np.arange(len(gap_domains))[::-1]
    for k, row in enumerate(rows):
        ys, vs, errs = [], [], [[], []]
        for d_index, domain in enumerate(gap_domains):
            gap = row.domain_gap.get(domain)
            if gap is None:
                continue
            ys.append(base[d_index] + offsets[k])
            vs.append(gap["f1_gap"])
            errs[0].append(gap["f1_gap"] - gap["f1_ci95"][0])
            errs[1].append(gap["f1_ci95"][1] - gap["f1_gap"])
        label = f"#{row.rank} {row.model}"
        label = label if len(label) <= 40 else label[:37] + "…"
        ax.errorbar(vs, ys, xerr=errs, fmt="o", capsize=3, color=colours[k % len(colours)], label=label)
    ax.axvline(0, color="#b3261e", lw=1, ls="--")
    ax.set_yticks(base, gap_domains)
    ax.set_xlabel("F1 gap to general (points), 95% bootstrap CI")
    ax.grid(axis="x", color="#e4e7ec")
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, path)
