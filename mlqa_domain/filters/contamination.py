"""Contamination: contexts that overlap intermediate-task training data (word n-grams, embeddings)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlqa_domain import progress
from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters.base import FILTERS, Filter, Verdict, check_action, verdict
from mlqa_domain.filters.task_data import read_passages
from mlqa_domain.filters.textnorm import word_tokens
from mlqa_domain.task_files import list_files

# Contexts whose word n-grams are hashed at once: bounds the hashes held, whatever the input's size.
NGRAM_WINDOW = 4096


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """Scramble uint64 values (splitmix64 finaliser) so token ids hash evenly."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class NgramHasher:
    """Word n-gram hashes of many texts at once, with one token vocabulary shared by all calls.

    Words are :func:`mlqa_domain.filters.textnorm.word_tokens` of each text in the given language.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._vocab: dict[str, int] = {}

    def hashes(self, texts: Sequence[str], language: str) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 hash of every n-gram, index of the text it comes from); texts under n words give none."""
        vocab = self._vocab
        ids: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(
            progress.track(texts, f"splitting {len(texts)} texts into words ({language})")
        ):
            tokens = word_tokens(text, language)
            lengths[i] = len(tokens)
            ids.extend(vocab.setdefault(token, len(vocab)) for token in tokens)
        total = len(ids)
        if total < self.n:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        mixed = _splitmix64(np.asarray(ids, dtype=np.uint64))
        windows = total - self.n + 1
        combined = np.zeros(windows, dtype=np.uint64)
        multiplier = np.uint64(0x100000001B3)  # FNV prime: h = h * p + token, wrapping at 2**64
        for k in range(self.n):
            combined = combined * multiplier + mixed[k : k + windows]
        text_of_token = np.repeat(np.arange(len(texts)), lengths)
        valid = text_of_token[:windows] == text_of_token[self.n - 1 :]  # n-gram inside one text
        return combined[valid], text_of_token[:windows][valid]


@dataclass
class TaskIndex:
    """One task file: its passages, their sorted distinct n-gram hashes per language, their embeddings."""

    path: Path
    passages: list[str]
    ngrams: dict[str, np.ndarray] = field(default_factory=dict)
    vectors: np.ndarray | None = None

    def contains(self, hashes: np.ndarray, language: str) -> np.ndarray:
        """Boolean mask: which ``hashes`` (of ``language`` words) occur in this file."""
        ngrams = self.ngrams[language]
        if not len(ngrams):
            return np.zeros(len(hashes), dtype=bool)
        at = np.minimum(np.searchsorted(ngrams, hashes), len(ngrams) - 1)
        return ngrams[at] == hashes


def _chunks(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of about ``size`` characters at spaces (one piece when short)."""
    if len(text) <= size:
        return [text]
    pieces, start = [], 0
    while start < len(text):
        stop = start + size
        if stop < len(text):
            space = text.rfind(" ", start + size // 2, stop)
            stop = space if space > start else stop
        pieces.append(text[start:stop].strip())
        start = stop
    return [p for p in pieces if p]


@FILTERS.register("contamination")
class ContaminationFilter(Filter):
    """Drop (or flag) examples whose context overlaps intermediate-task training data.

    Overlap is measured by word n-grams (default 13, as in GPT-3's decontamination; use 8 for short
    texts): a context is contaminated when it shares at least ``min_overlap`` n-grams and at least
    ``min_fraction`` of its n-grams with one task file. Words come from the spaCy tokenizer of the
    context's language (:mod:`mlqa_domain.words`), which splits the task passages too. With an
    ``encoder``, a context is also contaminated when its embedding cosine to a task passage (cut into
    ``chunk_chars`` pieces) is at least ``cosine_threshold``. Each task file is read once, and its
    n-grams hashed once per context language, on first use.
    """

    order = 60
    encoder_use = "optional"

    def __init__(
        self,
        paths: Sequence[str | Path],
        ngram: int = 13,
        min_overlap: int = 1,
        min_fraction: float = 0.0,
        encoder=None,
        cosine_threshold: float = 0.9,
        action: str = "drop",
        fields: Sequence[str] | None = None,
        chunk_chars: int = 1000,
        block_size: int = 1024,
    ) -> None:
        super().__init__()
        if isinstance(paths, str | Path):
            paths = [paths]
        if not paths:
            raise ConfigError("contamination: no task data paths given")
        if ngram < 1 or min_overlap < 1:
            raise ConfigError(
                f"contamination: ngram and min_overlap must be >= 1, got {ngram}, {min_overlap}"
            )
        if not 0.0 <= min_fraction <= 1.0 or not 0.0 < cosine_threshold <= 1.0:
            raise ConfigError("contamination: min_fraction must be in [0, 1] and cosine_threshold in (0, 1]")
        self.files = [file for path in paths for file in list_files(path)]
        self.ngram = ngram
        self.min_overlap = min_overlap
        self.min_fraction = float(min_fraction)
        self.encoder = encoder
        self.cosine_threshold = float(cosine_threshold)
        self.action = check_action(action, self.name)
        self.fields = list(fields) if fields else None
        self.chunk_chars = chunk_chars
        self.block_size = block_size
        self._hasher = NgramHasher(ngram)
        self._index: list[TaskIndex] | None = None
        self._verdicts: dict[tuple[str, str], Verdict] = {}
        self._by_id: dict[str, Verdict] = {}

    @property
    def index(self) -> list[TaskIndex]:
        """Per task file: its passages (read once)."""
        if self._index is None:
            self._index = [TaskIndex(path, read_passages(path, self.fields)) for path in self.files]
        return self._index

    def _task_ngrams(self, language: str) -> list[TaskIndex]:
        """The task files with their n-grams in ``language`` words (hashed once per language)."""
        for task in self.index:
            if language not in task.ngrams:
                hashes, _ = self._hasher.hashes(task.passages, language)
                task.ngrams[language] = np.unique(hashes)
        return self.index

    def ngram_overlap(
        self, contexts: Sequence[str], language: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per context: n-gram count, and for the file with most shared n-grams its index and the count.

        The contexts are hashed :data:`NGRAM_WINDOW` at a time (an n-gram never spans two contexts), so the
        hashes held at once do not grow with the input."""
        totals = np.zeros(len(contexts), dtype=np.int64)
        best = np.zeros(len(contexts), dtype=np.int64)
        best_shared = np.zeros(len(contexts), dtype=np.int64)
        for start in range(0, len(contexts), NGRAM_WINDOW):
            window = contexts[start : start + NGRAM_WINDOW]
            part = slice(start, start + len(window))
            hashes, owner = self._hasher.hashes(window, language)
            totals[part] = np.bincount(owner, minlength=len(window))
            tasks = self._task_ngrams(language)
            shared = np.zeros((len(tasks), len(window)), dtype=np.int64)
            for f, task in enumerate(tasks):
                shared[f] = np.bincount(owner[task.contains(hashes, language)], minlength=len(window))
            best[part] = shared.argmax(axis=0)
            best_shared[part] = shared[best[part], np.arange(len(window))]
        return totals, best, best_shared

    def embedding_overlap(self, contexts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per context: the highest cosine to any task passage chunk, and the file it is in."""
        context_vectors = self.encoder.encode(list(contexts))
        best_cosine = np.full(len(contexts), -1.0, dtype=np.float32)
        best_file = np.zeros(len(contexts), dtype=np.int64)
        for f, task in enumerate(self.index):
            if task.vectors is None:
                chunks = [c for passage in task.passages for c in _chunks(passage, self.chunk_chars)]
                task.vectors = self.encoder.encode(chunks, show_progress=len(chunks) > 256)
            task_vectors = task.vectors
            for start in range(0, len(task_vectors), self.block_size):
                top = (context_vectors @ task_vectors[start : start + self.block_size].T).max(axis=1)
                better = top > best_cosine
                best_cosine[better], best_file[better] = top[better], f
        return best_cosine, best_file

    def _ngram_verdicts(self, contexts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Verdict]:
        """Verdicts of the (context, language) pairs that share enough n-grams with a task file."""
        by_language: dict[str, list[str]] = defaultdict(list)
        for context, language in contexts:
            by_language[language].append(context)
        found: dict[tuple[str, str], Verdict] = {}
        for language, texts in by_language.items():
            totals, best_file, shared = self.ngram_overlap(texts, language)
            for c, context in enumerate(texts):
                fraction = shared[c] / totals[c] if totals[c] else 0.0
                if shared[c] >= self.min_overlap and fraction >= self.min_fraction:
                    source = self.index[best_file[c]].path
                    found[(context, language)] = verdict(
                        self.action,
                        f"contamination: context shares {shared[c]} of its {totals[c]} word "
                        f"{self.ngram}-grams ({fraction:.1%}) with {source}",
                        f"{self.ngram}-gram overlap with {source.name}",
                    )
        return found

    def _embedding_verdicts(self, contexts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Verdict]:
        """Verdicts of the (context, language) pairs close to a task passage in embedding cosine."""
        cosine, cosine_file = self.embedding_overlap([context for context, _ in contexts])
        found: dict[tuple[str, str], Verdict] = {}
        for c, key in enumerate(contexts):
            if cosine[c] >= self.cosine_threshold:
                source = self.index[cosine_file[c]].path
                found[key] = verdict(
                    self.action,
                    f"contamination: context embedding cosine {cosine[c]:.3f} >= {self.cosine_threshold:g} "
                    f"with a passage of {source}",
                    f"embedding overlap with {source.name}",
                )
        return found

    def prepare(self, examples: list[Example]) -> None:
        """Find the contaminated contexts; a leaked passage leaks its translations too, so the verdict
        follows the MLQA id to every parallel instance (the de/es/zh copies of an English context)."""
        self._verdicts, self._by_id = {}, {}
        if not examples:
            return
        contexts = list(dict.fromkeys((e.context, e.context_language) for e in examples))
        embedded = self._embedding_verdicts(contexts) if self.encoder is not None else {}
        self._verdicts = {**embedded, **self._ngram_verdicts(contexts)}  # n-gram reasons first
        for example in examples:
            found = self._verdicts.get((example.context, example.context_language))
            if found is not None:
                self._by_id.setdefault(example.id, found)

    def filter(self, example: Example) -> Verdict | None:
        found = self._verdicts.get((example.context, example.context_language))
        if found is None and example.id in self._by_id:
            leaked = self._by_id[example.id]
            found = verdict(
                self.action,
                f"{leaked.reason} (a parallel instance of id {example.id})",
                f"{leaked.key} (parallel)",
            )
        return found
