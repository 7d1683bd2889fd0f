"""Upload a built dataset repo to the Hugging Face hub."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlqa_domain.dataset_repo import BUILD_INFO
from mlqa_domain.errors import InputError, first_line


@dataclass(frozen=True)
class PushSettings:
    """What to upload and how (the defaults of `mlqa-domain push`)."""

    data: Path = Path("mlqa-domain")
    private: bool = False
    token: str | None = None
    revision: str | None = None
    commit_message: str | None = None


def push_dataset(repo_id: str, settings: PushSettings) -> str:
    """Create (if needed) the dataset repo ``repo_id`` and upload ``settings.data``; return the commit URL."""
    data = Path(settings.data)
    if not (data / BUILD_INFO).is_file() or not (data / "README.md").is_file():
        raise InputError("not a dataset repo built by mlqa-domain (README.md/build_info.json missing)", data)
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InputError("repo id must look like ORG/NAME", repo_id)
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    api = HfApi(token=settings.token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=settings.private, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(data),
            repo_id=repo_id,
            repo_type="dataset",
            revision=settings.revision,
            commit_message=settings.commit_message or f"Upload MLQA-Domain build {data.name}",
            ignore_patterns=[".*", "**/.*"],
            # configs that a rebuild no longer has must not linger on the hub
            delete_patterns=["data/**", "rejected/**"],
        )
    except (HfHubHTTPError, OfflineModeIsEnabled, OSError) as exc:
        first = first_line(exc)
        raise InputError(f"push failed: {first}", repo_id) from None
    return str(getattr(info, "commit_url", info))
