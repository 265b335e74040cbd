"""GPU memory through measure.cell, with the CUDA readings stood in: names, exactness, NVML, out of memory.

The fixture's ``measure_gpu_memory`` and the sweep's GPU measures go through this code; a
machine without CUDA checks it with ``cuda_memory_of`` replaced by known readings.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

import pytest_modelperf.measure.cell as measure_module
from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.cell import Cell, measure_cell, measure_gpu_memory
from pytest_modelperf.measure.memory import CudaMemory
from pytest_modelperf.measure.tidy import tidy_rows
from pytest_modelperf.measure.workloads import Workload
from pytest_modelperf.models.loading import load_model

MIB = 2**20
READINGS = CudaMemory(100 * MIB, 200 * MIB, nvml_process_bytes=300 * MIB, nvml_device_bytes=400 * MIB, nvml_problem=None)
NO_NVML = CudaMemory(
    100 * MIB, 200 * MIB, nvml_process_bytes=None, nvml_device_bytes=None, nvml_problem="NVML lists no memory for process 1"
)
FAST = TimingOptions(warmup_rounds=1, warmup_time=0.0, min_rounds=2, max_rounds=2, max_time=0.0)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint: Path) -> Any:
    return load_model(tiny_checkpoint, device="cpu")


def stand_in(monkeypatch: pytest.MonkeyPatch, readings: CudaMemory | Exception) -> None:
    def cuda_memory_of(work: Any, device: str, *, own_bytes: int = 0) -> CudaMemory:
        work()
        if isinstance(readings, Exception):
            raise readings
        return readings

    monkeypatch.setattr(measure_module, "cuda_memory_of", cuda_memory_of)


def test_gpu_memory_gives_each_reading_under_its_catalogue_name(tiny: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(monkeypatch, READINGS)
    memory = measure_gpu_memory(tiny, Workload(2, 16))
    assert [m.name for m in (memory.peak_allocated, memory.peak_reserved, memory.nvml_process, memory.nvml_device)] == [
        "gpu_memory.peak_allocated[2x16]",
        "gpu_memory.peak_reserved[2x16]",
        "gpu_memory.nvml_process[2x16]",
        "gpu_memory.nvml_device[2x16]",
    ]
    assert memory.peak_allocated.deterministic and not memory.peak_reserved.deterministic
    assert memory.peak_allocated.value == pytest.approx(100 * MIB / 1e6) and memory.peak_allocated.unit == "MB"
    assert not memory.out_of_memory and memory.nvml_problem is None


def test_gpu_memory_without_nvml_keeps_the_allocator_peaks(tiny: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(monkeypatch, NO_NVML)
    memory = measure_gpu_memory(tiny, Workload(1, 8))
    assert memory.nvml_device is None and memory.nvml_process is None
    assert memory.nvml_problem == "NVML lists no memory for process 1"


def test_gpu_memory_out_of_memory_is_not_available(tiny: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(monkeypatch, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 96.00 GiB"))
    memory = measure_gpu_memory(tiny, Workload(1, 8))
    assert memory.out_of_memory
    assert (memory.peak_allocated.name, memory.peak_allocated.unavailable) == ("gpu_memory.peak_allocated[1x8]", "out of memory")
    assert memory.peak_reserved.unavailable == "out of memory" and memory.nvml_device is None


def test_a_cuda_cell_measures_every_gpu_figure(tiny: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(monkeypatch, NO_NVML)
    monkeypatch.setattr(measure_module, "synthetic_inputs", lambda loaded, workload: {})
    monkeypatch.setattr(measure_module, "forward", lambda loaded, inputs: None)
    on_cuda = replace(tiny, device="cuda:0")
    result = measure_cell(on_cuda, Cell("tiny", "tiny", 2, 16), groups=["memory"], timing=FAST, memory_rounds=1)
    assert result.measures == ("host_memory_peak", "gpu_memory_allocated", "gpu_memory_reserved", "gpu_memory_nvml")
    assert [m.name for m in result.measurements] == [
        "host_memory[2x16]",
        "gpu_memory.peak_allocated[2x16]",
        "gpu_memory.peak_reserved[2x16]",
    ]
    rows = {row["measure"]: row for row in tidy_rows(result)}
    assert rows["gpu_memory_allocated"]["value"] == pytest.approx(100 * MIB / 1e6)
    assert rows["gpu_memory_nvml"]["status"] == "unavailable: NVML lists no memory for process 1"
