"""Task registry and task data: shipped YAML files, user task files, local data in every supported form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.training.task_data import load_task_data
from mlqa_domain.training.task_registry import (
    TaskRegistry,
    load_task_file,
    parse_task_list,
    shipped_tasks_dir,
    tasks_for_domain,
)

TASKS = Path(__file__).resolve().parent / "fixtures" / "tasks"
REQUIRED = {"squad", "mnli", "hellaswag", "cuad", "covid_qa", "bioasq", "pubmedqa", "casehold", "ledgar"}


def test_every_shipped_task_loads_with_a_hub_source() -> None:
    registry = TaskRegistry.load()
    assert set(registry.names()) >= REQUIRED
    formats = {name: registry.get(name).format for name in registry.names()}
    assert formats["squad"] == formats["cuad"] == formats["covid_qa"] == formats["bioasq"] == "extractive_qa"
    assert formats["mnli"] == formats["pubmedqa"] == formats["ledgar"] == "classification"
    assert formats["hellaswag"] == formats["casehold"] == "multiple_choice"
    for name in registry.names():
        spec = registry.get(name)
        assert spec.dataset and not spec.data_files, name
        assert Path(spec.source).parent == shipped_tasks_dir()
    squad = registry.get("squad").hparams
    assert (squad.learning_rate, squad.max_seq_length, squad.doc_stride) == (3e-5, 384, 128)
    assert registry.get("mnli").labels == ["entailment", "neutral", "contradiction"]
    assert registry.get("bioasq").filter == {"subset": "BioASQ"}


def test_shipped_taxonomy_links_only_known_tasks() -> None:
    registry = TaskRegistry.load()
    assert tasks_for_domain("legal") == ["cuad", "casehold", "ledgar"]
    from mlqa_domain.labeling.taxonomy import load_taxonomy

    for domain in load_taxonomy().domain_names:
        for task in tasks_for_domain(domain):
            assert task in registry, (domain, task)


def test_tasks_for_domain_reads_a_given_taxonomy(tmp_path: Path) -> None:
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(
        "domains:\n  law:\n    description: law\n    threshold: 0.3\n    intermediate_tasks: [my_nli, cuad]\n"
        "  food:\n    description: food\n    threshold: 0.3\n",
        encoding="utf-8",
    )
    assert tasks_for_domain("law", taxonomy) == ["my_nli", "cuad"]
    assert tasks_for_domain("food", taxonomy) == []
    with pytest.raises(ConfigError, match="unknown domain 'sport'"):
        tasks_for_domain("sport", taxonomy)


def test_user_task_file_with_relative_local_files() -> None:
    registry = TaskRegistry.load(task_files=[TASKS / "my_task.yaml"])
    spec = registry.get("my_nli")
    data = load_task_data(spec, max_train_samples=9)
    assert data.label_names == ["entailment", "neutral", "contradiction"]
    assert len(data.train) == 9 and len(data.validation) == 24
    row = data.train[1]
    assert row["label"] == 1 and row["text_pair"] == "It happened on a Tuesday."


def test_tasks_dir_overrides_a_shipped_task(tmp_path: Path) -> None:
    shutil.copy(TASKS / "mnli_tiny.jsonl", tmp_path / "mnli_tiny.jsonl")
    text = (TASKS / "my_task.yaml").read_text(encoding="utf-8").replace("name: my_nli", "name: mnli")
    (tmp_path / "mnli.yaml").write_text(text, encoding="utf-8")
    spec = TaskRegistry.load(tasks_dirs=[tmp_path]).get("mnli")
    assert spec.data_files and spec.dataset is None


def test_squad_json_is_flattened_into_the_hf_schema() -> None:
    spec = TaskRegistry.load().with_data_override("squad", TASKS / "squad_tiny.json")
    data = load_task_data(spec)
    assert data.validation is None and len(data.train) == 18
    assert set(data.train.column_names) == {"id", "title", "question", "context", "answers"}
    for row in data.train:
        text, start = row["answers"]["text"][0], row["answers"]["answer_start"][0]
        assert row["context"][start : start + len(text)] == text
    assert data.train[0]["title"] == "Article 0" and data.train[0]["id"] == "sq000"


def test_directory_override_finds_train_and_validation(tmp_path: Path) -> None:
    shutil.copy(TASKS / "squad_tiny.json", tmp_path / "train.json")
    shutil.copy(TASKS / "squad_tiny_dev.jsonl", tmp_path / "validation.jsonl")
    spec = TaskRegistry.load().with_data_override("squad", tmp_path)
    data = load_task_data(spec, max_eval_samples=4)
    assert len(data.train) == 18 and len(data.validation) == 4


def test_parquet_and_mrqa_answers_with_a_row_filter(tmp_path: Path) -> None:
    import datasets

    rows = [json.loads(line) for line in (TASKS / "mrqa_tiny.jsonl").read_text(encoding="utf-8").splitlines()]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "mrqa.parquet"))
    bioasq = TaskRegistry.load().get("bioasq").model_dump(exclude={"source"})
    bioasq.update(dataset=None, data_files={"validation": "mrqa.parquet"})
    (tmp_path / "bio.yaml").write_text(json.dumps(bioasq), encoding="utf-8")  # JSON is YAML
    data = load_task_data(load_task_file(tmp_path / "bio.yaml"))
    assert len(data.train) == 4  # the BioASQ rows only
    for row in data.train:
        text, start = row["answers"]["text"][0], row["answers"]["answer_start"][0]
        assert row["context"][start : start + len(text)] == text
        assert row["id"].startswith("m")


def test_multiple_choice_string_labels_and_classification_names() -> None:
    registry = TaskRegistry.load()
    swag = load_task_data(registry.with_data_override("hellaswag", TASKS / "hellaswag_tiny.jsonl"))
    assert swag.num_choices == 4 and swag.train["label"][:5] == [0, 1, 2, 3, 0]
    nli = load_task_data(registry.with_data_override("mnli", TASKS / "mnli_tiny.jsonl"))
    assert nli.label_names == ["entailment", "neutral", "contradiction"]
    assert nli.train["label"][:3] == [0, 1, 2]


def test_bad_task_inputs_are_one_line_errors(tmp_path: Path) -> None:
    registry = TaskRegistry.load()
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        registry.get("nope")
    with pytest.raises(ConfigError, match="not found"):
        registry.with_data_override("mnli", tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"sentence": "x", "label": "entailment"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="column 'premise'"):
        load_task_data(registry.with_data_override("mnli", bad))
    bad.write_text(json.dumps({"premise": "x", "hypothesis": "y", "label": "maybe"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown label 'maybe'"):
        load_task_data(registry.with_data_override("mnli", bad))
    wrong_offset = tmp_path / "wrong_offset.json"
    squad = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": "The cat sat on the mat.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Who sat?",
                                "answers": [{"text": "cat", "answer_start": 9}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    wrong_offset.write_text(json.dumps(squad), encoding="utf-8")
    with pytest.raises(InputError, match="answer 'cat' is not at offset 9"):
        load_task_data(registry.with_data_override("squad", wrong_offset))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nformat: ranking\ndataset: a/b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="format"):
        load_task_file(broken)
    broken.write_text("name: x\nformat: classification\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="dataset"):
        load_task_file(broken)
    with pytest.raises(ConfigError, match="listed twice"):
        parse_task_list("mnli,mnli")
    assert parse_task_list("none") == []
    assert parse_task_list("mnli, squad=/x/y.json") == [("mnli", None), ("squad", "/x/y.json")]


DEMO_TASKS = Path(__file__).resolve().parents[1] / "mlqa_domain" / "data" / "demo" / "tasks"


@pytest.mark.parametrize(
    ("task", "filename", "rows"),
    [
        ("squad", "mini_squad.json", 33),
        ("cuad", "mini_cuad.json", 12),
        ("mnli", "mini_mnli.jsonl", 60),
        ("pubmedqa", "mini_pubmedqa.jsonl", 24),  # `context` is already one string (not context.contexts)
        ("hellaswag", "mini_hellaswag.jsonl", 24),
    ],
)
def test_demo_task_files_load_as_overrides(task: str, filename: str, rows: int) -> None:
    data = load_task_data(TaskRegistry.load().with_data_override(task, DEMO_TASKS / filename))
    assert len(data.train) == rows
    if data.spec.format == "classification":
        assert data.label_names and all(0 <= label < len(data.label_names) for label in data.train["label"])
        assert all(data.train["text_pair"])


def test_unknown_task_format_head_task_and_baseline_say_did_you_mean(tmp_path: Path) -> None:
    from mlqa_domain.training.baselines import get_baseline
    from mlqa_domain.training.formats import TASK_FORMATS, get_format
    from mlqa_domain.training.task_heads import TASK_HEADS, get_head

    task = tmp_path / "task.yaml"
    task.write_text("name: x\nformat: clasification\ndataset: a/b\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_task_file(task)
    assert info.value.where == str(task)
    assert "unknown task format 'clasification' (did you mean 'classification'?" in info.value.problem
    with pytest.raises(
        ConfigError, match=r"unknown task format 'multiple-choice' \(did you mean 'multiple_choice'"
    ):
        get_format("multiple-choice")
    with pytest.raises(
        ConfigError, match=r"unknown head 'question_answer' \(did you mean 'question_answering'"
    ):
        get_head("question_answer")
    with pytest.raises(ConfigError, match=r"unknown task 'mnlii' \(did you mean 'mnli'\?.*--task-config"):
        TaskRegistry.load().get("mnlii", where="--intermediate")
    with pytest.raises(
        ConfigError, match=r"unknown baseline 'xlmr-large.mnly' \(did you mean 'xlmr-large.mnli'"
    ):
        get_baseline("xlmr-large.mnly")
    assert TASK_FORMATS.names() == ["classification", "extractive_qa", "multiple_choice"]
    assert set(TASK_HEADS.names()) == {"question_answering", "sequence_classification", "multiple_choice"}


def test_every_task_format_names_a_registered_head_and_has_its_protocol() -> None:
    from mlqa_domain.training.formats import TASK_FORMATS, get_format
    from mlqa_domain.training.task_heads import get_head

    for name in TASK_FORMATS.names():
        task_format = get_format(name)
        assert task_format.name == name
        assert get_head(task_format.head).model_class.__name__.startswith("AutoModelFor")
        assert any(task_format.columns.values())  # at least one required canonical column
        for method in ("check_spec", "label_names", "to_canonical", "featurize", "collator"):
            assert callable(getattr(task_format, method)), (name, method)


def test_a_new_task_format_is_one_registered_class(tmp_path: Path) -> None:
    """A plug-in format (here: classification under another name) is usable by name in a task file."""
    from mlqa_domain.training.formats import TASK_FORMATS
    from mlqa_domain.training.formats.classification import Classification

    @TASK_FORMATS.register("pair_classification")
    class PairClassification(Classification):
        name = "pair_classification"
        columns = {"text": True, "text_pair": True, "label": True}

    try:
        task = tmp_path / "pairs.yaml"
        shutil.copy(TASKS / "mnli_tiny.jsonl", tmp_path / "pairs.jsonl")
        task.write_text(
            "format: pair_classification\ndata_files: {train: pairs.jsonl}\n"
            "columns: {text: premise, text_pair: hypothesis}\n",
            encoding="utf-8",
        )
        data = load_task_data(load_task_file(task))
        assert data.label_names == ["contradiction", "entailment", "neutral"] and all(data.train["text_pair"])
    finally:
        TASK_FORMATS._entries.pop("pair_classification")
