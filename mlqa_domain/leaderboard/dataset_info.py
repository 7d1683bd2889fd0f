"""What the leaderboard needs to know about its dataset: where it is, its fingerprint, its configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlqa_domain.builders.repo_info import load_build_info
from mlqa_domain.errors import InputError
from mlqa_domain.leaderboard.store import LeaderboardStore, Manifest


def dataset_location(data: str | Path) -> str:
    """An absolute path for a local dataset dir, else the hub repo id as given."""
    path = Path(data).expanduser()
    return str(path.resolve()) if path.exists() else str(data)


def read_build_info(data: str) -> dict[str, Any]:
    """``build_info.json`` of a dataset repo (local dir or hub id), with a fingerprint."""
    info = load_build_info(data)
    if not isinstance(info, dict) or not str(info.get("dataset_fingerprint", "")).startswith("sha256:"):
        raise InputError("build_info.json has no dataset_fingerprint", data)
    return info


def init_leaderboard(store: LeaderboardStore, data: str | Path, split: str = "test") -> Manifest:
    """Point an empty store at a dataset (location, fingerprint, configs of ``split``)."""
    location = dataset_location(data)
    info = read_build_info(location)
    configs = {
        name: int(counts[split])
        for name, counts in (info.get("configs") or {}).items()
        if isinstance(counts, dict) and split in counts
    }
    if not configs:
        raise InputError(f"the dataset has no config with a {split!r} split", location)
    return store.initialise(
        location, info["dataset_fingerprint"], split, configs, info.get("general", "general")
    )
