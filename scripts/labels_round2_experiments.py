"""Labels round 2: held-out precision/recall of head recipes on the reference set (issue 22).

Every variant is measured with the same nested, article-grouped protocol as `mlqa-domain train-head`
(outer 5-fold CV by article; thresholds chosen on inner out-of-fold scores at the precision target;
figures on held-out articles, paragraphs not marked borderline; 95% CIs over articles), on the
``title. context`` input a build serves. Prints one line per variant and domain: precision and recall
with CIs on clear paragraphs, and on the clear paragraphs of the random pools (the natural topic mix).

    python scripts/labels_round2_experiments.py --squad train-v1.1.json [--variants logreg-1,mlp-1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mlqa_domain.labeling.domain_head_training import HeadSettings
from mlqa_domain.labeling.reference_audit import embedded_reference, held_out_report

VARIANTS = {
    "logreg-C0.5": HeadSettings(kind="logreg", strength=0.5),
    "logreg-C1": HeadSettings(kind="logreg", strength=1.0),
    "logreg-C2": HeadSettings(kind="logreg", strength=2.0),
    "logreg-C4": HeadSettings(kind="logreg", strength=4.0),
    "mlp-C1": HeadSettings(kind="mlp", strength=1.0),
    "logreg-C1-random-tau": HeadSettings(kind="logreg", strength=1.0, threshold_pool="random"),
    "logreg-C1-p0.91": HeadSettings(kind="logreg", strength=1.0, min_precision=0.91),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--reference", type=Path, default=None, help="labels file (default: shipped)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    data, _ = embedded_reference(
        args.squad, args.reference, None, "sentence-transformers/all-MiniLM-L6-v2", None, "torch"
    )
    print(f"{len(data.items)} paragraphs, {int(data.random_pool().sum())} in the random pools")
    results = {}
    for name in args.variants.split(","):
        started = time.perf_counter()
        report, _ = held_out_report(data, VARIANTS[name], n_resamples=1000)
        block = report["formats"]["title_context"]
        results[name] = {view: block[view] for view in ("clear", "random_pool", "all")}
        for domain in data.domains:
            clear, pool = block["clear"][domain], block["random_pool"][domain]
            ci = clear["ci95"]
            print(
                f"{name:22s} {domain:10s} P {clear['precision']:.3f} [{ci['precision'][0]:.2f}, "
                f"{ci['precision'][1]:.2f}]  R {clear['recall']:.3f} [{ci['recall'][0]:.2f}, "
                f"{ci['recall'][1]:.2f}]  n+ {clear['support']:4d} | random pool P {pool['precision']:.3f} "
                f"R {pool['recall']:.3f} n+ {pool['support']}"
            )
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float), "utf-8")


if __name__ == "__main__":
    main()
