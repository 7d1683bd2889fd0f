"""A built dataset repo: its layout, its fingerprint, and reading its build info and configs (from a
local dir or the Hugging Face hub). The builder writes this layout; the benchmark and the leaderboard
read it through this module only."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlqa_domain.errors import ConfigError, InputError, first_line
from mlqa_domain.hashing import sha256_bytes, sha256_file
from mlqa_domain.jsonio import read_json

DATA_DIR = "data"  # data/<config>/<split>.parquet
BUILD_INFO = "build_info.json"
CARD = "README.md"  # the dataset card; its YAML header lists the configs
REJECTED_DIR = "rejected"  # rejected/<filter>.jsonl: what each filter dropped


def dataset_fingerprint(repo_dir: Path) -> str:
    """sha256 over ``<relative path>\\t<sha256>`` of every data parquet file, sorted."""
    lines = [
        f"{p.relative_to(repo_dir).as_posix()}\t{sha256_file(p)}\n"
        for p in sorted((repo_dir / DATA_DIR).rglob("*.parquet"))
    ]
    return "sha256:" + sha256_bytes("".join(lines).encode())


def _local_file(data: str, name: str) -> Path | None:
    path = Path(data)
    if path.is_dir():
        return path / name
    return None


def _fetch(data: str, name: str, revision: str | None = None) -> Path:
    """``name`` from a local repo dir, else from the hub dataset repo ``data``."""
    local = _local_file(data, name)
    if local is not None:
        if not local.is_file():
            raise InputError(f"not a dataset repo built by mlqa-domain ({name} missing)", data)
        return local
    if data.startswith((".", "/", "~")) or data.count("/") != 1:
        raise InputError("dataset not found (neither a local directory nor ORG/NAME hub id)", data)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(data, name, repo_type="dataset", revision=revision))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        first = first_line(exc)
        raise InputError(f"cannot fetch {name} from the hub: {first}", data) from None


def load_build_info(data: str | Path, revision: str | None = None) -> dict:
    """The repo's ``build_info.json`` (fingerprint, configs with row counts, domains, ...)."""
    path = _fetch(str(data), BUILD_INFO, revision)
    return read_json(path)


def list_configs(data: str | Path, revision: str | None = None) -> list[str]:
    """Config names listed in the repo card's YAML ``configs`` (what ``load_dataset`` sees)."""
    path = _fetch(str(data), CARD, revision)
    text = path.read_text("utf-8")
    if not text.startswith("---"):
        raise ConfigError("dataset card has no YAML header with configs", path)
    header = text.split("---", 2)[1]
    # libyaml's loader where PyYAML has it: a full build's card lists hundreds of configs
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    configs = (yaml.load(header, Loader=loader) or {}).get("configs") or []  # noqa: S506 (a safe loader)
    names = [c["config_name"] for c in configs if isinstance(c, dict) and "config_name" in c]
    if not names:
        raise ConfigError("dataset has no configs", path)
    return names


def datasets_cache_dir(fingerprint: str) -> str:
    """A `datasets` cache dir that only ever holds the build with this fingerprint.

    `datasets` caches a local folder by its card's YAML, not by the data files, so a folder rebuilt in
    place could otherwise be served from the old cache.
    """
    from datasets import config

    return str(Path(config.HF_DATASETS_CACHE) / "mlqa-domain" / fingerprint.split(":")[-1][:24])


def load_config(
    data: str | Path, config: str, split: str, revision: str | None = None, fingerprint: str | None = None
):
    """``datasets.load_dataset(data, config, split=split)`` that never serves a stale local build.

    A local repo's cache is keyed by its fingerprint (read from build_info.json unless given).
    """
    import datasets

    if fingerprint is None and Path(data).is_dir():
        fingerprint = load_build_info(data)["dataset_fingerprint"]
    return datasets.load_dataset(
        str(data),
        config,
        split=split,
        revision=revision,
        cache_dir=datasets_cache_dir(fingerprint) if fingerprint else None,
    )
