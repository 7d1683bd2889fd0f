"""`bench lm-eval export`: the domain configs of a built repo as lm-evaluation-harness tasks.

The task directory works with ``lm_eval --include_path DIR``: one ``generate_until`` task per config
(``mlqa_domain_legal_de`` for ``legal.de``), a group per domain (``mlqa_domain_legal``) and one group of
them all (``mlqa_domain``). The prompt is the one of lm-eval's own MLQA task (context, question,
"Answer:", stop at a newline); few-shot examples come from another split of the same config. Each task's
``process_results`` scores the first line of the generation with the official MLQA metric in the context
language (``mlqa_domain.benchmark.lm_eval_metric``, imported by the directory's ``utils.py``, so the
environment that runs ``lm_eval`` needs ``mlqa_domain`` installed). Each task's ``metadata.mlqa_domain``
records the config, the split and the dataset fingerprint, which the sample reader checks. Nothing here
imports lm_eval: exporting does not need it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlqa_domain import __version__
from mlqa_domain.atomic import atomic_dir, check_output_dir
from mlqa_domain.configs import parse_config_name
from mlqa_domain.errors import ConfigError, InputError

if TYPE_CHECKING:
    from mlqa_domain.benchmark.data import DatasetRepo

TASK_PREFIX = "mlqa_domain"
"""Every exported task and group name starts with it; it is also the name of the group of all tasks."""
METADATA_KEY = "mlqa_domain"
"""The key under a task's ``metadata`` that holds what the export recorded (config, split, fingerprint)."""
MANIFEST = "mlqa_domain_export.json"
"""The export's own record in the task directory (lm-eval reads only ``.yaml`` files)."""
EXPORT_FORMAT = 1
"""Version of the exported task files (a task's ``metadata.version``, shown in lm-eval's table)."""
SPLITS = ("validation", "test")
PROMPT = "Context: {{context}}\n\nQuestion: {{question}}\n\nAnswer:"
"""lm-eval's own MLQA prompt."""
TARGET = "{{answers.text[0]}}"
UTILS_MODULE = '''"""The MLQA metric of the mlqa_domain tasks (written by `bench lm-eval export`): each
question scored as the official MLQA script scores it, in its context language. Needs mlqa_domain."""

from mlqa_domain.benchmark.lm_eval_metric import mlqa_score, process_results

__all__ = ["mlqa_score", "process_results"]
'''


@dataclass(frozen=True)
class ExportSettings:
    """What `bench lm-eval export` writes: which configs and split, and the few-shot setting."""

    split: str = "test"
    configs: tuple[str, ...] | None = None  # names or globs (comma-separated items allowed); None: all
    num_fewshot: int = 0
    fewshot_split: str | None = None  # None: the other split (validation for test, test for validation)
    revision: str | None = None  # of a hub dataset


@dataclass
class ExportedTasks:
    """What an export wrote: task name → config, group name → members, and configs left out."""

    out: Path
    dataset: str
    fingerprint: str
    split: str
    tasks: dict[str, str]
    groups: dict[str, list[str]]
    skipped: list[str] = field(default_factory=list)


class _FunctionRef(str):
    """A YAML ``!function module.name`` value (how lm-eval task files name Python functions)."""


class _TaskDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """A safe dumper (libyaml's where PyYAML has it) that also writes :class:`_FunctionRef` values as
    ``!function`` tags."""


_TaskDumper.add_representer(
    _FunctionRef, lambda dumper, value: dumper.represent_scalar("!function", str(value))
)
# texts with line breaks (the prompt, the stop sequence) in double quotes, "\n" spelled out
_TaskDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style='"' if "\n" in value else None
    ),
)


def task_name(config: str) -> str:
    """``legal.de`` → ``mlqa_domain_legal_de``."""
    return f"{TASK_PREFIX}_{config.replace('.', '_')}"


def domain_group_name(domain: str) -> str:
    """``legal`` → ``mlqa_domain_legal`` (the group of every ``legal.*`` task)."""
    return f"{TASK_PREFIX}_{domain}"


def default_fewshot_split(split: str) -> str:
    """The split few-shot examples come from by default: the other one of validation and test."""
    others = [name for name in SPLITS if name != split]
    return others[0] if others else SPLITS[0]


def dataset_location(data: str) -> str:
    """What ``dataset_path`` names: a local repo as an absolute path, a hub id as given."""
    path = Path(data).expanduser()
    return str(path.resolve()) if path.is_dir() else data


def _fewshot_plan(
    repo: DatasetRepo, configs: Sequence[str], settings: ExportSettings, explicit: set[str]
) -> tuple[str, dict[str, str | None], list[str]]:
    """The few-shot split, each config's few-shot split (None where it lacks it) and configs left out.

    With ``num_fewshot`` > 0 a config without the few-shot split is left out (an explicitly named one is a
    ConfigError): lm-eval would otherwise draw its examples from the split being scored.
    """
    fewshot_split = settings.fewshot_split or default_fewshot_split(settings.split)
    if fewshot_split == settings.split:
        raise ConfigError(
            f"few-shot examples must come from another split than {settings.split!r}", "--fewshot-split"
        )
    per_config: dict[str, str | None] = {}
    left_out: list[str] = []
    for name in configs:
        splits = repo.splits_of(name)
        has_split = splits is None or fewshot_split in splits
        if has_split:
            per_config[name] = fewshot_split
        elif settings.num_fewshot == 0:
            per_config[name] = None
        elif name in explicit:
            raise ConfigError(f"config {name!r} has no {fewshot_split!r} split for few-shot examples")
        else:
            left_out.append(name)
    if not per_config:
        raise ConfigError(f"no selected config has a {fewshot_split!r} split for few-shot examples")
    return fewshot_split, per_config, left_out


def _task_config(
    config: str,
    location: str,
    dataset_kwargs: dict[str, Any],
    fewshot_split: str | None,
    settings: ExportSettings,
    recorded: dict[str, Any],
) -> dict[str, Any]:
    """The lm-eval task config of one domain config."""
    parsed = parse_config_name(config)
    task: dict[str, Any] = {
        "task": task_name(config),
        "dataset_path": location,
        "dataset_name": config,
    }
    if dataset_kwargs:
        task["dataset_kwargs"] = dataset_kwargs
    task["test_split"] = settings.split
    if fewshot_split is not None:
        task["fewshot_split"] = fewshot_split
    score = _FunctionRef("utils.mlqa_score")
    task.update(
        {
            "output_type": "generate_until",
            "doc_to_text": PROMPT,
            "doc_to_target": TARGET,
            "target_delimiter": " ",
            "fewshot_delimiter": "\n\n",
            "generation_kwargs": {"until": ["\n"], "do_sample": False},
            "num_fewshot": settings.num_fewshot,
            "process_results": _FunctionRef("utils.process_results"),
            "metric_list": [
                {"metric": "exact_match", "aggregation": score, "higher_is_better": True},
                {"metric": "f1", "aggregation": score, "higher_is_better": True},
            ],
            "metadata": {
                "version": EXPORT_FORMAT,
                METADATA_KEY: {
                    **recorded,
                    "config": config,
                    "context_language": parsed.context_language,
                    "question_language": parsed.question_language,
                    "fewshot_split": fewshot_split,
                },
            },
        }
    )
    return task


def _groups(tasks: dict[str, str]) -> dict[str, list[str]]:
    """One group per domain (its tasks, repo order) and the group of all domain groups."""
    by_domain: dict[str, list[str]] = {}
    for name, config in tasks.items():
        by_domain.setdefault(domain_group_name(parse_config_name(config).domain), []).append(name)
    groups = {TASK_PREFIX: list(by_domain)}
    groups.update(by_domain)
    clash = sorted(set(groups) & set(tasks))
    if clash:
        raise ConfigError(f"task and group names clash: {clash[0]!r} (rename a domain)")
    return groups


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_TaskDumper, sort_keys=False, allow_unicode=True, width=1000)


def export_tasks(data: str, out: str | Path, settings: ExportSettings = ExportSettings()) -> ExportedTasks:
    """Write the lm-eval task directory of ``data``'s configs (for ``settings.split``) to ``out``.

    The directory is written to a temp dir and moved into place: ``out`` is replaced whole or not at all.
    """
    from mlqa_domain.benchmark.data import open_repo, plan_configs

    out = Path(out).expanduser().resolve()
    # new, empty, or an earlier export (it holds MANIFEST): nothing else is replaced
    check_output_dir(out, f"holds no {MANIFEST}; not overwriting (choose another --out)", markers=(MANIFEST,))
    if settings.num_fewshot < 0:
        raise ConfigError(f"must be 0 or more, got {settings.num_fewshot}", "--num-fewshot")
    repo = open_repo(data, settings.revision)
    fingerprint = repo.fingerprint
    if not fingerprint:
        raise InputError("build_info.json has no dataset_fingerprint (not built by mlqa-domain?)", data)
    configs, skipped = plan_configs(repo, settings.configs, settings.split)
    explicit = {p.strip() for pattern in (settings.configs or ()) for p in pattern.split(",")}
    fewshot_split, fewshot_of, no_fewshot = _fewshot_plan(repo, configs, settings, explicit)
    location = dataset_location(data)
    dataset_kwargs: dict[str, Any] = {}
    if Path(location).is_dir():
        from mlqa_domain.dataset_repo import datasets_cache_dir

        # `datasets` caches a local folder by its card: a cache of this build's own (as `bench run` does)
        dataset_kwargs["cache_dir"] = datasets_cache_dir(fingerprint)
    elif settings.revision:
        dataset_kwargs["revision"] = settings.revision
    recorded = {
        "dataset": location,
        "dataset_fingerprint": fingerprint,
        "split": settings.split,
        "harness_version": __version__,
    }
    tasks = {task_name(config): config for config in fewshot_of}
    if len(tasks) != len(fewshot_of):
        raise ConfigError("two configs map to the same task name", data)
    groups = _groups(tasks)
    manifest = {
        "format": EXPORT_FORMAT,
        **recorded,
        "num_fewshot": settings.num_fewshot,
        "fewshot_split": fewshot_split,
        "settings": {**asdict(settings), "configs": list(settings.configs or [])},
        "tasks": tasks,
        "groups": groups,
    }
    with atomic_dir(out) as tmp:
        (tmp / "utils.py").write_text(UTILS_MODULE, encoding="utf-8")
        for name, config in tasks.items():
            task = _task_config(config, location, dataset_kwargs, fewshot_of[config], settings, recorded)
            (tmp / f"{name}.yaml").write_text(_dump(task), encoding="utf-8")
        for name, members in groups.items():
            group = {"group": name, "task": members, "metadata": {"version": EXPORT_FORMAT}}
            (tmp / f"{name}.yaml").write_text(_dump(group), encoding="utf-8")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return ExportedTasks(
        out=out,
        dataset=location,
        fingerprint=fingerprint,
        split=settings.split,
        tasks=tasks,
        groups=groups,
        skipped=[*skipped, *no_fewshot],
    )
