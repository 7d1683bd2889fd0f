"""Upload a built dataset repo to the Hugging Face hub."""

from __future__ import annotations

from pathlib import Path

from mlqa_domain.builders.export import BUILD_INFO
from mlqa_domain.errors import InputError, first_line


def push_dataset(
    data: str | Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
) -> str:
    """Create (if needed) the dataset repo ``repo_id`` and upload ``data`` to it; return the commit URL."""
    data = Path(data)
    if not (data / BUILD_INFO).is_file() or not (data / "README.md").is_file():
        raise InputError("not a dataset repo built by mlqa-domain (README.md/build_info.json missing)", data)
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InputError("repo id must look like ORG/NAME", repo_id)
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(data),
            repo_id=repo_id,
            repo_type="dataset",
            revision=revision,
            commit_message=commit_message or f"Upload MLQA-Domain build {data.name}",
            ignore_patterns=[".*", "**/.*"],
            # configs that a rebuild no longer has must not linger on the hub
            delete_patterns=["data/**", "rejected/**"],
        )
    except (HfHubHTTPError, OfflineModeIsEnabled, OSError) as exc:
        first = first_line(exc)
        raise InputError(f"push failed: {first}", repo_id) from None
    return str(getattr(info, "commit_url", info))
