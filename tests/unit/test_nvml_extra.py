"""NVML without its package: a reading asked for names the extra; recorded facts stay quiet."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_modelperf.core.extras import MissingExtra
from pytest_modelperf.measure import environment, nvml


@pytest.fixture
def without_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml now raises ImportError


@pytest.mark.usefixtures("without_pynvml")
def test_an_nvml_reading_names_the_gpu_extra() -> None:
    with pytest.raises(
        MissingExtra,
        match=r"NVML's GPU readings \(what nvidia-smi shows\) needs nvidia-ml-py, which is not installed: "
        r"pip install 'pytest-modelperf\[gpu\]'",
    ):
        nvml.device_used_bytes(object())


@pytest.mark.usefixtures("without_pynvml")
def test_the_recorded_driver_version_is_empty_without_the_package() -> None:
    assert environment._driver_version() == ""


def test_the_recorded_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert environment.software_environment("cpu", Path("."))["pytest_modelperf"] == version("pytest-modelperf")


@pytest.mark.usefixtures("without_pynvml")
def test_gpu_memory_without_the_package_keeps_the_allocator_peaks_and_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from pytest_modelperf.measure.memory import CudaMemoryTracker

    for name in ("synchronize", "empty_cache", "reset_peak_memory_stats"):
        monkeypatch.setattr(torch.cuda, name, lambda *args: None)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: 100)
    monkeypatch.setattr(torch.cuda, "max_memory_reserved", lambda device: 200)
    with CudaMemoryTracker("cuda:0") as tracker:
        pass
    result = tracker.result
    assert result is not None
    assert (result.peak_allocated_bytes, result.peak_reserved_bytes) == (100, 200)
    assert result.nvml_process_bytes is None and result.nvml_device_bytes is None
    assert result.nvml_problem is not None and "pip install 'pytest-modelperf[gpu]'" in result.nvml_problem
