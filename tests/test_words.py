"""Words from spaCy's tokenizers on the seven MLQA languages; contamination found in Chinese and Arabic."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlqa_domain.example import Example
from mlqa_domain.filters.contamination import ContaminationFilter
from mlqa_domain.filters.length import LengthFilter
from mlqa_domain.filters.textnorm import word_tokens
from mlqa_domain.words import tokenizer, words

# One sentence per MLQA language and the words spaCy's tokenizer of that language gives.
SENTENCES = {
    "en": (
        "The court ruled that the tenant wasn't liable.",
        ["The", "court", "ruled", "that", "the", "tenant", "was", "n't", "liable", "."],
    ),
    "de": (
        "Der Vertrag (1999) ist z.B. nichtig.",
        ["Der", "Vertrag", "(", "1999", ")", "ist", "z.B.", "nichtig", "."],
    ),
    "es": (
        "¿Por qué era nulo el contrato?",
        ["¿", "Por", "qué", "era", "nulo", "el", "contrato", "?"],
    ),
    "ar": (
        "قضت المحكمة بأن العقد باطل.",
        ["قضت", "المحكمة", "بأن", "العقد", "باطل", "."],
    ),
    "hi": (
        "अदालत ने फैसला सुनाया कि अनुबंध शून्य था।",
        ["अदालत", "ने", "फैसला", "सुनाया", "कि", "अनुबंध", "शून्य", "था", "।"],
    ),
    "zh": ("法院裁定合同无效。", ["法", "院", "裁", "定", "合", "同", "无", "效", "。"]),
}
VIETNAMESE = "Tòa án phán quyết rằng hợp đồng vô hiệu."


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_words_of_each_mlqa_language(language: str) -> None:
    text, expected = SENTENCES[language]
    assert words(text, language) == expected
    assert words("  \n" + text + "\n\n ", language) == expected  # whitespace is never a word


def test_vietnamese_is_segmented_into_words_by_pyvi() -> None:
    pytest.importorskip("pyvi")
    assert words(VIETNAMESE, "vi") == ["Tòa án", "phán quyết", "rằng", "hợp đồng", "vô hiệu", "."]
    assert word_tokens(VIETNAMESE, "vi") == ["tòa án", "phán quyết", "rằng", "hợp đồng", "vô hiệu"]


def test_vietnamese_without_pyvi_is_split_into_syllables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvi", None)  # `import pyvi` now fails
    tokenizer.cache_clear()
    try:
        syllables = word_tokens(VIETNAMESE, "vi")
    finally:
        tokenizer.cache_clear()
    assert syllables == ["tòa", "án", "phán", "quyết", "rằng", "hợp", "đồng", "vô", "hiệu"]


def test_a_language_spacy_cannot_build_uses_the_multi_language_tokenizer() -> None:
    assert words("Nothing special here, really.", "qq") == ["Nothing", "special", "here", ",", "really", "."]


def test_word_tokens_are_normalised_and_leave_punctuation_out() -> None:
    assert word_tokens(SENTENCES["en"][0], "en") == [
        "the",
        "court",
        "ruled",
        "that",
        "the",
        "tenant",
        "was",
        "nt",
        "liable",
    ]
    assert word_tokens(SENTENCES["de"][0], "de") == ["der", "vertrag", "1999", "ist", "zb", "nichtig"]
    assert word_tokens("ＡＢＣ（１）法院，", "zh") == ["a", "b", "c", "1", "法", "院"]


def example(id: str, context: str, language: str, question: str = "?") -> Example:
    return Example(
        id=id,
        split="test",
        context_language=language,
        question_language=language,
        context=context,
        question=question,
        answers={"text": [context[:2]], "answer_start": [0]},
    )


ZH_PASSAGE = (
    "根据合同第十二条的规定，如果承租人未能按时支付每月租金，出租人可以提前三十天书面通知终止本租赁协议。"
)
AR_PASSAGE = (
    "يجوز للمؤجر إنهاء عقد الإيجار هذا بإشعار كتابي مدته ثلاثون يوما إذا تخلف المستأجر عن دفع الإيجار "
    "الشهري في موعده أو خالف أيا من الشروط الواردة فيه."
)


@pytest.mark.parametrize(
    ("language", "passage", "clean"),
    [
        ("zh", ZH_PASSAGE, "长江流经古老的城镇，经过一二四八年建造的大教堂，几个世纪以来一直如此。"),
        (
            "ar",
            AR_PASSAGE,
            "يتدفق النهر عبر البلدة القديمة ويمر بالكاتدرائية التي بنيت عام ١٢٤٨ منذ قرون طويلة.",
        ),
    ],
)
def test_ngram_contamination_is_found_in_chinese_and_arabic(
    tmp_path: Path, language: str, passage: str, clean: str
) -> None:
    task = tmp_path / "task.jsonl"
    task.write_text('{"context": "' + passage + '"}\n', "utf-8")
    leaked = example("leak", "前言。" + passage if language == "zh" else "مقدمة. " + passage, language)
    other = example("clean", clean, language)
    contamination = ContaminationFilter([task])
    assert contamination([leaked, other]) == [other]
    [rejected] = contamination.rejected
    assert (
        rejected.example is leaked and "word 13-grams" in rejected.reason and "task.jsonl" in rejected.reason
    )


def test_length_word_bounds_count_words_in_each_language() -> None:
    length = LengthFilter(min_question_words=3, max_context_words=40)
    short_zh = example(
        "zh", "法院裁定合同无效，因为租户没有签署租约。", "zh", question="谁签？"
    )  # 3 characters, 2 words
    fine_ar = example("ar", SENTENCES["ar"][0], "ar", question="ما الذي قضت به المحكمة؟")
    long_en = example("en", " ".join(["word"] * 41), "en", question="What was ruled here?")
    assert length([short_zh, fine_ar, long_en]) == [fine_ar]
    reasons = {r.example.id: r.reason for r in length.rejected}
    assert reasons == {
        "zh": "length: question has 2 words, fewer than 3",
        "en": "length: context has 41 words, more than 40",
    }
    assert length.stats.reasons == {"question shorter than 3 words": 1, "context longer than 40 words": 1}
