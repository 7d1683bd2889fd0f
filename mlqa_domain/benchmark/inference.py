"""Batched QA inference: length-sorted batches, each padded only to its own longest feature."""

from __future__ import annotations

import logging

import numpy as np
import torch

from mlqa_domain import progress
from mlqa_domain.benchmark.features import QAFeatures
from mlqa_domain.benchmark.settings import DEVICES, check_precision
from mlqa_domain.errors import ConfigError

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
logger = logging.getLogger(__name__)


def resolve_device(device: str) -> torch.device:
    """``auto`` picks cuda when available; ``cuda`` without a GPU is a ConfigError."""
    if device not in DEVICES:
        raise ConfigError(f"unknown device {device!r} (choose one of {', '.join(DEVICES)})", "--device")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("cuda was asked for but no CUDA device is available", "--device")
    return torch.device(device)


def prepare_model(model: torch.nn.Module, device: torch.device, precision: str) -> torch.nn.Module:
    """Move ``model`` to ``device`` in ``precision`` (fp16/bf16 on CPU work but are slow: warn)."""
    check_precision(precision)
    if precision != "fp32" and device.type == "cpu":
        logger.warning(
            "%s on CPU is slow unless the CPU has native %s instructions "
            "(e.g. AVX512-BF16/AMX for bf16), and scores may differ slightly from fp32",
            precision,
            precision,
        )
    return model.to(device=device, dtype=DTYPES[precision]).eval()


def _pad_batch(rows: list[np.ndarray], pad_value: int) -> np.ndarray:
    width = max(len(row) for row in rows)
    batch = np.full((len(rows), width), pad_value, dtype=np.int64)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = row
    return batch


def predict_logits(
    model: torch.nn.Module,
    features: QAFeatures,
    pad_token_id: int,
    batch_size: int = 32,
    description: str = "inference",
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end logits (float32, shape (features, max_len), ``-inf`` past each feature) in feature order.

    Features are sorted by length (longest first, so a memory problem shows at once) and each batch is
    padded to its longest member; rows go back to the original order.
    """
    n_features = len(features)
    width = features.context_mask.shape[1]
    start_out = np.full((n_features, width), -np.inf, dtype=np.float32)
    end_out = np.full((n_features, width), -np.inf, dtype=np.float32)
    if n_features == 0:
        return start_out, end_out
    lengths = features.lengths
    order = np.argsort(-lengths, kind="stable")
    device = next(model.parameters()).device
    with progress.task(description, n_features) as advance, torch.inference_mode():
        for lo in range(0, n_features, batch_size):
            batch_rows = order[lo : lo + batch_size]
            batch_lengths = lengths[batch_rows]
            input_ids = _pad_batch([features.input_ids[i] for i in batch_rows], pad_token_id)
            attention_mask = np.arange(input_ids.shape[1])[None, :] < batch_lengths[:, None]
            inputs = {
                "input_ids": torch.from_numpy(input_ids).to(device),
                "attention_mask": torch.from_numpy(attention_mask.astype(np.int64)).to(device),
            }
            if features.token_type_ids is not None:
                type_ids = _pad_batch([features.token_type_ids[i] for i in batch_rows], 0)
                inputs["token_type_ids"] = torch.from_numpy(type_ids).to(device)
            outputs = model(**inputs)
            start = outputs.start_logits.float().cpu().numpy()
            end = outputs.end_logits.float().cpu().numpy()
            valid = attention_mask
            start_out[batch_rows, : start.shape[1]] = np.where(valid, start, -np.inf)
            end_out[batch_rows, : end.shape[1]] = np.where(valid, end, -np.inf)
            advance(len(batch_rows))
    return start_out, end_out
