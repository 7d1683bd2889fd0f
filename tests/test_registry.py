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
