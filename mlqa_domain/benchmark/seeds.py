"""Several seeds of one configuration: one ordinary results dir per seed and their aggregate.

A multi-seed results directory (the contract `bench submit`, the leaderboard and `bench compare` read)::

    <results>/results.json                  the aggregate (below)
    <results>/seed-<s>/results.json         an ordinary `bench run` results dir per seed
    <results>/seed-<s>/predictions/<config>.json

The aggregate ``results.json`` has every field of an ordinary one. Each number that differs between
seeds is their mean: per-config and aggregate EM / F1, timings; numbers every seed shares (counts) are
unchanged. When every seed dir has its ``scores.json``, the aggregate has one too (each question's EM/F1
averaged over the seeds) and its aggregates, gaps, CIs, power and cross-lingual matrix are computed from it
by :func:`aggregates.summarise`, exactly as `bench compare` and the leaderboard do for a multi-seed run;
otherwise (results of older versions) those are the means of the seeds' numbers. Fields that differ
between seeds (hashes) and references to per-seed files (``predictions_file``, ``predictions_sha256``)
are None there: those files live in the seed dirs. Plus::

    "seeds": {"values": [1, 2, 3],
              "dirs": {"1": "seed-1", ...},
              "per_config": {"<config>": {"f1": {"mean", "std", "ci95", "values"}, "em": {...}}},
              "aggregates": {"<aggregate name>": {"f1": {...}, "em": {...}}}}

``std`` is the sample standard deviation (ddof=1; None for one seed); ``ci95`` the t-interval
mean ± t(0.975, n-1)·std/√n (None for one seed). An aggregate is every block outside ``configs`` that holds
both ``f1`` and ``exact_match`` (``averages.overall`` -> ``overall``, ``averages.per_domain.legal`` ->
``per_domain.legal``: the path below the top-level key). A results dir without ``seeds`` is one seed.
"""

from __future__ import annotations

import copy
import json
import math
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlqa_domain.atomic import atomic_dir
from mlqa_domain.benchmark.results import SCORES_FILE
from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.jsonio import read_json

RESULTS_FILE = "results.json"
SEED_PREFIX = "seed-"
SEEDS_KEY = "seeds"
SCORES = {"f1": "f1", "exact_match": "em"}  # results.json key -> key in the seeds block
_PER_SEED_ONLY = ("predictions_file", "predictions_sha256")


# numpy, torch and random all take a seed in [0, 2**32 - 1]
MAX_SEED = 2**32 - 1
_SEED_TEXT = re.compile(r"[0-9]+")


def check_seed(seed: int, option: str = "--seed") -> int:
    """``seed`` when every random generator takes it (0 to 2**32 - 1); else a ConfigError for ``option``."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed {seed} is out of range (0 to {MAX_SEED})", option)
    return seed


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]`` (ASCII digits, 0 to 2**32 - 1, distinct); anything else is a
    ConfigError."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not _SEED_TEXT.fullmatch(part):  # not str.isdigit: it takes "²", which int() refuses
            raise ConfigError(f"expected comma-separated non-negative integers, got {text!r}", option)
        seed = check_seed(int(part), option)
        if seed in seeds:
            raise ConfigError(f"seed {seed} is listed twice", option)
        seeds.append(seed)
    return seeds


def seed_dir_name(seed: int) -> str:
    """``seed-<s>``: the directory of one seed (of a run, and of a multi-seed results dir)."""
    return f"{SEED_PREFIX}{seed}"


def seed_of_dir_name(name: str) -> int | None:
    """The seed of a ``seed-<s>`` directory name, else None."""
    rest = name[len(SEED_PREFIX) :] if name.startswith(SEED_PREFIX) else ""
    return int(rest) if _SEED_TEXT.fullmatch(rest) else None


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample std (ddof=1), 95% t-interval over seeds, and the values (std, ci95 None for n = 1)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values to summarize")
    mean = math.fsum(values) / n
    if n == 1:
        return {"mean": mean, "std": None, "ci95": None, "values": list(values)}
    from scipy.stats import t

    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half], "values": list(values)}


def _read_results(results_dir: Path) -> dict[str, Any]:
    path = results_dir / RESULTS_FILE
    if not path.is_file():
        raise InputError(f"no {RESULTS_FILE} (has this seed been scored?)", results_dir)
    results = read_json(path)
    if not isinstance(results, dict) or not isinstance(results.get("configs"), dict):
        raise InputError("not a results.json: no 'configs' mapping", path)
    if SEEDS_KEY in results:
        raise InputError("is already a multi-seed aggregate", path)
    return results


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _merge(values: list[Any], path: str) -> Any:
    """The aggregate of one field over seeds: dicts field by field, numbers that differ by their mean."""
    first = values[0]
    if isinstance(first, dict):
        keys = set(first)
        for other in values[1:]:
            if not isinstance(other, dict) or set(other) != keys:
                raise InputError(f"the seeds' results differ in their fields at {path or 'the top level'}")
        return {key: _merge([v[key] for v in values], f"{path}.{key}".lstrip(".")) for key in first}
    if isinstance(first, list) and all(isinstance(v, list) and len(v) == len(first) for v in values):
        if all(_is_number(x) for v in values for x in v):
            return [_merge([v[i] for v in values], f"{path}[{i}]") for i in range(len(first))]
        return copy.deepcopy(first)
    if all(_is_number(v) for v in values):
        return first if all(v == first for v in values) else math.fsum(values) / len(values)
    if any(_is_number(v) for v in values) and not all(v is None or _is_number(v) for v in values):
        raise InputError(f"the seeds' results differ in kind at {path}")
    if all(v == first for v in values):
        return copy.deepcopy(first)
    return None  # a score some seeds could not compute, or a per-seed value (a hash)


def _score_blocks(results: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(name, block)`` for every block outside ``configs`` holding both ``f1`` and ``exact_match``."""

    def walk(node: Any, path: list[str]) -> Iterator[tuple[list[str], Mapping[str, Any]]]:
        if not isinstance(node, Mapping):
            return
        if all(_is_number(node.get(key)) or node.get(key) is None for key in SCORES) and all(
            key in node for key in SCORES
        ):
            yield path, node
            return
        for key, value in node.items():
            yield from walk(value, [*path, str(key)])

    found: list[tuple[list[str], Mapping[str, Any]]] = []
    for top, value in results.items():
        if top in ("configs", SEEDS_KEY):
            continue
        found.extend(walk(value, [top]))
    short = [".".join(path[1:]) or path[0] for path, _ in found]
    for (path, block), name in zip(found, short, strict=True):
        yield (name if short.count(name) == 1 else ".".join(path)), block


def _spread(per_seed: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"f1": summary, "em": summary}`` of score blocks (one per seed); seeds without a score left out."""
    out = {}
    for key, name in SCORES.items():
        values = [float(block[key]) for block in per_seed if _is_number(block.get(key))]
        out[name] = summarize(values) if values else None
    return out


def aggregate_results(per_seed: Mapping[int, Mapping[str, Any]], dirs: Mapping[int, str]) -> dict[str, Any]:
    """The aggregate ``results.json`` of per-seed results (see the module docstring)."""
    seeds = list(per_seed)
    results = [per_seed[s] for s in seeds]
    first = results[0]
    for seed, other in zip(seeds[1:], results[1:], strict=True):
        for key in ("dataset", "settings"):
            if other.get(key) != first.get(key):
                raise InputError(f"seed {seed} was scored with another {key} than seed {seeds[0]}")
        counts = {name: row.get("count") for name, row in other["configs"].items()}
        if counts != {name: row.get("count") for name, row in first["configs"].items()}:
            raise InputError(f"seed {seed} scored other configs (or counts) than seed {seeds[0]}")
    aggregate = _merge(results, "")
    for row in aggregate["configs"].values():
        for key in _PER_SEED_ONLY:
            if key in row:
                row[key] = None
    for block in aggregate.values():  # references to files that only the seed dirs hold
        if isinstance(block, dict) and "file" in block and "sha256" in block:
            block.update(file=None, sha256=None)
    aggregate["created"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    blocks = [dict(_score_blocks(r)) for r in results]
    aggregate[SEEDS_KEY] = {
        "values": seeds,
        "dirs": {str(s): dirs[s] for s in seeds},
        "per_config": {name: _spread([r["configs"][name] for r in results]) for name in first["configs"]},
        "aggregates": {name: _spread([b[name] for b in blocks if name in b]) for name in blocks[0]},
    }
    return aggregate


def write_seed_results(seed_dirs: Mapping[int, str | Path], out: str | Path) -> dict[str, Any]:
    """Copy each seed's results dir to ``out/seed-<s>`` and write the aggregate ``out/results.json``.

    ``seed_dirs`` maps each seed to an ordinary results dir. ``out`` is replaced atomically (a multi-seed
    results dir written earlier may be replaced; anything else is refused). Returns the aggregate.
    """
    if not seed_dirs:
        raise ConfigError("no seeds to aggregate", "--seeds")
    out = Path(out).expanduser().resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _is_seed_results(out))):
        raise InputError("exists and is not a multi-seed results directory; not overwriting", out)
    per_seed = {seed: _read_results(Path(d)) for seed, d in seed_dirs.items()}
    dirs = {seed: seed_dir_name(seed) for seed in seed_dirs}
    aggregate = aggregate_results(per_seed, dirs)
    scores = _seed_mean_scores(seed_dirs, per_seed, aggregate)
    with atomic_dir(out) as tmp:
        for seed, source in seed_dirs.items():
            shutil.copytree(Path(source), tmp / dirs[seed])  # results.json, predictions/, scores ...
        if scores is not None:
            (tmp / SCORES_FILE).write_bytes(scores)
        text = json.dumps(aggregate, indent=2, ensure_ascii=False) + "\n"
        (tmp / RESULTS_FILE).write_text(text, encoding="utf-8")
    return aggregate


def _seed_mean_scores(
    seed_dirs: Mapping[int, str | Path], per_seed: Mapping[int, Mapping[str, Any]], aggregate: dict[str, Any]
) -> bytes | None:
    """With every seed's ``scores.json``: the seed-averaged per-question scores (the bytes of the
    aggregate's ``scores.json``), and ``aggregate``'s summary blocks recomputed from them in place."""
    from mlqa_domain.benchmark import aggregates
    from mlqa_domain.benchmark.compare import mean_over_seeds, read_scores_file
    from mlqa_domain.configs import GENERAL
    from mlqa_domain.hashing import sha256_bytes

    scores = [read_scores_file(Path(d), per_seed[s]) for s, d in seed_dirs.items()]
    if any(s is None for s in scores):
        return None
    mean = mean_over_seeds(scores, Path(next(iter(seed_dirs.values()))))
    general = (aggregate.get("dataset") or {}).get("general") or GENERAL
    aggregate.update(aggregates.summarise(mean, general))
    data = {name: s.to_json() for name, s in mean.items()}
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    aggregate["scores"] = {"file": SCORES_FILE, "sha256": sha256_bytes(raw)}
    return raw


def _is_seed_results(path: Path) -> bool:
    results = path / RESULTS_FILE
    if not results.is_file():
        return False
    try:
        return SEEDS_KEY in read_json(results)
    except InputError:
        return False


def seed_count(results: Mapping[str, Any]) -> int:
    """How many seeds a results.json covers (1 without a ``seeds`` block)."""
    block = results.get(SEEDS_KEY)
    return len(block.get("values", [])) if isinstance(block, Mapping) else 1
