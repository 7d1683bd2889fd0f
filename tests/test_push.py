"""`mlqa-domain push`: input checks, and one clear error (no traceback) when the hub can't be reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlqa_domain.builders.push import PushSettings, push_dataset
from mlqa_domain.errors import InputError


def _fake_repo(root: Path) -> Path:
    root.mkdir()
    (root / "README.md").write_text("---\nconfigs: []\n---\n")
    (root / "build_info.json").write_text(json.dumps({"dataset_fingerprint": "sha256:" + "0" * 64}))
    return root


def test_push_refuses_a_directory_that_is_not_a_build(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a dataset repo built by mlqa-domain"):
        push_dataset("org/name", PushSettings(data=tmp_path))


@pytest.mark.parametrize("repo_id", ["no-slash", "a/b/c", "/name", "org/"])
def test_push_refuses_bad_repo_ids(tmp_path: Path, repo_id: str) -> None:
    with pytest.raises(InputError, match="ORG/NAME"):
        push_dataset(repo_id, PushSettings(data=_fake_repo(tmp_path / "repo")))


def test_push_offline_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(InputError) as info:
        push_dataset("org/mlqa-domain", PushSettings(data=_fake_repo(tmp_path / "repo"), token="hf_dummy"))
    message = str(info.value)
    assert message.startswith("org/mlqa-domain: push failed:") and "\n" not in message
