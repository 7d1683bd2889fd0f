"""The plug-in registry: registration, did-you-mean errors, module discovery."""

from __future__ import annotations

import pytest

from mlqa_domain.errors import ConfigError
from mlqa_domain.registry import Registry


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
    with pytest.raises(ValueError, match="registered twice"):
        things.register("length")(object())


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
