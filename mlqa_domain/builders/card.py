"""The dataset card (README.md): YAML configs for `datasets`, then what a researcher needs to know."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import yaml

from mlqa_domain.configs import ALL, parse_config_name
from mlqa_domain.example import SPLITS

MLQA_CITATION = """@inproceedings{lewis2020mlqa,
  title     = {{MLQA}: Evaluating Cross-lingual Extractive Question Answering},
  author    = {Lewis, Patrick and Oguz, Barlas and Rinott, Ruty and Riedel, Sebastian and Schwenk, Holger},
  booktitle = {Proceedings of the 58th Annual Meeting of the Association for Computational Linguistics},
  pages     = {7315--7330},
  year      = {2020}
}"""

CONFIGS_AND_COLUMNS = """\
Configs: `<domain>.<lang>` (context and question in `lang`), `<domain>.<ctx>.<q>` (cross-lingual pairs),
`general.<lang>` (no domain matched) and `all.<lang>` (every example). Splits: `validation` (MLQA dev) and
`test`. Columns: the MLQA columns (`id`, `title`, `context`, `question`, `answers`) plus `context_language`,
`question_language`, `domains`, `domain_scores`, `classifier`, `classifier_scores`, `provenance` (JSON:
models, thresholds, whether the labels came from the English pivot) and `source`."""
LICENSE = """\
## License

MLQA is released under [CC BY-SA 3.0](https://creativecommons.org/licenses/by-sa/3.0/); this derived
dataset is released under the same license."""


def dataset_infos(counts: dict[str, dict[str, int]], sizes: dict) -> list[dict]:
    """``dataset_info`` entries: rows and sizes per config and split.

    Besides documenting the sizes, they make ``datasets`` notice a rebuild in place: it keys its cache
    of a local folder on the card's YAML, not on the data files.
    """
    infos = []
    for name, splits in counts.items():
        config_sizes = sizes.get(name, {})
        split_entries = [
            {
                "name": split,
                "num_bytes": config_sizes.get(split, {}).get("num_bytes", 0),
                "num_examples": splits[split],
            }
            for split in SPLITS
            if split in splits
        ]
        infos.append(
            {
                "config_name": name,
                "splits": split_entries,
                "download_size": sum(s.get("parquet_bytes", 0) for s in config_sizes.values()),
                "dataset_size": sum(e["num_bytes"] for e in split_entries),
            }
        )
    return infos


def source_datasets(info: dict) -> list[str]:
    """The public datasets the build read (``mlqa``, ``xquad``, ``squad``), in the order given."""
    names = [s.get("dataset") or "mlqa" for s in info.get("sources") or []]
    return list(dict.fromkeys(names)) or ["mlqa"]


def front_matter(
    counts: dict[str, dict[str, int]],
    languages: list[str],
    sizes: dict | None = None,
    sources: list[str] | None = None,
) -> dict:
    """The YAML header: licence, languages, the source datasets, one ``configs`` entry per config and its
    sizes."""
    configs = [
        {
            "config_name": name,
            "data_files": [
                {"split": split, "path": f"data/{name}/{split}.parquet"}
                for split in SPLITS
                if split in splits
            ],
        }
        for name, splits in counts.items()
    ]
    return {
        "pretty_name": "MLQA-Domain",
        "license": "cc-by-sa-3.0",
        "language": languages,
        "multilinguality": ["multilingual", "translation"],
        "task_categories": ["question-answering"],
        "task_ids": ["extractive-qa"],
        "source_datasets": list(sources or ["mlqa"]),
        "configs": configs,
        "dataset_info": dataset_infos(counts, sizes or {}),
    }


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def domain_language_table(counts: dict[str, dict[str, int]], domains: list[str], general: str) -> str:
    """Examples per domain × language pair × split (monolingual pairs; cross-lingual in the full list)."""
    per = defaultdict(dict)
    pairs = set()
    for name, splits in counts.items():
        config = parse_config_name(name)
        if config.is_monolingual:
            pairs.add(config.context_language)
            per[config.domain][config.context_language] = splits
    pairs = sorted(pairs)
    headers = ["domain"] + [f"{lang} ({split[:4]})" for lang in pairs for split in SPLITS]
    rows = []
    for domain in [*domains, general, ALL]:
        if domain in per:
            rows.append(
                [domain] + [per[domain].get(lang, {}).get(split, 0) for lang in pairs for split in SPLITS]
            )
    return _table(headers, rows)


def _classifier_lines(provenance: dict) -> str:
    return "\n".join(
        f"- `{name}`: " + ", ".join(f"{k} `{v}`" for k, v in spec.items() if v is not None)
        for name, spec in provenance.get("classifiers", {}).items()
    )


def _route_text(key: str, provenance: dict, domains: list[str]) -> str:
    who = "contexts in languages no other route claims" if key == "other" else f"contexts in `{key}`"
    thresholds = provenance.get("thresholds", {})
    return (
        f"**Route `{key}`** ({who}): labeler `{provenance.get('labeler', '')}`, "
        f"δ = {provenance.get('delta')}.\n\n{_classifier_lines(provenance)}\n\n"
        + _table(["domain", "τ"], [[d, thresholds.get(d, "")] for d in domains])
    )


def labeler_section(info: dict) -> str:
    """The classifiers, routes and thresholds that labelled the data."""
    labeler = info["labeler"]
    routes = labeler.get("routes") or {"all languages": labeler}
    return "\n\n".join(_route_text(k, v, info["domains"]) for k, v in routes.items()) + "\n"


def label_quality_section(info: dict) -> str:
    """Held-out precision/recall of the trained domain heads that labelled the data (empty when none)."""
    figures = info.get("label_evaluation") or {}
    parts = []
    for name, held_out in figures.items():
        rows = []
        for shown, key in (("title. context", "title_context"), ("context only", "context")):
            for domain, m in (held_out.get(key) or {}).items():
                ci = m["ci95"]
                rows.append(
                    [
                        domain,
                        shown,
                        f"{m['precision']:.3f} [{ci['precision'][0]:.2f}, {ci['precision'][1]:.2f}]",
                        f"{m['recall']:.3f} [{ci['recall'][0]:.2f}, {ci['recall'][1]:.2f}]",
                        f"{m['f1']:.3f}",
                        m["support"],
                    ]
                )
        parts.append(
            f"Classifier `{name}`, measured on articles it was neither trained nor tuned on "
            f"({held_out.get('method', '')}; 95% CIs by bootstrap over articles):\n\n"
            + _table(["domain", "input", "precision [95% CI]", "recall [95% CI]", "F1", "gold"], rows)
        )
    if not parts:
        return ""
    return "### Label quality\n\n" + "\n\n".join(parts) + "\n"


def _sources_list(info: dict) -> str:
    """One line per source: the dataset, its reader, and each file by name (or URL), size and sha256."""
    return "\n".join(
        f"- {s.get('dataset', 'mlqa')}: `{s['location']}` ({s['kind']}): "
        + ", ".join(
            f"`{f.get('url') or f['path']}` {f['bytes']} bytes, sha256 `{f['sha256']}`" for f in s["files"]
        )
        for s in info["sources"]
    )


POWER_INTRO = """\
The smallest difference in F1 between two models that a paired test on each split detects with 80% power
at α = 0.05 (two-sided), from the per-question F1 of a reference run. A split whose minimum is larger than
the effect you expect (intermediate-task gains are often 1-3 F1 points) cannot answer the question;
aggregate over languages or domains instead."""


def power_section(info: dict) -> str:
    """Minimum detectable F1 differences per split (empty until `bench power --card` adds a reference)."""
    power = info.get("power")
    if not power:
        return ""
    ref = power.get("reference") or {}
    rows = [
        [f"`{name}`", value.get("count", ""), _number(value.get("min_detectable_f1"))]
        for name, value in (power.get("configs") or {}).items()
    ]
    rows += [
        [f"`{name}` (aggregate)", value.get("count", ""), _number(value.get("min_detectable_f1"))]
        for name, value in (power.get("aggregates") or {}).items()
    ]
    source = f"`{ref.get('model', '?')}` on split `{ref.get('split', '?')}`"
    return (
        "## Which splits can answer the question\n\n"
        f"{POWER_INTRO}\n\nReference run: {source}. {power.get('definition', '')}\n\n"
        + _table(["split", "questions", "min. detectable F1 difference"], rows)
        + "\n"
    )


def _number(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def filter_table(info: dict) -> str:
    """Seen / kept / dropped per filter and the most frequent reasons."""
    rows = [
        [
            f["name"],
            f["seen"],
            f["kept"],
            f["dropped"],
            ", ".join(f"{k}: {v}" for k, v in f["reasons"].items()),
        ]
        for f in info.get("filters", [])
    ]
    return _table(["filter", "seen", "kept", "dropped", "reasons"], rows)


def parallel_sentence(info: dict) -> str:
    """The pivot's assumption (instances sharing an id are translations) and what the build's check of it
    found (`parallel_check` in build_info.json)."""
    check = info.get("parallel_check")
    found = (
        "not checked in this build"
        if check is None
        else (
            f"{check['suspect_ids']} of {check['checked_ids']} ids with an English and another instance "
            "contradict it (a year of the English answer missing from the other context, years that do not "
            "match, or a context length far from the English one) and are listed in `build_info.json` "
            "(`parallel_check`); their labels may not fit their text"
        )
    )
    return (
        "The pivot assumes that instances sharing an `id` are the same question about the same passage "
        f"(true of MLQA and XQuAD, not of arbitrary sources): {found}."
    )


def method_section(info: dict) -> str:
    """How the build went from the sources to labelled, filtered configs (the numbered steps)."""
    label_sources = info.get("labeling", {})
    filters = ", ".join(f["name"] for f in info.get("filters", [])) or "none"
    return f"""\
1. Every source is read into one record per instance; instances are parallel across languages by `id`.
2. Each MLQA id is labelled once from its English context (the pivot) and every parallel instance gets the
   same labels, so `legal.de` and `legal.es` hold the same questions. Ids without an English instance are
   labelled once from one of their own contexts. Labelling comes before filtering, so an id keeps its
   English labels even where a filter drops the English instance. Labelled from the pivot:
   {label_sources.get("pivot", 0)} instances; in their own language: {label_sources.get("own_language", 0)}.
   {parallel_sentence(info)}
3. Filters ({filters}) drop bad instances; dropped
   ones are listed with their reasons in `rejected/`.
4. Domain labels. A context gets every domain whose score is at least that domain's threshold τ (and,
   where δ < 1, within δ of its best domain); otherwise it is `{info["general"]}`. Taxonomy
   `{info["taxonomy"]["source"]}` (fingerprint `{info["taxonomy"]["fingerprint"]}`). Each row's
   `provenance` names the route and classifier that labelled it."""


def render_card(info: dict) -> str:
    """The full README.md of the dataset repo from the build info."""
    counts = info["configs"]
    header = yaml.safe_dump(
        front_matter(counts, info["languages"], info.get("sizes"), source_datasets(info)),
        sort_keys=False,
        allow_unicode=True,
    )
    config_rows = [[f"`{name}`"] + [splits.get(s, 0) for s in SPLITS] for name, splits in counts.items()]
    return f"""---
{header}---

# MLQA-Domain

Domain-specific splits of [MLQA](https://github.com/facebookresearch/MLQA) for measuring whether
English intermediate-task training (STILTs) helps zero-shot cross-lingual extractive QA *in a domain*.
Built with `mlqa-domain` {info["harness_version"]}.

```python
from datasets import load_dataset
legal_de = load_dataset("mlqa-domain", "legal.de", split="test")
```

{CONFIGS_AND_COLUMNS}

Dataset fingerprint: `{info["dataset_fingerprint"]}`

## Sources

{_sources_list(info)}

## Method

{method_section(info)}

{labeler_section(info)}
{label_quality_section(info)}
## Filters

{filter_table(info)}

## Examples per domain, language and split

{domain_language_table(counts, info["domains"], info["general"])}

{power_section(info)}
<details><summary>All configs</summary>

{_table(["config", *SPLITS], config_rows)}

</details>

{LICENSE}

## Citation

```bibtex
{MLQA_CITATION}
```
"""


def add_power(repo_dir: str | Path, power: dict) -> dict:
    """Write ``power`` (per split: questions and minimum detectable F1 difference, and the reference run)
    into the repo's build_info.json and re-render its card from it; return the new build info."""
    from mlqa_domain.atomic import write_text_atomic
    from mlqa_domain.dataset_repo import BUILD_INFO
    from mlqa_domain.jsonio import read_json

    repo = Path(repo_dir)
    info = read_json(repo / BUILD_INFO)
    info["power"] = power
    write_text_atomic(repo / BUILD_INFO, json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(repo / "README.md", render_card(info))
    return info
