"""`bench score GOLD.json PREDICTIONS.json --lang xx`: a drop-in for the official mlqa_evaluation_v1.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from mlqa_domain.benchmark import metric
from mlqa_domain.errors import InputError

EXPECTED_VERSION = "1.0"
_GOLD_SHAPE = (
    "expected MLQA/SQuAD v1 json {'data': [{'paragraphs': [{'qas': [{'id', 'answers': [{'text'}]}]}]}]}"
    " or HF mlqa jsonl rows {'id', 'answers': {'text': [...]}}"
)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from None


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})", path) from None


def _parse_json_or_jsonl(text: str, path: Path) -> Any:
    """One JSON document, or a list of the rows of a JSON Lines file."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as whole_error:
        if whole_error.msg != "Extra data":
            raise InputError(
                f"not valid JSON (line {whole_error.lineno} column {whole_error.colno}: {whole_error.msg})",
                path,
            ) from None
    rows = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON Lines (line {line_number}: {exc.msg})", path) from None
    return rows


def _answer_texts_squad(answers: Any, where: str, path: Path) -> list[str]:
    if not isinstance(answers, list) or not all(
        isinstance(answer, dict) and isinstance(answer.get("text"), str) for answer in answers
    ):
        raise InputError(f"{where}: 'answers' must be a list of {{'text': str, ...}}", path)
    return [answer["text"] for answer in answers]


def _squad_pairs(document: dict, path: Path) -> list[tuple[str, list[str]]]:
    articles = document.get("data")
    if not isinstance(articles, list):
        raise InputError(f"no 'data' list; {_GOLD_SHAPE}", path)
    pairs = []
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise InputError(f"data[{a}]: no 'paragraphs' list; {_GOLD_SHAPE}", path)
        for p, paragraph in enumerate(paragraphs):
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(qas, list):
                raise InputError(f"data[{a}].paragraphs[{p}]: no 'qas' list; {_GOLD_SHAPE}", path)
            for q, qa in enumerate(qas):
                where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                if not isinstance(qa, dict) or not isinstance(qa.get("id"), str):
                    raise InputError(f"{where}: no string 'id'", path)
                pairs.append((qa["id"], _answer_texts_squad(qa.get("answers"), where, path)))
    return pairs


def _hf_pairs(rows: list, path: Path) -> list[tuple[str, list[str]]]:
    pairs = []
    for index, row in enumerate(rows):
        where = f"row {index + 1}"
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise InputError(f"{where}: no string 'id'; {_GOLD_SHAPE}", path)
        answers = row.get("answers")
        texts = answers.get("text") if isinstance(answers, dict) else None
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise InputError(f"{where}: 'answers' must be {{'text': [str, ...], ...}}", path)
        pairs.append((row["id"], texts))
    return pairs


def load_gold(path: str | Path) -> list[tuple[str, list[str]]]:
    """``(question id, gold answer texts)`` pairs in file order, from MLQA/SQuAD json or HF mlqa jsonl.

    A dataset ``version`` other than 1.0 is reported on stderr, as the official script does.
    """
    path = Path(path)
    document = _parse_json_or_jsonl(_read_text(path), path)
    if isinstance(document, dict) and "data" in document:
        version = document.get("version")
        if version is not None and str(version) != EXPECTED_VERSION:
            print(
                f"Evaluation expects v-{EXPECTED_VERSION}, but got dataset with v-{version}",
                file=sys.stderr,
            )
        pairs = _squad_pairs(document, path)
    elif isinstance(document, dict) and "id" in document:
        pairs = _hf_pairs([document], path)
    elif isinstance(document, list):
        pairs = _hf_pairs(document, path)
    else:
        raise InputError(_GOLD_SHAPE, path)
    if not pairs:
        raise InputError("no questions in the gold file", path)
    for question_id, texts in pairs:
        if not texts:
            raise InputError(f"question {question_id} has no gold answer", path)
    return pairs


def load_predictions(path: str | Path) -> dict[str, str]:
    """``{question id: answer text}`` from a predictions json file."""
    path = Path(path)
    predictions = _parse_json(_read_text(path), path)
    if not isinstance(predictions, dict):
        raise InputError("expected a JSON object {question id: answer text}", path)
    for question_id, answer in predictions.items():
        if not isinstance(answer, str):
            raise InputError(f"the prediction for {question_id} is not a string", path)
    return predictions


def score_files(gold_path: str | Path, predictions_path: str | Path, lang: str) -> dict[str, float]:
    """Official MLQA EM / F1 of a predictions file against a gold file."""
    lang = metric.check_metric_language(lang, where="--lang")
    gold = load_gold(gold_path)
    predictions = load_predictions(predictions_path)
    return metric.evaluate(gold, predictions, lang)


def score(
    gold: Path = typer.Argument(..., help="Gold answers: MLQA/SQuAD v1 json, or HF mlqa jsonl."),
    predictions: Path = typer.Argument(..., help="Predictions json: {question id: answer text}."),
    answer_language: str | None = typer.Argument(
        None, help="Answer language, as the official script's third argument (same as --lang)."
    ),
    lang: str | None = typer.Option(
        None, "--lang", "-l", help="Answer (context) language: ar de en es hi vi zh."
    ),
) -> None:
    """Score predictions exactly as the official MLQA script does; prints {"exact_match": .., "f1": ..}."""
    if lang is None and answer_language is None:
        raise InputError("give the answer language with --lang (ar de en es hi vi zh)", "--lang")
    if lang is not None and answer_language is not None and lang.lower() != answer_language.lower():
        raise InputError(f"two different answer languages given: {answer_language!r} and {lang!r}", "--lang")
    result = score_files(gold, predictions, lang if lang is not None else answer_language)
    typer.echo(json.dumps(result))


def register(app: typer.Typer) -> None:
    """Add `score` to the `bench` app."""
    app.command("score")(score)
