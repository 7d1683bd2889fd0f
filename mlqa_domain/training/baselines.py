"""The standard STILTs baselines (``baselines.yaml``): named `bench stilts` configurations."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlqa_domain.benchmark.settings import STILTS, StiltsConfig
from mlqa_domain.errors import ConfigError
from mlqa_domain.registry import Registry
from mlqa_domain.training.stilts import OVERRIDABLE, make_config
from mlqa_domain.training.task_registry import NO_TASK, read_yaml_model


class _TargetSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str = STILTS.target
    hparams: dict[str, Any] = Field(default_factory=dict)


class _IntermediateSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hparams: dict[str, Any] = Field(default_factory=dict)
    tasks: list[str] = Field(default_factory=lambda: [NO_TASK])


class _ExtraRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    model: str
    intermediate: list[str]
    description: str = ""


class _RunSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = STILTS.seed
    precision: str = "bf16"
    save_steps: float = STILTS.save_steps
    eval_split: str = STILTS.eval_split
    eval_batch_size: int = 64


class Recipe(BaseModel):
    """A named hyper-parameter preset: per-phase overrides of the tasks' defaults, with its sources."""

    model_config = ConfigDict(extra="forbid")
    name: str = ""
    description: str
    source: str
    intermediate: dict[str, Any] = Field(default_factory=dict)
    target: dict[str, Any] = Field(default_factory=dict)


class BaselinesFile(BaseModel):
    """The whole ``baselines.yaml``."""

    model_config = ConfigDict(extra="forbid")
    models: dict[str, str]
    recipes: dict[str, Recipe] = Field(default_factory=dict)
    recipe: str | None = None
    target: _TargetSection = Field(default_factory=_TargetSection)
    intermediate: _IntermediateSection = Field(default_factory=_IntermediateSection)
    extra_runs: list[_ExtraRun] = Field(default_factory=list)
    run: _RunSection = Field(default_factory=_RunSection)


@dataclass
class Baseline:
    """One named run: base model, intermediate task(s), target, and their hyper-parameters."""

    name: str
    model_alias: str
    base: str
    intermediate: list[str]
    target: str
    intermediate_hparams: dict[str, Any]
    target_hparams: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    recipe: Recipe | None = None
    recipes: dict[str, Recipe] = field(default_factory=dict)  # every recipe of the file (--recipe NAME)

    @property
    def recipe_name(self) -> str | None:
        """The name of the baseline's own recipe."""
        return self.recipe.name if self.recipe else None

    def to_config(
        self,
        eval_data: str | None = None,
        base: str | None = None,
        data: dict[str, str] | None = None,
        recipe: str | None = None,
        phase_options: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> StiltsConfig:
        """The :class:`StiltsConfig` of this baseline; ``base`` / ``data`` point at local copies.

        ``recipe`` names another recipe of the file than the baseline's. ``phase_options`` (early stopping,
        save interval, per-device batch) apply to both phases, over the recipe. ``overrides`` are
        StiltsConfig fields (``max_steps``, ``max_train_samples``, ``precision``, ...); ``None`` values are
        ignored.
        """
        chosen = self.recipe if recipe is None else _pick_recipe(self.recipes, recipe)
        given = {k: v for k, v in (phase_options or {}).items() if v is not None}
        data = data or {}
        unknown = sorted(set(data) - {*self.intermediate, self.target})
        if unknown:
            raise ConfigError(f"--data names task(s) {unknown} that this baseline does not use", "--data")

        def with_path(task: str) -> str:
            return f"{task}={data[task]}" if task in data else task

        options: dict[str, Any] = {
            "seed": self.run["seed"],
            "precision": self.run["precision"],
            "save_steps": self.run["save_steps"],
            "eval_split": self.run["eval_split"],
            "eval_batch_size": self.run["eval_batch_size"],
        }
        options.update({k: v for k, v in overrides.items() if v is not None})
        intermediate = {**(chosen.intermediate if chosen else {}), **self.intermediate_hparams, **given}
        target = {**(chosen.target if chosen else {}), **self.target_hparams, **given}
        return make_config(
            base or self.base,
            intermediate=",".join(with_path(t) for t in self.intermediate) or NO_TASK,
            target=with_path(self.target),
            eval_data=eval_data,
            intermediate_overrides=intermediate if self.intermediate else {},
            target_overrides=target,
            recipe=chosen.name if chosen else None,
            **options,
        )


def _pick_recipe(recipes: dict[str, Recipe], name: str, where: str | Path | None = None) -> Recipe:
    known: Registry[Recipe] = Registry("recipe")
    for recipe_name, recipe in recipes.items():
        known.register(recipe_name)(recipe)
    if name not in known:
        raise ConfigError(known.unknown_message(name), where or "--recipe")
    return known.get(name)


def load_recipes(path: str | Path | None = None) -> dict[str, Recipe]:
    """The named hyper-parameter presets of a baselines file (the shipped one by default)."""
    path = Path(path) if path else default_baselines_path()
    spec = read_yaml_model(path, BaselinesFile, "baselines")
    return _checked_recipes(spec, path)


def get_recipe(name: str, path: str | Path | None = None) -> Recipe:
    """One recipe by name (ConfigError with "did you mean" otherwise)."""
    return _pick_recipe(load_recipes(path), name)


def _checked_recipes(spec: BaselinesFile, path: Path) -> dict[str, Recipe]:
    recipes = {}
    for name, recipe in spec.recipes.items():
        _check_hparams(recipe.intermediate, f"recipes.{name}.intermediate", path)
        _check_hparams(recipe.target, f"recipes.{name}.target", path)
        recipes[name] = recipe.model_copy(update={"name": name})
    if spec.recipe is not None and spec.recipe not in recipes:
        raise ConfigError(f"recipe: unknown recipe {spec.recipe!r} (recipes: {', '.join(recipes)})", path)
    return recipes


def default_baselines_path() -> Path:
    """The baselines file shipped with the package."""
    return Path(str(resources.files("mlqa_domain") / "training" / "baselines.yaml"))


def _check_hparams(values: dict[str, Any], where: str, path: Path) -> None:
    unknown = sorted(set(values) - set(OVERRIDABLE))
    if unknown:
        raise ConfigError(f"{where}: unknown hyper-parameter(s) {unknown}", path)


def load_baselines(path: str | Path | None = None) -> dict[str, Baseline]:
    """All baselines by name: the model x intermediate-task grid, then ``extra_runs``."""
    path = Path(path) if path else default_baselines_path()
    spec = read_yaml_model(path, BaselinesFile, "baselines")
    _check_hparams(spec.target.hparams, "target.hparams", path)
    _check_hparams(spec.intermediate.hparams, "intermediate.hparams", path)
    recipes = _checked_recipes(spec, path)
    recipe = recipes[spec.recipe] if spec.recipe else None
    run = spec.run.model_dump()
    baselines: dict[str, Baseline] = {}

    def add(name: str, alias: str, intermediate: list[str], description: str) -> None:
        if alias not in spec.models:
            raise ConfigError(
                f"run {name!r}: unknown model {alias!r} (models: {', '.join(spec.models)})", path
            )
        if name in baselines:
            raise ConfigError(f"duplicate baseline name {name!r}", path)
        baselines[name] = Baseline(
            name=name,
            model_alias=alias,
            base=spec.models[alias],
            intermediate=intermediate,
            target=spec.target.task,
            intermediate_hparams=dict(spec.intermediate.hparams),
            target_hparams=dict(spec.target.hparams),
            run=run,
            description=description,
            recipe=recipe,
            recipes=recipes,
        )

    for alias in spec.models:
        for task in spec.intermediate.tasks:
            intermediate = [] if task == NO_TASK else [task]
            label = "SQuAD only" if task == NO_TASK else f"{task} -> {spec.target.task}"
            add(f"{alias}.{task}", alias, intermediate, label)
    for extra in spec.extra_runs:
        add(extra.name, extra.model, list(extra.intermediate), extra.description)
    return baselines


def get_baseline(name: str, path: str | Path | None = None) -> Baseline:
    """One baseline by name (ConfigError with "did you mean" and the known names otherwise)."""
    known: Registry[Baseline] = Registry("baseline")
    for baseline_name, baseline in load_baselines(path).items():
        known.register(baseline_name)(baseline)
    if name not in known:
        raise ConfigError(f"{known.unknown_message(name)}; see `bench baselines --list`", "--run")
    return known.get(name)
