"""The official MLQA metric: hand-computed normalisation and scores in all seven languages.

Official order (mlqa_evaluation_v1.py): lower() -> delete punctuation -> articles -> " " ->
whitespace / mixed (zh) tokenisation re-joined by one space.
"""

from __future__ import annotations

import json
import string
import sys
import unicodedata

import pytest

from mlqa_domain.benchmark import metric
from mlqa_domain.errors import InputError


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        # en: punctuation is deleted inside words ("U.S.A." -> "usa"), then "the" -> " ".
        ("en", "The U.S.A.", "usa"),
        ("en", "an apple a day", "apple day"),
        # "the-end": the hyphen is deleted first, so "theend" holds no article any more.
        ("en", "the-end", "theend"),
        ("en", "Theatre", "theatre"),
        # ASCII string.punctuation includes $ + = (categories Sc/Sm): deleted too.
        ("en", "$5 + 3 = 8", "5 3 8"),
        # Other symbols are not punctuation: ° (So) and € (Sc) stay.
        ("en", "5°C, €3", "5°c €3"),
        # Articles become a space (punctuation is deleted): "€the€" -> "€ €", two tokens.
        ("en", "€the€", "€ €"),
        ("de", "5°der°C", "5° °c"),
        # en apostrophe inside a word: deleted, not replaced.
        ("en", "O'Neill's", "oneills"),
        # de: „“ and «» are Unicode punctuation (Ps/Pi/Pf); the official article list.
        ("de", "„Die Wahlverwandtschaften“", "wahlverwandtschaften"),
        ("de", "«Faust»", "faust"),
        ("de", "Der Vertrag des Mieters", "vertrag mieters"),
        (
            "de",
            "einer Sache, einem Mann, eines Tages, einen Hund, eine Frau, ein Kind, dem, den, das",
            "sache mann tages hund frau kind",
        ),
        ("de", "dies ist Dieter", "dies ist dieter"),
        ("de", "der-die-das", "derdiedas"),
        ("de", "Straße", "straße"),
        # es: «» deleted; el/la/los/las/un/una/unos/unas removed as words only.
        ("es", "«El Quijote»", "quijote"),
        ("es", "Los Ángeles", "ángeles"),
        ("es", "unas lunas y unos soles", "lunas y soles"),
        # "el/la": the slash is deleted first, leaving the word "ella".
        ("es", "el/la", "ella"),
        # ¿ and ? deleted, then "unas" removed: nothing is left.
        ("es", "¿Unas?", ""),
        # vi: the official list is của, là, cái, chiếc, những.
        ("vi", "Thủ đô của Việt Nam là Hà Nội.", "thủ đô việt nam hà nội"),
        ("vi", "Những chiếc xe", "xe"),
        ("vi", "cái, đó", "đó"),
        # The pattern is NFC: a decomposed "của" (u + combining hook above) is not removed.
        ("vi", "cu\u0309a", "cu\u0309a"),
        # ar: every ال becomes a space, also inside words (فالقلم -> ف قلم: two tokens).
        ("ar", "الكتاب", "كتاب"),
        ("ar", "فالقلم", "ف قلم"),
        ("ar", "الله", "له"),
        # ، (U+060C) and ؟ (U+061F) are Unicode punctuation.
        ("ar", "مصر، القاهرة؟", "مصر قاهرة"),
        ("ar", "مصر،القاهرة", "مصر قاهرة"),
        # hi: danda । and double danda ॥ deleted; no article removal, not even English ones.
        ("hi", "भारत।", "भारत"),
        ("hi", "नई दिल्ली॥", "नई दिल्ली"),
        ("hi", "The Taj", "the taj"),
        ("hi", "नमस्ते", "नमस्ते"),
        # zh: one token per CJK char U+4E00-U+9FA5; latin / digit runs stay whole.
        ("zh", "iPhone5手机", "iphone5 手 机"),
        ("zh", "2019年", "2019 年"),
        ("zh", "《红楼梦》", "红 楼 梦"),
        # 、 and 。 are deleted (not token boundaries of their own any more).
        ("zh", "北京、上海。", "北 京 上 海"),
        ("zh", "ab cd中", "ab cd 中"),
        ("zh", "the 中国", "the 中 国"),
        # Outside U+4E00-U+9FA5 (Ext. A U+3400, U+9FA6, 〇 U+3007) chars are not split.
        ("zh", "中\u3400\u3400", "中 \u3400\u3400"),
        ("zh", "\u9fa6\u9fa6", "\u9fa6\u9fa6"),
        ("zh", "〇中", "〇 中"),
        # Whitespace of any kind (tab, newline, NBSP, ideographic space) collapses to one space.
        ("en", " cat\t\n\u00a0dog\u3000 ", "cat dog"),
    ],
)
def test_normalize_answer(lang: str, text: str, expected: str) -> None:
    assert metric.normalize_answer(text, lang) == expected


def test_vietnamese_article_pattern_is_nfc() -> None:
    pattern = metric._ARTICLE_PATTERNS["vi"].pattern
    assert unicodedata.normalize("NFC", pattern) == pattern


def test_arabic_rule_equals_the_official_regex() -> None:
    """The official re.sub('\\sال^|ال', ' ', t): its first branch never matches, so it is a replace."""
    import re

    official = re.compile("\\s\u0627\u0644^|\u0627\u0644")
    for text in ["الكتاب", " الكتاب", "فالقلم ال", "\nال", "الالال", "و ال", ""]:
        assert official.sub(" ", text) == text.replace("ال", " ")
        assert metric.normalize_answer(text, "ar") == " ".join(official.sub(" ", text).split())


def test_punctuation_table_equals_per_char_category_check() -> None:
    """Every code point: the fast table deletes it iff category P* or ASCII string.punctuation."""
    table_chars = metric.punctuation_chars()
    mismatches = []
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        official = unicodedata.category(char).startswith("P") or char in string.punctuation
        deleted = char.translate(metric._punctuation_table()) == ""
        if official != (char in table_chars) or official != deleted:
            mismatches.append(hex(code_point))
    assert mismatches == []
    assert set(string.punctuation) <= table_chars
    for char in "«»„“、。،؟।¿¡·‐–—＂":
        assert char in table_chars


@pytest.mark.parametrize(
    ("lang", "prediction", "golds", "em", "f1"),
    [
        # "cat sat" vs "cat": P = 1/2, R = 1 -> F1 = 2 * 1/2 / (3/2) = 2/3.
        ("en", "the cat sat", ["a cat"], 0.0, 2 / 3),
        # Multiset: [new, new, york] vs [new, york]: 2 shared, P = 2/3, R = 1 -> F1 = 0.8.
        ("en", "new new york", ["New York"], 0.0, 0.8),
        # Max over golds: [berlin] -> P 1/2, R 1 -> 2/3; [mitte, von, berlin] -> P 1, R 2/3 -> 0.8;
        # [hamburg] -> 0. ("von" is no article.)
        ("de", "Berlin Mitte", ["Berlin", "Mitte von Berlin", "Hamburg"], 0.0, 0.8),
        ("de", "Berlin Mitte", ["Mitte von Berlin", "Berlin, Mitte"], 1.0, 1.0),
        ("es", "La Mancha", ["Mancha"], 1.0, 1.0),
        # [hà, nội] vs [thủ, đô, việt, nam, hà, nội]: P 1, R 1/3 -> F1 = 2 * 1/3 / (4/3) = 0.5.
        ("vi", "Hà Nội", ["thủ đô của Việt Nam là Hà Nội"], 0.0, 0.5),
        # [ف, قلم] vs [قلم]: P 1/2, R 1 -> 2/3.
        ("ar", "فالقلم", ["القلم"], 0.0, 2 / 3),
        ("hi", "ताज महल", ["ताज महल।"], 1.0, 1.0),
        # [北, 京, 市] vs [北, 京]: P 2/3, R 1 -> 0.8.
        ("zh", "北京市", ["北京"], 0.0, 0.8),
        ("zh", "iPhone 5", ["iphone5"], 0.0, 0.0),
        # Empty after normalisation on both sides: EM 1 but F1 0 (no shared token), as officially.
        ("en", "The.", ["!"], 1.0, 0.0),
        ("zh", "", ["。"], 1.0, 0.0),
        # EM and F1 maxima are taken separately: EM 1 from "!" (both empty), F1 0 from both;
        # then EM 0 from both, F1 0.5 from [x] vs [x, y, z] (P 1, R 1/3).
        ("en", "", ["!", "x"], 1.0, 0.0),
        ("en", "x", ["x y z", "!"], 0.0, 0.5),
        # Empty prediction against a real answer.
        ("de", "", ["Vertrag"], 0.0, 0.0),
    ],
)
def test_score_question(lang: str, prediction: str, golds: list[str], em: float, f1: float) -> None:
    got_em, got_f1 = metric.score_question(prediction, golds, lang)
    assert got_em == em
    assert got_f1 == pytest.approx(f1, abs=1e-15)
    assert max(metric.exact_match_score(prediction, gold, lang) for gold in golds) == em
    assert max(metric.f1_score(prediction, gold, lang) for gold in golds) == pytest.approx(f1, abs=1e-15)


def test_evaluate_counts_missing_predictions_as_zero_and_scales_by_100(
    capsys: pytest.CaptureFixture[str],
) -> None:
    gold = {
        "q1": ["Der Vertrag"],  # "Vertrag" -> EM 1, F1 1
        "q2": ["Mitte von Berlin"],  # "Berlin" -> EM 0, F1 2 * 1 * 1/3 / (4/3) = 0.5
        "q3": ["Hamburg"],  # missing -> 0, 0
        "q4": ["München"],  # "Köln" -> 0, 0
    }
    predictions = {"q1": "Vertrag", "q2": "Berlin", "q4": "Köln", "extra": "ignored"}
    result = metric.evaluate(gold, predictions, "de")
    # EM = 100 * 1/4 = 25; F1 = 100 * (1 + 0.5) / 4 = 37.5.
    assert result == {"exact_match": 25.0, "f1": 37.5}
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "Unanswered question q3 will receive score 0.\n"
    em, f1 = metric.per_question_scores(gold, predictions, "de")
    assert em == [1.0, 0.0, 0.0, 0.0]
    assert f1 == [1.0, 0.5, 0.0, 0.0]


def test_evaluate_single_exact_answer_is_100_not_1() -> None:
    assert metric.evaluate({"a": ["北京"]}, {"a": "北京。"}, "zh") == {"exact_match": 100.0, "f1": 100.0}


def test_evaluate_sums_left_to_right_like_the_official_loop() -> None:
    # F1s 2/3, 1/2, 2/5: ((0.666.. + 0.5) + 0.4) * 100 / 3 = 52.22222222222221 with the official
    # left-to-right += (a compensated sum such as math.fsum would give 52.22222222222222).
    gold = {"q1": ["the cat"], "q2": ["new york city"], "q3": ["one two three four"]}
    predictions = {"q1": "the cat sat", "q2": "York", "q3": "Two"}
    assert metric.per_question_scores(gold, predictions, "en")[1] == [2 / 3, 0.5, 0.4]
    assert metric.evaluate(gold, predictions, "en") == {"exact_match": 0.0, "f1": 52.22222222222221}


def test_evaluate_accepts_id_answer_pairs_with_duplicate_ids() -> None:
    # The official script counts every qa entry, so a duplicated id counts twice: (1 + 1 + 0) / 3.
    pairs = [("a", ["x"]), ("a", ["x"]), ("b", ["y"])]
    assert metric.evaluate(pairs, {"a": "x", "b": "z"}, "en")["exact_match"] == pytest.approx(200 / 3)


def test_unknown_language_and_bad_gold_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown answer language 'fr'"):
        metric.normalize_answer("le chat", "fr")
    with pytest.raises(InputError, match="unknown answer language"):
        metric.evaluate({"a": ["x"]}, {"a": "x"}, "el")
    with pytest.raises(InputError, match="q1 has no gold answer"):
        metric.evaluate({"q1": []}, {"q1": "x"}, "en")
    with pytest.raises(InputError, match="no gold questions"):
        metric.evaluate({}, {}, "en")
    assert metric.normalize_answer("The cat", " EN ") == "cat"


def _read_de_dev(de_dev_dir) -> list[dict]:
    path = de_dev_dir / "mlqa.de.de.validation.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_real_german_dev_gold_as_predictions_scores_100(de_dev_dir) -> None:
    rows = _read_de_dev(de_dev_dir)
    gold = {row["id"]: row["answers"]["text"] for row in rows}
    predictions = {row["id"]: row["answers"]["text"][0] for row in rows}
    assert len(gold) == 512
    assert metric.evaluate(gold, predictions, "de") == {"exact_match": 100.0, "f1": 100.0}


def test_real_german_dev_empty_predictions_score_0(de_dev_dir, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _read_de_dev(de_dev_dir)
    gold = {row["id"]: row["answers"]["text"] for row in rows}
    assert metric.evaluate(gold, dict.fromkeys(gold, ""), "de") == {"exact_match": 0.0, "f1": 0.0}
    assert metric.evaluate(gold, {}, "de") == {"exact_match": 0.0, "f1": 0.0}
    assert len(capsys.readouterr().err.splitlines()) == 512
