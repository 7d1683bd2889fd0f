"""Draw the paragraphs of the hand-labelled reference set from a SQuAD-format file.

The draw is seeded and documented so that the reference set can be re-drawn. Three pools:

* ``random``: a few paragraphs from every article (the natural mix of Wikipedia topics);
* ``candidate:<domain>``: extra paragraphs from articles whose title names a topic of a rare
  domain (retrieval proposes, a human decides: every paragraph is read and labelled);
* ``keyword:<domain>``: paragraphs of other articles that use a domain's words often (they give
  scattered positives and the hard negatives: paragraphs that use a field's words but are not about it).

Annotators see the paragraphs shuffled, with their title and no pool. Output: annotation batches
(``batch-<k>.jsonl``: item, title, context) and ``items.jsonl`` (item -> title, context sha256, pool).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from mlqa_domain.hashing import sha256_text
from mlqa_domain.jsonio import read_json

CANDIDATE_ARTICLES = {
    "legal": [
        "Law_of_the_United_States",
        "Rule_of_law",
        "Supreme_court",
        "Treaty",
        "Royal_assent",
        "Canon_law",
        "Copyright_infringement",
        "Intellectual_property",
        "Separation_of_powers_under_the_United_States_Constitution",
        "Capital_punishment_in_the_United_States",
        "Separation_of_church_and_state_in_the_United_States",
        "Affirmative_action_in_the_United_States",
        "Endangered_Species_Act",
        "Federalism",
        "Political_corruption",
        "Police",
        "Genocide",
        "States_of_Germany",
    ],
    "finance": [
        "Economy_of_Greece",
        "European_Central_Bank",
        "Financial_crisis_of_2007–08",
        "United_States_dollar",
        "Human_Development_Index",
        "Friedrich_Hayek",
        "Royal_Dutch_Shell",
        "General_Electric",
        "Comcast",
        "Dell",
        "IBM",
        "Department_store",
        "Renewable_energy_commercialization",
        "Pharmaceutical_industry",
        "Child_labour",
        "Nonprofit_organization",
        "Sony_Music_Entertainment",
    ],
    "biomedical": [
        "Antibiotics",
        "Asthma",
        "Bacteria",
        "Brain",
        "Diarrhea",
        "Digestion",
        "Gene",
        "Genome",
        "Immunology",
        "Infection",
        "Myocardial_infarction",
        "Nutrition",
        "Pain",
        "Tuberculosis",
        "Circadian_rhythm",
        "Annelid",
        "Animal",
        "Bird",
        "Insect",
        "Mammal",
        "Flowering_plant",
        "Botany",
        "Symbiosis",
        "Predation",
        "Memory",
        "Emotion",
    ],
    "science": [
        "Hydrogen",
        "Uranium",
        "Copper",
        "Zinc",
        "Alloy",
        "Glass",
        "Capacitor",
        "Transistor",
        "Electric_motor",
        "Energy",
        "Matter",
        "Vacuum",
        "Infrared",
        "Planck_constant",
        "Group_(mathematics)",
        "Neptune",
        "Geological_history_of_Earth",
        "Glacier",
        "Light-emitting_diode",
        "Antenna_(radio)",
        "Data_compression",
        "Railway_electrification_system",
        "Printed_circuit_board",
        "Solar_energy",
        "Asphalt",
    ],
}

KEYWORDS = {
    "legal": r"\b(law|laws|legal|court|courts|statute|act of|constitution\w*|legislat\w+|treaty|"
    r"rights|ruled|ruling|judge|lawsuit|jurisdiction|illegal)\b",
    "finance": r"\b(econom\w+|trade|market|markets|tax\w*|revenue|inflation|bank\w*|gdp|billion|"
    r"profit\w*|investment|price|prices|debt|budget)\b",
    "biomedical": r"\b(disease\w*|medic\w+|health|patients?|infect\w+|cells?|species|genetic\w*|"
    r"hospital\w*|drugs?|virus\w*|organisms?|physician\w*|epidemic|plague)\b",
    "science": r"\b(physic\w+|chemi\w+|energy|atoms?|electr\w+|mathemat\w+|theorem|geolog\w+|"
    r"orbit\w*|temperature|molecul\w+|engine\w*|radiation|algorithm\w*)\b",
}


def load_paragraphs(path: Path) -> list[dict]:
    """(title, index, context, sha256) for every paragraph of a SQuAD-format file."""
    data = read_json(path)["data"]
    rows = []
    for article in data:
        for index, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            rows.append(
                {
                    "title": article["title"],
                    "index": index,
                    "context": context,
                    "context_sha256": sha256_text(context),
                }
            )
    return rows


def draw(
    rows: list[dict],
    per_article: int,
    per_candidate_article: dict[str, int],
    per_keyword_domain: int,
    seed: int,
) -> list[dict]:
    """The drawn paragraphs, each with its pool, in draw order (deduplicated)."""
    rng = random.Random(seed)
    by_title: dict[str, list[dict]] = {}
    for row in rows:
        by_title.setdefault(row["title"], []).append(row)
    chosen: dict[tuple[str, str], dict] = {}

    def take(row: dict, pool: str) -> None:
        chosen.setdefault((row["title"], row["context_sha256"]), {**row, "pool": pool})

    for title in sorted(by_title):
        for row in rng.sample(by_title[title], min(per_article, len(by_title[title]))):
            take(row, "random")
    listed = {t for titles in CANDIDATE_ARTICLES.values() for t in titles}
    for domain, titles in CANDIDATE_ARTICLES.items():
        for title in titles:
            pool = by_title.get(title, [])
            for row in rng.sample(pool, min(per_candidate_article[domain], len(pool))):
                take(row, f"candidate:{domain}")
    for domain, pattern in KEYWORDS.items():
        regex = re.compile(pattern, re.IGNORECASE)
        hits = [r for r in rows if r["title"] not in listed and len(regex.findall(r["context"])) >= 3]
        for row in rng.sample(hits, min(per_keyword_domain, len(hits))):
            take(row, f"keyword:{domain}")
    return list(chosen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-article", type=int, default=3)
    parser.add_argument(
        "--per-candidate-article",
        default="legal=16,finance=16,biomedical=10,science=10",
        help="paragraphs per candidate article, per domain",
    )
    parser.add_argument("--per-keyword-domain", type=int, default=90)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--overlap", type=int, default=40, help="items each batch shares with the next")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    per_candidate = {k: int(v) for k, v in (p.split("=") for p in args.per_candidate_article.split(","))}
    drawn = draw(
        load_paragraphs(args.squad), args.per_article, per_candidate, args.per_keyword_domain, args.seed
    )
    write_batches(drawn, args.out, args.batches, args.overlap, "p", args.seed)


def write_batches(drawn: list[dict], out: Path, n_batches: int, overlap: int, prefix: str, seed: int) -> None:
    """Shuffle, number (``<prefix>00000``), and write annotation batches (each shares ``overlap``
    items with the previous one, read twice to measure agreement) plus ``items.jsonl``."""
    rng = random.Random(seed + 1)
    rng.shuffle(drawn)
    for number, row in enumerate(drawn):
        row["item"] = f"{prefix}{number:05d}"
    out.mkdir(parents=True, exist_ok=True)
    batches: list[list[dict]] = [drawn[k::n_batches] for k in range(n_batches)]
    shared = [batch[:overlap] for batch in batches]
    for k, batch in enumerate(batches):
        items = batch + shared[(k - 1) % n_batches]
        rng.shuffle(items)
        with (out / f"batch-{k}.jsonl").open("w", encoding="utf-8") as handle:
            for row in items:
                handle.write(
                    json.dumps(
                        {
                            "item": row["item"],
                            "title": row["title"].replace("_", " "),
                            "context": row["context"],
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    with (out / "items.jsonl").open("w", encoding="utf-8") as handle:
        for row in drawn:
            handle.write(
                json.dumps(
                    {k: row[k] for k in ("item", "title", "index", "context_sha256", "pool")},
                    ensure_ascii=False,
                )
                + "\n"
            )
    pools: dict[str, int] = {}
    for row in drawn:
        pools[row["pool"]] = pools.get(row["pool"], 0) + 1
    print(f"{len(drawn)} paragraphs from {len({r['title'] for r in drawn})} articles; pools {pools}")


if __name__ == "__main__":
    main()
