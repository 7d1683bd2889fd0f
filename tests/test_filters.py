"""Answer-span, length and exact-dedup filters; build_filters config handling; rejected/ and the report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters import build_filters, filter_order, filter_report, write_rejected
from mlqa_domain.filters.answer_span import AnswerSpanFilter
from mlqa_domain.filters.contamination import ContaminationFilter
from mlqa_domain.filters.dedup import ExactDuplicateFilter, NearDuplicateFilter
from mlqa_domain.filters.language_id import LanguageIdFilter
from mlqa_domain.filters.length import LengthFilter
from mlqa_domain.filters.seen_keys import SeenKeys
from mlqa_domain.filters.textnorm import normalize_text
from mlqa_domain.pipeline import Pipeline

CONTEXTS = {
    "en": "The court ruled that the contract was void because the tenant had not signed the lease.",
    "de": "Der Vertrag ist nichtig, weil der Mieter den Mietvertrag nicht unterschrieben hat.",
    "ar": "قضت المحكمة بأن العقد باطل لأن المستأجر لم يوقع على عقد الإيجار.",
    "zh": "法院裁定合同无效，因为租户没有签署租约。",
}


def make(
    id: str = "a",
    context: str = CONTEXTS["en"],
    question: str = "Who had not signed the lease?",
    answers: dict | None = None,
    lang: str = "en",
    question_language: str | None = None,
    split: str = "test",
) -> Example:
    """An Example whose default answer is a valid span of its context."""
    if answers is None:
        words = context.split()
        text = words[1] if len(words) > 1 else context[3:7]
        answers = {"text": [text], "answer_start": [context.index(text)]}
    return Example(
        id=id,
        split=split,
        context_language=lang,
        question_language=question_language or lang,
        context=context,
        question=question,
        answers=answers,
    )


# --- answer span ---------------------------------------------------------------------------------


def test_answer_span_keeps_valid_spans_in_every_script():
    good = [make(id=lang, context=c, lang=lang) for lang, c in CONTEXTS.items()]
    good.append(make(id="two", answers={"text": ["court", "tenant"], "answer_start": [4, 55]}))
    span = AnswerSpanFilter()
    assert span(good) == good
    assert span.stats.to_dict() | {"seconds": 0} == {
        "name": "answer_span",
        "seen": 5,
        "kept": 5,
        "dropped": 0,
        "flagged": 0,
        "reasons": {},
        "seconds": 0,
    }


@pytest.mark.parametrize(
    ("answers", "reason_part", "key"),
    [
        ({"text": [], "answer_start": []}, "no answers", "no answers"),
        (
            {"text": ["court"], "answer_start": [5]},
            "answer 0 'court' not at answer_start 5",
            "answer not at answer_start",
        ),
        (
            {"text": ["court", "tenant"], "answer_start": [4, 50]},
            "answer 1 'tenant'",
            "answer not at answer_start",
        ),
        ({"text": ["  "], "answer_start": [0]}, "answer 0 is empty", "empty answer"),
        ({"text": ["court"], "answer_start": [-1]}, "has answer_start -1", "bad answer_start"),
        (
            {"text": ["court"], "answer_start": []},
            "1 answer texts but 0 answer_start",
            "answer texts and starts differ",
        ),
    ],
)
def test_answer_span_drops_bad_answers_with_reason(answers, reason_part, key):
    bad = make(id="bad", answers=answers)
    span = AnswerSpanFilter()
    assert span([make(), bad]) == [make()]
    assert span.stats.dropped == 1 and span.stats.kept == 1 and span.stats.seen == 2
    [rejected] = span.rejected
    assert rejected.example is bad and rejected.filter == "answer_span"
    assert rejected.reason.startswith("answer-span: ") and reason_part in rejected.reason
    assert next(iter(span.stats.reasons)).startswith(key)


def test_answer_span_accepts_numpy_offsets_from_parquet():
    np = pytest.importorskip("numpy")
    example = make(answers={"text": ["court"], "answer_start": [np.int32(4)]})
    assert AnswerSpanFilter()([example]) == [example]


def test_answer_span_checks_zh_and_ar_offsets():
    zh = CONTEXTS["zh"]
    ok = make(id="zh", context=zh, lang="zh", answers={"text": ["租户"], "answer_start": [zh.index("租户")]})
    off = make(
        id="zh2", context=zh, lang="zh", answers={"text": ["租户"], "answer_start": [zh.index("租户") + 1]}
    )
    ar = CONTEXTS["ar"]
    ar_ok = make(
        id="ar", context=ar, lang="ar", answers={"text": ["المحكمة"], "answer_start": [ar.index("المحكمة")]}
    )
    span = AnswerSpanFilter()
    assert span([ok, off, ar_ok]) == [ok, ar_ok]
    assert "'租户'" in span.rejected[0].reason


# --- length --------------------------------------------------------------------------------------


def test_length_keeps_normal_rows_and_drops_junk():
    normal = [make(id=lang, context=c, lang=lang) for lang, c in CONTEXTS.items()]
    empty_context = make(id="e", context="   ", answers={"text": ["x"], "answer_start": [0]})
    tiny_question = make(id="q", question="谁？")
    huge = make(id="h", context="word " * 5000)
    length = LengthFilter()
    assert length([*normal, empty_context, tiny_question, huge]) == normal
    reasons = {r.example.id: r.reason for r in length.rejected}
    assert reasons == {
        "e": "length: context has 0 characters, fewer than 10",
        "q": "length: question has 2 characters, fewer than 3",
        "h": "length: context has 24999 characters, more than 20000",
    }
    assert length.stats.reasons == {
        "context shorter than 10": 1,
        "question shorter than 3": 1,
        "context longer than 20000": 1,
    }


def test_length_custom_bounds_and_bad_bounds():
    length = LengthFilter(min_question_chars=30)
    assert length([make()]) == [] and "question has 29 characters" in length.rejected[0].reason
    with pytest.raises(ConfigError, match="min_context_chars <= max_context_chars"):
        LengthFilter(min_context_chars=50, max_context_chars=10)


# --- exact dedup ---------------------------------------------------------------------------------


def test_normalisation_ignores_case_width_punctuation_and_spacing():
    assert normalize_text("  The Court,\n ruled!  ") == normalize_text("the court ruled")
    assert normalize_text("ＡＢＣ（１）") == "abc1"
    assert normalize_text("法院，裁定。") == "法院裁定"


def test_exact_dedup_drops_normalised_repeats_and_repeated_ids():
    first = make(id="1")
    same_text = make(id="2", context=first.context.upper() + "  ", question="who had NOT signed the lease")
    other_question = make(id="3", question="What did the court rule?")
    repeated_id = make(id="3", question="Something else entirely?")
    exact = ExactDuplicateFilter()
    assert exact([first, same_text, other_question, repeated_id]) == [first, other_question]
    reasons = [r.reason for r in exact.rejected]
    assert reasons == [
        "exact-duplicate: same normalised context and question as 1",
        "exact-duplicate: id 3 already seen for en (split test)",
    ]
    assert exact.stats.reasons == {"duplicate context and question": 1, "duplicate id": 1}


def test_exact_dedup_keeps_parallel_instances_and_other_splits():
    """MLQA ids repeat across languages; a pair differs by languages or split, not a duplicate."""
    en = make(id="x")
    de = make(id="x", context=CONTEXTS["de"], question="Wer?", lang="de")
    cross = make(id="x", context=CONTEXTS["de"], question="Who?", lang="de", question_language="en")
    same_text_other_split = make(id="y", split="validation")
    exact = ExactDuplicateFilter()
    assert exact([en, de, cross, same_text_other_split]) == [en, de, cross, same_text_other_split]
    id_in_both_splits = make(id="x", split="validation", question="A different question?")
    assert exact([id_in_both_splits]) == []
    assert "already seen for en (split test)" in exact.rejected[0].reason


def test_exact_dedup_remembers_past_the_in_memory_batch():
    """Kept keys go to disk in batches; a repeat thousands of examples later is still caught."""
    originals = [make(id=f"q{i}", question=f"Question number {i}?") for i in range(2500)]
    repeat_text = make(id="late", question="Question number 3?")
    repeat_id = make(id="q7", question="A question never asked before?")
    exact = ExactDuplicateFilter()
    assert exact([*originals, repeat_text, repeat_id]) == originals
    assert [r.reason for r in exact.rejected] == [
        "exact-duplicate: same normalised context and question as q3",
        "exact-duplicate: id q7 already seen for en (split test)",
    ]


def test_seen_keys_keep_the_first_value_in_memory_and_on_disk():
    seen = SeenKeys()
    keys = [hashlib.blake2b(str(i).encode(), digest_size=16).digest() for i in range(3000)]
    assert seen.get(keys[0]) is None
    for i, key in enumerate(keys):
        seen.add(key, f"v{i}")
    seen.add(keys[0], "later")  # on disk by now
    seen.add(keys[-1], "later")  # still waiting in memory
    assert [seen.get(key) for key in keys] == [f"v{i}" for i in range(3000)]
    assert seen.get(b"never added") is None
    seen.close()
    assert seen.get(keys[0]) is None


# --- build_filters -------------------------------------------------------------------------------


def test_build_filters_fixed_order_and_options(fixtures_dir: Path):
    config = {
        "contamination": {"paths": [str(fixtures_dir / "filters" / "task.jsonl")], "ngram": 8},
        "exact_dedup": None,
        "language_id": {"min_confidence": 0.3},
        "length": {"max_context_chars": 9000},
        "answer_span": {},
    }
    filters = build_filters(config)
    assert [f.name for f in filters] == [
        "answer_span",
        "length",
        "language_id",
        "exact_dedup",
        "contamination",
    ]
    assert isinstance(filters[2], LanguageIdFilter) and filters[2].min_confidence == 0.3
    assert isinstance(filters[1], LengthFilter) and filters[1].bounds["context"] == (10, 9000)
    assert (
        isinstance(filters[4], ContaminationFilter) and filters[4].ngram == 8 and filters[4].encoder is None
    )
    assert build_filters({}) == [] and build_filters(None) == []
    assert tuple(filter_order()) == (
        "text_clean",
        "answer_span",
        "length",
        "language_id",
        "exact_dedup",
        "near_dedup",
        "contamination",
    )


def test_build_filters_gives_near_dedup_the_factory_encoder():
    calls = []

    def factory():
        calls.append(1)
        return "encoder-object"

    [near] = build_filters({"near_dedup": {"threshold": 0.9, "action": "flag"}}, encoder_factory=factory)
    assert isinstance(near, NearDuplicateFilter)
    assert (near.encoder, near.threshold, near.action, calls) == ("encoder-object", 0.9, "flag", [1])
    assert build_filters({"answer_span": {}}, encoder_factory=factory) and calls == [1]  # not called


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"langid": {}}, "unknown filter 'langid' (did you mean 'language_id'?"),
        ({"length": {"max_chars": 3}}, "filter length: unknown option(s) max_chars"),
        ({"length": [1, 2]}, "options must be a mapping"),
        ({"language_id": {"min_confidence": 2}}, "min_confidence must be between 0 and 1"),
        ({"language_id": {"min_confidence": "high"}}, "filter language_id: bad option value"),
        ({"near_dedup": {}}, "near_dedup needs an embedding model"),
        ({"near_dedup": {"threshold": 0.9, "block": 3}}, "unknown option(s) block"),
        ({"near_dedup": {"action": "delete", "model": None}}, "needs an embedding model"),
        ({"contamination": {}}, "bad option value"),
        ({"contamination": {"paths": []}}, "no task data paths"),
        (
            {"contamination": {"paths": ["x.json"], "embedding": True}},
            "contamination needs an embedding model",
        ),
        ({"exact_dedup": {"threshold": 1}}, "unknown option(s) threshold"),
    ],
)
def test_build_filters_config_errors(config, message):
    with pytest.raises(ConfigError) as info:
        build_filters(config)
    assert message in str(info.value)


def test_build_filters_bad_action_and_missing_task_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="action must be one of drop, flag"):
        build_filters({"near_dedup": {"action": "delete"}}, encoder_factory=lambda: object())
    from mlqa_domain.errors import InputError

    with pytest.raises(InputError, match="task data file not found"):
        build_filters({"contamination": {"paths": [str(tmp_path / "missing.jsonl")]}})


# --- rejected/ and the report --------------------------------------------------------------------


def test_pipeline_write_rejected_and_report(tmp_path: Path):
    examples = [
        make(id="1"),
        make(id="2", answers={"text": ["court"], "answer_start": [9]}),
        make(id="3", question="?"),
        make(id="4", context=CONTEXTS["zh"], lang="zh", answers={"text": ["租约"], "answer_start": [17]}),
        make(id="1", question="Why was the contract void?"),
    ]
    pipeline = Pipeline(build_filters({"answer_span": {}, "length": {}, "exact_dedup": {}}))
    kept = pipeline.run(examples)
    assert [e.id for e in kept] == ["1", "4"]
    written = write_rejected(pipeline.rejected, tmp_path / "rejected")
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        "answer_span.jsonl",
        "exact_dedup.jsonl",
        "length.jsonl",
    ]
    assert set(written) == {"answer_span", "length", "exact_dedup"}
    [line] = (tmp_path / "rejected" / "answer_span.jsonl").read_text("utf-8").splitlines()
    record = json.loads(line)
    assert record["id"] == "2" and record["filter"] == "answer_span"
    assert record["reason"].startswith("answer-span: answer 0 'court' not at answer_start 9")
    assert (
        record["answers"] == {"text": ["court"], "answer_start": [9]} and record["context"] == CONTEXTS["en"]
    )
    dedup = json.loads((tmp_path / "rejected" / "exact_dedup.jsonl").read_text("utf-8"))
    assert dedup["question"] == "Why was the contract void?" and "id 1 already seen" in dedup["reason"]

    report = filter_report(pipeline.stats)
    assert [(r["name"], r["seen"], r["kept"], r["dropped"], r["flagged"]) for r in report] == [
        ("answer_span", 5, 4, 1, 0),
        ("length", 4, 3, 1, 0),
        ("exact_dedup", 3, 2, 1, 0),
    ]
    assert report[0]["reasons"] == {"answer not at answer_start": 1}
    assert report[1]["reasons"] == {"question shorter than 3": 1}
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temp files left


def test_filter_report_orders_reasons_by_count_and_keeps_top():
    stats = {"name": "x", "seen": 9, "kept": 3, "dropped": 6, "reasons": {"a": 1, "b": 3, "c": 2}}
    [row] = filter_report([stats], top=2)
    assert row["reasons"] == {"b": 3, "c": 2} and list(row["reasons"]) == ["b", "c"] and row["flagged"] == 0
