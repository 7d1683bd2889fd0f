"""The domain taxonomy: domains, their descriptions and exemplars, thresholds, linked tasks."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlqa_domain.configs import GENERAL, check_names
from mlqa_domain.errors import ConfigError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.labeling.classifier_registry import CLASSIFIERS, COSINE_RANGE

logger = logging.getLogger(__name__)

# Scores thresholds and δ are compared with: the taxonomy's τ are cosine similarities; each classifier
# type declares the range of its own scores (``score_range``: [0, 1] for probabilities).
SCORE_RANGE = COSINE_RANGE
MAX_DELTA = 1.0  # δ = 1 already means "no δ rule" for probabilities


def check_thresholds(
    thresholds: Mapping[str, float],
    what: str,
    where: str | None = None,
    score_range: tuple[float, float] = SCORE_RANGE,
) -> dict[str, float]:
    """``thresholds`` (domain -> τ) when each is finite and in ``score_range``, else a one-line
    ConfigError; a warning for a τ only a perfect score reaches (its domain is unreachable in practice)."""
    low, high = score_range
    out = {}
    for domain, value in thresholds.items():
        number = _number(value, f"{what} for {domain}", where)
        if not low <= number <= high:
            raise ConfigError(f"{what} for {domain} is {number:g}; it must be in [{low:g}, {high:g}]", where)
        if number >= high:
            logger.warning(
                "%s%s for %s is %g: only a perfect score reaches it, so domain %s is unreachable in practice "
                "(its examples are labelled general)",
                f"{where}: " if where else "",
                what,
                domain,
                number,
                domain,
            )
        out[domain] = number
    return out


def check_delta(value: Any, what: str, where: str | None = None) -> float:
    """δ when it is finite and in [0, MAX_DELTA], else a one-line ConfigError."""
    number = _number(value, what, where)
    if not 0 <= number <= MAX_DELTA:
        raise ConfigError(f"{what} is {number:g}; it must be in [0, {MAX_DELTA:g}]", where)
    return number


def _number(value: Any, what: str, where: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number, got {value!r}", where)
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, got {value!r}", where)
    return float(value)


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

    delta: float = Field(0.05, ge=0, le=MAX_DELTA, allow_inf_nan=False)
    combine: Literal["weighted_mean", "vote"] = "weighted_mean"
    classifiers: list[ClassifierSpec] = Field(default_factory=list)


class DomainSpec(BaseModel):
    """A domain: what it is, seed exemplars, its threshold τ, its intermediate tasks."""

    model_config = ConfigDict(extra="forbid")

    description: str
    exemplars: list[str] = Field(default_factory=list)
    threshold: float = Field(ge=SCORE_RANGE[0], le=SCORE_RANGE[1], allow_inf_nan=False)
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
    def _check_domains(cls, domains: dict[str, DomainSpec]) -> dict[str, DomainSpec]:
        if not domains:
            raise ValueError("at least one domain is needed")
        return domains

    @model_validator(mode="after")
    def _check_names(self) -> Taxonomy:
        """The one name rule (mlqa_domain.configs): domains and the general label ASCII
        ``[a-z][a-z0-9_]*``, not ``all``, the general label distinct from every domain."""
        try:
            check_names(self.domains, self.general)
        except ConfigError as exc:
            raise ValueError(exc.problem) from None
        return self

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
        message = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid taxonomy: {loc + ': ' if loc else ''}{message}", path) from None
    taxonomy.source = str(path)
    check_thresholds(taxonomy.thresholds, "threshold", str(path))
    return taxonomy
