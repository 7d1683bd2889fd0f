"""`bench stilts` end to end on a tiny XLM-R: head swap, multi-task, 3 phases, resume, refusal, baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import typer
import yaml
from transformers import TrainerCallback
from typer.testing import CliRunner

from mlqa_domain.errors import ConfigError, InputError
from mlqa_domain.example import Example
from mlqa_domain.training.head_swap import (
    build_multitask_model,
    encoder_of,
    head_modules,
    load_with_new_head,
)
from mlqa_domain.training.stilts import check_run_dir, make_config, run_stilts

TASKS = Path(__file__).resolve().parent / "fixtures" / "tasks"
MNLI = TASKS / "mnli_tiny.jsonl"
SQUAD = TASKS / "squad_tiny.json"
SWAG = TASKS / "hellaswag_tiny.jsonl"
TINY_QA = {"batch_size": 4, "max_seq_length": 64, "doc_stride": 16, "warmup": 0, "learning_rate": 1e-3}
TINY_CLS = {"batch_size": 4, "max_seq_length": 64, "warmup": 0, "learning_rate": 1e-3}

EVAL_ROWS = [  # (context language, question language, domains, context, question, answer)
    (
        "de",
        "de",
        ["legal"],
        "Der Vertrag ist nichtig, weil der Mieter nicht unterschrieben hat.",
        "Was ist nichtig?",
        "Der Vertrag",
    ),
    (
        "de",
        "de",
        [],
        "Die Zentralbank erhöhte den Leitzins gegen die Inflation.",
        "Was erhöhte sie?",
        "den Leitzins",
    ),
    ("en", "en", ["legal"], "The court ruled that the contract was void.", "What was void?", "the contract"),
    ("en", "en", [], "The river flows through the old town.", "Where does it flow?", "through the old town"),
]


@pytest.fixture(scope="module")
def eval_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset repo in the built layout, written with the builder's own export and card helpers."""
    from mlqa_domain.builders.card import front_matter
    from mlqa_domain.builders.export import write_build_info, write_configs

    out = tmp_path_factory.mktemp("repo") / "mlqa-domain"
    out.mkdir()
    examples = [
        Example(
            id=f"t{i}",
            split="test",
            context_language=c_lang,
            question_language=q_lang,
            context=context,
            question=question,
            answers={"text": [answer], "answer_start": [context.index(answer)]},
            domains=list(domains),
            domain_scores={"legal": 0.5 if domains else 0.1},
            classifier_scores={"embedding": {"legal": 0.5 if domains else 0.1}},
            source="fixture",
        )
        for i, (c_lang, q_lang, domains, context, question, answer) in enumerate(EVAL_ROWS)
    ]
    counts = write_configs(out, examples, ["legal"], "general")
    info = {"harness_version": "test", "domains": ["legal"], "general": "general", "languages": ["de", "en"]}
    write_build_info(out, {**info, "configs": counts})
    header = yaml.safe_dump(front_matter(counts, ["de", "en"]), sort_keys=False, allow_unicode=True)
    (out / "README.md").write_text(f"---\n{header}---\n\n# fixture\n", encoding="utf-8")
    return out


class StopAfterFirstSave(TrainerCallback):
    """Simulates a crash: raises right after the Trainer wrote its first checkpoint."""

    def on_save(self, args, state, control, **kwargs):
        raise KeyboardInterrupt(f"simulated interruption after checkpoint-{state.global_step}")


def _tiny_config(base: Path, intermediate: str, **kwargs):
    options = {
        "target": f"squad={SQUAD}",
        "max_steps": 4,
        "save_steps": 2,
        "seed": 3,
        "eval_batch_size": 8,
        "intermediate_overrides": dict(TINY_CLS),
        "target_overrides": dict(TINY_QA),
    }
    options.update(kwargs)
    return make_config(str(base), intermediate=intermediate, **options)


def test_head_swap_keeps_the_encoder_and_draws_a_new_head(tiny_xlmr: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    first = load_with_new_head(tiny_xlmr, "classification", ["a", "b", "c"])
    with torch.no_grad():
        for param in first.parameters():
            param.add_(0.25)  # "trained": every weight moved away from its initial value
    first.save_pretrained(tmp_path / "phase1")
    old = first.state_dict()
    for fmt, labels in (("extractive_qa", None), ("classification", ["x", "y"]), ("multiple_choice", None)):
        swapped = load_with_new_head(tmp_path / "phase1", fmt, labels)
        new_encoder = encoder_of(swapped).state_dict()
        for key, value in encoder_of(first).state_dict().items():
            assert torch.equal(new_encoder[key], value), (fmt, key)
        for name, module in head_modules(swapped).items():
            for pname, param in module.named_parameters():
                full = f"{name}.{pname}"
                assert full not in old or not torch.equal(old[full], param), (fmt, full)
                if pname.endswith("weight"):
                    assert param.abs().max() < 0.25, (fmt, full)  # fresh init (std 0.02), not the shifted one
    qa = load_with_new_head(tmp_path / "phase1", "extractive_qa")
    assert qa.config.num_labels == 2 and qa.qa_outputs.out_features == 2


def test_multitask_model_shares_one_encoder(tiny_xlmr: Path) -> None:
    model = build_multitask_model(
        tiny_xlmr, {"nli": "classification", "qa": "extractive_qa"}, {"nli": ["a", "b", "c"], "qa": None}
    )
    keys = list(model.state_dict())
    assert not any(k.startswith("heads.") and ".roberta." in k for k in keys)
    assert {k.split(".")[1] for k in keys if k.startswith("heads.")} == {"nli", "qa"}
    assert model.heads["nli"].roberta is model.encoder and model.heads["qa"].roberta is model.encoder
    ids = torch.tensor([[0, 5, 6, 2]])
    out = model(
        task_id=torch.tensor([0]),
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        labels=torch.tensor([1]),
    )
    out.loss.backward()
    assert model.encoder.embeddings.word_embeddings.weight.grad is not None
    qa = model(
        task_id=torch.tensor([1]),
        input_ids=ids,
        start_positions=torch.tensor([1]),
        end_positions=torch.tensor([2]),
    )
    assert qa.start_logits.shape == (1, 4)


@pytest.fixture(scope="module")
def squad_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SQuAD-format train.json plus an HF-schema validation.jsonl: a task directory with an eval split."""
    out = tmp_path_factory.mktemp("squad")
    shutil.copy(SQUAD, out / "train.json")
    shutil.copy(TASKS / "squad_tiny_dev.jsonl", out / "validation.jsonl")
    return out


def test_three_phases_interrupted_resumed_and_skipped(
    tiny_xlmr: Path, eval_repo: Path, squad_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "runs" / "my_nli"
    # intermediate: a user task file (classification with a validation split: eval + early stopping on
    # accuracy); target: SQuAD with a validation split (validated by F1, no early stopping)
    config = _tiny_config(
        tiny_xlmr,
        "my_nli",
        target=f"squad={squad_dir}",
        task_configs=[str(TASKS / "my_task.yaml")],
        eval_data=str(eval_repo),
        intermediate_overrides={**TINY_CLS, "early_stopping_patience": 2},
    )
    with pytest.raises(KeyboardInterrupt, match="checkpoint-2"):
        run_stilts(config, run_dir, callbacks=[StopAfterFirstSave()])
    phase1 = run_dir / "intermediate"
    assert (phase1 / "checkpoints" / "checkpoint-2").is_dir()
    assert (phase1 / "phase_config.json").is_file() and not (phase1 / "DONE").exists()
    assert not (run_dir / "target").exists()

    summary = run_stilts(config, run_dir)  # same command again: resumes phase 1, runs 2 and 3
    first = summary["intermediate"]
    assert first["resumed_from_checkpoint"] == "checkpoint-2" and first["global_step"] == 4
    assert first["best_checkpoint"] in ("checkpoint-2", "checkpoint-4")  # early stopping keeps the best
    assert {"eval_loss", "eval_accuracy", "eval_macro_f1", "eval_score"} <= set(first["eval"])
    assert first["eval"]["eval_score"] == first["eval"]["eval_accuracy"]  # the task metric, not the loss
    assert first["tasks"]["my_nli"]["eval_metric"] == "accuracy"
    assert first["batch"] == {"batch_size": 4, "per_device": 4, "accumulation": 1, "devices": 1}
    assert summary["target"]["resumed_from_checkpoint"] is None
    assert summary["target"]["source_model"] == str(phase1 / "model")
    target_eval = summary["target"]["eval"]
    assert {"eval_loss", "eval_f1", "eval_exact_match"} <= set(target_eval)
    assert target_eval["eval_score"] == target_eval["eval_f1"] and 0 <= target_eval["eval_f1"] <= 100
    assert "best_checkpoint" not in summary["target"]  # early stopping is off by default
    squad = summary["target"]["tasks"]["squad"]
    assert (squad["train_examples"], squad["eval_examples"]) == (18, 10)
    assert squad["train_features"] > 18  # 64-token windows: long contexts overflow into several features
    for phase in ("intermediate", "target", "eval"):
        assert (run_dir / phase / "DONE").is_file()
        assert json.loads((run_dir / phase / "metrics.json").read_text(encoding="utf-8"))
    assert not (phase1 / "checkpoints").exists()  # removed once the phase is done
    labels = json.loads((phase1 / "model" / "config.json").read_text(encoding="utf-8"))["id2label"]
    assert labels == {"0": "entailment", "1": "neutral", "2": "contradiction"}

    results_dir = run_dir / "eval" / "results"
    results = json.loads((results_dir / "results.json").read_text(encoding="utf-8"))
    assert results["schema_version"] == 1
    assert results["model"]["id"] == run_dir.name  # phase 3 names the model after the run
    assert results["model"]["base_model"] in (str(tiny_xlmr), tiny_xlmr.name)  # public name: no local path
    assert results["model"]["intermediate_tasks"] == ["my_nli"]
    assert {"legal.de", "general.de", "legal.en", "general.en"} <= set(results["configs"])
    for row in results["configs"].values():
        assert (results_dir / row["predictions_file"]).is_file()
    assert summary["eval"]["aggregates"] == results["aggregates"]

    run_json = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert run_json["identity"]["config"]["intermediate"] == ["my_nli"]
    assert run_json["identity"]["phases"]["target"]["settings"]["learning_rate"] == 1e-3
    done_times = {p: (run_dir / p / "DONE").stat().st_mtime_ns for p in ("intermediate", "target", "eval")}
    again = run_stilts(config, run_dir)  # everything is DONE: nothing reruns
    assert {p: (run_dir / p / "DONE").stat().st_mtime_ns for p in done_times} == done_times
    assert again["target"] == summary["target"]

    # evaluation-only options (configs, batch size) re-score the trained model; training stays DONE
    import dataclasses

    rescored = run_stilts(dataclasses.replace(config, eval_configs=["legal.*"], eval_batch_size=4), run_dir)
    for phase in ("intermediate", "target"):
        assert (run_dir / phase / "DONE").stat().st_mtime_ns == done_times[phase]
    assert (run_dir / "eval" / "DONE").stat().st_mtime_ns != done_times["eval"]
    assert rescored["target"] == summary["target"]
    rescored_configs = json.loads((results_dir / "results.json").read_text("utf-8"))["configs"]
    assert set(rescored_configs) and all(name.startswith("legal.") for name in rescored_configs)

    changed = _tiny_config(
        tiny_xlmr,
        "my_nli",
        target=f"squad={squad_dir}",
        task_configs=[str(TASKS / "my_task.yaml")],
        eval_data=str(eval_repo),
        seed=4,
    )
    with pytest.raises(ConfigError, match="different config.*seed: 3 -> 4"):
        run_stilts(changed, run_dir)


def test_force_discards_a_different_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "target").mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"identity": {"config": {"seed": 1}}}), encoding="utf-8")
    check_run_dir(run_dir, {"config": {"seed": 2}}, force=False)  # no finished phase, no checkpoint: replaced
    assert not (run_dir / "run.json").exists()
    (run_dir / "target" / "DONE").parent.mkdir(parents=True, exist_ok=True)
    (run_dir / "target" / "DONE").write_text("done", encoding="utf-8")
    (run_dir / "run.json").write_text(json.dumps({"identity": {"config": {"seed": 1}}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="seed: 1 -> 2"):
        check_run_dir(run_dir, {"config": {"seed": 2}}, force=False)
    check_run_dir(run_dir, {"config": {"seed": 2}}, force=True)
    assert not (run_dir / "target").exists() and not (run_dir / "run.json").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(Exception, match="not empty"):
        check_run_dir(tmp_path / "other", {"config": {}}, force=False)


def test_cli_multitask_intermediate_feeds_the_target(
    tiny_xlmr: Path, squad_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "multi"
    args = ["stilts", "--base", str(tiny_xlmr), "--out", str(out)]
    args += [
        "--intermediate",
        f"mnli={MNLI},squad={squad_dir},hellaswag={SWAG}",
        "--target",
        f"squad={SQUAD}",
    ]
    args += ["--max-steps", "3", "--save-steps", "2", "--seed", "5", "--eval-batch-size", "8"]
    args += [
        "--lr",
        "1e-3",
        "--batch-size",
        "4",
        "--max-seq-length",
        "64",
        "--doc-stride",
        "16",
        "--warmup",
        "0",
    ]
    args += ["--intermediate-lr", "1e-3", "--intermediate-batch-size", "4", "--early-stopping", "2"]
    result = CliRunner().invoke(_app(), args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    summary = {p: json.loads((out / p / "metrics.json").read_text()) for p in ("intermediate", "target")}
    tasks = summary["intermediate"]["tasks"]
    assert set(tasks) == {"mnli", "squad", "hellaswag"}
    assert tasks["mnli"]["batches_per_epoch"] == 6 and tasks["squad"]["eval_examples"] == 10
    assert "eval_loss" in summary["intermediate"]["eval"]  # loss over the tasks with a validation split
    encoder_dir = out / "intermediate" / "model"
    assert json.loads((encoder_dir / "config.json").read_text())["architectures"] == ["XLMRobertaModel"]
    from transformers import AutoModel

    saved = AutoModel.from_pretrained(encoder_dir).state_dict()
    base = AutoModel.from_pretrained(tiny_xlmr).state_dict()
    assert any(not torch.equal(saved[k], base[k]) for k in saved if k in base)  # the encoder was trained
    assert summary["target"]["global_step"] == 3 and summary["target"]["source_model"] == str(encoder_dir)
    phases = json.loads((out / "run.json").read_text())["identity"]["phases"]
    assert phases["target"]["settings"]["learning_rate"] == 1e-3
    assert phases["intermediate"]["settings"]["per_task"]["hellaswag"] == {
        "max_seq_length": 256,
        "doc_stride": 128,
    }
    assert not (out / "eval").exists()  # no --eval-data: phase 3 skipped


def _app() -> typer.Typer:
    from mlqa_domain.training.commands.baselines import baselines
    from mlqa_domain.training.commands.stilts import stilts

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    app.command("stilts")(stilts)
    app.command("baselines")(baselines)
    return app


def test_baselines_list_and_every_baseline_resolves() -> None:
    from mlqa_domain.training.baselines import load_baselines
    from mlqa_domain.training.stilts import plan_phases

    result = CliRunner().invoke(_app(), ["baselines", "--list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("xlmr-base.none", "xlmr-large.mnli", "xlmr-large.ledgar", "xlmr-large.mnli+squad+hellaswag"):
        assert name in result.output
    baselines = load_baselines()
    assert len(baselines) == 2 * 10 + 1
    large = baselines["xlmr-large.cuad"].to_config(eval_data="./mlqa-domain")
    phases = plan_phases(large)
    assert [p.name for p in phases] == ["intermediate", "target"]
    assert phases[0].settings.learning_rate == 1e-5 and phases[0].settings.max_seq_length == 384
    target = phases[1].settings
    assert (target.learning_rate, target.epochs, target.batch_size, target.warmup) == (3e-5, 3, 32, 500)
    assert target.early_stopping_patience == 0 and large.base == "FacebookAI/xlm-roberta-large"
    assert plan_phases(baselines["xlmr-base.none"].to_config())[0].name == "target"


def test_cli_baseline_smoke_run_and_one_line_errors(tiny_xlmr: Path, eval_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs" / "base-none"
    args = ["baselines", "--run", "xlmr-base.none", "--base", str(tiny_xlmr), "--data", f"squad={SQUAD}"]
    args += ["--eval-data", str(eval_repo), "--out", str(out), "--max-steps", "2", "--precision", "fp32"]
    args += ["--eval-configs", "legal.*", "--per-device-batch-size", "8"]
    result = CliRunner().invoke(_app(), args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # the xtreme recipe's batch of 32, formed as 8 per device x 4 accumulation steps, and recorded
    target = json.loads((out / "target" / "metrics.json").read_text(encoding="utf-8"))
    assert target["batch"] == {"batch_size": 32, "per_device": 8, "accumulation": 4, "devices": 1}
    settings = json.loads((out / "run.json").read_text(encoding="utf-8"))["identity"]["phases"]["target"]
    assert settings["settings"]["early_stopping_patience"] == 0 and settings["settings"]["save_steps"] == 0.1
    assert "8x4x1=32" in result.output
    results = json.loads((out / "eval" / "results" / "results.json").read_text(encoding="utf-8"))
    assert (
        set(results["configs"]) == {"legal.de", "legal.en"} and results["model"]["intermediate_tasks"] == []
    )
    assert "F1" in result.output

    bad = CliRunner().invoke(
        _app(), ["stilts", "--base", str(tiny_xlmr), "--out", str(out), "--target", "nope"]
    )
    assert isinstance(bad.exception, ConfigError) and "unknown task 'nope'" in str(bad.exception)
    bad = CliRunner().invoke(_app(), ["baselines", "--run", "xlmr-huge.none"])
    assert isinstance(bad.exception, ConfigError) and "unknown baseline" in str(bad.exception)


def test_recipes_are_named_presets_with_sources_and_cli_options_override_them() -> None:
    from mlqa_domain.training.baselines import get_recipe, load_baselines
    from mlqa_domain.training.stilts import plan_phases

    result = CliRunner().invoke(_app(), ["baselines", "--list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (
        "recipe xtreme (the baselines' recipe)" in result.output and "recipe jiant-xstilts" in result.output
    )
    assert "google-research/xtreme" in get_recipe("xtreme").source
    assert "nyu-mll/jiant" in get_recipe("jiant-xstilts").source
    baseline = load_baselines()["xlmr-large.mnli"]
    assert baseline.recipe_name == "xtreme"
    xtreme = plan_phases(baseline.to_config())
    jiant_config = baseline.to_config(recipe="jiant-xstilts")
    jiant = plan_phases(jiant_config)
    assert jiant_config.recipe == "jiant-xstilts" and baseline.to_config().recipe == "xtreme"
    inter, target = (p.settings for p in jiant)
    assert (target.learning_rate, target.epochs, target.batch_size, target.warmup) == (1e-5, 2, 16, 0.1)
    assert (target.early_stopping_patience, target.save_steps, target.weight_decay) == (30, 1000, 0.01)
    assert (inter.max_seq_length, inter.batch_size, inter.early_stopping_patience) == (256, 4, 0)
    for phase in xtreme:  # the default recipe: no early stopping in either phase, a tenth of a phase
        assert phase.settings.early_stopping_patience == 0 and phase.settings.save_steps == 0.1
    assert xtreme[0].settings.max_seq_length == 256 and xtreme[0].settings.weight_decay == 0.01
    # one rule for both commands: an explicit value applies to both phases, over the recipe
    off = plan_phases(
        baseline.to_config(recipe="jiant-xstilts", phase_options={"early_stopping_patience": 0})
    )
    assert [p.settings.early_stopping_patience for p in off] == [0, 0]
    bad = CliRunner().invoke(_app(), ["baselines", "--run", "xlmr-base.none", "--recipe", "xtrem"])
    assert isinstance(bad.exception, ConfigError) and "did you mean 'xtreme'" in str(bad.exception)


def test_cli_seeds_one_run_per_seed_and_the_spread_over_seeds(
    tiny_xlmr: Path, eval_repo: Path, tmp_path: Path
) -> None:
    from mlqa_domain.benchmark.seeds import summarize

    out = tmp_path / "runs" / "multi"
    args = ["stilts", "--base", str(tiny_xlmr), "--out", str(out), "--target", f"squad={SQUAD}"]
    args += ["--recipe", "jiant-xstilts", "--lr", "1e-3", "--batch-size", "4", "--max-seq-length", "64"]
    args += ["--doc-stride", "16", "--max-steps", "2", "--eval-data", str(eval_repo), "--seeds", "1,2"]
    result = CliRunner().invoke(_app(), args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2 seeds (1, 2)" in result.output
    for seed in (1, 2):
        run = json.loads((out / f"seed-{seed}" / "run.json").read_text(encoding="utf-8"))["identity"]
        assert run["config"]["seed"] == seed and run["config"]["recipe"] == "jiant-xstilts"
        target = run["phases"]["target"]["settings"]
        assert (target["learning_rate"], target["epochs"], target["early_stopping_patience"]) == (1e-3, 2, 30)
    aggregate = json.loads((out / "results" / "results.json").read_text(encoding="utf-8"))
    per_seed = [
        json.loads((out / "results" / f"seed-{s}" / "results.json").read_text(encoding="utf-8"))
        for s in (1, 2)
    ]
    assert per_seed[0] == json.loads(
        (out / "seed-1" / "eval" / "results" / "results.json").read_text("utf-8")
    )
    assert (out / "results" / "seed-2" / per_seed[1]["configs"]["legal.de"]["predictions_file"]).is_file()
    seeds = aggregate["seeds"]
    assert seeds["values"] == [1, 2] and seeds["dirs"] == {"1": "seed-1", "2": "seed-2"}
    assert aggregate["model"]["id"] == "multi"  # the run's name, not seed-1
    for name, row in aggregate["configs"].items():
        values = [r["configs"][name]["f1"] for r in per_seed]
        assert (
            row["f1"] == pytest.approx(sum(values) / 2)
            and row["count"] == per_seed[0]["configs"][name]["count"]
        )
        assert seeds["per_config"][name]["f1"] == summarize(values) and row["predictions_file"] is None
    spread = seeds["per_config"]["legal.de"]["em"]
    if spread["std"]:  # t(0.975, 1) = 12.706: the CI over two seeds is wide
        assert spread["ci95"][1] - spread["mean"] == pytest.approx(12.7062047 * spread["std"] / 2**0.5)
    assert seeds["aggregates"] and all(set(v) == {"f1", "em"} for v in seeds["aggregates"].values())

    done = {s: (out / f"seed-{s}" / "target" / "DONE").stat().st_mtime_ns for s in (1, 2)}
    args[args.index("1,2")] = "1,2,3"  # one more seed: the first two are not trained again
    again = CliRunner().invoke(_app(), args, env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert {s: (out / f"seed-{s}" / "target" / "DONE").stat().st_mtime_ns for s in (1, 2)} == done
    assert json.loads((out / "results" / "results.json").read_text("utf-8"))["seeds"]["values"] == [1, 2, 3]

    single = CliRunner().invoke(_app(), [*args[: args.index("--seeds")], "--seed", "7"])
    assert isinstance(single.exception, Exception) and "not empty" in str(single.exception)
    both = CliRunner().invoke(_app(), [*args, "--seed", "7"])
    assert isinstance(both.exception, ConfigError) and "one of --seed and --seeds" in str(both.exception)


def test_a_batch_the_launch_cannot_form_is_refused_before_anything_is_written(
    tiny_xlmr: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs" / "bad-batch"
    args = ["stilts", "--base", str(tiny_xlmr), "--out", str(out), "--target", f"squad={SQUAD}"]
    result = CliRunner().invoke(_app(), [*args, "--batch-size", "6", "--per-device-batch-size", "4"])
    assert isinstance(result.exception, ConfigError) and result.exception.where == "--per-device-batch-size"
    assert "batch of 6" in str(result.exception) and not out.exists()
    result = CliRunner().invoke(_app(), [*args, "--save-steps", "2.5"])
    assert isinstance(result.exception, ConfigError) and result.exception.where == "--save-steps"
    assert not out.exists()


def _run_files(run_dir: Path) -> dict[str, bytes]:
    """What a rerun must reproduce: every predictions file, scores.json, and results.json without the
    wall-clock fields (``created``, ``timings``)."""
    results_dir = run_dir / "eval" / "results"
    files = {p.relative_to(results_dir).as_posix(): p.read_bytes() for p in results_dir.rglob("*.json")}
    results = json.loads(files.pop("results.json"))
    for key in ("created", "timings"):
        results.pop(key)
    files["results.json"] = json.dumps(results, sort_keys=True).encode()
    return files


def test_a_seeded_run_repeats_byte_for_byte(eval_repo: Path, tmp_path: Path) -> None:
    """The same command with the same seed on the same CPU: a freshly made tiny model (tokenizer trained
    on the fly), both training phases and phase 3 give identical bytes."""
    from mlqa_domain.training.tiny_model import build_tiny_xlmr

    texts = [row[3] + " " + row[4] for row in EVAL_ROWS] * 3
    runs = []
    for name in ("first", "second"):
        base = build_tiny_xlmr(tmp_path / name / "base", texts, vocab_size=600, hidden_size=32)
        config = _tiny_config(base, f"mnli={MNLI}", eval_data=str(eval_repo), max_steps=3, save_steps=3)
        run_stilts(config, tmp_path / name / "run")
        runs.append(tmp_path / name)
    assert (runs[0] / "base" / "tokenizer.json").read_bytes() == (
        runs[1] / "base" / "tokenizer.json"
    ).read_bytes()
    first, second = _run_files(runs[0] / "run"), _run_files(runs[1] / "run")
    assert sorted(first) == sorted(second) and any(k.startswith("predictions/") for k in first)
    assert first == second
    for phase in ("intermediate", "target"):
        for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json"):
            saved = [(r / "run" / phase / "model" / name).read_bytes() for r in runs]
            assert saved[0] == saved[1], (phase, name)
    # the run record vouches for how the checkpoint was trained: a contradicting claim is refused
    from mlqa_domain.leaderboard.claims import check_training_claims

    results_dir = runs[0] / "run" / "eval" / "results"
    results = json.loads((results_dir / "results.json").read_text("utf-8"))
    assert results["model"]["source"] == "bench stilts" and results["protocol"]["name"] == "mlqa-v1"
    assert check_training_claims(results_dir, results) == "recorded"
    assert check_training_claims(results_dir, results, intermediate_tasks=["mnli"]) == "recorded"
    with pytest.raises(InputError, match="base model is 'base' in the `bench stilts` run record"):
        check_training_claims(results_dir, results, base_model="xlm-roberta-large")
    with pytest.raises(InputError, match="intermediate tasks"):
        edited = {**results, "model": {**results["model"], "intermediate_tasks": []}}
        check_training_claims(results_dir, edited)
    copied = tmp_path / "copied"  # a results dir without its run record: only declared
    shutil.copytree(results_dir, copied)
    assert check_training_claims(copied, results) == "declared"
