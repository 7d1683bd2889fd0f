"""Run a sentence-transformers model's transformer in ONNX Runtime, optionally int8-quantized.

sentence-transformers keeps doing everything around the transformer (tokenizer, length-sorted
batches, pooling, normalisation); only the transformer's forward pass is swapped for an ONNX Runtime
session. The ONNX files are made once per model and kept in the embedding cache:

* ``model.onnx``: the transformer exported with ``torch.onnx.export`` (dynamic batch and length);
* ``model-int8.onnx``: that graph with dynamically quantized per-channel int8 weights
  (``onnxruntime.quantization.quantize_dynamic``).

Builds that share a cache directory export each model once: an exclusive lock (``<dir>.export.lock``
beside the model's directory) is held around the export, every file is written under a per-process temp
name, and the quantizer's scratch copies go to a private temp directory (given a path, onnxruntime
writes ``model-inferred.onnx`` next to the input, where two processes would clobber each other's).

Why not sentence-transformers' own ``backend="onnx"``: it loads through optimum-onnx, whose releases
require transformers < 4.58, while sentence-transformers 6 requires transformers >= 5, so the two
cannot be installed together (checked with optimum-onnx 0.1.0, sentence-transformers 6.2).
"""

from __future__ import annotations

import copy
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from mlqa_domain.atomic import atomic_file
from mlqa_domain.errors import ConfigError, first_line

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


class _Forward(torch.nn.Module):
    """The transformer called with keyword inputs, returning its last hidden state (for export)."""

    def __init__(self, model: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs, strict=True))).last_hidden_state


class OnnxTransformer(torch.nn.Module):
    """Stands in for the Hugging Face model inside sentence-transformers' Transformer module."""

    def __init__(self, path: Path, config: Any, names: tuple[str, ...], workers: int = 1) -> None:
        import onnxruntime as ort

        super().__init__()
        options = ort.SessionOptions()
        # ``workers`` threads call run() side by side (see replicate); the cores are split between them
        options.intra_op_num_threads = max(1, torch.get_num_threads() // workers)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle worker threads sleep instead of spinning, leaving the cores to tokenization and pooling
        # between batches (on 2 cores: 76-80 instead of 64-74 texts/s)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config = config
        self.names = names

    def __deepcopy__(self, memo: dict) -> OnnxTransformer:
        """Copies of the model share this session (ONNX Runtime's run() is thread-safe)."""
        return self

    def forward(self, **features: Any):
        from transformers.modeling_outputs import BaseModelOutput

        feeds = {name: features[name].cpu().numpy() for name in self.names}
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))


def _tokenize(model, texts: list[str]) -> dict[str, Any]:
    """sentence-transformers' tokenization (``preprocess`` since 6, ``tokenize`` before)."""
    method = getattr(model, "preprocess", None) or model.tokenize
    return method(texts)


def _input_names(model) -> tuple[str, ...]:
    """The inputs the model's tokenizer produces, in the order the export uses."""
    sample = _tokenize(model, ["a"])
    return tuple(name for name in INPUT_NAMES if name in sample)


def _atomic_copy(make, target: Path) -> None:
    """Write ``target`` through ``make(tmp_path)`` (a temp file next to it), then move it into place."""
    with atomic_file(target, "wb") as handle:
        make(Path(handle.name))


def export_lock_path(directory: Path) -> Path:
    """The lock file held while a model's ONNX files in ``directory`` are made."""
    return directory.with_name(f"{directory.name}.export.lock")


def export(model, directory: Path, quantized: bool) -> Path:
    """The ONNX file of ``model``'s transformer in ``directory`` (made on first use, then reused); one
    process at a time makes it, the others wait and reuse it."""
    from filelock import FileLock

    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(export_lock_path(directory))):
        return _export_unlocked(model, directory, quantized)


def _export_unlocked(model, directory: Path, quantized: bool) -> Path:
    """:func:`export` under its lock."""
    names = _input_names(model)
    fp32 = directory / "model.onnx"
    if not fp32.is_file():
        hf_model = model[0].model.eval()
        # the classic attention graph, which ONNX Runtime's CPU kernels run faster than exported SDPA
        hf_model.set_attn_implementation("eager")
        sample = _tokenize(model, ["An example sentence for the export.", "Another one."])
        inputs = tuple(sample[name] for name in names)
        axes = {name: {0: "batch", 1: "tokens"} for name in (*names, "last_hidden_state")}
        logger.info("exporting the embedding model to ONNX, once per model: %s", directory)

        def write_fp32(path: Path) -> None:
            with warnings.catch_warnings():  # tracer notes about Python values taken as constants
                warnings.simplefilter("ignore")
                _export_graph(path)

        def _export_graph(path: Path) -> None:
            torch.onnx.export(
                _Forward(hf_model, names),
                inputs,
                str(path),
                input_names=list(names),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )

        _atomic_copy(write_fp32, fp32)
    if not quantized:
        return fp32
    int8 = directory / "model-int8.onnx"
    if not int8.is_file():
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        def write_int8(path: Path) -> None:
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # onnxruntime suggests a pre-processing pass through the root logger
            try:
                # a loaded graph, not its path: the quantizer's scratch files then go to a private temp dir
                graph = onnx.load(str(fp32))
                quantize_dynamic(graph, str(path), weight_type=QuantType.QInt8, per_channel=True)
            finally:
                root.setLevel(level)

        _atomic_copy(write_int8, int8)
    return int8


def use_onnx_runtime(model, directory: Path, quantized: bool, workers: int = 1) -> None:
    """Swap ``model``'s transformer (a loaded SentenceTransformer) for an ONNX Runtime session that
    ``workers`` threads will call at once."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the onnx embedding backends need onnxruntime: pip install onnxruntime onnx"
        ) from None
    path = _export_or_fail(model, directory, quantized)
    try:
        session = OnnxTransformer(path, model[0].model.config, _input_names(model), workers)
    except Exception as exc:  # onnxruntime raises its own types for a damaged file
        # the cache is disposable: move the unreadable file aside and export again (once)
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        os.replace(path, aside)
        logger.warning(
            "%s: unreadable ONNX export (%s); moved it aside and exporting again", path, first_line(exc)
        )
        if quantized:  # the int8 file is made from model.onnx, which may be the damaged one
            fp32 = directory / "model.onnx"
            if fp32.exists() and fp32 != path:
                os.replace(fp32, fp32.with_name(f"{fp32.name}.corrupt-{os.getpid()}"))
        path = _export_or_fail(model, directory, quantized)
        session = OnnxTransformer(path, model[0].model.config, _input_names(model), workers)
    model[0].model = session


def replicate(model, count: int) -> list:
    """``model`` and ``count - 1`` copies of it with their own tokenizer and pooling, all running the
    one ONNX Runtime session, so that ``count`` threads can encode batches side by side."""
    return [model] + [copy.deepcopy(model) for _ in range(count - 1)]


def _export_or_fail(model, directory: Path, quantized: bool) -> Path:
    """:func:`export`, with a failure as one ConfigError line."""
    try:
        return export(model, directory, quantized)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ConfigError(
            f"cannot export the model to ONNX ({first_line(exc)}); use --embedding-backend torch"
        ) from None
