"""Where accepted entries live: a local directory or a Hugging Face dataset repo, behind one small interface.

Layout (the same in both)::

    leaderboard.json                  # {"schema_version": 1, "dataset": {location, fingerprint, split, ...}}
    entries/<entry_id>/entry.json     # schema.Entry: the submission and what verification computed
    entries/<entry_id>/results.json   # the submitted results.json, as given
    entries/<entry_id>/predictions/<config>.json
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlqa_domain.atomic import atomic_dir, write_bytes_atomic
from mlqa_domain.configs import GENERAL
from mlqa_domain.errors import InputError, first_line
from mlqa_domain.jsonio import parse_json
from mlqa_domain.leaderboard.schema import Entry

MANIFEST = "leaderboard.json"
ENTRIES = "entries"
HUB_PREFIX = "hf://"


@dataclass(frozen=True)
class Manifest:
    """The leaderboard's own record: which dataset (and split) it ranks models on."""

    dataset_location: str
    dataset_fingerprint: str
    split: str
    created: str
    configs: dict[str, int] = field(default_factory=dict)  # config -> questions in ``split``
    general: str = GENERAL  # the taxonomy's catch-all domain that gaps are measured against
    revision: str | None = None  # hub commit of the dataset at init (None for a local dir)

    def to_json(self) -> dict[str, Any]:
        """The content of leaderboard.json."""
        return {
            "schema_version": 1,
            "dataset": {
                "location": self.dataset_location,
                "fingerprint": self.dataset_fingerprint,
                "split": self.split,
                "configs": self.configs,
                "general": self.general,
                "revision": self.revision,
            },
            "created": self.created,
        }


class LeaderboardStore(ABC):
    """Entries and manifest of one leaderboard; subclasses only move bytes."""

    location: str

    # -- the primitives a backend implements -------------------------------------------------------
    @abstractmethod
    def read_bytes(self, path: str) -> bytes | None:
        """The file at ``path`` (relative, posix), or None when absent."""

    @abstractmethod
    def list_files(self, prefix: str) -> list[str]:
        """Relative paths of all files under ``prefix``."""

    @abstractmethod
    def write_manifest(self, data: bytes) -> None:
        """Create or replace leaderboard.json."""

    @abstractmethod
    def add_entry(self, entry_id: str, files: dict[str, bytes]) -> None:
        """Store ``files`` (paths relative to the entry dir) as one new entry, all or nothing."""

    # -- shared logic ------------------------------------------------------------------------------
    def manifest(self) -> Manifest:
        """Read leaderboard.json, or explain how to create it."""
        raw = self.read_bytes(MANIFEST)
        if raw is None:
            raise InputError(
                "not a leaderboard (no leaderboard.json); create it with "
                "`bench leaderboard init --leaderboard STORE --data DATASET`",
                self.location,
            )
        data = parse_json(raw, f"{self.location}/{MANIFEST}")
        try:
            dataset = data["dataset"]
            return Manifest(
                dataset_location=dataset["location"],
                dataset_fingerprint=dataset["fingerprint"],
                split=dataset.get("split", "test"),
                created=data.get("created", ""),
                configs={str(k): int(v) for k, v in (dataset.get("configs") or {}).items()},
                general=dataset.get("general", GENERAL),
                revision=dataset.get("revision"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"malformed leaderboard.json ({exc})", self.location) from exc

    def is_initialised(self) -> bool:
        """Whether leaderboard.json exists."""
        return self.read_bytes(MANIFEST) is not None

    def initialise(
        self,
        dataset_location: str,
        fingerprint: str,
        split: str,
        configs: dict[str, int],
        general: str,
        revision: str | None = None,
    ) -> Manifest:
        """Write a fresh leaderboard.json (refuses to re-point an existing leaderboard)."""
        if self.is_initialised():
            current = self.manifest()
            if current.dataset_fingerprint == fingerprint and current.split == split:
                return current
            raise InputError(
                f"already a leaderboard for dataset {current.dataset_location} "
                f"({current.dataset_fingerprint}, split {current.split}); use a new store",
                self.location,
            )
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        manifest = Manifest(
            dataset_location, fingerprint, split, created, dict(sorted(configs.items())), general
        )
        self.write_manifest((json.dumps(manifest.to_json(), indent=2) + "\n").encode())
        return manifest

    def entry_ids(self) -> list[str]:
        """Ids of all stored entries, sorted."""
        ids = set()
        for path in self.list_files(ENTRIES):
            parts = path.split("/")
            if len(parts) == 3 and parts[2] == "entry.json":
                ids.add(parts[1])
        return sorted(ids)

    def entries(self) -> list[Entry]:
        """All stored entries, validated."""
        out = []
        for entry_id in self.entry_ids():
            path = f"{ENTRIES}/{entry_id}/entry.json"
            raw = self.read_bytes(path)
            if raw is None:
                continue
            where = f"{self.location}/{path}"
            try:
                out.append(Entry.model_validate(parse_json(raw, where)))
            except ValidationError as exc:
                raise InputError(f"stored entry is invalid: {first_error(exc)}", where) from exc
        return out


class LocalStore(LeaderboardStore):
    """A leaderboard in a local directory; entries are built in a temp dir and moved into place."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def read_bytes(self, path: str) -> bytes | None:
        target = self.root / path
        return target.read_bytes() if target.is_file() else None

    def list_files(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.root).parts)
        )

    def write_manifest(self, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.root / MANIFEST, data)

    def add_entry(self, entry_id: str, files: dict[str, bytes]) -> None:
        target = self.root / ENTRIES / entry_id
        if target.exists():
            raise InputError(f"entry {entry_id} already exists", target)
        with atomic_dir(target) as tmp:
            for rel, data in files.items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


class HubStore(LeaderboardStore):
    """A leaderboard in a Hugging Face dataset repo; each change is one commit (atomic on the hub)."""

    def __init__(self, repo_id: str, revision: str | None = None, token: str | None = None) -> None:
        self.repo_id = repo_id
        self.revision = revision
        self.token = token
        self.location = f"{HUB_PREFIX}datasets/{repo_id}" + (f"@{revision}" if revision else "")
        self._head: str | None = None

    def _api(self):
        from huggingface_hub import HfApi

        return HfApi(token=self.token)

    def _fail(self, action: str, exc: Exception) -> InputError:
        return InputError(f"cannot {action} the hub leaderboard: {first_line(exc)}", self.location)

    def read_bytes(self, path: str) -> bytes | None:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            GatedRepoError,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        try:
            local = hf_hub_download(
                self.repo_id,
                path,
                repo_type="dataset",
                revision=self._head or self.revision,
                token=self.token,
            )
        except GatedRepoError as exc:
            raise self._fail(f"read {path} from", exc) from None
        except (RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError):
            return None
        except OSError as exc:  # offline, unreachable, HTTP errors
            raise self._fail(f"read {path} from", exc) from None
        return Path(local).read_bytes()

    def list_files(self, prefix: str) -> list[str]:
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

        try:
            info = self._api().dataset_info(self.repo_id, revision=self.revision, files_metadata=False)
        except GatedRepoError as exc:
            raise self._fail("list", exc) from None
        except RepositoryNotFoundError:
            return []
        except OSError as exc:
            raise self._fail("list", exc) from None
        self._head = info.sha  # later commits are made on top of exactly what was read
        names = [s.rfilename for s in (info.siblings or [])]
        return sorted(n for n in names if n == prefix or n.startswith(prefix.rstrip("/") + "/"))

    def _commit(self, files: dict[str, bytes], message: str) -> None:
        from huggingface_hub import CommitOperationAdd

        operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=data) for p, data in files.items()]
        try:
            self._api().create_commit(
                self.repo_id,
                operations=operations,
                commit_message=message,
                repo_type="dataset",
                revision=self.revision,
                parent_commit=self._head,  # fails if someone committed since we read: submit again
            )
        except OSError as exc:
            raise self._fail("commit to", exc) from None

    def write_manifest(self, data: bytes) -> None:
        try:
            self._api().create_repo(self.repo_id, repo_type="dataset", exist_ok=True)
        except OSError as exc:
            raise self._fail("create", exc) from None
        self._commit({MANIFEST: data}, "Create leaderboard")

    def add_entry(self, entry_id: str, files: dict[str, bytes]) -> None:
        if self._head is None:
            self.list_files(ENTRIES)
        prefixed = {f"{ENTRIES}/{entry_id}/{rel}": data for rel, data in files.items()}
        self._commit(prefixed, f"Add leaderboard entry {entry_id}")


_HUB_RE = re.compile(r"^hf://datasets/(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+?)(?:@(?P<revision>[\w./-]+))?/?$")


def parse_hub_location(location: str) -> tuple[str, str | None]:
    """``hf://datasets/ORG/NAME[@REVISION]`` -> (``ORG/NAME``, revision)."""
    match = _HUB_RE.match(location.strip())
    if not match:
        raise InputError(
            "a hub leaderboard must be written hf://datasets/ORG/NAME (optionally @REVISION)", location
        )
    return match.group("repo"), match.group("revision")


def open_store(location: str | Path) -> LeaderboardStore:
    """A local directory, or ``hf://datasets/ORG/NAME`` for a Hugging Face dataset repo."""
    text = str(location)
    if text.startswith(HUB_PREFIX):
        repo_id, revision = parse_hub_location(text)
        return HubStore(repo_id, revision)
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise InputError("the leaderboard must be a directory", path)
    return LocalStore(path)


def first_error(exc: ValidationError) -> str:
    """Pydantic's first complaint as one line: ``model.base_model: Field required``."""
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err.get("loc", ())) or "(top level)"
    return f"{where}: {err.get('msg', 'invalid')}"
