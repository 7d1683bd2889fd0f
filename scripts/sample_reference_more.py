"""Draw a second round of reference paragraphs: more random ones, and the ones a head is unsure of.

* ``random2``: up to ``--per-article`` more random paragraphs of every article (a larger sample of
  the natural topic mix, on which thresholds are chosen and precision is estimated);
* ``uncertain:<domain>``: paragraphs whose probability under a head trained on the first round is
  in [low, high] for a domain (the classifier proposes; a person reads and decides every one).

Paragraphs already in the reference set are skipped. Output as for sample_reference_candidates.py.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from sample_reference_candidates import load_paragraphs, write_batches

from mlqa_domain.embeddings import TextEncoder
from mlqa_domain.labeling.classifiers.domain_head import DomainHead
from mlqa_domain.labeling.reference import classifier_input, load_reference_labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--head", type=Path, required=True, help="head trained on the first round")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-article", type=int, default=3)
    parser.add_argument("--uncertain-per-domain", type=int, default=120)
    parser.add_argument("--low", type=float, default=0.25)
    parser.add_argument("--high", type=float, default=0.85)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--overlap", type=int, default=30)
    parser.add_argument("--prefix", default="q")
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()

    done = {label.key for label in load_reference_labels()}
    rows = [r for r in load_paragraphs(args.squad) if (r["title"], r["context_sha256"]) not in done]
    rng = random.Random(args.seed)
    by_title: dict[str, list[dict]] = {}
    for row in rows:
        by_title.setdefault(row["title"], []).append(row)
    chosen: dict[tuple[str, str], dict] = {}
    for title in sorted(by_title):
        for row in rng.sample(by_title[title], min(args.per_article, len(by_title[title]))):
            chosen[(row["title"], row["context_sha256"])] = {**row, "pool": "random2"}

    head = DomainHead.load(args.head)
    encoder = TextEncoder(head.embedding_model, cache_dir=args.cache_dir)
    rest = [r for r in rows if (r["title"], r["context_sha256"]) not in chosen]
    probs = head.probabilities(encoder.encode([classifier_input(r["context"], r["title"]) for r in rest]))
    for k, domain in enumerate(head.domains):
        pool = [r for r, p in zip(rest, probs[:, k], strict=True) if args.low <= p <= args.high]
        for row in rng.sample(pool, min(args.uncertain_per_domain, len(pool))):
            chosen.setdefault((row["title"], row["context_sha256"]), {**row, "pool": f"uncertain:{domain}"})
    drawn = list(chosen.values())
    write_batches(drawn, args.out, args.batches, args.overlap, args.prefix, args.seed)


if __name__ == "__main__":
    main()
