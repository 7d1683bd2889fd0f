"""The leaderboard's dataset: where it is, its fingerprint and configs, that it is still the same one, and its
gold answers.

`datasets` caches a local dataset dir by its name and card, not its content: a repo rebuilt in place
(or another repo with the same dir name) would be read back from the stale cache. So gold answers
are loaded into a cache dir of their own per dataset fingerprint, a local dataset's parquet files are
re-fingerprinted before each verification, and a hub dataset is pinned to its commit at init.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.configs import GENERAL, parse_config_name
from mlqa_domain.errors import InputError, first_line
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest


def dataset_location(data: str | Path) -> str:
    """An absolute path for a local dataset dir, else the hub repo id as given."""
    path = Path(data).expanduser()
    return str(path.resolve()) if path.exists() else str(data)


def is_local(location: str) -> bool:
    """Whether the dataset is a local directory (else a hub dataset id)."""
    return Path(location).is_dir()


def read_build_info(data: str, revision: str | None = None) -> dict[str, Any]:
    """``build_info.json`` of a dataset repo (local dir or hub id), with a fingerprint."""
    from mlqa_domain.dataset_repo import load_build_info

    info = load_build_info(data, revision)
    if not isinstance(info, dict) or not str(info.get("dataset_fingerprint", "")).startswith("sha256:"):
        raise InputError("build_info.json has no dataset_fingerprint", data)
    return info


def hub_commit(repo_id: str) -> str:
    """The current commit of a hub dataset repo (to pin the leaderboard's gold answers to)."""
    from huggingface_hub import HfApi

    if repo_id.startswith((".", "/", "~")) or repo_id.count("/") != 1:
        raise InputError("dataset not found (neither a local directory nor an ORG/NAME hub id)", repo_id)
    try:
        return HfApi().dataset_info(repo_id).sha
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot resolve the dataset's hub commit: {first_line(exc)}", repo_id) from None


@dataclass(frozen=True)
class InitSettings:
    """Options of `bench leaderboard init`."""

    split: str = "test"  # the split the leaderboard ranks
    protocol: str = "mlqa-v1"  # the evaluation protocol its entries must be scored under


DEFAULTS = InitSettings()


def init_leaderboard(
    store: LeaderboardStore, data: str | Path, settings: InitSettings = DEFAULTS
) -> Manifest:
    """Point an empty store at a dataset (location, fingerprint, configs of the split, hub commit)."""
    split = settings.split
    location = dataset_location(data)
    revision = None if is_local(location) else hub_commit(location)
    info = read_build_info(location, revision)
    configs = {
        name: int(counts[split])
        for name, counts in (info.get("configs") or {}).items()
        if isinstance(counts, dict) and split in counts
    }
    if not configs:
        raise InputError(f"the dataset has no config with a {split!r} split", location)
    general = info.get("general", GENERAL)
    return store.initialise(
        location, info["dataset_fingerprint"], split, configs, general, revision, settings.protocol
    )


def check_dataset_unchanged(manifest: Manifest) -> None:
    """The dataset at the leaderboard's location still has the fingerprint recorded at init."""
    from mlqa_domain.dataset_repo import dataset_fingerprint

    location = manifest.dataset_location
    if is_local(location):
        current = dataset_fingerprint(Path(location))
    elif Path(location).is_absolute():
        raise InputError("the leaderboard's dataset directory is gone", location)
    else:
        current = read_build_info(location, manifest.revision)["dataset_fingerprint"]
    if current != manifest.dataset_fingerprint:
        raise InputError(
            f"the leaderboard's dataset changed since `bench leaderboard init`: it is now {current}, "
            f"the leaderboard ranks {manifest.dataset_fingerprint}",
            location,
        )


def gold_cache_dir(fingerprint: str) -> str:
    """A `datasets` cache dir that only ever holds the dataset with this fingerprint."""
    from mlqa_domain.dataset_repo import datasets_cache_dir

    return datasets_cache_dir(fingerprint)


@dataclass
class Gold:
    """Gold answers of one config and the language the metric normalises in."""

    answers: dict[str, list[str]]
    language: str


def load_gold(manifest: Manifest, config: str) -> Gold:
    """Gold answers of ``config`` in the leaderboard's dataset and split, via ``datasets.load_dataset``."""
    from datasets import load_dataset

    data, split = manifest.dataset_location, manifest.split
    try:
        ds = load_dataset(
            data,
            config,
            split=split,
            revision=manifest.revision,
            cache_dir=gold_cache_dir(manifest.dataset_fingerprint),
        )
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(f"cannot load gold answers of config {config} ({split}): {exc}", data) from exc
    answers = {row_id: list(ans["text"]) for row_id, ans in zip(ds["id"], ds["answers"], strict=True)}
    languages = set(ds["context_language"]) if "context_language" in ds.column_names else set()
    if len(languages) > 1:
        raise InputError(f"config {config} mixes context languages {sorted(languages)}", data)
    language = languages.pop() if languages else parse_config_name(config).context_language
    return Gold(answers, language)
