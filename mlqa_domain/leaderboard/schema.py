"""The leaderboard's data: a submission (versioned, exported as JSON Schema) and a verified entry."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlqa_domain.configs import is_submittable_name
from mlqa_domain.hashing import sha256_bytes

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("submission.schema.json")
# Settings that change where/how fast a run goes, not what it predicts: left out of the duplicate key.
RUNTIME_ONLY_SETTINGS = frozenset({"device", "batch_size"})

_SHA256_HEX = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelInfo(_Strict):
    """The checkpoint that was scored and how it was trained."""

    id: str = Field(min_length=1, description="Hub id or path of the QA checkpoint")
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit) asked for")
    commit_hash: str | None = Field(None, description="Resolved commit hash of the checkpoint")
    base_model: str = Field(
        min_length=1, description="Pretrained encoder it started from, e.g. xlm-roberta-base"
    )
    intermediate_tasks: list[str] = Field(
        default_factory=list, description="English intermediate tasks before SQuAD (STILTs), e.g. ['mnli']"
    )


class HarnessInfo(_Strict):
    """The harness that produced the run."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)


class DatasetRef(_Strict):
    """The dataset the run was scored on."""

    path: str | None = None
    fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    split: str = Field(min_length=1)


class RunSettings(BaseModel):
    """Inference settings of the run (extra keys allowed for future harness versions)."""

    model_config = ConfigDict(extra="allow")

    max_seq_length: int = Field(gt=0)
    doc_stride: int = Field(ge=0)
    max_answer_length: int = Field(gt=0)
    n_best: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    precision: str
    device: str


class ConfigScore(_Strict):
    """Claimed scores on one config and the predictions file they come from."""

    domain: str
    context_language: str
    question_language: str
    exact_match: float = Field(ge=0, le=100)
    f1: float = Field(ge=0, le=100)
    count: int = Field(ge=0)
    predictions_file: str
    predictions_sha256: str = Field(pattern=_SHA256_HEX)

    @field_validator("predictions_file")
    @classmethod
    def _relative_inside(cls, value: str) -> str:
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


class Submission(_Strict):
    """What a researcher submits: a `bench run` results.json plus who submitted it (schema version 1)."""

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
    settings: RunSettings
    configs: dict[str, ConfigScore] = Field(min_length=1)

    @field_validator("configs")
    @classmethod
    def _config_names(cls, value: dict[str, ConfigScore]) -> dict[str, ConfigScore]:
        for name in value:
            if not is_submittable_name(name):
                raise ValueError(f"bad config name {name!r}")
        return value

    def duplicate_key(self) -> dict[str, Any]:
        """(model id, revision, settings) that identify a submission; runtime-only settings left out."""
        settings = {k: v for k, v in self.settings.model_dump().items() if k not in RUNTIME_ONLY_SETTINGS}
        return {
            "model": self.model.id,
            "revision": self.model.commit_hash or self.model.revision,
            "settings": settings,
        }

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
    """A domain's gap to general, averaged over the language pairs that have both configs."""

    f1_gap: float
    f1_ci95: tuple[float, float]
    languages: list[str]


class Verification(_Strict):
    """What the leaderboard checked and computed when it accepted the submission."""

    verified_at: datetime
    verifier_version: str
    bootstrap_samples: int
    configs: dict[str, VerifiedScore]
    config_gaps: dict[str, GapEstimate] = Field(default_factory=dict)
    domain_gaps: dict[str, DomainGap] = Field(default_factory=dict)


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
