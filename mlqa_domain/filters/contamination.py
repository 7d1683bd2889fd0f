"""Contamination: contexts that overlap intermediate-task training data (word n-grams, embeddings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters.base import ReasonedFilter, check_action
from mlqa_domain.filters.task_data import read_passages, task_files
from mlqa_domain.filters.textnorm import word_tokens


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """Scramble uint64 values (splitmix64 finaliser) so token ids hash evenly."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class NgramHasher:
    """Word n-gram hashes of many texts at once, with one token vocabulary shared by all calls."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._vocab: dict[str, int] = {}

    def hashes(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 hash of every n-gram, index of the text it comes from); texts under n words give none."""
        vocab = self._vocab
        ids: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            tokens = word_tokens(text)
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
    """One task file: its sorted distinct n-gram hashes, and its passages (for embeddings)."""

    path: Path
    ngrams: np.ndarray
    passages: list[str]
    vectors: np.ndarray | None = None

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask: which ``hashes`` occur in this file."""
        if not len(self.ngrams):
            return np.zeros(len(hashes), dtype=bool)
        at = np.minimum(np.searchsorted(self.ngrams, hashes), len(self.ngrams) - 1)
        return self.ngrams[at] == hashes


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


class ContaminationFilter(ReasonedFilter):
    """Drop (or flag) examples whose context overlaps intermediate-task training data.

    Overlap is measured by word n-grams (default 13, as in GPT-3's decontamination; use 8 for short
    texts): a context is contaminated when it shares at least ``min_overlap`` n-grams and at least
    ``min_fraction`` of its n-grams with one task file. With an ``encoder``, a context is also
    contaminated when its embedding cosine to a task passage (cut into ``chunk_chars`` pieces) is at
    least ``cosine_threshold``. Each task file is read and hashed once, on first use.
    """

    name = "contamination"

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
        self.files = [file for path in paths for file in task_files(path)]
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

    @property
    def index(self) -> list[TaskIndex]:
        """Per task file: distinct n-gram hashes (built once)."""
        if self._index is None:
            self._index = []
            for path in self.files:
                passages = read_passages(path, self.fields)
                hashes, _ = self._hasher.hashes(passages)
                self._index.append(TaskIndex(path, np.unique(hashes), passages))
        return self._index

    def ngram_overlap(self, contexts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per context: n-gram count, and for the file with most shared n-grams its index and the count."""
        hashes, owner = self._hasher.hashes(contexts)
        totals = np.bincount(owner, minlength=len(contexts))
        shared = np.zeros((len(self.index), len(contexts)), dtype=np.int64)
        for f, task in enumerate(self.index):
            shared[f] = np.bincount(owner[task.contains(hashes)], minlength=len(contexts))
        best = shared.argmax(axis=0)
        return totals, best, shared[best, np.arange(len(contexts))]

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

    def process(self, examples: list[Example]) -> list[Example]:
        if not examples:
            return []
        contexts = list(dict.fromkeys(e.context for e in examples))
        totals, best_file, shared = self.ngram_overlap(contexts)
        if self.encoder is not None:
            cosine, cosine_file = self.embedding_overlap(contexts)
        verdict: dict[str, tuple[str, str]] = {}
        for c, context in enumerate(contexts):
            fraction = shared[c] / totals[c] if totals[c] else 0.0
            if shared[c] >= self.min_overlap and fraction >= self.min_fraction:
                source = self.index[best_file[c]].path
                verdict[context] = (
                    f"contamination: context shares {shared[c]} of its {totals[c]} word {self.ngram}-grams "
                    f"({fraction:.1%}) with {source}",
                    f"{self.ngram}-gram overlap with {source.name}",
                )
            elif self.encoder is not None and cosine[c] >= self.cosine_threshold:
                source = self.index[cosine_file[c]].path
                verdict[context] = (
                    f"contamination: context embedding cosine {cosine[c]:.3f} >= {self.cosine_threshold:g} "
                    f"with a passage of {source}",
                    f"embedding overlap with {source.name}",
                )
        # A leaked passage leaks its translations too: the verdict follows the MLQA id to every
        # parallel instance (the de/es/zh copies of a contaminated English context).
        by_id: dict[str, tuple[str, str]] = {}
        for example in examples:
            if example.context in verdict:
                by_id.setdefault(example.id, verdict[example.context])
        kept = []
        for example in examples:
            found = verdict.get(example.context)
            if found is None and example.id in by_id:
                reason, key = by_id[example.id]
                found = (f"{reason} (a parallel instance of id {example.id})", f"{key} (parallel)")
            if found is None or self.act(example, *found, self.action):
                kept.append(example)
        return kept
