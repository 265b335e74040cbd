"""The allocator's peaks are the workload's own: its modules' bytes plus what its region
allocated above the start, whatever else the process keeps on the device.

torch.cuda's counters are stood in by a small allocator model, so that a machine without CUDA
checks the arithmetic; tests/gpu checks the same on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch

from pytest_modelperf.measure import memory, nvml
from pytest_modelperf.measure.memory import CudaMemoryTracker, cuda_memory_of, module_bytes


@dataclass
class Allocator:
    """torch.cuda's allocated/reserved counters and their peaks, for one device."""

    allocated: int = 0
    reserved: int = 0
    peak_allocated: int = 0
    peak_reserved: int = 0

    def allocate(self, size: int) -> None:
        self.allocated += size
        self.reserved = max(self.reserved, self.allocated)
        self.peak_allocated = max(self.peak_allocated, self.allocated)
        self.peak_reserved = max(self.peak_reserved, self.reserved)

    def free(self, size: int) -> None:
        self.allocated -= size

    def reset_peaks(self) -> None:
        self.peak_allocated, self.peak_reserved = self.allocated, self.reserved

    def empty_cache(self) -> None:
        self.reserved = self.allocated


@pytest.fixture
def allocator(monkeypatch: pytest.MonkeyPatch) -> Allocator:
    state = Allocator()
    cuda = torch.cuda
    monkeypatch.setattr(cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(cuda, "empty_cache", state.empty_cache)
    monkeypatch.setattr(cuda, "reset_peak_memory_stats", lambda device=None: state.reset_peaks())
    monkeypatch.setattr(cuda, "memory_allocated", lambda device=None: state.allocated)
    monkeypatch.setattr(cuda, "memory_reserved", lambda device=None: state.reserved)
    monkeypatch.setattr(cuda, "max_memory_allocated", lambda device=None: state.peak_allocated)
    monkeypatch.setattr(cuda, "max_memory_reserved", lambda device=None: state.peak_reserved)

    def no_nvml(index: int) -> Any:
        raise nvml.NvmlUnavailable("NVML stood in: not available")

    monkeypatch.setattr(memory.nvml, "handle_for_torch_device", no_nvml)
    return state


def forward_pass(state: Allocator) -> None:
    """Activations of 40,000 and 10,000 bytes, alive together at their peak, then freed."""
    state.allocate(40_000)
    state.allocate(10_000)
    state.free(10_000)
    state.free(40_000)


@pytest.mark.parametrize("others", [0, 1_000_000, 7_000_000_000])
def test_the_peak_is_the_models_weights_and_the_pass_whatever_else_is_resident(allocator: Allocator, others: int) -> None:
    weights = 300_000
    allocator.allocate(others)  # other models a session keeps on the device
    allocator.allocate(weights)
    result = cuda_memory_of(lambda: forward_pass(allocator), "cuda:0", own_bytes=weights)
    assert result.peak_allocated_bytes == 350_000
    assert result.peak_reserved_bytes == 350_000
    assert result.nvml_problem == "NVML stood in: not available"


def test_an_earlier_larger_peak_does_not_leak_into_the_region(allocator: Allocator) -> None:
    allocator.allocate(5_000_000)
    allocator.free(5_000_000)  # a larger cell before this one
    with CudaMemoryTracker("cuda:0", own_bytes=1_000) as tracker:
        forward_pass(allocator)
    assert tracker.result is not None and tracker.result.peak_allocated_bytes == 51_000


def test_without_own_modules_the_peak_is_what_the_region_added(allocator: Allocator) -> None:
    allocator.allocate(123_456)
    with CudaMemoryTracker("cuda:0") as tracker:
        forward_pass(allocator)
    assert tracker.result is not None and tracker.result.peak_allocated_bytes == 50_000


@dataclass(frozen=True)
class Storage:
    address: int
    size: int

    def data_ptr(self) -> int:
        return self.address

    def nbytes(self) -> int:
        return self.size


@dataclass(frozen=True)
class Device:
    type: str


@dataclass(frozen=True)
class Tensor:
    storage: Storage
    device: Device = Device("cuda")

    def untyped_storage(self) -> Storage:
        return self.storage


@dataclass(frozen=True)
class Module:
    params: tuple[Tensor, ...]
    bufs: tuple[Tensor, ...] = ()

    def parameters(self) -> tuple[Tensor, ...]:
        return self.params

    def buffers(self) -> tuple[Tensor, ...]:
        return self.bufs


def test_module_bytes_counts_each_storage_once_in_allocator_blocks() -> None:
    shared = Storage(1, 1_000)  # tied embeddings: two parameters, one storage
    module = Module(
        params=(Tensor(shared), Tensor(shared), Tensor(Storage(2, 512)), Tensor(Storage(3, 513))),
        bufs=(Tensor(Storage(4, 8)), Tensor(Storage(5, 4_096), Device("cpu"))),
    )
    # 1,000 -> 1,024; 512 -> 512; 513 -> 1,024; 8 -> 512; the CPU buffer is not the device's
    assert module_bytes(module) == 1_024 + 512 + 1_024 + 512
    assert module_bytes(module, Module(params=(Tensor(shared),))) == module_bytes(module), "a storage shared by two modules"


def test_module_bytes_of_a_cpu_model_is_zero() -> None:
    assert module_bytes(torch.nn.Linear(4, 4)) == 0


def test_a_distillation_step_s_peak_counts_the_teacher_s_weights(allocator: Allocator, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_modelperf.measure.workloads import Workload
    from pytest_modelperf.training import measurement
    from pytest_modelperf.training.step import StepSettings, TrainingStep

    student, teacher = torch.nn.Linear(4, 2), torch.nn.Linear(4, 64)
    batch = {"inputs": torch.ones(3, 4)}

    def loss(model: Any, batch: Any) -> Any:
        with torch.no_grad():
            targets = teacher(batch["inputs"])[:, :2]
        return (model(batch["inputs"]) - targets).pow(2).mean()

    # A CPU module has no CUDA bytes: count its parameters' float32 bytes as module_bytes would on CUDA.
    monkeypatch.setattr(measurement, "module_bytes", lambda *modules: 4 * sum(p.numel() for m in modules for p in m.parameters()))
    settings = StepSettings(Workload(3, 4))
    plain = TrainingStep(student, [batch], settings, device="cpu", loss=loss)
    distilling = TrainingStep(student, [batch], settings, device="cpu", loss=loss, resident=[teacher])
    # The step's own allocations go to the real (CPU) allocator, not the stand-in: the peak is the weights.
    assert measurement.fresh_step_cuda_memory(plain, "cuda:0").peak_allocated_bytes == 4 * (8 + 2)
    assert measurement.fresh_step_cuda_memory(distilling, "cuda:0").peak_allocated_bytes == 4 * (8 + 2 + 256 + 64)
