"""Draw the third round of reference paragraphs (labels round 2): where science recall is lost.

Pools (paragraphs already in the reference set are skipped, except the re-reads):

* ``subfield:<name>``: paragraphs of articles on the science sub-fields the head misses (physics,
  chemistry, earth and climate, astronomy, mathematics, computing and engineering);
* ``hard-negative:technology``: paragraphs of history-of-technology and product articles (a field's words,
  rarely its subject);
* ``keyword:science`` / ``keyword:biomedical-history``: paragraphs of other articles that use science
  words often, or speak of epidemics and pharmacy (the biomedical misses);
* ``random3``: a uniform sample of the remaining paragraphs (the natural topic mix);
* ``reread``: every paragraph labelled under guidelines 1.0, read again under 1.1 (the annotator does not
  see the old label).

Retrieval only proposes: every paragraph is read and labelled against docs/labelling-guidelines.md.
Output as for sample_reference_candidates.py (batches shuffled, with title and context, no pool).

    python scripts/sample_reference_round3.py --squad train-v1.1.json --out round3/
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from sample_reference_candidates import load_paragraphs, write_batches

from mlqa_domain.labeling.reference import load_reference_labels

SUBFIELDS = {
    "physics": [
        "Planck_constant",
        "Vacuum",
        "Infrared",
        "Energy",
        "Matter",
        "Philosophy_of_space_and_time",
        "Time",
        "Richard_Feynman",
        "Light-emitting_diode",
        "Transistor",
        "Capacitor",
        "Electric_motor",
    ],
    "chemistry": ["Alloy", "Copper", "Zinc", "Asphalt", "Glass", "Hydrogen", "Uranium", "Pesticide", "Paper"],
    "earth-climate": [
        "Geological_history_of_Earth",
        "Glacier",
        "Alps",
        "Antarctica",
        "Sahara",
        "2008_Sichuan_earthquake",
        "Appalachian_Mountains",
        "Mesozoic",
        "Great_Plains",
        "Solar_energy",
    ],
    "astronomy": [
        "Neptune",
        "BeiDou_Navigation_Satellite_System",
        "Gregorian_calendar",
        "Daylight_saving_time",
    ],
    "mathematics": ["Group_(mathematics)", "John_von_Neumann", "Data_compression", "Alfred_North_Whitehead"],
    "computing-engineering": [
        "Computer",
        "Computer_security",
        "Database",
        "Software_testing",
        "ASCII",
        "Unicode",
        "USB",
        "MP3",
        "Web_browser",
        "Printed_circuit_board",
        "Railway_electrification_system",
        "High-definition_television",
        "Antenna_(radio)",
        "Incandescent_light_bulb",
        "Lighting",
        "Film_speed",
    ],
}
HARD_NEGATIVES = [
    "History_of_science",
    "Gramophone_record",
    "Compact_disc",
    "LaserDisc",
    "Alexander_Graham_Bell",
    "IBM",
    "Space_Race",
    "Nintendo_Entertainment_System",
    "Macintosh",
    "IPod",
    "Videoconferencing",
    "Elevator",
]
SCIENCE_WORDS = re.compile(
    r"\b(physic\w+|chemi\w+|atoms?|electr\w+|mathemat\w+|theorem|geolog\w+|orbit\w*|temperature|"
    r"molecul\w+|radiation|algorithm\w*|wavelength\w*|quantum|particles?|equations?|climat\w+|glacia\w+)\b",
    re.IGNORECASE,
)
BIOMEDICAL_HISTORY = re.compile(
    r"\b(plague\w*|epidemic\w*|pandemic\w*|pharmac\w+|apothecar\w+|smallpox)\b", re.I
)


def draw(rows: list[dict], done: set[tuple[str, str]], reread: set[tuple[str, str]], args) -> list[dict]:
    """The drawn paragraphs with their pools (deduplicated, first pool wins)."""
    rng = random.Random(args.seed)
    by_title: dict[str, list[dict]] = {}
    for row in rows:
        by_title.setdefault(row["title"], []).append(row)
    chosen: dict[tuple[str, str], dict] = {}

    def key(row: dict) -> tuple[str, str]:
        return row["title"], row["context_sha256"]

    def take(row: dict, pool: str) -> None:
        chosen.setdefault(key(row), {**row, "pool": pool})

    fresh = [r for r in rows if key(r) not in done]
    for name, titles in SUBFIELDS.items():
        for title in titles:
            pool = [r for r in by_title.get(title, []) if key(r) not in done]
            for row in rng.sample(pool, min(args.per_article, len(pool))):
                take(row, f"subfield:{name}")
    for title in HARD_NEGATIVES:
        pool = [r for r in by_title.get(title, []) if key(r) not in done]
        for row in rng.sample(pool, min(args.per_negative_article, len(pool))):
            take(row, "hard-negative:technology")
    listed = {t for titles in SUBFIELDS.values() for t in titles} | set(HARD_NEGATIVES)
    science = [r for r in fresh if r["title"] not in listed and len(SCIENCE_WORDS.findall(r["context"])) >= 3]
    for row in rng.sample(science, min(args.keyword_science, len(science))):
        take(row, "keyword:science")
    history = [r for r in fresh if BIOMEDICAL_HISTORY.search(r["context"])]
    for row in rng.sample(history, min(args.keyword_biomedical, len(history))):
        take(row, "keyword:biomedical-history")
    rest = [r for r in fresh if key(r) not in chosen]
    for row in rng.sample(rest, min(args.random, len(rest))):
        take(row, "random3")
    for row in rows:
        if key(row) in reread:
            take(row, "reread")
    return list(chosen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-article", type=int, default=9)
    parser.add_argument("--per-negative-article", type=int, default=7)
    parser.add_argument("--keyword-science", type=int, default=90)
    parser.add_argument("--keyword-biomedical", type=int, default=60)
    parser.add_argument("--random", type=int, default=150)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--overlap", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2028)
    args = parser.parse_args()

    labels = load_reference_labels()
    done = {label.key for label in labels}
    reread = {label.key for label in labels if label.guidelines_version == "1.0"}
    drawn = draw(load_paragraphs(args.squad), done, reread, args)
    write_batches(drawn, args.out, args.batches, args.overlap, "r", args.seed)


if __name__ == "__main__":
    main()
