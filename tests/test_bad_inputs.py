"""A table of bad inputs across `mlqa-domain build`, `bench run`, `bench stilts`, `bench submit` and
`bench leaderboard render`: each must exit with status 2, print one line that names the file or option
at fault, and write or change nothing.

The commands run in-process through the CLIs' own ``run_app`` (the exit status and stderr a user sees),
on a tiny dataset repo, a leaderboard and a results dir made once per module. Faults of the filesystem
(full, read-only) are injected as the OSError it would raise (:mod:`tests.fixtures.faults`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.cli import run_console
from tests.fixtures.faults import inject_os_error
from tests.fixtures.leaderboard import factory

DEMO_MLQA = Path(__file__).resolve().parents[1] / "mlqa_domain" / "data" / "demo" / "MLQA_V1"
TAXONOMY = "domains:\n  legal:\n    description: law\n    threshold: 0.3\n"


@dataclass
class World:
    """What a case may use: ``tmp`` (fresh, watched), the dataset ``repo``, a leaderboard ``board`` and
    a results dir ``results`` (copies in ``tmp``, so they are watched too)."""

    tmp: Path
    repo: Path
    board: Path
    results: Path
    model: Path  # a real (tiny) QA checkpoint
    sbert: Path  # a tiny sentence-transformers model, for builds that get as far as labelling

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        return path

    def repo_copy(self) -> Path:
        out = self.tmp / "repo-copy"
        shutil.copytree(self.repo, out)
        return out

    def edit_json(self, path: Path, change: Callable[[dict], object]) -> Path:
        data = json.loads(path.read_text("utf-8"))
        data = change(data) or data
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        return path


@dataclass
class Case:
    id: str
    cli: str  # "build" (mlqa-domain) or "bench"
    args: Callable[[World], list[str]]  # may prepare files in world.tmp first
    names: Callable[[World], str]  # what the one error line must name (a file or an option)
    # a fault of the environment, set up before the command runs (cwd, an injected OSError)
    prepare: Callable[[pytest.MonkeyPatch, World], object] | None = None
    may_write: tuple[str, ...] = ()  # paths under world.tmp a command may fill first (disposable caches)


def _build(w: World, *extra: str, taxonomy: Path | None = None) -> list[str]:
    args = ["build", "--source", str(DEMO_MLQA), "--out", str(w.tmp / "out"), "--cache-dir", str(w.tmp / "c")]
    if taxonomy is not None:
        args += ["--taxonomy", str(taxonomy)]
    return [*args, *extra]


def _fast_build(
    w: World, *extra: str, source: Path | str = DEMO_MLQA, out: Path | str | None = None
) -> list[str]:
    """A build that gets far (labelling with the tiny model on torch) before it fails."""
    out = w.tmp / "out" if out is None else out
    return [
        "build",
        "--source",
        str(source),
        "--out",
        str(out),
        "--cache-dir",
        str(w.tmp / "c"),
        "--embedding-model",
        str(w.sbert),
        "--embedding-backend",
        "torch",
        *extra,
    ]


def _mlqa_file(w: World, change: Callable[[str], str]) -> Path:
    """One MLQA pair file (en/en dev) whose JSON text ``change`` rewrote."""
    text = (DEMO_MLQA / "dev" / "dev-context-en-question-en.json").read_text("utf-8")
    path = w.tmp / "mlqa" / "dev-context-en-question-en.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(change(text), "utf-8")
    return path


def _duplicate_data_key(text: str) -> str:
    """``{"data": [A], "data": [B], ...}``: the first article list, then the second one under one key."""
    document = json.loads(text)
    first, rest = document["data"][:1], document["data"][1:]
    others = json.dumps({k: v for k, v in document.items() if k != "data"})[1:-1]
    return f'{{"data": {json.dumps(first)}, "data": {json.dumps(rest)}, {others}}}'


def _lone_surrogate(text: str) -> str:
    document = json.loads(text)
    paragraph = document["data"][0]["paragraphs"][0]
    paragraph["context"] = paragraph["context"] + " \ud83d"  # a lone high surrogate
    return json.dumps(document)  # ASCII: the surrogate is written as the escape \\ud83d


MEMBER = "MLQA_V1/dev/dev-context-de-question-de.json"


def _demo_zip(w: World, deflated: Callable[[str, bytes], bytes] = lambda name, data: data) -> Path:
    """The demo MLQA_V1 as a zip (deflated); ``deflated`` may change a member's bytes before writing."""
    path = w.tmp / "MLQA_V1.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(DEMO_MLQA.rglob("*.json")):
            name = f"MLQA_V1/{file.relative_to(DEMO_MLQA).as_posix()}"
            archive.writestr(name, deflated(name, file.read_bytes()))
    return path


def _corrupt_member(w: World) -> Path:
    """A zip whose member's compressed bytes zlib cannot inflate (not a CRC mismatch: a zlib.error)."""
    path = _demo_zip(w)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(MEMBER)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start] = 0xFF  # the first deflate block's header: BTYPE 11, which zlib refuses (a zlib.error)
    path.write_bytes(bytes(data))
    return path


def _zip_bomb(w: World) -> Path:
    """A zip whose German member is valid JSON followed by 2 MiB of spaces (inflating over 100:1)."""
    return _demo_zip(w, lambda name, data: data + b" " * (2 * 1024 * 1024) if name == MEMBER else data)


def _chdir_empty(monkeypatch: pytest.MonkeyPatch, w: World) -> None:
    (w.tmp / "empty").mkdir()
    monkeypatch.chdir(w.tmp / "empty")


def _not_utf8(w: World, name: str) -> str:
    """``name`` with a byte that is no UTF-8 (as Python hands such an argument over: a lone surrogate)."""
    return os.fsdecode(os.fsencode(str(w.tmp / name)) + b"-\xff")


def _read_only(sub: str) -> Callable[[pytest.MonkeyPatch, World], None]:
    """Everything under ``world.tmp / sub`` (made first) is on a read-only filesystem."""

    def prepare(monkeypatch: pytest.MonkeyPatch, w: World) -> None:
        (w.tmp / sub).mkdir(parents=True, exist_ok=True)
        inject_os_error(monkeypatch, w.tmp / sub, errno.EROFS)

    return prepare


def _board_read_only(monkeypatch: pytest.MonkeyPatch, w: World) -> None:
    inject_os_error(monkeypatch, w.board / "entries", errno.EROFS)


def _disk_full(sub: str, match: Callable[[Path], bool]) -> Callable[[pytest.MonkeyPatch, World], None]:
    """Writes of the files ``match`` accepts under ``world.tmp / sub`` fail: the disk is full."""

    def prepare(monkeypatch: pytest.MonkeyPatch, w: World) -> None:
        (w.tmp / sub).mkdir(parents=True, exist_ok=True)
        inject_os_error(monkeypatch, w.tmp / sub, errno.ENOSPC, match)

    return prepare


def _temp_database_full(monkeypatch: pytest.MonkeyPatch, w: World) -> None:
    """A build's temporary SQLite databases (the pivot store, exact_dedup's keys) hold 16 pages at most:
    SQLite fails to write them as on a full disk (SQLITE_FULL)."""
    connect = sqlite3.connect

    def small(database, *args, **kwargs):
        connection = connect(database, *args, **kwargs)
        if database == "":
            connection.execute("PRAGMA max_page_count = 16")
        return connection

    monkeypatch.setattr(sqlite3, "connect", small)


def _tax(w: World, text: str) -> list[str]:
    return _build(w, taxonomy=w.write("tax.yaml", text))


def _run(w: World, *extra: str, data: Path | None = None, model: str | None = None) -> list[str]:
    model = model or str(w.model)
    return ["run", "--model", model, "--data", str(data or w.repo), "--out", str(w.tmp / "res"), *extra]


def _stilts(w: World, *extra: str) -> list[str]:
    return ["stilts", "--base", "xlm-roberta-base", "--out", str(w.tmp / "run"), *extra]


def _submit(w: World, results: Path | None = None, board: Path | None = None, *extra: str) -> list[str]:
    return [
        "submit",
        str(results or w.results),
        "--leaderboard",
        str(board or w.board),
        "--submitter",
        "ana",
        *extra,
    ]


def _render(w: World, board: Path | None = None, *extra: str) -> list[str]:
    return [
        "leaderboard",
        "render",
        "--leaderboard",
        str(board or w.board),
        "--out",
        str(w.tmp / "site"),
        *extra,
    ]


def _manifest(w: World, change: Callable[[dict], object]) -> Path:
    w.edit_json(w.board / "leaderboard.json", change)
    return w.board


def _results(w: World, change: Callable[[dict], object]) -> Path:
    w.edit_json(w.results / "results.json", change)
    return w.results


def _parquet(w: World, config: str = "legal.de") -> Path:
    return next((w.repo / "data" / config).glob("test*.parquet"))


def _repo_with(w: World, change: Callable[[Path], object]) -> Path:
    repo = w.repo_copy()
    change(repo)
    return repo


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _swap(repo: Path) -> None:
    a, b = next((repo / "data" / "legal.de").glob("test*")), next((repo / "data" / "legal.es").glob("test*"))
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)


def _rename_config(repo: Path) -> None:
    (repo / "data" / "legal.de").rename(repo / "data" / "légal.de")
    info = json.loads((repo / "build_info.json").read_text("utf-8"))
    info["configs"]["légal.de"] = info["configs"].pop("legal.de")
    (repo / "build_info.json").write_text(json.dumps(info, ensure_ascii=False), "utf-8")
    readme = (repo / "README.md").read_text("utf-8").replace("legal.de", "légal.de")
    (repo / "README.md").write_text(readme, "utf-8")


def _tax_path(w: World) -> str:
    return str(w.tmp / "tax.yaml")


CASES = [
    # -- mlqa-domain build ------------------------------------------------------------------------------
    Case(
        "build-missing-source",
        "build",
        lambda w: _build(w)[:2] + [str(w.tmp / "nope")] + _build(w)[3:],
        lambda w: str(w.tmp / "nope"),
    ),
    Case(
        "build-missing-taxonomy",
        "build",
        lambda w: _build(w, taxonomy=w.tmp / "none.yaml"),
        lambda w: str(w.tmp / "none.yaml"),
    ),
    Case("build-taxonomy-bad-yaml", "build", lambda w: _tax(w, "domains: ["), _tax_path),
    Case("build-taxonomy-not-mapping", "build", lambda w: _tax(w, "- legal\n"), _tax_path),
    Case("build-taxonomy-general-all", "build", lambda w: _tax(w, "general: all\n" + TAXONOMY), _tax_path),
    Case(
        "build-taxonomy-general-is-domain",
        "build",
        lambda w: _tax(w, "general: legal\n" + TAXONOMY),
        _tax_path,
    ),
    Case(
        "build-taxonomy-non-ascii-domain",
        "build",
        lambda w: _tax(w, "domains:\n  légal:\n    description: x\n    threshold: 0.3\n"),
        _tax_path,
    ),
    Case(
        "build-taxonomy-domain-all",
        "build",
        lambda w: _tax(w, "domains:\n  all:\n    description: x\n    threshold: 0.3\n"),
        _tax_path,
    ),
    Case(
        "build-taxonomy-threshold-nan",
        "build",
        lambda w: _tax(w, "domains:\n  legal:\n    description: x\n    threshold: .nan\n"),
        _tax_path,
    ),
    Case(
        "build-taxonomy-threshold-above-1",
        "build",
        lambda w: _tax(w, "domains:\n  legal:\n    description: x\n    threshold: 7\n"),
        _tax_path,
    ),
    Case(
        "build-taxonomy-delta-negative",
        "build",
        lambda w: _tax(w, "classification: {delta: -0.5}\n" + TAXONOMY),
        _tax_path,
    ),
    Case("build-taxonomy-unknown-key", "build", lambda w: _tax(w, "colour: red\n" + TAXONOMY), _tax_path),
    Case(
        "build-missing-filters",
        "build",
        lambda w: _build(w, "--filters", str(w.tmp / "f.yaml")),
        lambda w: str(w.tmp / "f.yaml"),
    ),
    Case(
        "build-filters-bad-yaml",
        "build",
        lambda w: _build(w, "--filters", str(w.write("f.yaml", "a: ["))),
        lambda w: str(w.tmp / "f.yaml"),
    ),
    Case(
        "build-filters-unknown-filter",
        "build",
        lambda w: _build(w, "--filters", str(w.write("f.yaml", "answer_spam: {}\n"))),
        lambda w: "answer_spam",
    ),
    Case(
        "build-filters-unknown-option",
        "build",
        lambda w: _build(w, "--filters", str(w.write("f.yaml", "length: {max_widgets: 3}\n"))),
        lambda w: "max_widgets",
    ),
    Case(
        "build-out-is-a-file",
        "build",
        lambda w: _build(w)[:4] + [str(w.write("out-file", "x"))] + _build(w)[5:],
        lambda w: str(w.tmp / "out-file"),
    ),
    Case(
        "build-out-not-a-build",
        "build",
        lambda w: (w.write("out/notes.txt", "mine"), _build(w))[1],
        lambda w: str(w.tmp / "out"),
    ),
    Case("build-unknown-language", "build", lambda w: _build(w, "--languages", "de,xx"), lambda w: "xx"),
    Case(
        "build-unknown-backend", "build", lambda w: _build(w, "--embedding-backend", "tpu"), lambda w: "tpu"
    ),
    Case(
        "build-missing-embedding-model",
        "build",
        lambda w: _build(w, "--embedding-model", str(w.tmp / "no-model")),
        lambda w: str(w.tmp / "no-model"),
    ),
    Case(
        "build-missing-contamination-file",
        "build",
        lambda w: _build(w, "--contamination", str(w.tmp / "cuad.json")),
        lambda w: str(w.tmp / "cuad.json"),
    ),
    # -- bench run ---------------------------------------------------------------------------------------
    Case(
        "run-missing-data",
        "bench",
        lambda w: _run(w, data=w.tmp / "nowhere"),
        lambda w: str(w.tmp / "nowhere"),
    ),
    Case(
        "run-data-is-a-file",
        "bench",
        lambda w: _run(w, data=w.write("data.txt", "x")),
        lambda w: str(w.tmp / "data.txt"),
    ),
    Case("run-unknown-config", "bench", lambda w: _run(w, "--configs", "legal.xx"), lambda w: "--configs"),
    Case("run-unknown-split", "bench", lambda w: _run(w, "--split", "train"), lambda w: "train"),
    Case("run-zero-batch-size", "bench", lambda w: _run(w, "--batch-size", "0"), lambda w: "--batch-size"),
    Case(
        "run-stride-not-below-length",
        "bench",
        lambda w: _run(w, "--max-seq-length", "128", "--doc-stride", "128"),
        lambda w: "--doc-stride",
    ),
    Case("run-unknown-precision", "bench", lambda w: _run(w, "--precision", "fp8"), lambda w: "fp8"),
    Case(
        "run-missing-model",
        "bench",
        lambda w: _run(w, model=str(w.tmp / "no-model")),
        lambda w: str(w.tmp / "no-model"),
    ),
    Case(
        "run-config-name-breaks-the-rule",
        "bench",
        lambda w: _run(w, data=_repo_with(w, _rename_config)),
        lambda w: "légal.de",
    ),
    Case(
        "run-truncated-parquet",
        "bench",
        lambda w: _run(w, data=_repo_with(w, lambda r: _truncate(next((r / "data/legal.de").glob("test*"))))),
        lambda w: "legal.de",
    ),
    Case("run-swapped-parquet", "bench", lambda w: _run(w, data=_repo_with(w, _swap)), lambda w: "legal."),
    Case(
        "run-deleted-parquet",
        "bench",
        lambda w: _run(w, data=_repo_with(w, lambda r: next((r / "data/legal.de").glob("test*")).unlink())),
        lambda w: "legal.de",
    ),
    # -- bench stilts ------------------------------------------------------------------------------------
    Case(
        "stilts-unknown-intermediate",
        "bench",
        lambda w: _stilts(w, "--intermediate", "mnlx"),
        lambda w: "mnlx",
    ),
    Case("stilts-unknown-target", "bench", lambda w: _stilts(w, "--target", "squat"), lambda w: "squat"),
    Case("stilts-unknown-recipe", "bench", lambda w: _stilts(w, "--recipe", "xtrem"), lambda w: "xtrem"),
    Case(
        "stilts-missing-task-config",
        "bench",
        lambda w: _stilts(w, "--task-config", str(w.tmp / "task.yaml")),
        lambda w: str(w.tmp / "task.yaml"),
    ),
    Case("stilts-bad-seeds", "bench", lambda w: _stilts(w, "--seeds", "1,x"), lambda w: "--seeds"),
    Case(
        "stilts-missing-eval-data",
        "bench",
        lambda w: _stilts(w, "--eval-data", str(w.tmp / "nowhere")),
        lambda w: str(w.tmp / "nowhere"),
    ),
    Case(
        "stilts-task-file-missing-data",
        "bench",
        lambda w: _stilts(w, "--intermediate", f"mnli={w.tmp / 'mnli.jsonl'}"),
        lambda w: str(w.tmp / "mnli.jsonl"),
    ),
    # -- bench submit ------------------------------------------------------------------------------------
    Case(
        "submit-missing-results",
        "bench",
        lambda w: _submit(w, w.tmp / "nothing"),
        lambda w: str(w.tmp / "nothing"),
    ),
    Case(
        "submit-results-bad-json",
        "bench",
        lambda w: ((w.results / "results.json").write_text("{", "utf-8"), _submit(w))[1],
        lambda w: str(w.results / "results.json"),
    ),
    Case(
        "submit-uninitialised-leaderboard",
        "bench",
        lambda w: _submit(w, board=w.tmp / "empty"),
        lambda w: str(w.tmp / "empty"),
    ),
    Case(
        "submit-bad-hub-location",
        "bench",
        lambda w: _submit(w, board="hf://models/x"),
        lambda w: "hf://models/x",
    ),
    Case(
        "submit-config-name-breaks-the-rule",
        "bench",
        lambda w: _submit(
            w, _results(w, lambda r: r["configs"].__setitem__("légal.de", r["configs"].pop("legal.de")))
        ),
        lambda w: "légal.de",
    ),
    Case(
        "submit-predictions-missing",
        "bench",
        lambda w: ((w.results / "predictions" / "legal.de.json").unlink(), _submit(w))[1],
        lambda w: "legal.de",
    ),
    Case(
        "submit-manifest-configs-a-list",
        "bench",
        lambda w: _submit(w, board=_manifest(w, lambda m: m["dataset"].__setitem__("configs", ["legal.de"]))),
        lambda w: "leaderboard.json",
    ),
    # -- bench leaderboard render ------------------------------------------------------------------------
    Case(
        "render-not-a-leaderboard",
        "bench",
        lambda w: _render(w, w.tmp / "empty"),
        lambda w: str(w.tmp / "empty"),
    ),
    Case(
        "render-manifest-bad-json",
        "bench",
        lambda w: ((w.board / "leaderboard.json").write_text("{", "utf-8"), _render(w))[1],
        lambda w: "leaderboard.json",
    ),
    Case(
        "render-manifest-configs-a-list",
        "bench",
        lambda w: _render(w, _manifest(w, lambda m: m["dataset"].__setitem__("configs", ["legal.de"]))),
        lambda w: "leaderboard.json",
    ),
    Case(
        "render-manifest-a-list",
        "bench",
        lambda w: _render(w, _manifest(w, lambda m: [m])),
        lambda w: "leaderboard.json",
    ),
    Case(
        "render-manifest-dataset-a-string",
        "bench",
        lambda w: _render(w, _manifest(w, lambda m: m.__setitem__("dataset", "mlqa"))),
        lambda w: "leaderboard.json",
    ),
    Case(
        "render-manifest-no-fingerprint",
        "bench",
        lambda w: _render(w, _manifest(w, lambda m: m["dataset"].pop("fingerprint"))),
        lambda w: "leaderboard.json",
    ),
    Case(
        "submit-manifest-count-a-string",
        "bench",
        lambda w: _submit(
            w, board=_manifest(w, lambda m: m["dataset"]["configs"].__setitem__("legal.de", "six"))
        ),
        lambda w: "leaderboard.json",
    ),
    Case(
        "render-out-is-a-file",
        "bench",
        lambda w: _render(w)[:5] + [str(w.write("site", "x"))],
        lambda w: str(w.tmp / "site"),
    ),
    Case(
        "render-unknown-baseline",
        "bench",
        lambda w: _render(w, None, "--baseline", "org/nobody"),
        lambda w: "org/nobody",
    ),
    # -- round 2 (issue 20): hostile inputs and faults of the environment -------------------------------
    Case(
        "build-source-duplicate-key",
        "build",
        lambda w: _fast_build(w, source=_mlqa_file(w, _duplicate_data_key)),
        lambda w: str(w.tmp / "mlqa" / "dev-context-en-question-en.json"),
    ),
    Case(
        "build-source-lone-surrogate",
        "build",
        lambda w: _fast_build(w, source=_mlqa_file(w, _lone_surrogate)),
        lambda w: str(w.tmp / "mlqa" / "dev-context-en-question-en.json"),
    ),
    Case(
        "build-zip-corrupt-member",
        "build",
        lambda w: _fast_build(w, source=_corrupt_member(w)),
        lambda w: f"{w.tmp / 'MLQA_V1.zip'}:{MEMBER}",
    ),
    Case(
        "build-zip-bomb",
        "build",
        lambda w: _fast_build(w, source=_zip_bomb(w)),
        lambda w: f"{w.tmp / 'MLQA_V1.zip'}:{MEMBER}",
    ),
    Case("build-out-dot", "build", lambda w: _fast_build(w, out="."), lambda w: ".", prepare=_chdir_empty),
    Case("build-out-empty", "build", lambda w: _fast_build(w, out=""), lambda w: ".", prepare=_chdir_empty),
    Case("build-out-not-utf8", "build", lambda w: _fast_build(w, out=_not_utf8(w, "out")), lambda w: "--out"),
    Case(
        "build-read-only",
        "build",
        lambda w: _fast_build(w, out=w.tmp / "ro" / "out"),
        lambda w: str(w.tmp / "ro"),
        prepare=_read_only("ro"),
    ),
    Case(
        "build-disk-full",
        "build",
        lambda w: _fast_build(w, out=w.tmp / "full" / "out"),
        lambda w: str(w.tmp / "full" / "out"),
        prepare=_disk_full("full", lambda p: p.suffix == ".parquet"),
        may_write=("c",),
    ),
    Case(
        "build-temp-database-full",
        "build",
        _fast_build,
        lambda w: f"temporary files go to {tempfile.gettempdir()}",
        prepare=_temp_database_full,
        may_write=("c",),
    ),
    Case(
        "run-read-only",
        "bench",
        lambda w: [*_run(w)[:-2], "--out", str(w.tmp / "ro" / "res")],
        lambda w: str(w.tmp / "ro"),
        prepare=_read_only("ro"),
    ),
    Case(
        "run-model-id-not-utf8",
        "bench",
        lambda w: _run(w, "--model-id", os.fsdecode(b"org/tiny-\xff")),
        lambda w: "--model-id",
    ),
    Case(
        "stilts-seeds-superscript", "bench", lambda w: _stilts(w, "--seeds", "1,\u00b2"), lambda w: "--seeds"
    ),
    Case(
        "stilts-seeds-too-large",
        "bench",
        lambda w: _stilts(w, "--seeds", "99999999999999999999"),
        lambda w: "--seeds",
    ),
    Case("stilts-seeds-negative", "bench", lambda w: _stilts(w, "--seeds", "-5"), lambda w: "--seeds"),
    Case("stilts-seed-negative", "bench", lambda w: _stilts(w, "--seed=-5"), lambda w: "--seed"),
    Case(
        "submit-read-only",
        "bench",
        lambda w: _submit(w),
        lambda w: str(w.board / "entries"),
        prepare=_board_read_only,
    ),
    Case(
        "submit-disk-full",
        "bench",
        lambda w: _submit(w),
        lambda w: str(w.board / "entries"),
        prepare=lambda m, w: inject_os_error(
            m, w.board / "entries", errno.ENOSPC, lambda p: p.suffix == ".json"
        ),
    ),
    Case(
        "render-read-only",
        "bench",
        lambda w: [*_render(w)[:-1], str(w.tmp / "ro" / "site")],
        lambda w: str(w.tmp / "ro"),
        prepare=_read_only("ro"),
    ),
    Case(
        "render-disk-full",
        "bench",
        lambda w: [*_render(w)[:-1], str(w.tmp / "full" / "site")],
        lambda w: str(w.tmp / "full" / "site"),
        prepare=_disk_full("full", lambda p: p.suffix == ".html"),
    ),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    from mlqa_domain.leaderboard.dataset_info import init_leaderboard
    from mlqa_domain.leaderboard.store import LocalStore
    from mlqa_domain.leaderboard.verify import submit

    root = tmp_path_factory.mktemp("bad-inputs")
    repo = factory.build_dataset_repo(root / "mlqa-domain")
    gold = factory.load_gold(repo)
    board = root / "board"
    init_leaderboard(LocalStore(board), repo)
    first = factory.write_results_dir(root / "first", repo, gold, "org/first", 0.5)
    submit(first, LocalStore(board), submitter="ana")
    results = factory.write_results_dir(root / "results", repo, gold, "org/second", 0.7)
    return repo, board, results


def snapshot(root: Path, ignore: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every path under ``root`` (hidden ones too): files with their bytes, directories as None; paths
    in or under ``ignore`` left out."""
    paths = (p for p in sorted(root.rglob("*")) if p.relative_to(root).parts[0] not in ignore)
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in paths}


def invoke(cli: str, args: list[str], capsys, monkeypatch) -> tuple[int, str]:
    """Run a CLI as its console script does; (exit status, stderr)."""
    code, _, err = run_console("bench" if cli != "build" else "mlqa-domain", args, capsys, monkeypatch)
    return code, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case, shared, tiny_xlmr, tiny_sbert, tmp_path, capsys, monkeypatch
):
    repo, board, results = shared
    w = World(tmp_path, repo, tmp_path / "board", tmp_path / "results", tiny_xlmr, tiny_sbert)
    shutil.copytree(board, w.board)
    shutil.copytree(results, w.results)
    args = case.args(w)
    if case.prepare is not None:
        case.prepare(monkeypatch, w)
    before, repo_before = snapshot(tmp_path, case.may_write), snapshot(repo)
    code, err = invoke(case.cli, args, capsys, monkeypatch)
    monkeypatch.undo()  # the injected faults end with the command
    lines = [line for line in err.splitlines() if line.strip()]
    if case.may_write:  # it got far: its progress log comes first, the error is the last line
        lines = (
            [line for line in lines if line.startswith("error:")] if lines[-1].startswith("error:") else lines
        )
    assert code == 2, err
    assert len(lines) == 1, err
    assert case.names(w) in lines[0], lines[0]
    assert "Traceback" not in err
    assert snapshot(tmp_path, case.may_write) == before, "something was written or changed"
    assert snapshot(repo) == repo_before


def test_the_matrix_is_large_enough():
    assert len(CASES) >= 75
    assert {c.args.__name__ for c in CASES}  # every case builds its own arguments
    families = {c.id.split("-")[0] for c in CASES}
    assert families == {"build", "run", "stilts", "submit", "render"}
