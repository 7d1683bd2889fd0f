"""Config names of the dataset, in one place: ``legal.de``, ``legal.de.en``, ``general.de``, ``all.de``.

A config is a domain (or ``all``, or the taxonomy's general label) and a context/question language
pair. Its *language key* is ``de`` when both languages agree (monolingual) and ``de.en``
(context.question) otherwise; the config name is ``<domain>.<language key>``. The general config of a
domain config is the general label's config with the same language key (``legal.de.en`` ->
``general.de.en``). Builders, `bench` and the leaderboard all parse and format names here.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlqa_domain.errors import ConfigError
from mlqa_domain.registry import closest_name

ALL = "all"  # the config of every question of a language pair, whatever its domains
GENERAL = "general"  # the default general label (a taxonomy may name its own)
RESERVED_NAMES = frozenset({ALL})  # no domain and no general label may be called this

# The one rule for names, held by taxonomy loading, the build, `bench run`, `leaderboard init` and the
# submission schema: a domain or general label is ASCII ``[a-z][a-z0-9_]*`` (not ``all``); a config
# name is such a name (or ``all``) and one or two 2-3 letter language codes.
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
CONFIG_NAME_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z]{2,3}){1,2}$"
_NAME_RE = re.compile(NAME_PATTERN)
_CONFIG_NAME_RE = re.compile(CONFIG_NAME_PATTERN)


def check_name(name: object, what: str = "domain", where: str | None = None) -> str:
    """``name`` when it is a valid domain/general-label name (ASCII ``[a-z][a-z0-9_]*``, not ``all``),
    else a one-line ConfigError naming ``what`` it is (``domain``, ``general label``)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"bad {what} name {name!r}: use ASCII lower-case letters, digits and '_', starting with a letter",
            where,
        )
    if name in RESERVED_NAMES:
        raise ConfigError(
            f"bad {what} name {name!r}: {name!r} is reserved (the config of every question)", where
        )
    return name


def check_names(domains: Iterable[str], general: str = GENERAL, where: str | None = None) -> None:
    """Every domain name and the general label valid, and the general label distinct from every domain."""
    domains = list(domains)
    for name in domains:
        check_name(name, "domain", where)
    check_name(general, "general label", where)
    if general in domains:
        raise ConfigError(
            f"general label {general!r} is also a domain; the label for no domain must differ from every "
            "domain",
            where,
        )


def language_key(context_language: str, question_language: str | None = None) -> str:
    """``de`` when the question language is the context's (or not given), else ``de.en``."""
    if question_language is None or question_language == context_language:
        return context_language
    return f"{context_language}.{question_language}"


def parse_language_key(key: str, where: str | None = None) -> tuple[str, str]:
    """``de`` -> (``de``, ``de``); ``de.en`` -> (``de``, ``en``); anything else is a ConfigError."""
    parts = key.split(".")
    if len(parts) in (1, 2) and all(parts):
        return parts[0], parts[-1]
    raise ConfigError(f"bad language key {key!r}: expected <lang> or <ctx>.<q>", where)


def sort_language_keys(keys: Iterable[str]) -> list[str]:
    """Monolingual keys first (alphabetical), then cross-lingual ones: ``de, es, de.en``."""
    return sorted(keys, key=lambda key: (len(set(parse_language_key(key))) > 1, key))


@dataclass(frozen=True, order=True)
class ConfigName:
    """A domain (or ``all``/the general label) and a context/question language pair."""

    domain: str
    context_language: str
    question_language: str

    @property
    def name(self) -> str:
        """``legal.de`` when both languages agree, else ``legal.de.en`` (context.question)."""
        return f"{self.domain}.{self.language_key}"

    @property
    def language_key(self) -> str:
        """``de`` or ``de.en`` (context.question)."""
        return language_key(self.context_language, self.question_language)

    @property
    def is_monolingual(self) -> bool:
        """Context and question in the same language."""
        return self.context_language == self.question_language

    def general_config(self, general: str = GENERAL) -> ConfigName | None:
        """The general config of the same languages; None for the general and ``all`` configs themselves."""
        if self.domain in (general, ALL):
            return None
        return ConfigName(general, self.context_language, self.question_language)

    def __str__(self) -> str:
        return self.name


def format_config_name(domain: str, context_language: str, question_language: str | None = None) -> str:
    """``legal.de`` (one language, or both the same) or ``legal.de.en``."""
    return f"{domain}.{language_key(context_language, question_language)}"


def config_name(domain: str, key: str) -> str:
    """``legal`` and language key ``de.en`` -> ``legal.de.en``."""
    return format_config_name(domain, *parse_language_key(key))


def parse_config_name(name: str, where: str | None = None) -> ConfigName:
    """Parse ``legal.de`` or ``legal.de.en``; anything else is a one-line ConfigError."""
    parts = str(name).split(".")
    if len(parts) in (2, 3) and all(parts):
        return ConfigName(parts[0], parts[1], parts[-1])
    raise ConfigError(f"bad config name {name!r}: expected <domain>.<lang> or <domain>.<ctx>.<q>", where)


def general_config_of(name: str, general: str = GENERAL) -> str | None:
    """``legal.de`` -> ``general.de``, ``legal.de.en`` -> ``general.de.en``; None for general/``all``."""
    config = parse_config_name(name).general_config(general)
    return None if config is None else config.name


def is_submittable_name(name: str) -> bool:
    """Whether ``name`` has the strict form of :data:`CONFIG_NAME_PATTERN` (the one name rule)."""
    return isinstance(name, str) and _CONFIG_NAME_RE.match(name) is not None


def check_config_name(name: object, where: str | None = None) -> ConfigName:
    """Parse a config name that must follow the one name rule (:data:`CONFIG_NAME_PATTERN`); a one-line
    ConfigError otherwise (``légal.de``, ``Legal.de``, ``legal.d3``)."""
    if not isinstance(name, str) or not is_submittable_name(name):
        raise ConfigError(
            f"bad config name {name!r}: expected <domain>.<lang> or <domain>.<ctx>.<q> with an ASCII "
            "[a-z][a-z0-9_]* domain and 2-3 letter language codes",
            where,
        )
    return parse_config_name(name)


def suggest_config(item: str, available: Sequence[str]) -> str | None:
    """What a ``--configs`` item that matched nothing was probably meant to be: the closest config name
    (``legl.de`` -> ``legal.de``), or for a glob the pattern with each mistyped part replaced by the closest
    part in that place (``legl.*`` -> ``legal.*``); None when nothing is close."""
    if not any(ch in item for ch in "*?["):
        return closest_name(item, available)
    names = [name.split(".") for name in available]
    parts = item.split(".")
    fixed = []
    for index, part in enumerate(parts):
        known = {name[index] for name in names if len(name) > index}
        if any(ch in part for ch in "*?[") or part in known:
            fixed.append(part)
        else:
            fixed.append(closest_name(part, known) or part)
    suggestion = ".".join(fixed)
    if suggestion != item and fnmatch.filter(available, suggestion):
        return suggestion
    return None
