"""Do two revisions of mlqa-domain write the same bytes? Run one fixed set of commands with each and diff.

    python scripts/compare_outputs.py --baseline adddcd5            # that commit against the work tree
    python scripts/compare_outputs.py --baseline A --candidate B    # two commits
    python scripts/compare_outputs.py --baseline A --keep /tmp/out  # keep both output trees

Each revision is checked out into one temporary path (a git worktree; the work tree is copied) and run
with ``PYTHONPATH`` pointing at it, writing into one output path, so that both revisions record the same
paths (the same virtual environment for both). The commands:

1. ``python -m mlqa_domain.demo`` (build with the mlqa-official source, train-classifier, audit, two
   tiny ``bench stilts`` runs that end in ``bench run``, leaderboard init/submit/render);
2. where ``../shared`` has them: a build of the real German dev set, ``bench import`` of both real
   mBERT answer sets, ``bench compare`` of the two, and a ``squad-parallel`` build of the first 300
   paragraphs of SQuAD v1.1 train (the English head's route).

Every output file is compared byte for byte, except JSON files whose differences are only in fields
that hold wall-clock time (``created``, ``timings``, ``train_runtime`` and the like), which are
compared with those fields removed, pages and text files, compared with ISO-8601 times masked, and
``DONE`` markers, which hold only a time. A difference prints the
file and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared" / "data"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# fields whose values are wall-clock readings; everything else must match exactly
CLOCK_FIELDS = {
    "created",
    "timings",
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "seconds",
    "submitted",
    "generated",
    "date",
    "total_flos",
    "run_created",
    "verified_at",
}
# a wall-clock time written into a page or a text file (ISO 8601, to the minute or finer)
TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}| UTC)?")
# files that hold nothing but a wall-clock time (a phase's DONE marker)
CLOCK_FILES = {"DONE"}
FILTERS = "text_clean: {}\nanswer_span: {}\nlength: {}\nexact_dedup: {}\n"


def checkout(revision: str, where: Path) -> None:
    """The files of ``revision`` at ``where``: a git worktree, or for ``WORKTREE`` a copy of the work tree
    (tracked and untracked files that git does not ignore)."""
    if revision != "WORKTREE":
        subprocess.run(
            ["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(where), revision],
            check=True,
            capture_output=True,
        )
        return
    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = REPO_ROOT / rel
        if source.is_file():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / rel)


def remove_checkout(where: Path) -> None:
    """Undo :func:`checkout`."""
    subprocess.run(
        ["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(where)],
        check=False,
        capture_output=True,
    )
    shutil.rmtree(where, ignore_errors=True)


def commands(out: Path, inputs: Path) -> list[list[str]]:
    """The fixed command list, writing under ``out``; shared inputs are read from ``inputs``."""
    py = sys.executable
    mlqa, bench = [py, "-m", "mlqa_domain.cli"], [py, "-m", "mlqa_domain.bench_cli"]
    runs = [[py, "-m", "mlqa_domain.demo", "--out", str(out / "demo"), "--embedding-model", MODEL]]
    de_dev = SHARED / "mlqa-de-dev"
    if (de_dev / "mlqa.de.de.validation.jsonl").is_file():
        common = ["--embedding-model", MODEL, "--cache-dir", str(out / "cache")]
        runs.append(
            [
                *mlqa,
                "build",
                "--source",
                str(de_dev / "mlqa.de.de.validation.jsonl"),
                "--out",
                str(out / "de"),
            ]
            + [*common, "--filters", str(inputs / "filters.yaml")]
        )
        for name in ("mbert-german-mlqa", "mbert-translated-squad"):
            runs.append(
                [*bench, "import", str(inputs / name), "--data", str(out / "de"), "--split", "validation"]
                + ["--model-id", name, "--out", str(out / "import" / name)]
            )
        runs.append(
            [*bench, "compare", str(out / "import" / "mbert-translated-squad")]
            + [str(out / "import" / "mbert-german-mlqa"), "--out", str(out / "compare" / "compare.json")]
        )
    if (SHARED / "squad-v1.1-train" / "train-v1.1.json").is_file():
        runs.append(
            [*mlqa, "build", "--source", str(inputs / "squad300.json"), "--out", str(out / "squad")]
            + ["--embedding-model", MODEL, "--cache-dir", str(out / "cache")]
            + ["--context-language", "en", "--question-language", "en", "--split", "test"]
        )
    return runs


def prepare_inputs(inputs: Path) -> None:
    """Shared inputs both revisions read: filters, answer dirs, the SQuAD subset."""
    inputs.mkdir(parents=True, exist_ok=True)
    (inputs / "filters.yaml").write_text(FILTERS, "utf-8")
    predictions = SHARED / "mlqa-de-dev" / "predictions"
    for name in ("mbert-german-mlqa", "mbert-translated-squad"):
        if (predictions / f"{name}.json").is_file():
            (inputs / name).mkdir(exist_ok=True)
            shutil.copyfile(predictions / f"{name}.json", inputs / name / "all.de.json")
    if (SHARED / "squad-v1.1-train" / "train-v1.1.json").is_file():
        sys.path.insert(0, str(REPO_ROOT / "perf"))
        from bench_build_speed import subset  # the speed script's first-N-paragraphs subset

        subset(SHARED / "squad-v1.1-train" / "train-v1.1.json", 300, inputs / "squad300.json")


def run_revision(code: Path, out: Path, inputs: Path) -> None:
    """Every command with ``code`` first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "MLQA_DOMAIN_NO_PROGRESS": "1"}
    env["HF_DATASETS_CACHE"] = str(out / "hf-datasets-cache")
    for command in commands(out, inputs):
        print("$", " ".join(command[2:]), flush=True)
        done = subprocess.run(command, env=env, cwd=out, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(
                f"failed (exit {done.returncode}) in {code}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
            )


def without_clock(value: object) -> object:
    """``value`` with every wall-clock field removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items() if k not in CLOCK_FIELDS}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value


def same_file(a: Path, b: Path) -> bool:
    """Byte-equal, or JSON equal once wall-clock fields are removed."""
    left, right = a.read_bytes(), b.read_bytes()
    if left == right or a.name in CLOCK_FILES:
        return True
    if a.suffix in (".html", ".md", ".csv", ".txt"):
        return TIMESTAMP.sub(b"<time>", left) == TIMESTAMP.sub(b"<time>", right)
    if a.suffix not in (".json", ".jsonl"):
        return False
    try:
        if a.suffix == ".json":
            return without_clock(json.loads(left)) == without_clock(json.loads(right))
        lines = zip(left.splitlines(), right.splitlines(), strict=True)
        return all(without_clock(json.loads(x)) == without_clock(json.loads(y)) for x, y in lines)
    except (ValueError, UnicodeDecodeError):
        return False


IGNORED_PARTS = {"cache", ".cache", "hf-datasets-cache", "checkpoints", "__pycache__"}


def output_files(root: Path) -> dict[str, Path]:
    """Every file under ``root`` but caches and intermediate checkpoints, by relative path."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not IGNORED_PARTS.intersection(rel.parts) and "checkpoint-" not in str(rel):
            files[str(rel)] = path
    return files


def compare_trees(a: Path, b: Path) -> list[str]:
    """What differs between two output trees (missing files, differing files)."""
    left, right = output_files(a), output_files(b)
    problems = [f"only in baseline: {p}" for p in sorted(left.keys() - right.keys())]
    problems += [f"only in candidate: {p}" for p in sorted(right.keys() - left.keys())]
    for rel in sorted(left.keys() & right.keys()):
        if not same_file(left[rel], right[rel]):
            digest = [hashlib.sha256(x.read_bytes()).hexdigest()[:12] for x in (left[rel], right[rel])]
            problems.append(f"differs: {rel} ({digest[0]} vs {digest[1]})")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a git revision")
    parser.add_argument("--candidate", default="WORKTREE", help="a git revision (default: the work tree)")
    parser.add_argument("--keep", type=Path, help="write both output trees here and keep them")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="compare-outputs-"))
    root = args.keep or tmp
    # both revisions run from the same code path into the same output path, since outputs record paths
    code, run_dir = tmp / "code", root / "run"
    try:
        prepare_inputs(root / "inputs")
        for label, revision in (("baseline", args.baseline), ("candidate", args.candidate)):
            checkout(revision, code)
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir(parents=True)
            print(f"== {label}: {revision}", flush=True)
            run_revision(code, run_dir, root / "inputs")
            remove_checkout(code)
            shutil.rmtree(root / label, ignore_errors=True)
            run_dir.rename(root / label)
        problems = compare_trees(root / "baseline", root / "candidate")
        count = len(output_files(root / "baseline"))
        for line in problems:
            print(line)
        print(f"{count} output files compared: {'identical' if not problems else f'{len(problems)} differ'}")
        sys.exit(1 if problems else 0)
    finally:
        remove_checkout(code)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
