"""Steps stream: each pulls its input one example at a time, counts its stats as examples flow, and the
build's writer reads the pipeline's stats (not the steps before it)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlqa_domain.pipeline as pipeline_module
from mlqa_domain.builders.build import WriteRepo
from mlqa_domain.builders.export import (
    ConfigTables,
    RowSpill,
    arrow_schema,
    classifier_scores_type,
    group_into_configs,
    to_table,
    write_configs,
    write_parquet,
)
from mlqa_domain.example import Example
from mlqa_domain.filters import Drop, Filter, Flag, write_rejected
from mlqa_domain.labeling.taxonomy import load_taxonomy
from mlqa_domain.pipeline import ExampleSpill, Pipeline, PipelineStep, Rejected, SpilledList, batched

CONTEXT = "The lease was void because the landlord never signed it."


def make(id: str, question: str = "Who signed?", split: str = "test", lang: str = "en") -> Example:
    return Example(
        id=id,
        split=split,
        context_language=lang,
        question_language=lang,
        context=CONTEXT,
        question=question,
        answers={"text": ["the landlord"], "answer_start": [CONTEXT.index("the landlord")]},
        domains=["legal"] if int(id) % 2 else [],
        domain_scores={"legal": 0.6 if int(id) % 2 else 0.2},
        classifier_scores={"embedding": {"legal": 0.6 if int(id) % 2 else 0.2}},
        provenance={"labeler": "embedding", "label_source": "pivot:en"},
        source="test",
    )


class Source:
    """An iterator of examples that records how many were pulled from it."""

    def __init__(self, examples: list[Example]) -> None:
        self.examples, self.pulled = examples, 0

    def __iter__(self) -> Iterator[Example]:
        for example in self.examples:
            self.pulled += 1
            yield example


class NoWho(Filter):
    """Drops questions that start with 'Who', flags those without '?'."""

    name = "no_who"

    def filter(self, example: Example) -> Drop | None:
        if example.question.startswith("Who"):
            return Drop("no-who: starts with Who")
        return Flag("no-who: no question mark") if not example.question.endswith("?") else None


class Prepared(NoWho):
    """NoWho with a prepare() that records the batches it saw."""

    name = "prepared"
    prepare_batch = 2

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def prepare(self, examples: list[Example]) -> None:
        self.batches.append([e.id for e in examples])


def test_a_filter_pulls_one_example_at_a_time_and_counts_as_they_flow() -> None:
    source = Source([make("1", "What?"), make("2"), make("3", "When"), make("4", "Why?")])
    step = NoWho()
    stream = step.stream(source)
    assert source.pulled == 0  # nothing runs before the first example is asked for
    assert next(stream).id == "1" and source.pulled == 1
    assert next(stream).id == "3" and source.pulled == 3  # 2 was dropped on the way
    assert (step.stats.seen, step.stats.kept, step.stats.dropped, step.stats.flagged) == (3, 2, 1, 1)
    assert [e.id for e in stream] == ["4"]
    stats = step.stats.to_dict()
    assert {k: stats[k] for k in ("seen", "kept", "dropped", "flagged")} == {
        "seen": 4,
        "kept": 3,
        "dropped": 1,
        "flagged": 1,
    }
    assert stats["reasons"] == {"no-who": 1, "flagged: no-who": 1}
    assert [r.example.id for r in step.rejected] == ["2"]


def test_a_filter_with_prepare_holds_one_batch_at_a_time() -> None:
    source = Source([make(str(i), "What?") for i in range(1, 6)])
    step = Prepared()
    stream = step.stream(source)
    assert next(stream).id == "1" and source.pulled == 2
    assert [e.id for e in stream] == ["2", "3", "4", "5"]
    assert step.batches == [["1", "2"], ["3", "4"], ["5"]]
    assert list(batched(iter([make("1"), make("2")]), None)) == [[make("1"), make("2")]]


class Reader(PipelineStep):
    name = "read"

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        yield from data
        for example in self.source:
            self.stats.seen += 1
            yield example


class Sink(PipelineStep):
    """Records how far the reader had got when each example arrived."""

    name = "sink"

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source, self.pulled_at = source, []

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        for _ in data:
            self.pulled_at.append(self.source.pulled)
        yield from ()


def test_a_pipeline_streams_from_the_reader_to_the_sink() -> None:
    source = Source([make(str(i), "What?") for i in range(1, 6)])
    sink = Sink(source)
    pipeline = Pipeline([Reader(source), NoWho(), sink])
    assert pipeline.run() == []
    assert sink.pulled_at == [1, 2, 3, 4, 5]  # each example reached the sink before the next was read
    assert [(s.name, s.seen, s.kept) for s in pipeline.stats] == [
        ("read", 5, 5),
        ("no_who", 5, 5),
        ("sink", 5, 0),
    ]
    assert pipeline.stats_of("no_who").kind == "filter" and pipeline.stats_of("read").kind == "step"


class Reports(PipelineStep):
    """A step that is neither ReadSources nor LabelExamples but reports what they report."""

    def __init__(self, name: str, details: dict, examples: list[Example] = ()) -> None:
        self.name = name
        super().__init__()
        self.stats.details.update(details)
        self.examples = list(examples)

    def run(self, data: Iterator[Example]) -> Iterator[Example]:
        yield from data
        yield from self.examples


class Labeler:
    name = "fake"
    classifiers: list = []

    def provenance(self) -> dict:
        return {"labeler": "fake"}


def test_the_writer_reads_the_pipelines_stats_not_earlier_steps(tmp_path: Path) -> None:
    assert list(inspect.signature(WriteRepo).parameters) == ["out", "taxonomy", "taxonomy_source", "labeler"]
    examples = [make("1", "What?"), make("2"), make("3", "Why?")]
    sources = [{"location": "test.json", "kind": "squad", "files": []}]
    parallel = {"checked_ids": 0, "suspect_ids": 0, "examples": {}}
    write = WriteRepo(tmp_path / "repo", load_taxonomy(None), "default", Labeler())
    pipeline = Pipeline(
        [
            Reports("read", {"sources": sources}, examples),
            Reports("label", {"labeling": {"pivot": 3}, "parallel_check": parallel}),
            NoWho(),
            write,
        ]
    )
    assert pipeline.run() == []
    info = write.info
    assert info["sources"] == sources and info["labeling"] == {"pivot": 3}
    assert info["parallel_check"] == parallel
    assert [f["name"] for f in info["filters"]] == ["no_who"]
    assert info["examples"] == {"read": 3, "kept": 2, "rejected": 1}
    assert info["configs"]["all.en"] == {"test": 2}
    assert (tmp_path / "repo" / "rejected" / "no_who.jsonl").is_file()
    assert (write.stats.seen, write.stats.kept) == (2, 2)


def test_config_tables_in_chunks_write_the_bytes_of_one_table(tmp_path: Path) -> None:
    examples = [
        make(str(i), split=("test", "validation")[i % 3 == 0], lang=("en", "de")[i % 2]) for i in range(40)
    ]
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    sizes_whole: dict = {}
    counts = write_configs(whole, examples, ["legal"], "general", sizes_whole)
    tables = ConfigTables(["legal"], "general", flush_every=3)
    for example in examples:
        tables.add(example)
    sizes_chunked: dict = {}
    assert tables.write(chunked, sizes_chunked) == counts and sizes_chunked == sizes_whole
    files = sorted(p.relative_to(whole) for p in whole.rglob("*.parquet"))
    assert len(files) == 8  # (all, legal, general) x (en, de), splits as they come
    assert all((whole / f).read_bytes() == (chunked / f).read_bytes() for f in files)


def test_config_tables_hold_each_row_once_and_write_what_one_table_per_config_writes(tmp_path: Path) -> None:
    examples = [make(str(i), split=("test", "validation")[i % 3 == 0]) for i in range(10)]
    examples[4].title = None
    examples[5].classifier_scores = {}
    tables = ConfigTables(["legal"], "general", flush_every=4)
    for example in examples:
        tables.add(example)
    assert tables._spill is not None and tables._spill.rows == 8  # each row once, not once per config
    spill_file = tables._spill.path
    sizes: dict = {}
    tables.write(tmp_path / "out", sizes)
    schema = arrow_schema(["legal"], classifier_scores_type(examples))
    for config, splits in group_into_configs(examples, "general").items():
        for split, rows in splits.items():
            one = tmp_path / "one" / config.name / f"{split}.parquet"
            write_parquet(to_table(rows, schema), one)
            assert (
                tmp_path / "out" / "data" / config.name / f"{split}.parquet"
            ).read_bytes() == one.read_bytes()
            assert sizes[config.name][split]["num_bytes"] == to_table(rows, schema).nbytes
    assert not spill_file.exists()  # the spilled rows are deleted once written


def test_a_config_larger_than_a_row_group_is_written_in_row_groups_and_reads_back_whole(
    tmp_path: Path,
) -> None:
    examples = [make(str(i), split="test", lang=("en", "de")[i % 4 == 0]) for i in range(23)]
    with ConfigTables(["legal"], "general", flush_every=3, row_group_rows=5) as tables:
        for example in examples:
            tables.add(example)
        sizes: dict = {}
        counts = tables.write(tmp_path / "out", sizes)
    schema = arrow_schema(["legal"], classifier_scores_type(examples))
    for config, splits in group_into_configs(examples, "general").items():
        rows = splits["test"]
        path = tmp_path / "out" / "data" / config.name / "test.parquet"
        metadata = pq.ParquetFile(path).metadata
        assert metadata.num_row_groups == -(-len(rows) // 5)
        assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)][:-1] == [5] * (
            metadata.num_row_groups - 1
        )
        assert pq.read_table(path).equals(to_table(rows, schema))
        assert counts[config.name] == {"test": len(rows)}
        assert sizes[config.name]["test"]["parquet_bytes"] == path.stat().st_size
    assert counts["all.en"] == {"test": 17}  # 17 rows: 4 row groups


def test_a_row_spill_reads_one_column_of_chosen_rows_across_batches() -> None:
    schema = pa.schema([("id", pa.string()), ("answers", pa.struct([("text", pa.list_(pa.string()))]))])
    rows = [{"id": str(i), "answers": {"text": [f"answer {i}"] * (i % 3)}} for i in range(10)]
    table = pa.Table.from_pylist(rows, schema=schema)
    spill = RowSpill(schema)
    try:
        for start in (0, 4, 7):  # batches of 4, 3 and 3 rows
            spill.append(table.slice(start, {0: 4, 4: 3, 7: 3}[start]).combine_chunks())
        assert spill.starts == [0, 4, 7] and spill.rows == 10
        chosen = np.array([1, 2, 4, 5, 6, 9])  # part of the first batch, all of the second, part of the third
        for index in (0, 1):
            column = spill.column(chosen, index)
            assert isinstance(column, pa.Array)  # one chunk
            assert column.equals(table.column(index).take(chosen).combine_chunks())
        assert spill.column(np.array([4, 5, 6]), 0).to_pylist() == ["4", "5", "6"]  # a whole batch as is
    finally:
        spill.close()
    assert not spill.path.exists()


def test_example_spill_gives_the_examples_back_in_order() -> None:
    examples = [make(str(i), question=f"Who signed {i}?") for i in range(5)]
    examples[2].flags.append("flagged")
    with ExampleSpill() as spill:
        for example in examples:
            spill.write(example)
        assert list(spill.read()) == examples


def test_a_spilled_list_keeps_some_in_memory_and_the_rest_on_disk_in_order() -> None:
    items = [Rejected(make(str(i), question=f"Who signed {i}?"), "no_who", f"reason {i}") for i in range(7)]
    log = SpilledList(in_memory=3)
    for item in items[:5]:
        log.append(item)
    assert (
        log[3] == items[3]
    )  # a read that stops inside the spill, then more writes: they go after the others
    for item in items[5:]:
        log.append(item)
    assert len(log) == 7 and list(log) == items and log == items and log != items[:6]
    assert log[1] == items[1] and log[4] == items[4] and log[-1] == items[6] and log[2:5] == items[2:5]
    assert len(log._head) == 3  # the other four were pickled to the spill
    with pytest.raises(IndexError):
        log[7]
    assert SpilledList() == []


def test_a_step_that_drops_most_of_its_input_writes_every_rejection_in_order(tmp_path: Path) -> None:
    examples = [make(str(i), question=f"Who signed {i}?" if i % 5 else f"Signed {i}?") for i in range(50)]
    step = NoWho()
    step.rejected = SpilledList(in_memory=4)
    pipeline = Pipeline([step])
    assert [e.id for e in pipeline.run(examples)] == [str(i) for i in range(0, 50, 5)]
    assert pipeline.rejected_count == 40
    write_rejected(pipeline.rejected, tmp_path / "rejected")
    lines = (tmp_path / "rejected" / "no_who.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [str(i) for i in range(50) if i % 5]


class Barrier(NoWho):
    """NoWho with a prepare() over every example (a barrier) that reads them twice."""

    name = "barrier"
    prepare_batch = None

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[str]] = []
        self.batch = None

    def prepare(self, examples) -> None:
        self.batch = examples
        self.seen = [[e.id for e in examples], [e.id for e in examples]]


def test_a_barrier_filter_waits_on_disk_past_the_first_examples(monkeypatch) -> None:
    monkeypatch.setattr(pipeline_module, "IN_MEMORY", 3)
    examples = [make(str(i), question=f"Who signed {i}?" if i % 3 else f"Signed {i}?") for i in range(10)]
    step = Barrier()
    kept = step(examples)
    assert [e.id for e in kept] == ["0", "3", "6", "9"] and kept == [examples[i] for i in (0, 3, 6, 9)]
    assert step.seen == [[str(i) for i in range(10)]] * 2
    assert isinstance(step.batch, SpilledList) and step.batch.in_memory == 3
    assert len(step.batch) == 0  # closed once the examples went on: the spill is deleted
    assert [r.example.id for r in step.rejected] == [str(i) for i in range(10) if i % 3]


def test_an_example_spill_gives_each_read_its_own_place() -> None:
    examples = [make(str(i), question=f"Who signed {i}?") for i in range(6)]
    with ExampleSpill() as spill:
        for example in examples[:4]:
            spill.write(example)
        outer = spill.read()
        assert next(outer) == examples[0]
        assert [e.id for e in spill.read()] == ["0", "1", "2", "3"]  # a second read in between
        spill.write(examples[4])  # and a write
        assert [e.id for e in outer] == ["1", "2", "3"]  # the first read goes on where it was
        spill.write(examples[5])
        assert list(spill.read()) == examples


def test_the_pivot_store_groups_as_the_examples_do() -> None:
    from mlqa_domain.labeling.pivot import check_parallel, group_by_id
    from mlqa_domain.labeling.pivot_store import PivotStore

    examples = [make(str(i), lang=("en", "de")[i % 2]) for i in range(6)]
    for example in examples:
        example.id = str(int(example.id) // 2)  # pairs of parallel instances, en first
    examples.append(make("9", lang="de"))  # an id without English: not checked
    with PivotStore() as store:
        for example in examples:
            store.add(example)
        groups = dict(store.parallel_groups())
        assert (
            check_parallel(store.parallel_groups()).to_dict()
            == check_parallel(group_by_id(examples)).to_dict()
        )
        assert {gid: len(insts) for gid, insts in groups.items()} == {"0": 2, "1": 2, "2": 2}
        assert [i.context_language for i in groups["0"]] == ["en", "de"]
        assert groups["0"][0].context == examples[0].context
        assert store._db.execute("SELECT COUNT(*) FROM texts").fetchone()[0] == len(
            {e.context for e in examples} | {e.title for e in examples if e.title}
        )  # each distinct text once
