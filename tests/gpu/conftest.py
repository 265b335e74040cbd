"""Tests that need a CUDA device. Where torch sees none, every test here skips, saying why.

They check, on a real GPU, what the CPU runner cannot: CUDA-event timing, the allocator's
peaks, NVML's view of the same device, out-of-memory cells and per-worker GPU pinning.
``docs/gpu.md`` says what each proves; ``benchmarks/gpu_verify.sh`` runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_modelperf.models.loading import LoadedModel, load_model, resolve_device

HERE = Path(__file__).resolve().parent


def cuda_missing() -> str | None:
    """Why these tests cannot run here, or None when torch sees a CUDA device."""
    if torch.cuda.is_available():
        return None
    why = "torch was built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
    return f"needs a CUDA device: torch.cuda.is_available() is False ({why}; torch {torch.__version__})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A skip marker, not a fixture: the tests skip before any fixture (a checkpoint build) is set up.
    reason = cuda_missing()
    if reason is None:
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def cuda_device() -> str:
    """The device the plugin measures on for ``--modelperf-device cuda``: ``cuda:0``, or a
    pytest-xdist worker's own GPU."""
    return resolve_device("cuda")


@pytest.fixture(scope="session")
def gpu_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-layer BERT of BERT-base's width (hidden 768, 12 heads, 52M parameters) with the real
    bert-base-uncased tokenizer: wide enough that a forward at 64x256 keeps the GPU busy far
    longer than the host takes to launch it."""
    from transformers import BertConfig

    from pytest_modelperf.models.checkpoints import build_checkpoint

    config = BertConfig(num_hidden_layers=4, num_labels=2)
    directory, _ = build_checkpoint(
        config, tmp_path_factory.mktemp("gpu-ckpt") / "gpu-bert", task="sequence-classification", tokenizer="bert-base-uncased"
    )
    return directory


@pytest.fixture(scope="session")
def gpu_model(gpu_checkpoint: Path, cuda_device: str) -> LoadedModel:
    """``gpu_checkpoint`` loaded in float32 on ``cuda_device``, as ``modelperf.load`` loads it."""
    return load_model(gpu_checkpoint, device=cuda_device, dtype="float32")
