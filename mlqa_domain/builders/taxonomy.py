"""The domain taxonomy: domains, their descriptions and exemplars, thresholds, linked tasks."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlqa_domain.builders.classifiers import CLASSIFIERS
from mlqa_domain.configs import ALL, GENERAL
from mlqa_domain.errors import ConfigError
from mlqa_domain.hashing import sha256_bytes

RESERVED_NAMES = {ALL}


class ClassifierSpec(BaseModel):
    """One classifier of the ensemble, as configured in the taxonomy."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str
    model: str | None = None
    revision: str | None = None
    weight: float = 1.0

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        if value not in CLASSIFIERS:
            raise ValueError(CLASSIFIERS.unknown_message(value))
        return value


class ClassificationSpec(BaseModel):
    """How scores become labels: τ per domain (in the domain), δ, and how classifiers combine."""

    model_config = ConfigDict(extra="allow")

    delta: float = Field(0.05, ge=0)
    combine: Literal["weighted_mean", "vote"] = "weighted_mean"
    classifiers: list[ClassifierSpec] = Field(default_factory=list)


class DomainSpec(BaseModel):
    """A domain: what it is, seed exemplars, its threshold τ, its intermediate tasks."""

    model_config = ConfigDict(extra="forbid")

    description: str
    exemplars: list[str] = Field(default_factory=list)
    threshold: float
    intermediate_tasks: list[str] = Field(default_factory=list)


class Taxonomy(BaseModel):
    """The whole taxonomy file."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    general: str = GENERAL
    classification: ClassificationSpec = Field(default_factory=ClassificationSpec)
    domains: dict[str, DomainSpec]
    source: str = ""

    @field_validator("domains")
    @classmethod
    def _check_domain_names(cls, domains: dict[str, DomainSpec]) -> dict[str, DomainSpec]:
        if not domains:
            raise ValueError("at least one domain is needed")
        for name in domains:
            if not name.isidentifier() or name != name.lower() or name in RESERVED_NAMES:
                raise ValueError(f"bad domain name {name!r} (lower-case identifier, not 'all')")
        return domains

    @property
    def domain_names(self) -> list[str]:
        """Domain names in file order (general excluded)."""
        return list(self.domains)

    @property
    def thresholds(self) -> dict[str, float]:
        """τ per domain."""
        return {name: spec.threshold for name, spec in self.domains.items()}

    def fingerprint(self) -> str:
        """sha256 of the taxonomy content (for provenance)."""
        payload = self.model_dump_json(exclude={"source"})
        return sha256_bytes(payload.encode())[:16]


def default_taxonomy_path() -> Path:
    """The taxonomy shipped with the package."""
    return Path(str(resources.files("mlqa_domain") / "data" / "taxonomy.yaml"))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy YAML (the shipped default when ``path`` is None)."""
    path = Path(path) if path else default_taxonomy_path()
    if not path.is_file():
        raise ConfigError("taxonomy file not found", path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"invalid YAML{where}", path) from None
    if not isinstance(raw, dict):
        raise ConfigError("taxonomy must be a YAML mapping with a 'domains' key", path)
    try:
        taxonomy = Taxonomy.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"invalid taxonomy: {loc}: {err['msg']}", path) from None
    taxonomy.source = str(path)
    if taxonomy.general in taxonomy.domains:
        raise ConfigError(f"'{taxonomy.general}' is the label for no domain; it cannot be a domain", path)
    return taxonomy
