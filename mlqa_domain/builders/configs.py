"""Config names of the dataset: ``legal.de``, ``legal.de.en``, ``general.de``, ``all.de``."""

from __future__ import annotations

from dataclasses import dataclass

from mlqa_domain.errors import ConfigError

ALL = "all"


@dataclass(frozen=True, order=True)
class ConfigName:
    """A domain (or ``all``/``general``) and a context/question language pair."""

    domain: str
    context_language: str
    question_language: str

    @property
    def name(self) -> str:
        """``legal.de`` when both languages agree, else ``legal.de.en`` (context.question)."""
        if self.context_language == self.question_language:
            return f"{self.domain}.{self.context_language}"
        return f"{self.domain}.{self.context_language}.{self.question_language}"

    @property
    def is_monolingual(self) -> bool:
        """Context and question in the same language."""
        return self.context_language == self.question_language

    def __str__(self) -> str:
        return self.name


def parse_config_name(name: str) -> ConfigName:
    """Parse ``legal.de`` or ``legal.de.en``."""
    parts = name.split(".")
    if len(parts) == 2 and all(parts):
        return ConfigName(parts[0], parts[1], parts[1])
    if len(parts) == 3 and all(parts):
        return ConfigName(parts[0], parts[1], parts[2])
    raise ConfigError(f"bad config name {name!r}: expected <domain>.<lang> or <domain>.<ctx>.<q>")
