"""The leaderboard's data: a submission (versioned, exported as JSON Schema) and a verified entry."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlqa_domain.configs import GENERAL, check_config_name, check_name
from mlqa_domain.errors import ConfigError
from mlqa_domain.hashing import sha256_bytes
from mlqa_domain.naming import name_skeleton

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("submission.schema.json")
# Settings that change where/how fast a run goes, not what it predicts: left out of the duplicate key.
RUNTIME_ONLY_SETTINGS = frozenset({"device", "batch_size"})

_SHA256_HEX = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelInfo(_Strict):
    """The checkpoint that was scored and how it was trained."""

    id: str = Field(
        min_length=1,
        description="Public name of the QA checkpoint: --model-id, the hub id or its directory name",
    )
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit) asked for")
    commit_hash: str | None = Field(None, description="Resolved commit hash of the checkpoint")
    base_model: str = Field(
        min_length=1, description="Pretrained encoder it started from, e.g. xlm-roberta-base"
    )
    intermediate_tasks: list[str] = Field(
        default_factory=list, description="English intermediate tasks before SQuAD (STILTs), e.g. ['mnli']"
    )
    source: Literal["bench run", "bench stilts", "imported", "lm-eval"] = Field(
        "bench run",
        description="How the predictions were produced: by this harness (bench run, bench stilts) or "
        "elsewhere and imported (bench import of answer files or of lm-eval samples)",
    )
    training_claims: Literal["recorded", "declared"] = Field(
        "declared",
        description="recorded: base model and intermediate tasks read from the `bench stilts` run that "
        "trained the checkpoint; declared: stated by the submitter, not verified",
    )


class HarnessInfo(_Strict):
    """The harness that produced the run."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)


class DatasetRef(_Strict):
    """The dataset the run was scored on."""

    path: str | None = Field(None, description="Public name: the hub id or the directory name")
    fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    split: str = Field(min_length=1)
    general: str = Field(GENERAL, description="The label of the questions no domain matched")

    @field_validator("general")
    @classmethod
    def _general_label(cls, value: str) -> str:
        try:
            return check_name(value, "general label")
        except ConfigError as exc:
            raise ValueError(exc.problem) from None


class SubmittedSettings(BaseModel):
    """Inference settings of the run (extra keys allowed for future harness versions); empty for
    predictions imported from elsewhere, whose settings this harness did not apply."""

    model_config = ConfigDict(extra="allow")

    max_seq_length: int | None = Field(None, gt=0)
    doc_stride: int | None = Field(None, ge=0)
    max_answer_length: int | None = Field(None, gt=0)
    n_best: int | None = Field(None, gt=0)
    batch_size: int | None = Field(None, gt=0)
    precision: str | None = None
    device: str | None = None


class ProtocolInfo(_Strict):
    """The evaluation protocol: the named, hashed settings that change scores
    (mlqa_domain/benchmark/protocol.py)."""

    name: str = Field(min_length=1, description="mlqa-v1, custom, external, or a generative protocol")
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    settings: dict[str, Any]
    declared: bool = Field(False, description="stated by the submitter of imported predictions, not applied")


class ConfigScore(_Strict):
    """Claimed scores on one config and the predictions file they come from."""

    domain: str
    context_language: str
    question_language: str
    exact_match: float = Field(ge=0, le=100)
    f1: float = Field(ge=0, le=100)
    count: int = Field(ge=0)
    predictions_file: str | None = Field(None, description="predictions/<config>.json (None: seed means)")
    predictions_sha256: str | None = Field(None, pattern=_SHA256_HEX)

    @field_validator("predictions_file")
    @classmethod
    def _relative_inside(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = PurePosixPath(value)
        if (
            path.is_absolute()
            or ".." in path.parts
            or "\\" in value
            or len(path.parts) != 2
            or path.parts[0] != "predictions"
            or path.suffix != ".json"
        ):
            raise ValueError(f"must be predictions/<name>.json inside the results dir, got {value!r}")
        return value


class SeedRun(_Strict):
    """One seed of a multi-seed run: an ordinary `bench run` results dir inside the submitted one."""

    seed: int
    dir: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Directory inside the results dir")
    run_created: datetime | None = None
    configs: dict[str, ConfigScore] = Field(min_length=1)


def _with_files(configs: dict[str, ConfigScore], where: str) -> None:
    for name, claim in configs.items():
        if claim.predictions_file is None or claim.predictions_sha256 is None:
            raise ValueError(f"{where}config {name} has no predictions_file and predictions_sha256")


class Submission(_Strict):
    """What a researcher submits: a `bench run` results.json plus who submitted it (schema version 1).

    A multi-seed run (``seeds``) claims the mean over seeds per config in ``configs`` and each seed's own
    scores and predictions files in ``seeds``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"$id": "https://mlqa-domain/submission.schema.json"}
    )

    schema_version: Literal[1] = 1
    submitter: str = Field(min_length=1)
    date: datetime = Field(description="When it was submitted (UTC)")
    run_created: datetime | None = Field(None, description="When `bench run` wrote the results")
    model: ModelInfo
    harness: HarnessInfo
    dataset: DatasetRef
    settings: SubmittedSettings
    protocol: ProtocolInfo | None = Field(None, description="None: results of a version before protocols")
    configs: dict[str, ConfigScore] = Field(min_length=1)
    seeds: list[SeedRun] | None = Field(None, description="The seeds of a multi-seed run (None: one run)")

    @field_validator("configs")
    @classmethod
    def _config_names(cls, value: dict[str, ConfigScore]) -> dict[str, ConfigScore]:
        for name in value:  # the one name rule of mlqa_domain.configs, as in the build and `bench run`
            try:
                check_config_name(name)
            except ConfigError as exc:
                raise ValueError(exc.problem) from None
        return value

    @model_validator(mode="after")
    def _predictions_of_every_run(self) -> Submission:
        if not self.seeds:
            _with_files(self.configs, "")
            return self
        for seed in self.seeds:
            _with_files(seed.configs, f"seed {seed.seed}: ")
            if set(seed.configs) != set(self.configs):
                raise ValueError(f"seed {seed.seed} scored other configs than the run's mean")
        if len({s.seed for s in self.seeds}) != len(self.seeds):
            raise ValueError("a seed is listed twice")
        return self

    @property
    def seed_values(self) -> list[int]:
        """The seeds of a multi-seed run ([] for one run)."""
        return [s.seed for s in self.seeds or []]

    def duplicate_key(self) -> dict[str, Any]:
        """(model id, revision, settings, seeds) that identify a submission (runtime-only settings left
        out)."""
        settings = {k: v for k, v in self.settings.model_dump().items() if k not in RUNTIME_ONLY_SETTINGS}
        key = {
            "model": self.model.id,
            "revision": self.model.commit_hash or self.model.revision,
            "settings": settings,
        }
        if self.seeds:
            key["seeds"] = sorted(self.seed_values)
        return key

    def identity_key(self) -> dict[str, Any]:
        """:meth:`duplicate_key` with the model id as it looks (:func:`name_skeleton`): ids that differ only
        in look-alike letters, width, case or invisible characters name one model."""
        return {**self.duplicate_key(), "model": name_skeleton(self.model.id)}

    def entry_id(self) -> str:
        """A stable, URL-safe id: the model name's slug plus a hash of the duplicate key."""
        digest = sha256_bytes(json.dumps(self.duplicate_key(), sort_keys=True).encode())[:10]
        slug = re.sub(r"[^a-z0-9]+", "-", self.model.id.lower()).strip("-")[-40:].strip("-") or "model"
        return f"{slug}-{digest}"


class VerifiedScore(_Strict):
    """Scores re-computed from the predictions against the gold answers."""

    exact_match: float
    f1: float
    count: int


class GapEstimate(_Strict):
    """F1/EM of a domain config minus the general config of the same language, with bootstrap 95% CIs."""

    general_config: str
    f1_gap: float
    f1_ci95: tuple[float, float]
    em_gap: float
    em_ci95: tuple[float, float]


class DomainGap(_Strict):
    """A domain's gap to general (``gap:<domain>``): the mean over the languages that have both configs."""

    f1_gap: float
    f1_ci95: tuple[float, float]
    languages: list[str]
    em_gap: float | None = None
    em_ci95: tuple[float, float] | None = None


class AggregateScore(_Strict):
    """An aggregate of the verified scores (definitions: mlqa_domain.benchmark.aggregates.DEFINITIONS)."""

    f1: float | None
    exact_match: float | None
    count: int
    configs: list[str]
    languages: list[str] = Field(default_factory=list)
    f1_ci95: tuple[float, float] | None = None
    em_ci95: tuple[float, float] | None = None
    min_detectable_f1: float | None = None


class ConfigPower(_Strict):
    """Questions, SD of per-question F1 and the minimum detectable F1 difference of one config."""

    count: int
    f1_sd: float | None
    min_detectable_f1: float | None


class Spread(_Strict):
    """A score over the seeds: mean, sample SD (None for one seed) and each seed's value."""

    mean: float | None
    std: float | None
    values: list[float | None]


class SeedsRecord(_Strict):
    """The spread over the seeds of a multi-seed entry, from each seed's verified scores."""

    values: list[int]
    aggregates: dict[str, dict[str, Spread]] = Field(default_factory=dict)  # name -> {"f1", "em"}


class Verification(_Strict):
    """What the leaderboard checked and computed when it accepted the submission."""

    verified_at: datetime
    verifier_version: str
    bootstrap_samples: int
    bootstrap_seed: int = 0
    configs: dict[str, VerifiedScore]
    config_gaps: dict[str, GapEstimate] = Field(default_factory=dict)
    domain_gaps: dict[str, DomainGap] = Field(default_factory=dict)
    aggregates: dict[str, AggregateScore] = Field(default_factory=dict)
    power: dict[str, ConfigPower] = Field(default_factory=dict)
    seeds: SeedsRecord | None = None


class Entry(_Strict):
    """One accepted submission as stored on the leaderboard."""

    entry_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    submission: Submission
    verification: Verification


def submission_json_schema() -> dict[str, Any]:
    """The JSON Schema of a submission (what `submission.schema.json` holds)."""
    schema = Submission.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def export_json_schema(path: str | Path = SCHEMA_PATH) -> Path:
    """Write the submission JSON Schema to ``path`` (atomically)."""
    from mlqa_domain.atomic import write_text_atomic

    write_text_atomic(path, json.dumps(submission_json_schema(), indent=2, sort_keys=True) + "\n")
    return Path(path)


if __name__ == "__main__":  # python -m mlqa_domain.leaderboard.schema: refresh submission.schema.json
    print(export_json_schema())
