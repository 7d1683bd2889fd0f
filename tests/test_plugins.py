"""Plug-ins: did-you-mean errors of the source, classifier and filter registries; the filter hook; the
steps of a build and their stats."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlqa_domain.builders.sources import SOURCES, detect_kind, load_source
from mlqa_domain.errors import ConfigError
from mlqa_domain.example import Example
from mlqa_domain.filters import FILTERS, Drop, Filter, Flag, build_filters, filter_order
from mlqa_domain.labeling.classifiers import CLASSIFIERS
from mlqa_domain.labeling.taxonomy import load_taxonomy
from mlqa_domain.pipeline import Pipeline, PipelineStep

SOURCE_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources"


def make(id: str, question: str = "Who?") -> Example:
    context = "The court ruled that the contract was void."
    return Example(
        id=id,
        split="test",
        context_language="en",
        question_language="en",
        context=context,
        question=question,
        answers={"text": ["court"], "answer_start": [4]},
    )


# --- registries ----------------------------------------------------------------------------------


def test_every_plugin_is_registered_with_its_name() -> None:
    assert sorted(SOURCES.names()) == ["hf-mlqa", "mlqa-official", "squad-parallel"]
    assert sorted(CLASSIFIERS.names()) == [
        "embedding",
        "embedding-head",
        "fasttext",
        "transformers",
        "zero-shot",
    ]
    assert filter_order() == [
        "text_clean",
        "answer_span",
        "length",
        "language_id",
        "exact_dedup",
        "near_dedup",
        "contamination",
    ]
    assert detect_kind(SOURCE_FIXTURES / "MLQA_V1") == "mlqa-official"
    assert detect_kind(SOURCE_FIXTURES / "hf") == "hf-mlqa"
    assert detect_kind(SOURCE_FIXTURES / "xquad") == "squad-parallel"
    assert detect_kind(SOURCE_FIXTURES / "xquad" / "xquad.de.json") == "squad-parallel"


def test_unknown_source_kind_says_did_you_mean() -> None:
    with pytest.raises(ConfigError, match=r"unknown source kind 'hf-mlq' \(did you mean 'hf-mlqa'\?"):
        load_source(str(SOURCE_FIXTURES / "hf"), kind="hf-mlq")


def test_unknown_classifier_type_says_did_you_mean(tmp_path: Path) -> None:
    raw = yaml.safe_load(load_taxonomy().model_dump_json())
    raw.pop("source")
    raw["classification"]["classifiers"] = [{"name": "e", "type": "embeding"}]
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as error:
        load_taxonomy(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "classification.classifiers.0.type" in message
    assert "unknown classifier type 'embeding' (did you mean 'embedding'?" in message


def test_unknown_filter_name_says_did_you_mean() -> None:
    with pytest.raises(ConfigError, match=r"unknown filter 'exact-dedup' \(did you mean 'exact_dedup'\?"):
        build_filters({"exact-dedup": {}})
    assert FILTERS.get("length").order < FILTERS.get("exact_dedup").order


# --- the filter hook -----------------------------------------------------------------------------


class QuestionMarkFilter(Filter):
    """Drops questions without '?', flags questions that repeat one seen in prepare()."""

    name = "question_mark"

    def prepare(self, examples: list[Example]) -> None:
        self.prepared_with = [e.id for e in examples]
        questions = [e.question for e in examples]
        self.repeated = {q for q in questions if questions.count(q) > 1}

    def filter(self, example: Example) -> Drop | None:
        if not example.question.endswith("?"):
            return Drop(f"question-mark: {example.question!r} has none", "no question mark")
        if example.question in self.repeated:
            return Flag("question-mark: repeated question")
        return None


def test_filter_hook_keeps_drops_and_flags() -> None:
    examples = [make("a"), make("b", "Who"), make("c", "When?"), make("d", "When?")]
    step = QuestionMarkFilter()
    kept = step(examples)
    assert step.prepared_with == ["a", "b", "c", "d"]  # prepare() saw every example first
    assert [e.id for e in kept] == ["a", "c", "d"]
    assert examples[2].flags == ["question-mark: repeated question"] and examples[0].flags == []
    [rejected] = step.rejected
    assert (rejected.example.id, rejected.filter, rejected.reason) == (
        "b",
        "question_mark",
        "question-mark: 'Who' has none",
    )
    stats = step.stats.to_dict()
    assert {k: stats[k] for k in ("seen", "kept", "dropped", "flagged")} == {
        "seen": 4,
        "kept": 3,
        "dropped": 1,
        "flagged": 2,
    }
    assert stats["reasons"] == {"no question mark": 1, "flagged: question-mark": 2}
    assert stats["seconds"] >= 0


# --- steps and their stats -----------------------------------------------------------------------


class Reader(PipelineStep):
    name = "read"

    def run(self, examples: list[Example]) -> list[Example]:
        read = [make("a"), make("b", "Who won"), make("a", "Who?")]
        self.stats.seen += len(read)
        return [*examples, *read]


def test_pipeline_runs_steps_in_order_and_keeps_their_stats() -> None:
    pipeline = Pipeline([Reader(), *build_filters({"exact_dedup": {}}), QuestionMarkFilter()])
    kept = pipeline.run()
    assert [e.id for e in kept] == ["a"]
    assert [(s.name, s.seen, s.kept, s.dropped) for s in pipeline.stats] == [
        ("read", 3, 3, 0),
        ("exact_dedup", 3, 2, 1),
        ("question_mark", 2, 1, 1),
    ]
    assert [r.filter for r in pipeline.rejected] == ["exact_dedup", "question_mark"]
