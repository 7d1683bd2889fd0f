#!/usr/bin/env python
"""Generate the demo MLQA v1 layout from the hand-written parallel source and validate the demo task files.

Usage::

    python scripts/make_demo_data.py            # rewrite mlqa_domain/data/demo/MLQA_V1
    python scripts/make_demo_data.py --check    # exit 1 if the committed layout is out of date

The source (``parallel_source.json``) holds one item per parallel question with a title, context,
question and answer in each demo language. From it this script writes the official MLQA v1 layout,
``{dev,test}/{split}-context-{c}-question-{q}.json`` for every pair of demo languages, in SQuAD v1
format. ``answer_start`` is found with ``str.find``; an answer that is missing from its context, or
that occurs more than once without an explicit ``answer_occurrence``, stops the script.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import typer

from mlqa_domain.atomic import atomic_dir
from mlqa_domain.cli_utils import run_app
from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import iter_jsonl, read_json

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO_ROOT / "mlqa_domain" / "data" / "demo"
SOURCE_PATH = DEMO_DIR / "parallel_source.json"
LAYOUT_DIR = DEMO_DIR / "MLQA_V1"
TASKS_DIR = DEMO_DIR / "tasks"
AUDIT_PATH = DEMO_DIR / "audit_labels.jsonl"
DOMAIN_TRAIN_PATH = DEMO_DIR / "domain_train.txt"

DEMO_LANGUAGES: tuple[str, ...] = ("en", "de", "es", "zh")
MLQA_SPLITS: tuple[str, ...] = ("dev", "test")
DOMAINS: tuple[str, ...] = ("biomedical", "legal", "finance", "science", "general")
ITEM_TEXT_FIELDS: tuple[str, ...] = ("title", "context", "question", "answer")
SHA1_HEX = re.compile(r"^[0-9a-f]{40}$")

MNLI_LABELS = {0: "entailment", 1: "neutral", 2: "contradiction"}
PUBMEDQA_DECISIONS = ("yes", "no", "maybe")


# --------------------------------------------------------------------------- parallel source


def find_answer_start(context: str, answer: str, occurrence: int | None = None, where: str = "") -> int:
    """Character offset of ``answer`` in ``context`` (``occurrence`` is 1-based, for repeated spans).

    Raises InputError when the span is absent, when it occurs more than once and no occurrence is
    given, or when the requested occurrence does not exist.
    """
    if not answer:
        raise InputError("empty answer", where)
    starts = []
    start = context.find(answer)
    while start != -1:
        starts.append(start)
        start = context.find(answer, start + 1)
    if not starts:
        raise InputError(f"answer {answer!r} does not occur in its context", where)
    if occurrence is None:
        if len(starts) > 1:
            raise InputError(
                f"answer {answer!r} occurs {len(starts)} times in its context; "
                "set answer_occurrence to say which one is meant",
                where,
            )
        return starts[0]
    if not 1 <= occurrence <= len(starts):
        raise InputError(
            f"answer_occurrence {occurrence} but {answer!r} occurs {len(starts)} time(s)",
            where,
        )
    return starts[occurrence - 1]


def _intended_domains(value: Any, where: str) -> list[str]:
    domains = [value] if isinstance(value, str) else value
    if not isinstance(domains, list) or not domains or not all(d in DOMAINS for d in domains):
        raise InputError(f"intended_domain must be one of {DOMAINS} or a list of them, got {value!r}", where)
    return domains


def validate_item(item: Mapping[str, Any], languages: Iterable[str], where: str) -> None:
    """Check one parallel item: id = sha1(slug), split, domain, and every language's text fields."""
    for key in ("id", "slug", "split", "intended_domain"):
        if key not in item:
            raise InputError(f"missing key {key!r}", where)
    item_id, slug = item["id"], item["slug"]
    if not isinstance(item_id, str) or not SHA1_HEX.match(item_id):
        raise InputError(f"id {item_id!r} is not 40 lower-case hex digits", where)
    if hashlib.sha1(str(slug).encode("utf-8")).hexdigest() != item_id:
        raise InputError(f"id {item_id} is not the sha1 of slug {slug!r}", where)
    if item["split"] not in MLQA_SPLITS:
        raise InputError(f"split must be one of {MLQA_SPLITS}, got {item['split']!r}", where)
    _intended_domains(item["intended_domain"], where)
    for lang in languages:
        block = item.get(lang)
        lang_where = f"{where} [{lang}]"
        if not isinstance(block, dict):
            raise InputError("missing language block", lang_where)
        for key in ITEM_TEXT_FIELDS:
            value = block.get(key)
            if not isinstance(value, str) or not value.strip() or value != value.strip():
                raise InputError(f"{key} must be a non-empty string without outer whitespace", lang_where)
        find_answer_start(block["context"], block["answer"], block.get("answer_occurrence"), lang_where)


def load_source(path: str | Path = SOURCE_PATH) -> list[dict[str, Any]]:
    """Read and validate the parallel source; return its items."""
    path = Path(path)
    try:
        doc = read_json(path)
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list) or not doc["items"]:
        raise InputError("expected an object with a non-empty 'items' list", path)
    languages = doc.get("languages")
    if languages != list(DEMO_LANGUAGES):
        raise InputError(f"languages must be {list(DEMO_LANGUAGES)}, got {languages!r}", path)
    seen: set[str] = set()
    for index, item in enumerate(doc["items"]):
        where = f"{path} item {index} ({item.get('slug', '?') if isinstance(item, dict) else '?'})"
        if not isinstance(item, dict):
            raise InputError("item is not an object", where)
        validate_item(item, languages, where)
        if item["id"] in seen:
            raise InputError(f"duplicate id {item['id']}", where)
        seen.add(item["id"])
    return doc["items"]


# --------------------------------------------------------------------------- MLQA v1 layout


def pair_file_name(split: str, context_language: str, question_language: str) -> str:
    """Relative path of one pair file in the official layout, e.g. ``dev/dev-context-de-question-en.json``."""
    return f"{split}/{split}-context-{context_language}-question-{question_language}.json"


def squad_document(items: Iterable[Mapping[str, Any]], context_language: str, question_language: str) -> dict:
    """SQuAD v1 document for one (context, question) language pair; one article per item, sorted by id."""
    articles = []
    for item in sorted(items, key=lambda it: it["id"]):
        ctx_block, q_block = item[context_language], item[question_language]
        start = find_answer_start(
            ctx_block["context"],
            ctx_block["answer"],
            ctx_block.get("answer_occurrence"),
            f"{item['slug']} [{context_language}]",
        )
        qa = {
            "answers": [{"answer_start": start, "text": ctx_block["answer"]}],
            "id": item["id"],
            "question": q_block["question"],
        }
        articles.append(
            {"paragraphs": [{"context": ctx_block["context"], "qas": [qa]}], "title": ctx_block["title"]}
        )
    return {"data": articles, "version": "1.0"}


def dump_json(obj: Any) -> bytes:
    """Deterministic UTF-8 JSON bytes: sorted keys, no ASCII escaping, newline at the end."""
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def build_layout(
    items: list[Mapping[str, Any]], languages: Iterable[str] = DEMO_LANGUAGES
) -> dict[str, bytes]:
    """All pair files of the MLQA v1 layout as ``{relative path: bytes}``."""
    languages = list(languages)
    files: dict[str, bytes] = {}
    for split in MLQA_SPLITS:
        split_items = [it for it in items if it["split"] == split]
        for context_language in languages:
            for question_language in languages:
                doc = squad_document(split_items, context_language, question_language)
                files[pair_file_name(split, context_language, question_language)] = dump_json(doc)
    return files


def write_layout(files: Mapping[str, bytes], out_dir: str | Path) -> None:
    """Write ``files`` as a fresh directory ``out_dir`` (atomically replacing any old one)."""
    with atomic_dir(out_dir) as tmp:
        for rel_path, data in sorted(files.items()):
            target = tmp / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def layout_differences(files: Mapping[str, bytes], out_dir: str | Path) -> list[str]:
    """Relative paths that are missing, stale or unexpected in ``out_dir`` compared with ``files``."""
    out_dir = Path(out_dir)
    present = (
        {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()}
        if out_dir.is_dir()
        else set()
    )
    diffs = [rel for rel in sorted(files) if rel not in present or (out_dir / rel).read_bytes() != files[rel]]
    diffs += sorted(present - set(files))
    return diffs


# --------------------------------------------------------------------------- task files and labels


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise InputError("file not found", path)
    rows = []
    for number, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise InputError(f"line {number}: expected a JSON object", path)
        rows.append(row)
    if not rows:
        raise InputError("empty file", path)
    return rows


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def validate_squad_file(path: str | Path) -> int:
    """Check a SQuAD v1.1 file (unique ids, every answer a span at its offset); return the question count."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read SQuAD json: {exc}", path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list) or not doc["data"]:
        raise InputError("expected {'data': [...]} with at least one article", path)
    ids: set[str] = set()
    for article in doc["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph.get("context")
            if not _nonempty_str(context) or not paragraph.get("qas"):
                raise InputError(
                    f"article {article.get('title')!r}: paragraph without context or questions", path
                )
            for qa in paragraph["qas"]:
                qid = qa.get("id")
                if not _nonempty_str(qid) or qid in ids:
                    raise InputError(f"missing or duplicate question id {qid!r}", path)
                ids.add(qid)
                if not _nonempty_str(qa.get("question")) or not qa.get("answers"):
                    raise InputError(f"{qid}: question or answers missing", path)
                for answer in qa["answers"]:
                    text, start = answer.get("text"), answer.get("answer_start")
                    if not _nonempty_str(text) or not isinstance(start, int):
                        raise InputError(f"{qid}: answer needs text and an integer answer_start", path)
                    if context[start : start + len(text)] != text:
                        raise InputError(f"{qid}: answer {text!r} is not at offset {start}", path)
    if not ids:
        raise InputError("no questions", path)
    return len(ids)


def validate_mnli_file(path: str | Path) -> int:
    """Check MNLI-format jsonl rows (premise, hypothesis, label 0/1/2); return the row count."""
    path = Path(path)
    rows = _read_jsonl(path)
    for number, row in enumerate(rows, start=1):
        if not (_nonempty_str(row.get("premise")) and _nonempty_str(row.get("hypothesis"))):
            raise InputError(f"row {number}: premise and hypothesis must be non-empty strings", path)
        if type(row.get("label")) is not int or row["label"] not in MNLI_LABELS:
            raise InputError(f"row {number}: label must be 0, 1 or 2, got {row.get('label')!r}", path)
    return len(rows)


def validate_pubmedqa_file(path: str | Path) -> int:
    """Check PubMedQA-format jsonl rows (question, context, final_decision yes/no/maybe)."""
    path = Path(path)
    rows = _read_jsonl(path)
    for number, row in enumerate(rows, start=1):
        if not (_nonempty_str(row.get("question")) and _nonempty_str(row.get("context"))):
            raise InputError(f"row {number}: question and context must be non-empty strings", path)
        if row.get("final_decision") not in PUBMEDQA_DECISIONS:
            raise InputError(f"row {number}: final_decision must be yes, no or maybe", path)
    return len(rows)


def validate_hellaswag_file(path: str | Path) -> int:
    """Check HellaSwag-format jsonl rows (ctx, four distinct endings, label 0-3)."""
    path = Path(path)
    rows = _read_jsonl(path)
    for number, row in enumerate(rows, start=1):
        endings = row.get("endings")
        if not _nonempty_str(row.get("ctx")):
            raise InputError(f"row {number}: ctx must be a non-empty string", path)
        if not isinstance(endings, list) or len(endings) != 4 or not all(map(_nonempty_str, endings)):
            raise InputError(f"row {number}: endings must be four non-empty strings", path)
        if len(set(endings)) != 4:
            raise InputError(f"row {number}: endings must be distinct", path)
        if type(row.get("label")) is not int or not 0 <= row["label"] <= 3:
            raise InputError(f"row {number}: label must be an integer 0-3", path)
    return len(rows)


TASK_VALIDATORS = {
    "mini_squad.json": validate_squad_file,
    "mini_cuad.json": validate_squad_file,
    "mini_mnli.jsonl": validate_mnli_file,
    "mini_pubmedqa.jsonl": validate_pubmedqa_file,
    "mini_hellaswag.jsonl": validate_hellaswag_file,
}


def validate_tasks(tasks_dir: str | Path = TASKS_DIR) -> dict[str, int]:
    """Validate every demo task file; return ``{file name: example count}``."""
    tasks_dir = Path(tasks_dir)
    return {name: validator(tasks_dir / name) for name, validator in TASK_VALIDATORS.items()}


def validate_audit_labels(path: str | Path, ids: Iterable[str]) -> dict[str, list[str]]:
    """Check the hand labels: one row per demo id, domains from the taxonomy, general alone."""
    path = Path(path)
    wanted = set(ids)
    labels: dict[str, list[str]] = {}
    for number, row in enumerate(_read_jsonl(path), start=1):
        item_id, domains = row.get("id"), row.get("domains")
        if item_id not in wanted or item_id in labels:
            raise InputError(f"line {number}: unknown or repeated id {item_id!r}", path)
        if not isinstance(domains, list) or not domains or not all(d in DOMAINS for d in domains):
            raise InputError(f"line {number}: domains must be a non-empty list from {DOMAINS}", path)
        if "general" in domains and len(domains) > 1:
            raise InputError(f"line {number}: 'general' means no other domain", path)
        labels[item_id] = domains
    missing = wanted - set(labels)
    if missing:
        raise InputError(f"{len(missing)} demo id(s) have no label, e.g. {sorted(missing)[0]}", path)
    return labels


def read_domain_train(path: str | Path = DOMAIN_TRAIN_PATH) -> list[tuple[str, str]]:
    """Parse ``__label__<domain> text`` lines into ``(domain, text)`` pairs, checking the domain names."""
    path = Path(path)
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        label, _, text = line.partition(" ")
        domain = label.removeprefix("__label__")
        if not label.startswith("__label__") or domain not in DOMAINS or not text.strip():
            raise InputError(f"line {number}: expected '__label__<domain> <text>' with a known domain", path)
        pairs.append((domain, text.strip()))
    return pairs


# --------------------------------------------------------------------------- CLI

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    source: Path = typer.Option(SOURCE_PATH, help="Hand-written parallel source (json)."),
    out: Path = typer.Option(LAYOUT_DIR, help="MLQA_V1 directory to (re)generate."),
    tasks: Path = typer.Option(TASKS_DIR, help="Directory of the mini task files to validate."),
    check: bool = typer.Option(False, "--check", help="Only compare; exit 1 if OUT is out of date."),
) -> None:
    """Regenerate (or check) the demo MLQA_V1 layout and validate the demo task files and labels."""
    items = load_source(source)
    files = build_layout(items)
    task_counts = validate_tasks(tasks)
    if AUDIT_PATH.is_file() and source == SOURCE_PATH:
        validate_audit_labels(AUDIT_PATH, (it["id"] for it in items))
    if check:
        diffs = layout_differences(files, out)
        if diffs:
            typer.echo(
                f"{out} is out of date ({len(diffs)} file(s), e.g. {diffs[0]}); run scripts/make_demo_data.py"
            )
            # SystemExit, not typer.Exit: run_app calls the app with standalone_mode=False, where click
            # returns a typer.Exit code instead of exiting with it.
            raise SystemExit(1)
        typer.echo(f"{out} is up to date ({len(files)} files)")
    else:
        write_layout(files, out)
        typer.echo(f"wrote {len(files)} files for {len(items)} parallel items to {out}")
    typer.echo("task files: " + ", ".join(f"{name} {count}" for name, count in task_counts.items()))


if __name__ == "__main__":
    run_app(app)
