"""How far the int8 CPU route moves the held-out label figures, per refine margin.

    python scripts/refine_margin_sweep.py --squad ../shared/data/squad-v1.1-train/train-v1.1.json \\
        --cache-dir ~/.cache/mlqa_domain --margins 0,0.03,0.05,0.08

Trains and tunes the shipped head's recipe on fp32 (torch) embeddings of the reference set in nested,
article-grouped CV, scores each held-out fold from onnx-int8 embeddings, re-scoring in fp32 the paragraphs
within the margin of a threshold (what a CPU build does), and prints the largest change of any domain's
precision or recall against the fp32 route, per view (docs/classifiers.md).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from mlqa_domain.labeling.classifiers.domain_head import DomainHead
    from mlqa_domain.labeling.domain_head_training import HeadSettings
    from mlqa_domain.labeling.reference_audit import SHIPPED_HEAD, embedded_reference, held_out_report
    from mlqa_domain.labeling.taxonomy import default_taxonomy_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 train json")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache")
    parser.add_argument("--margins", default="0,0.03,0.05,0.08")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    head = DomainHead.load(default_taxonomy_path().parent / SHIPPED_HEAD)
    settings = HeadSettings(**head.info["settings"])
    model = head.embedding_model
    fp32, _ = embedded_reference(args.squad, None, None, model, args.cache_dir, settings.embedding_backend)
    int8, _ = embedded_reference(args.squad, None, None, model, args.cache_dir, "onnx-int8")
    base, _ = held_out_report(fp32, settings, n_resamples=10)
    out = {}
    for margin in (float(m) for m in args.margins.split(",")):
        served, _ = held_out_report(fp32, settings, n_resamples=10, served=int8.inputs, refine_margin=margin)
        worst = {}
        for view in ("clear", "all", "random_pool"):
            ours = served["formats"]["title_context"][view]
            theirs = base["formats"]["title_context"][view]
            worst[view] = round(
                max(abs(ours[d][m] - theirs[d][m]) for d in fp32.domains for m in ("precision", "recall")), 4
            )
        out[str(margin)] = worst
        print(f"margin {margin}: largest precision/recall change {worst}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), "utf-8")


if __name__ == "__main__":
    main()
