"""`bench score`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mlqa_domain.errors import InputError


def score(
    gold: Path = typer.Argument(
        ..., metavar="GOLD", help="Gold answers: MLQA/SQuAD v1 json, or HF mlqa jsonl."
    ),
    predictions: Path = typer.Argument(
        ..., metavar="PREDICTIONS", help="Predictions json: {question id: answer text}."
    ),
    answer_language: str | None = typer.Argument(
        None,
        metavar="LANG",
        help="Answer language, as the official script's third argument (same as --lang).",
    ),
    lang: str | None = typer.Option(
        None, "--lang", metavar="LANG", help="Answer (context) language: ar de en es hi vi zh."
    ),
) -> None:
    """Score predictions exactly as the official MLQA script does; prints {"exact_match": .., "f1": ..}."""
    from mlqa_domain.benchmark import metric
    from mlqa_domain.benchmark.scoring import load_predictions, read_gold

    if lang is None and answer_language is None:
        raise InputError("give the answer language with --lang (ar de en es hi vi zh)", "--lang")
    if lang is not None and answer_language is not None and lang.lower() != answer_language.lower():
        raise InputError(f"two different answer languages given: {answer_language!r} and {lang!r}", "--lang")
    language = metric.check_metric_language(lang if lang is not None else answer_language, where="--lang")
    gold_answers = read_gold(gold)
    if gold_answers.version_warning:
        typer.echo(gold_answers.version_warning, err=True)
    result = metric.evaluate(gold_answers.pairs, load_predictions(predictions), language)
    typer.echo(json.dumps(result))
