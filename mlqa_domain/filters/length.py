"""Length bounds on contexts and questions (in characters, surrounding whitespace ignored)."""

from __future__ import annotations

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters.base import ReasonedFilter


class LengthFilter(ReasonedFilter):
    """Drop examples whose context or question is shorter or longer than the bounds.

    Defaults keep every real MLQA row (German dev: contexts 55..5,536 characters, questions
    16..172) with room for the languages that need fewer characters (Chinese), and drop junk:
    empty or near-empty text, and whole articles or pages pasted in as one context.
    """

    name = "length"

    def __init__(
        self,
        min_context_chars: int = 10,
        max_context_chars: int = 20_000,
        min_question_chars: int = 3,
        max_question_chars: int = 1_000,
    ) -> None:
        super().__init__()
        for label, low, high in (
            ("context", min_context_chars, max_context_chars),
            ("question", min_question_chars, max_question_chars),
        ):
            if not 0 <= low <= high:
                raise ConfigError(
                    f"length: need 0 <= min_{label}_chars <= max_{label}_chars, got {low}, {high}"
                )
        self.bounds = {
            "context": (min_context_chars, max_context_chars),
            "question": (min_question_chars, max_question_chars),
        }

    def problem(self, example: Example) -> tuple[str, str] | None:
        """(reason, stats key) for the first field out of bounds, or None."""
        for field, (low, high) in self.bounds.items():
            size = len(getattr(example, field).strip())
            if size < low:
                return (
                    f"length: {field} has {size} characters, fewer than {low}",
                    f"{field} shorter than {low}",
                )
            if size > high:
                return (
                    f"length: {field} has {size} characters, more than {high}",
                    f"{field} longer than {high}",
                )
        return None
