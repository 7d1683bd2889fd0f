"""Where accepted entries live: a local directory or a Hugging Face dataset repo, behind one small interface.

Layout (the same in both)::

    leaderboard.json                  # {"schema_version": 1, "dataset": {location, fingerprint, split, ...}}
    entries/<entry_id>/entry.json     # schema.Entry: the submission and what verification computed
    entries/<entry_id>/results.json   # the submitted results.json, as given
    entries/<entry_id>/predictions/<config>.json
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlqa_domain.atomic import atomic_dir, check_writable, write_bytes_atomic
from mlqa_domain.benchmark import protocol as protocols
from mlqa_domain.configs import GENERAL, check_config_name, check_names
from mlqa_domain.errors import InputError, first_line
from mlqa_domain.jsonio import parse_json
from mlqa_domain.leaderboard.schema import Entry

logger = logging.getLogger(__name__)

MANIFEST = "leaderboard.json"
ENTRIES = "entries"
HUB_PREFIX = "hf://"
LOCK = ".lock"  # a local store's lock file: check-and-add and init hold it exclusively
LOCK_TIMEOUT_S = 600.0
HUB_COMMIT_ATTEMPTS = 5  # a commit whose parent moved (someone else committed) is retried this often


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
    # the one evaluation protocol its entries were scored under (mlqa_domain/benchmark/protocol.py)
    protocol: str = protocols.DEFAULT
    protocol_hash: str = field(default_factory=lambda: protocols.named(protocols.DEFAULT).hash)

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
            "protocol": {"name": self.protocol, "hash": self.protocol_hash},
            "created": self.created,
        }


def manifest_from_json(data: Any, where: str) -> Manifest:
    """leaderboard.json's content as a Manifest; any other shape is one InputError naming the field."""

    def fail(problem: str) -> InputError:
        return InputError(f"malformed leaderboard.json: {problem}", where)

    if not isinstance(data, dict):
        raise fail(f"expected a JSON object, got {type(data).__name__}")
    dataset = data.get("dataset")
    if not isinstance(dataset, dict):
        raise fail(f"'dataset' must be an object, got {type(dataset).__name__}")
    for key in ("location", "fingerprint"):
        if not isinstance(dataset.get(key), str) or not dataset[key]:
            raise fail(f"'dataset.{key}' must be a non-empty string")
    split = dataset.get("split", "test")
    if not isinstance(split, str) or not split:
        raise fail("'dataset.split' must be a non-empty string")
    configs = dataset.get("configs") or {}
    if not isinstance(configs, dict):
        raise fail(
            f"'dataset.configs' must be an object of config -> questions, got {type(configs).__name__}"
        )
    bad = [k for k, v in configs.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0]
    if bad:
        raise fail(f"'dataset.configs.{bad[0]}' must be a number of questions")
    general = dataset.get("general", GENERAL)
    if not isinstance(general, str):
        raise fail("'dataset.general' must be a string")
    revision = dataset.get("revision")
    created = data.get("created", "")
    if revision is not None and not isinstance(revision, str):
        raise fail("'dataset.revision' must be a string or null")
    protocol = data.get("protocol") or {
        "name": protocols.DEFAULT,
        "hash": protocols.named(protocols.DEFAULT).hash,
    }
    if not isinstance(protocol, dict) or not all(isinstance(protocol.get(k), str) for k in ("name", "hash")):
        raise fail("'protocol' must be an object with string 'name' and 'hash'")
    return Manifest(
        dataset_location=dataset["location"],
        dataset_fingerprint=dataset["fingerprint"],
        split=split,
        created=created if isinstance(created, str) else str(created),
        configs={str(k): int(v) for k, v in configs.items()},
        general=general,
        revision=revision,
        protocol=protocol["name"],
        protocol_hash=protocol["hash"],
    )


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

    def check_writable(self) -> None:  # noqa: B027 - optional: a store that can check early overrides it
        """Fail early (an InputError) where an entry could not be added; a remote store finds out when
        it commits."""

    @abstractmethod
    def add_entry(self, entry_id: str, files: dict[str, bytes]) -> None:
        """Store ``files`` (paths relative to the entry dir) as one new entry, all or nothing; an
        InputError when an entry with that id (the same duplicate key) is already there, checked
        atomically with the add (a lock for a local store, the parent commit on the hub)."""

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (a no-op where the backend needs none)."""
        yield

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
        where = f"{self.location}/{MANIFEST}"
        data = parse_json(raw, where)
        return manifest_from_json(data, where)

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
        protocol: str = protocols.DEFAULT,
    ) -> Manifest:
        """Write a fresh leaderboard.json (refuses to re-point an existing leaderboard); the general
        label and config names must follow the one name rule (mlqa_domain.configs); ``protocol`` is the
        one evaluation protocol it ranks."""
        check_names([], general, self.location)
        protocols.named(protocol)
        for name in configs:
            check_config_name(name, self.location)
        with self.locked():
            return self._initialise(
                dataset_location, fingerprint, split, configs, general, revision, protocol
            )

    def _initialise(
        self,
        dataset_location: str,
        fingerprint: str,
        split: str,
        configs: dict[str, int],
        general: str,
        revision: str | None,
        protocol: str = protocols.DEFAULT,
    ) -> Manifest:
        if self.is_initialised():
            current = self.manifest()
            if (current.dataset_fingerprint, current.split, current.protocol) == (
                fingerprint,
                split,
                protocol,
            ):
                return current
            raise InputError(
                f"already a leaderboard for dataset {current.dataset_location} "
                f"({current.dataset_fingerprint}, split {current.split}); use a new store",
                self.location,
            )
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        manifest = Manifest(
            dataset_location,
            fingerprint,
            split,
            created,
            dict(sorted(configs.items())),
            general,
            protocol=protocol,
            protocol_hash=protocols.named(protocol).hash,
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

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock on ``<root>/.lock`` (filelock: fcntl on POSIX), so that concurrent
        submits check and add one at a time."""
        from filelock import FileLock, Timeout

        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the leaderboard directory ({exc.strerror})", self.root) from None
        lock = FileLock(self.root / LOCK, timeout=LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except Timeout:
            raise InputError(
                f"the leaderboard is locked by another submit for over {LOCK_TIMEOUT_S:g} s", self.root / LOCK
            ) from None
        try:
            yield
        finally:
            lock.release()

    def check_writable(self) -> None:
        """The entries directory (or the nearest existing parent) takes a new file: not read-only."""
        check_writable(self.root / ENTRIES / "new-entry")

    def add_entry(self, entry_id: str, files: dict[str, bytes]) -> None:
        target = self.root / ENTRIES / entry_id
        with self.locked():
            if target.exists():
                raise InputError(
                    f"duplicate submission: entry {entry_id} is already on the leaderboard", target
                )
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

    def _commit(self, files: dict[str, bytes], message: str, entry_id: str | None = None) -> None:
        """One commit on top of the state last read; when someone committed in between (the hub
        refuses the parent commit), read again and retry, refusing a duplicate that has landed since."""
        for attempt in range(1, HUB_COMMIT_ATTEMPTS + 1):
            try:
                self._commit_once(files, message)
                return
            except ParentMoved as exc:
                if attempt == HUB_COMMIT_ATTEMPTS:
                    raise self._fail("commit to", exc) from None
                logger.info("%s: the hub leaderboard changed since it was read; retrying", self.location)
                self._head = None
                existing = self.list_files(ENTRIES)
                if entry_id is not None and f"{ENTRIES}/{entry_id}/entry.json" in existing:
                    raise InputError(
                        f"duplicate submission: entry {entry_id} is already on the leaderboard", self.location
                    ) from None

    def _commit_once(self, files: dict[str, bytes], message: str) -> None:
        from huggingface_hub import CommitOperationAdd
        from huggingface_hub.errors import HfHubHTTPError

        operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=data) for p, data in files.items()]
        try:
            self._api().create_commit(
                self.repo_id,
                operations=operations,
                commit_message=message,
                repo_type="dataset",
                revision=self.revision,
                parent_commit=self._head,  # fails if someone committed since we read: retried
            )
        except HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status in (409, 412) and self._head is not None:
                raise ParentMoved(first_line(exc)) from None
            raise self._fail("commit to", exc) from None
        except OSError as exc:
            raise self._fail("commit to", exc) from None

    def write_manifest(self, data: bytes) -> None:
        try:
            self._api().create_repo(self.repo_id, repo_type="dataset", exist_ok=True)
        except OSError as exc:
            raise self._fail("create", exc) from None
        self._commit({MANIFEST: data}, "Create leaderboard")

    def add_entry(self, entry_id: str, files: dict[str, bytes]) -> None:
        if f"{ENTRIES}/{entry_id}/entry.json" in self.list_files(ENTRIES):
            raise InputError(
                f"duplicate submission: entry {entry_id} is already on the leaderboard", self.location
            )
        prefixed = {f"{ENTRIES}/{entry_id}/{rel}": data for rel, data in files.items()}
        self._commit(prefixed, f"Add leaderboard entry {entry_id}", entry_id)


class ParentMoved(Exception):
    """The hub refused a commit because the branch moved past the parent commit it was made on."""


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
