"""The files of `bench score` (a drop-in for the official mlqa_evaluation_v1.py): gold answers and
predictions, read into what :func:`mlqa_domain.benchmark.metric.evaluate` scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlqa_domain.errors import InputError
from mlqa_domain.jsonio import parse_json, parse_json_or_lines, parse_jsonl
from mlqa_domain.squad_format import is_squad_document, iter_squad

EXPECTED_VERSION = "1.0"
_GOLD_SHAPE = (
    "expected MLQA/SQuAD v1 json {'data': [{'paragraphs': [{'qas': [{'id', 'answers': [{'text'}]}]}]}]}"
    " or HF mlqa jsonl rows {'id', 'answers': {'text': [...]}}"
)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from None


def _json_or_jsonl(data: bytes, path: Path) -> Any:
    """One JSON document, or the list of the rows of a JSON Lines file (bad JSON: mlqa_domain.jsonio)."""
    document, is_json_lines = parse_json_or_lines(data, path)
    return [value for _, value in parse_jsonl(data, path)] if is_json_lines else document


def _answer_texts_squad(answers: Any, where: str, path: Path) -> list[str]:
    if not isinstance(answers, list) or not all(
        isinstance(answer, dict) and isinstance(answer.get("text"), str) for answer in answers
    ):
        raise InputError(f"{where}: 'answers' must be a list of {{'text': str, ...}}", path)
    return [answer["text"] for answer in answers]


def _squad_pairs(document: dict, path: Path) -> list[tuple[str, list[str]]]:
    if not is_squad_document(document):
        raise InputError(f"no 'data' list; {_GOLD_SHAPE}", path)
    try:
        questions = list(iter_squad(document, path))
    except InputError as exc:
        raise InputError(f"{exc.problem}; {_GOLD_SHAPE}", path) from None
    pairs = []
    for question in questions:
        if not isinstance(question.qa.get("id"), str):
            raise InputError(f"{question.label}: no string 'id'", path)
        pairs.append(
            (question.qa["id"], _answer_texts_squad(question.qa.get("answers"), question.label, path))
        )
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


@dataclass
class Gold:
    """The gold answers of a gold file, and the dataset version it declares (SQuAD json only)."""

    pairs: list[tuple[str, list[str]]]  # (question id, gold answer texts), in file order
    version: str | None = None

    @property
    def version_warning(self) -> str | None:
        """The official script's note when the file's version is not the one it was written for."""
        if self.version is None or self.version == EXPECTED_VERSION:
            return None
        return f"Evaluation expects v-{EXPECTED_VERSION}, but got dataset with v-{self.version}"


def read_gold(path: str | Path) -> Gold:
    """The gold answers of an MLQA/SQuAD json file or an HF mlqa jsonl file."""
    path = Path(path)
    document = _json_or_jsonl(_read_bytes(path), path)
    version = None
    if isinstance(document, dict) and "data" in document:
        version = None if document.get("version") is None else str(document["version"])
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
    return Gold(pairs, version)


def load_predictions(path: str | Path) -> dict[str, str]:
    """``{question id: answer text}`` from a predictions json file."""
    path = Path(path)
    predictions = parse_json(_read_bytes(path), path)
    if not isinstance(predictions, dict):
        raise InputError("expected a JSON object {question id: answer text}", path)
    for question_id, answer in predictions.items():
        if not isinstance(answer, str):
            raise InputError(f"the prediction for {question_id} is not a string", path)
    return predictions
