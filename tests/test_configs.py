"""Config names in one place: parse/format round trip, language keys, the general config, bad names."""

from __future__ import annotations

import pytest

from mlqa_domain.configs import (
    ALL,
    GENERAL,
    ConfigName,
    config_name,
    format_config_name,
    general_config_of,
    is_submittable_name,
    language_key,
    parse_config_name,
    parse_language_key,
    sort_language_keys,
)
from mlqa_domain.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("legal.de", ConfigName("legal", "de", "de")),
        ("legal.de.en", ConfigName("legal", "de", "en")),
        ("general.zh", ConfigName("general", "zh", "zh")),
        ("all.ar.es", ConfigName("all", "ar", "es")),
    ],
)
def test_parse_and_format_round_trip(name, parsed):
    assert parse_config_name(name) == parsed
    assert parsed.name == str(parsed) == name
    assert format_config_name(parsed.domain, parsed.context_language, parsed.question_language) == name
    assert config_name(parsed.domain, parsed.language_key) == name


def test_a_pair_of_equal_languages_is_the_monolingual_name():
    assert format_config_name("legal", "de", "de") == format_config_name("legal", "de") == "legal.de"
    assert parse_config_name("legal.de.de").name == "legal.de"


def test_language_keys():
    assert language_key("de") == language_key("de", "de") == "de"
    assert language_key("de", "en") == "de.en"
    assert parse_language_key("de") == ("de", "de")
    assert parse_language_key("de.en") == ("de", "en")
    assert parse_config_name("legal.de").language_key == "de"
    assert parse_config_name("legal.de.en").language_key == "de.en"
    assert (
        parse_config_name("legal.de").is_monolingual and not parse_config_name("legal.de.en").is_monolingual
    )
    assert sort_language_keys({"es", "de.en", "de", "ar.de"}) == ["de", "es", "ar.de", "de.en"]


def test_general_config_of_a_domain_config_in_the_same_languages():
    assert general_config_of("legal.de") == f"{GENERAL}.de"
    assert general_config_of("legal.de.en") == "general.de.en"
    assert general_config_of("legal.de", general="other") == "other.de"
    assert parse_config_name("legal.de.en").general_config() == ConfigName("general", "de", "en")
    # the general config and `all` have none
    assert general_config_of("general.de") is None
    assert general_config_of(f"{ALL}.de.en") is None
    assert general_config_of("other.de", general="other") is None
    assert general_config_of("general.de", general="other") == "other.de"


@pytest.mark.parametrize("name", ["legal", "legal.", ".de", "legal..de", "legal.de.en.fr", ""])
def test_bad_config_names_are_one_line_errors(name):
    with pytest.raises(ConfigError) as caught:
        parse_config_name(name)
    message = str(caught.value)
    assert "\n" not in message
    assert message == f"bad config name {name!r}: expected <domain>.<lang> or <domain>.<ctx>.<q>"


def test_bad_config_names_name_where_they_come_from():
    with pytest.raises(ConfigError, match=r"^results\.json: bad config name 'x'"):
        parse_config_name("x", where="results.json")
    with pytest.raises(ConfigError, match="bad language key 'de.en.fr'"):
        parse_language_key("de.en.fr")


def test_submitted_names_have_the_strict_form():
    assert is_submittable_name("legal.de") and is_submittable_name("all.de.en")
    assert not is_submittable_name("legal") and not is_submittable_name("legal.d3")
    assert not is_submittable_name("legal/../x.de")
