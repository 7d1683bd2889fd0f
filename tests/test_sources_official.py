"""The official MLQA v1 reader: extracted directory, zip, file:// download with cache and checksums."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from mlqa_domain.builders.sources import (
    DEFAULT_MLQA_URL,
    MLQA_V1_ZIP_BYTES,
    MLQA_V1_ZIP_SHA256,
    SourceOptions,
    default_cache_dir,
    fetch,
    load_source,
)
from mlqa_domain.builders.sources.download import cache_path
from mlqa_domain.builders.sources.mlqa_official import MlqaOfficialSource
from mlqa_domain.errors import InputError

SOURCES = Path(__file__).resolve().parent / "fixtures" / "sources"
MLQA_DIR = SOURCES / "MLQA_V1"
LEGAL_1 = hashlib.sha1(b"legal-1").hexdigest()
FINANCE_1 = hashlib.sha1(b"finance-1").hexdigest()


def make_zip(target: Path, junk: bool = True) -> Path:
    """MLQA_V1.zip laid out like the official one (MLQA_V1/dev/..., MLQA_V1/test/...)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if junk:
            archive.writestr("MLQA_V1/LICENSE", "CC BY-SA 3.0\n")
            archive.writestr("__MACOSX/MLQA_V1/dev/._dev-context-en-question-en.json", b"\x00\x05junk")
        for file in sorted(MLQA_DIR.rglob("*.json")):
            archive.write(file, f"MLQA_V1/{file.relative_to(MLQA_DIR).as_posix()}")
    return target


def pairs(examples) -> set[tuple[str, str, str]]:
    return {(e.split, e.context_language, e.question_language) for e in examples}


def test_directory_reads_every_pair_of_both_splits() -> None:
    loaded = load_source(str(MLQA_DIR))
    examples = loaded.examples
    assert loaded.info.kind == "mlqa-official"
    assert loaded.info.location == str(MLQA_DIR)
    assert len(examples) == 35
    langs = ("en", "de", "zh")
    assert pairs(examples) == {(s, c, q) for s in ("validation", "test") for c in langs for q in langs}
    assert sum(e.split == "validation" for e in examples) == 13
    # 18 files, each recorded with its size and sha256
    assert len(loaded.info.files) == 18
    for record in loaded.info.files:
        data = Path(record["path"]).read_bytes()
        assert record["bytes"] == len(data)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()


def test_examples_carry_the_mlqa_fields() -> None:
    examples = load_source(str(MLQA_DIR)).examples
    zh_de = [
        e
        for e in examples
        if (e.split, e.context_language, e.question_language) == ("validation", "zh", "de")
    ]
    assert len(zh_de) == 1
    example = zh_de[0]
    assert example.id == LEGAL_1
    assert example.title == "合同"
    assert example.question == "Was erfordert ein Vertrag nach dem Common Law?"
    assert example.answers == {"text": ["要约、承诺和对价"], "answer_start": [31]}
    assert example.context[31 : 31 + len("要约、承诺和对价")] == "要约、承诺和对价"
    assert example.source == "dev-context-zh-question-de.json"


def test_instances_are_parallel_by_id_across_pairs() -> None:
    examples = load_source(str(MLQA_DIR)).examples
    assert len([e for e in examples if e.id == LEGAL_1]) == 9
    finance = {(e.context_language, e.question_language) for e in examples if e.id == FINANCE_1}
    assert finance == {("en", "en"), ("en", "zh"), ("zh", "en"), ("zh", "zh")}


def test_order_is_split_then_context_then_question_language() -> None:
    examples = load_source(str(MLQA_DIR)).examples
    keys = [
        ({"validation": 0, "test": 1}[e.split], e.context_language, e.question_language) for e in examples
    ]
    assert keys == sorted(keys)
    again = load_source(str(MLQA_DIR)).examples
    assert [e.to_dict() for e in again] == [e.to_dict() for e in examples]


def test_parent_directory_of_mlqa_v1_is_found() -> None:
    loaded = load_source(str(SOURCES))
    assert loaded.info.kind == "mlqa-official"
    assert len(loaded.examples) == 35


def test_zip_gives_the_same_examples_as_the_directory(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "MLQA_V1.zip")
    from_zip = load_source(str(archive))
    from_dir = load_source(str(MLQA_DIR))
    assert [e.to_dict() for e in from_zip.examples] == [e.to_dict() for e in from_dir.examples]
    data = archive.read_bytes()
    assert from_zip.info.files == [
        {"path": str(archive), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    ]


def test_languages_restrict_both_sides(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "MLQA_V1.zip")
    examples = load_source(str(archive), SourceOptions(languages=["en", "DE"])).examples
    assert pairs(examples) == {
        (s, c, q) for s in ("validation", "test") for c in ["en", "de"] for q in ["en", "de"]
    }


def test_split_and_language_options_keep_one_pair() -> None:
    options = SourceOptions(split="dev", context_language="de", question_language="en")
    examples = MlqaOfficialSource().read(str(MLQA_DIR), options).examples
    assert pairs(examples) == {("validation", "de", "en")}
    assert len(examples) == 2


def test_single_pair_file() -> None:
    loaded = load_source(str(MLQA_DIR / "test" / "test-context-en-question-zh.json"))
    assert loaded.info.kind == "mlqa-official"
    assert pairs(loaded.examples) == {("test", "en", "zh")}
    assert len(loaded.examples) == 3


def test_file_url_is_downloaded_once_then_reused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "MLQA_V1.zip")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    url = archive.as_uri()
    cache = tmp_path / "cache"
    first = load_source(url, SourceOptions(cache_dir=cache))
    assert first.info.location == url
    [record] = first.info.files
    assert record["sha256"] == digest and record["url"] == url
    cached = Path(record["path"])
    assert cached == cache_path(url, cache) and cached.is_file()
    assert cached.is_relative_to(cache / "downloads")
    assert not [p for p in cached.parent.iterdir() if ".part-" in p.name]

    archive.unlink()  # a second download would now fail
    second = load_source(url, SourceOptions(cache_dir=cache))
    assert [e.to_dict() for e in second.examples] == [e.to_dict() for e in first.examples]
    assert second.info.files == first.info.files
    # what build_info.json publishes: file names (a file:// URL is a local path), size and sha256
    public = {"path": "MLQA_V1.zip", "bytes": record["bytes"], "sha256": digest, "url": "MLQA_V1.zip"}
    assert second.info.to_dict() == {
        "kind": "mlqa-official",
        "dataset": "mlqa",
        "location": "MLQA_V1.zip",
        "files": [public],
    }
    assert fetch(url, cache_dir=cache).reused


def test_corrupt_cached_file_is_downloaded_again(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "MLQA_V1.zip")
    url = archive.as_uri()
    cache = tmp_path / "cache"
    first = fetch(url, cache_dir=cache)
    assert not first.reused
    first.path.write_bytes(b"truncated")
    again = fetch(url, cache_dir=cache)
    assert not again.reused
    assert again.sha256 == first.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_checksum_mismatch_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "MLQA_V1.zip")
    cache = tmp_path / "cache"
    with pytest.raises(InputError) as error:
        fetch(archive.as_uri(), cache_dir=cache, expected_sha256="0" * 64)
    message = str(error.value)
    assert "checksum mismatch" in message and archive.as_uri() in message and "\n" not in message
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_size_mismatch_is_an_error(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "MLQA_V1.zip")
    with pytest.raises(InputError, match="size mismatch"):
        fetch(archive.as_uri(), cache_dir=tmp_path / "cache", expected_size=1)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_matching_expected_checksum_is_accepted(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "MLQA_V1.zip")
    data = archive.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    download = fetch(
        archive.as_uri(), cache_dir=tmp_path / "c", expected_sha256=digest, expected_size=len(data)
    )
    assert download.sha256 == digest and download.bytes == len(data)
    loaded = load_source(str(archive), SourceOptions(expected_sha256=digest))
    assert loaded.info.files[0]["sha256"] == digest


def test_cache_root_from_environment_or_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLQA_DOMAIN_CACHE", str(tmp_path / "root"))
    assert default_cache_dir() == tmp_path / "root"
    assert cache_path(DEFAULT_MLQA_URL).parent.parent == tmp_path / "root" / "downloads"
    assert cache_path(DEFAULT_MLQA_URL).name == "MLQA_V1.zip"
    assert cache_path(DEFAULT_MLQA_URL, tmp_path / "given").parent.parent == tmp_path / "given" / "downloads"
    monkeypatch.delenv("MLQA_DOMAIN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "mlqa_domain"


def test_official_url_has_the_published_size_and_checksum() -> None:
    # as listed in the Hugging Face `mlqa` script's dataset_infos.json (download_checksums)
    assert DEFAULT_MLQA_URL == "https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip"
    assert MLQA_V1_ZIP_BYTES == 75_719_050
    assert MLQA_V1_ZIP_SHA256 == "246e8089933d13007fe80684d5c5c0713d6834cf8b3b4a0ec7c66f0a0d2baac8"


def test_published_source_info_names_files_not_local_paths(tmp_path: Path) -> None:
    from mlqa_domain.builders.sources import SourceInfo

    folder = tmp_path / "data" / "MLQA_V1"
    (folder / "dev").mkdir(parents=True)
    info = SourceInfo(
        "mlqa-official",
        str(folder),
        [{"path": str(folder / "dev" / "dev-context-de-question-de.json"), "bytes": 3, "sha256": "a" * 64}],
    )
    assert info.to_dict() == {
        "kind": "mlqa-official",
        "dataset": "mlqa",
        "location": "MLQA_V1",
        "files": [{"path": "dev/dev-context-de-question-de.json", "bytes": 3, "sha256": "a" * 64}],
    }
    download = {"path": str(tmp_path / "cache" / "MLQA_V1.zip"), "bytes": 1, "sha256": "b" * 64}
    remote = SourceInfo(
        "mlqa-official",
        "https://example.org/MLQA_V1.zip",
        [{**download, "url": "https://example.org/MLQA_V1.zip"}],
    )
    assert remote.to_dict()["files"] == [
        {"path": "MLQA_V1.zip", "bytes": 1, "sha256": "b" * 64, "url": "https://example.org/MLQA_V1.zip"}
    ]
    xquad = SourceInfo(
        "squad-parallel", str(tmp_path / "xquad"), [{"path": str(tmp_path / "xquad" / "xquad.de.json")}]
    )
    squad = SourceInfo(
        "squad-parallel", str(tmp_path / "train-v1.1.json"), [{"path": str(tmp_path / "train-v1.1.json")}]
    )
    assert (xquad.dataset(), squad.dataset(), SourceInfo("hf-mlqa", "x").dataset()) == (
        "xquad",
        "squad",
        "mlqa",
    )
