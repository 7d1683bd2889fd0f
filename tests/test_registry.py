"""The plug-in registry: registration, contracts, names, did-you-mean errors, module discovery."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import pytest

from mlqa_domain.errors import ConfigError
from mlqa_domain.registry import Registry, contract_problem, protocol_members


def test_register_and_get():
    things: Registry[type] = Registry("source")

    @things.register("mlqa-official")
    class Official:
        pass

    assert things.get("mlqa-official") is Official
    assert things.names() == ["mlqa-official"] and "mlqa-official" in things
    with pytest.raises(ConfigError, match=r"unknown source 'mlqa-oficial' \(did you mean 'mlqa-official'\?"):
        things.get("mlqa-oficial")
    with pytest.raises(ConfigError, match=r"unknown source 'zzz' \(known: mlqa-official\)"):
        things.get("zzz")


def test_registering_two_plugins_under_one_name_is_refused():
    things: Registry[object] = Registry("filter")
    things.register("length")(object())
    with pytest.raises(ConfigError, match="filter 'length' is registered twice"):
        things.register("length")(object())


class Reader(Protocol):
    priority: int

    def read(self, spec: str) -> list[str]: ...


class Step(ABC):
    name = "step"

    @abstractmethod
    def run(self) -> None: ...


def test_a_protocol_contract_names_each_missing_member():
    assert protocol_members(Reader) == ["priority", "read"]
    readers: Registry[type] = Registry("source kind", contract=Reader)

    @readers.register("good")
    class Good:
        priority = 10

        def read(self, spec: str) -> list[str]:
            return [spec]

    assert readers.get("good") is Good
    with pytest.raises(ConfigError, match=r"source kind 'bad' \(.*Bad\) misses priority, read$"):
        readers.register("bad")(type("Bad", (), {}))
    with pytest.raises(ConfigError, match=r"source kind 'f' \(.*\) is not a class \(its type is function\)"):
        readers.register("f")(lambda spec: [spec])
    assert readers.names() == ["good"]  # a refused entry is not registered


def test_a_base_class_contract_wants_a_subclass_with_no_abstract_method_left():
    steps: Registry[type[Step]] = Registry("step", contract=Step)
    with pytest.raises(ConfigError, match=r"step 'half' \(.*Half\) misses run$"):
        steps.register("half")(type("Half", (Step,), {}))
    with pytest.raises(
        ConfigError, match=r"step 'other' \(.*Other\) is not a subclass of .*test_registry\.Step"
    ):
        steps.register("other")(type("Other", (), {"run": lambda self: None}))
    assert contract_problem(type("Whole", (Step,), {"run": lambda self: None}), Step) is None


def test_the_registry_writes_the_name_once():
    steps: Registry[type[Step]] = Registry("step", contract=Step, name_attribute="name")

    @steps.register("shout")
    class Shout(Step):
        def run(self) -> None: ...

    assert Shout.name == "shout" and Step.name == "step"  # the base keeps its own
    with pytest.raises(ConfigError, match=r"step 'quiet' \(.*Loud\) sets name = 'loud': leave it"):
        steps.register("quiet")(type("Loud", (Step,), {"name": "loud", "run": lambda self: None}))


def test_every_name_a_command_takes_gets_a_did_you_mean(tmp_path):
    """Config names and globs, language codes, model paths and leaderboard entries: a typo names the
    closest real name, as plug-in names do."""
    from mlqa_domain.benchmark.data import select_configs
    from mlqa_domain.benchmark.settings import check_model_location
    from mlqa_domain.errors import InputError
    from mlqa_domain.languages import check_language

    available = ["all.de", "legal.de", "legal.de.en", "biomedical.de", "general.de"]
    with pytest.raises(
        ConfigError, match=r"unknown config 'legl\.de' \(did you mean 'legal\.de'\? available:"
    ):
        select_configs(available, ["legl.de"])
    with pytest.raises(
        ConfigError, match=r"unknown pattern 'biomedicl\.\*' \(did you mean 'biomedical\.\*'\?"
    ):
        select_configs(available, ["biomedicl.*"])
    with pytest.raises(ConfigError, match=r"unknown pattern 'finance\.\*' \(available:"):
        select_configs(available, ["finance.*"])  # nothing close: no guess
    with pytest.raises(InputError, match=r"unknown language code 'dee' \(did you mean 'de'\? known:"):
        check_language("dee")
    (tmp_path / "xlmr-mnli-squad").mkdir()
    with pytest.raises(InputError, match=r"model not found .* \(did you mean '.*/xlmr-mnli-squad'\?\)"):
        check_model_location(str(tmp_path / "xlmr-mnli-squd"))


def test_a_mistyped_leaderboard_entry_names_the_closest_model():
    from types import SimpleNamespace

    from mlqa_domain.errors import InputError
    from mlqa_domain.leaderboard.compare import find_entry

    entries = [
        SimpleNamespace(
            entry_id="20260101-abcdef", submission=SimpleNamespace(model=SimpleNamespace(id=name))
        )
        for name in ("org/xlmr-mnli-squad", "org/xlmr-squad")
    ]
    with pytest.raises(
        InputError, match=r"no entry 'org/xlmr-mnl-squad' .*did you mean 'org/xlmr-mnli-squad'\?"
    ):
        find_entry(entries, "org/xlmr-mnl-squad", "--leaderboard")
