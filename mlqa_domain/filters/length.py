"""Length bounds on contexts and questions: in characters (surrounding whitespace ignored) and in words."""

from __future__ import annotations

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters.base import FILTERS, Drop, Filter
from mlqa_domain.filters.textnorm import word_tokens


def _check(label: str, unit: str, low: int | None, high: int | None) -> tuple[int | None, int | None]:
    if (low is not None and low < 0) or (low is not None and high is not None and low > high):
        raise ConfigError(f"length: need 0 <= min_{label}_{unit} <= max_{label}_{unit}, got {low}, {high}")
    return low, high


def _out_of_bounds(field: str, size: int, bounds: tuple[int | None, int | None], unit: str) -> Drop | None:
    low, high = bounds
    suffix = "" if unit == "characters" else f" {unit}"
    if low is not None and size < low:
        reason = f"length: {field} has {size} {unit}, fewer than {low}"
        return Drop(reason, f"{field} shorter than {low}{suffix}")
    if high is not None and size > high:
        reason = f"length: {field} has {size} {unit}, more than {high}"
        return Drop(reason, f"{field} longer than {high}{suffix}")
    return None


@FILTERS.register("length")
class LengthFilter(Filter):
    """Drop examples whose context or question is shorter or longer than the bounds.

    Character defaults keep every real MLQA row (German dev: contexts 55..5,536 characters, questions
    16..172) with room for the languages that need fewer characters (Chinese), and drop junk:
    empty or near-empty text, and whole articles or pages pasted in as one context. Word bounds
    (off by default) count the words of :func:`mlqa_domain.words.words` in the text's language,
    punctuation left out (a Chinese character is a word, a Vietnamese word may be two syllables).
    """

    order = 20

    def __init__(
        self,
        min_context_chars: int = 10,
        max_context_chars: int = 20_000,
        min_question_chars: int = 3,
        max_question_chars: int = 1_000,
        min_context_words: int | None = None,
        max_context_words: int | None = None,
        min_question_words: int | None = None,
        max_question_words: int | None = None,
    ) -> None:
        super().__init__()
        self.bounds = {
            "context": _check("context", "chars", min_context_chars, max_context_chars),
            "question": _check("question", "chars", min_question_chars, max_question_chars),
        }
        words = {
            "context": _check("context", "words", min_context_words, max_context_words),
            "question": _check("question", "words", min_question_words, max_question_words),
        }
        self.word_bounds = {field: bounds for field, bounds in words.items() if bounds != (None, None)}

    def filter(self, example: Example) -> Drop | None:
        """A drop for the first bound a field breaks (characters first, then words), or None."""
        for field, bounds in self.bounds.items():
            found = _out_of_bounds(field, len(getattr(example, field).strip()), bounds, "characters")
            if found:
                return found
        for field, bounds in self.word_bounds.items():
            language = example.context_language if field == "context" else example.question_language
            size = len(word_tokens(getattr(example, field), language))
            found = _out_of_bounds(field, size, bounds, "words")
            if found:
                return found
        return None
