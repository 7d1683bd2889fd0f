"""Exact duplicates (normalised text hash, repeated ids) and near-duplicate contexts (embedding cosine)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters.base import FILTERS, Drop, Filter, Verdict, check_action, verdict
from mlqa_domain.filters.seen_keys import SeenKeys
from mlqa_domain.filters.textnorm import normalize_text


def normalized_hash(text: str) -> str:
    """blake2b of ``normalize_text(text)``."""
    return hashlib.blake2b(normalize_text(text).encode("utf-8"), digest_size=16).hexdigest()


@FILTERS.register("exact_dedup")
class ExactDuplicateFilter(Filter):
    """Keep the first of examples that repeat an id, or the same normalised context and question.

    MLQA instances are parallel across languages by ``id`` and many questions share one context, so
    a duplicate is the same (context language, question language, split, normalised context,
    normalised question); an id is a duplicate when it appears twice for one language pair (in any
    split, so an id in both validation and test is caught too).
    """

    order = 40

    def __init__(self) -> None:
        super().__init__()
        # what was seen, keyed by 16-byte digests of the keys (not by their texts) and kept on disk, so
        # neither grows a build's memory: the first id of each text key and the first split of each id key
        self._seen_text = SeenKeys()
        self._seen_id = SeenKeys()
        # normalised hashes of the last texts seen (a context's questions come one after another)
        self._recent: dict[str, str] = {}

    def _hash(self, text: str) -> str:
        found = self._recent.get(text)
        if found is None:
            if len(self._recent) >= 64:
                self._recent.clear()
            found = self._recent[text] = normalized_hash(text)
        return found

    def filter(self, example: Example) -> Drop | None:
        pair = (example.context_language, example.question_language)
        id_key = _digest(*pair, example.id)
        first_split = self._seen_id.get(id_key)
        if first_split is not None:
            return Drop(
                f"exact-duplicate: id {example.id} already seen for {example.language_pair} "
                f"(split {first_split})",
                "duplicate id",
            )
        text_key = _digest(*pair, example.split, self._hash(example.context), self._hash(example.question))
        first_id = self._seen_text.get(text_key)
        if first_id is not None:
            return Drop(
                f"exact-duplicate: same normalised context and question as {first_id}",
                "duplicate context and question",
            )
        self._seen_id.add(id_key, example.split)
        self._seen_text.add(text_key, example.id)
        return None


def _digest(*parts: str) -> bytes:
    """A 16-byte blake2b digest of the parts (each length-prefixed, so no two part lists collide by
    concatenation)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def near_duplicate_representatives(
    embeddings: np.ndarray, threshold: float, block_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the earliest earlier *kept* row with cosine >= ``threshold`` (or -1), and that cosine.

    Rows are L2-normalised embeddings in order of first appearance. A row is kept when no earlier kept
    row is that close, so every dropped row points at a kept one. The similarity matrix is computed in
    (block_size x rows-so-far) blocks; only rows whose sole near duplicates lie inside their own block
    are resolved one by one.
    """
    n = len(embeddings)
    representative = np.full(n, -1, dtype=np.int64)
    cosine = np.zeros(n, dtype=np.float32)
    kept = np.zeros(n, dtype=bool)
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        sims = embeddings[start:stop] @ embeddings[:stop].T  # (block, stop)
        earlier = sims[:, :start] >= threshold
        earlier &= kept[:start]
        has_earlier = earlier.any(axis=1)
        first_earlier = earlier.argmax(axis=1) if start else np.zeros(stop - start, dtype=np.int64)
        rows = np.arange(stop - start)
        in_block = sims[:, start:stop] >= threshold
        in_block &= rows[None, :] < rows[:, None]  # only rows before this one
        has_in_block = in_block.any(axis=1)
        kept[start:stop] = ~has_earlier & ~has_in_block
        representative[start:stop] = np.where(has_earlier, first_earlier, -1)
        for row in np.flatnonzero(~has_earlier & has_in_block):  # resolved in order: depends on kept
            candidates = np.flatnonzero(in_block[row] & kept[start:stop])
            if len(candidates):
                representative[start + row] = start + candidates[0]
            else:
                kept[start + row] = True
        dup = np.flatnonzero(representative[start:stop] >= 0)
        cosine[start + dup] = sims[dup, representative[start + dup]]
    return representative, cosine


@FILTERS.register("near_dedup")
class NearDuplicateFilter(Filter):
    """Drop (or flag) the questions of contexts that nearly repeat an earlier context.

    Contexts are compared by embedding cosine within the same language pair and split; of each group
    of near-duplicate contexts the first keeps its questions, the later ones lose theirs
    (``action="drop"``) or keep them with a flag (``action="flag"``). Identical contexts are one
    context here (their questions are different questions); exact repeats are ExactDuplicateFilter's.
    """

    order = 50
    encoder_use = "required"

    def __init__(
        self, encoder, threshold: float = 0.95, action: str = "drop", block_size: int = 1024
    ) -> None:
        super().__init__()
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"near_dedup: threshold must be in (0, 1], got {threshold}")
        if block_size < 1:
            raise ConfigError(f"near_dedup: block_size must be positive, got {block_size}")
        self.encoder = encoder
        self.threshold = float(threshold)
        self.action = check_action(action, self.name)
        self.block_size = block_size
        self._verdicts: dict[tuple, Verdict] = {}

    @staticmethod
    def _group(example: Example) -> tuple[str, str, str]:
        return (example.context_language, example.question_language, example.split)

    def prepare(self, examples: Sequence[Example]) -> None:
        """Find the near-duplicate contexts of each language pair and split."""
        groups: dict[tuple, dict[str, str]] = defaultdict(dict)  # group -> context -> its first id
        for example in examples:
            groups[self._group(example)].setdefault(example.context, example.id)
        self._verdicts = {}
        for group, contexts in groups.items():
            texts = list(contexts)
            if len(texts) < 2:
                continue
            embeddings = np.ascontiguousarray(self.encoder.encode(texts), dtype=np.float32)
            representative, cosine = near_duplicate_representatives(
                embeddings, self.threshold, self.block_size
            )
            for c in np.flatnonzero(representative >= 0):
                reason = (
                    f"near-duplicate: context cosine {cosine[c]:.3f} >= {self.threshold:g} "
                    f"with the context of {contexts[texts[representative[c]]]}"
                )
                key = f"near-duplicate context (cosine >= {self.threshold:g})"
                self._verdicts[(*group, texts[c])] = verdict(self.action, reason, key)

    def filter(self, example: Example) -> Verdict | None:
        return self._verdicts.get((*self._group(example), example.context))
