"""Plug-ins: did-you-mean errors of the source, classifier and filter registries; the filter hook; the
steps of a build and their stats; plug-ins of other installed distributions (entry points)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
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
from mlqa_domain.registry import Registry

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

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        yield from data
        for example in [make("a"), make("b", "Who won"), make("a", "Who?")]:
            self.stats.seen += 1
            yield example


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


# --- plug-ins of other installed distributions (entry points) ------------------------------------

DEMO_MLQA = Path(__file__).resolve().parents[1] / "mlqa_domain" / "data" / "demo" / "MLQA_V1"

QUESTION_WORDS = '''
from mlqa_domain.filters import Drop, Filter


class QuestionWordsFilter(Filter):
    """Drops questions of fewer than `min_words` words."""

    order = 25

    def __init__(self, min_words: int = 4) -> None:
        super().__init__()
        self.min_words = min_words

    def filter(self, example):
        words = len(example.question.split())
        if words < self.min_words:
            return Drop(f"question-words: {words} words", "short question")
        return None
'''


def write_distribution(root: Path, name: str, entry_points: dict[str, str], module: str, source: str) -> Path:
    """An installed distribution in ``root`` (a directory for sys.path / PYTHONPATH): ``module.py`` and a
    ``dist-info`` whose ``entry_points.txt`` declares ``entry_points`` in the group mlqa_domain.filters."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(source)
    info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = [f"{entry} = {value}" for entry, value in entry_points.items()]
    (info / "entry_points.txt").write_text("[mlqa_domain.filters]\n" + "\n".join(lines) + "\n")
    return root


def run_cli(*args: str, plugins: Path) -> subprocess.CompletedProcess:
    """``python -m mlqa_domain.cli ARGS`` with the distributions in ``plugins`` installed (on PYTHONPATH)."""
    path = os.pathsep.join(filter(None, [str(plugins), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MLQA_DOMAIN_NO_PROGRESS": "1", "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "mlqa_domain.cli", *args], capture_output=True, text=True, env=env
    )


def test_a_filter_of_another_distribution_runs_in_a_build(tiny_sbert: Path, tmp_path: Path) -> None:
    plugins = write_distribution(
        tmp_path / "site",
        "mlqa-question-words",
        {"question_words": "question_words_filter:QuestionWordsFilter"},
        "question_words_filter",
        QUESTION_WORDS,
    )
    config = tmp_path / "filters.yaml"
    config.write_text(yaml.safe_dump({"answer_span": {}, "question_words": {"min_words": 10}}))
    out = tmp_path / "out"
    result = run_cli(
        "build",
        *("--source", str(DEMO_MLQA), "--out", str(out), "--filters", str(config)),
        *(
            "--embedding-model",
            str(tiny_sbert),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--languages",
            "en,de",
        ),
        plugins=plugins,
    )
    assert result.returncode == 0, result.stderr
    info = json.loads((out / "build_info.json").read_text("utf-8"))
    [plugin] = [step for step in info["filters"] if step["name"] == "question_words"]
    assert [step["name"] for step in info["filters"]] == ["answer_span", "question_words"]
    rejected = [
        json.loads(line)
        for line in (out / "rejected" / "question_words.jsonl").read_text("utf-8").splitlines()
    ]
    assert len(rejected) == plugin["dropped"] > 0
    assert all(r["filter"] == "question_words" and len(r["question"].split()) < 10 for r in rejected)
    assert plugin["reasons"] == {"short question": plugin["dropped"]}


def test_a_plugin_that_does_not_import_is_one_error_line(tmp_path: Path) -> None:
    plugins = write_distribution(
        tmp_path / "site",
        "mlqa-broken",
        {"broken": "broken_filter:BrokenFilter"},
        "broken_filter",
        "import a_module_nobody_installed\n",
    )
    config = tmp_path / "filters.yaml"
    config.write_text(yaml.safe_dump({"broken": {}}))
    result = run_cli(
        "build",
        "--source",
        str(DEMO_MLQA),
        "--out",
        str(tmp_path / "out"),
        "--filters",
        str(config),
        plugins=plugins,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith(
        "error: plug-in 'broken' = 'broken_filter:BrokenFilter' (entry point group "
        "mlqa_domain.filters, distribution mlqa-broken 0.1): cannot be loaded "
        "(ModuleNotFoundError: No module named 'a_module_nobody_installed')"
    ), line
    assert not (tmp_path / "out").exists()


class LengthAgain(Filter):
    def filter(self, example: Example) -> Drop | None:
        return None


@pytest.mark.parametrize(
    ("source", "value", "problem"),
    [
        (
            "from mlqa_domain.filters import Filter\nclass Half(Filter):\n    order = 1\n",
            "Half",
            "misses filter",
        ),
        (
            "class Loose:\n    def filter(self, example):\n        return None\n",
            "Loose",
            "is not a subclass of mlqa_domain.filters.base.Filter",
        ),
        ("NOT_A_CLASS = 3\n", "NOT_A_CLASS", "is not a class (its type is int)"),
    ],
)
def test_a_plugin_that_misses_the_contract_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str, value: str, problem: str
) -> None:
    monkeypatch.syspath_prepend(
        str(
            write_distribution(
                tmp_path, "mlqa-misfit", {"misfit": f"misfit_filter:{value}"}, "misfit_filter", source
            )
        )
    )
    monkeypatch.delitem(sys.modules, "misfit_filter", raising=False)
    filters: Registry[type] = Registry("filter", contract=Filter, group="mlqa_domain.filters")
    with pytest.raises(ConfigError) as error:
        filters.names()
    assert str(error.value) == (
        f"plug-in 'misfit' = 'misfit_filter:{value}' (entry point group mlqa_domain.filters, distribution "
        f"mlqa-misfit 0.1): filter 'misfit' ({value if value != 'NOT_A_CLASS' else '3'}) {problem}"
    )
    with pytest.raises(ConfigError, match="misfit"):  # every later lookup says it again
        filters.get("length")


def test_a_plugin_named_like_a_builtin_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(
        str(
            write_distribution(
                tmp_path,
                "mlqa-clash",
                {"length": "clash_filter:Length"},
                "clash_filter",
                "raise RuntimeError('never imported')\n",
            )
        )
    )
    filters: Registry[type] = Registry("filter", contract=Filter, group="mlqa_domain.filters")
    filters.register("length")(LengthAgain)
    with pytest.raises(
        ConfigError,
        match=(
            r"^plug-in 'length' = 'clash_filter:Length' \(entry point group mlqa_domain.filters, "
            r"distribution mlqa-clash 0.1\): its name clashes with a built-in filter 'length'$"
        ),
    ):
        filters.get("length")
