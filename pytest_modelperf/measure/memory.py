"""Host and GPU memory of a measured region.

Host memory (Linux): before the region the garbage collector runs and glibc returns freed
heap pages to the system (``malloc_trim``); the kernel's resident-set high-water mark is
then reset by writing ``5`` to ``/proc/self/clear_refs``, and after the region ``VmHWM`` in
``/proc/self/status`` is the exact peak resident set of the region. The metric is that peak
minus the resident set at the start: what the workload added, independent of what the rest
of the session had loaded. Where the reset is not possible (not Linux, or a kernel that
refuses it) a thread samples the resident set every millisecond instead, which can miss
short peaks; the measurement then says so in its notes.

GPU memory, each under its own name: the caching allocator's peak allocated bytes (exact
and repeatable), its peak reserved bytes, and what NVML reports as used by this process and
by the whole device (what nvidia-smi shows, CUDA context included), sampled during the
region and read once more at its end. Allocator peaks are reset and cached blocks released
before the region. Like the host's, the allocator's figures are the workload's own: the
most the region allocated above what was allocated at its start, plus the bytes of the
modules it names as its own (the measured model's weights). Other models a session keeps on
the device do not count, so a model's peak is the same measured alone, after the whole
registry, or on any pytest-xdist worker. NVML's readings are the device's as a whole, as the
study read them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ..core.extras import MissingExtra
from ..core.measurement import Measurement
from . import nvml
from .catalogue import GPU_NVML_DEVICE, GPU_NVML_PROCESS, GPU_PEAK_ALLOCATED, GPU_PEAK_RESERVED, HOST_MEMORY, Measure

MB = 1e6  # the project reports memory in megabytes of 10^6 bytes
MIB = 1 << 20  # the study's tables: "MB" that were 2^20 bytes
OUT_OF_MEMORY = "out of memory"  # why a cell or reading has no value: the study's N/A
ALLOCATOR_BLOCK = 512  # the CUDA caching allocator rounds every allocation up to a multiple of this

_PAGE_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        for line in _PAGE_STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_bytes() -> int:
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    import psutil

    return int(psutil.Process().memory_info().rss)


def _reset_peak_rss() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def _malloc_trim() -> None:
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


class _Sampler:
    """Polls a reading in a daemon thread and keeps its maximum."""

    def __init__(self, read: Any, interval: float) -> None:
        self._read = read
        self._interval = interval
        self._stop = threading.Event()
        self.peak: int | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="modelperf-memory-sampler")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def sample(self) -> None:
        try:
            value = self._read()
        except Exception as error:
            self.error = str(error)
            return
        self.peak = value if self.peak is None else max(self.peak, value)

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


@dataclass(frozen=True)
class HostMemory:
    start_bytes: int
    peak_bytes: int
    method: str

    @property
    def increase_bytes(self) -> int:
        return max(self.peak_bytes - self.start_bytes, 0)


class HostMemoryTracker:
    """``with HostMemoryTracker() as tracker: work()``, then ``tracker.result``."""

    def __init__(self, sample_interval: float = 0.001) -> None:
        self._interval = sample_interval
        self._sampler: _Sampler | None = None
        self._start = 0
        self.result: HostMemory | None = None

    def __enter__(self) -> HostMemoryTracker:
        gc.collect()
        _malloc_trim()
        self._start = current_rss_bytes()
        if not _reset_peak_rss():
            self._sampler = _Sampler(current_rss_bytes, self._interval)
            self._sampler.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._sampler is None:
            peak_kib = _status_kib("VmHWM")
            assert peak_kib is not None
            self.result = HostMemory(self._start, peak_kib * 1024, "VmHWM after clear_refs")
        else:
            self._sampler.stop()
            self.result = HostMemory(self._start, self._sampler.peak or self._start, "sampled RSS (1 ms)")


def module_bytes(*modules: Any) -> int:
    """The CUDA bytes of the modules' parameters and buffers, each storage once, as the caching
    allocator counts them (rounded up to its 512-byte blocks)."""
    seen: set[int] = set()
    total = 0
    for module in modules:
        for tensor in (*module.parameters(), *module.buffers()):
            if tensor.device.type != "cuda":
                continue
            storage = tensor.untyped_storage()
            if storage.data_ptr() in seen:
                continue
            seen.add(storage.data_ptr())
            total += -(-storage.nbytes() // ALLOCATOR_BLOCK) * ALLOCATOR_BLOCK
    return total


@dataclass(frozen=True)
class CudaMemory:
    peak_allocated_bytes: int
    peak_reserved_bytes: int
    nvml_process_bytes: int | None
    nvml_device_bytes: int | None
    nvml_problem: str | None


class CudaMemoryTracker:
    """``with CudaMemoryTracker("cuda:0", own_bytes=module_bytes(model)) as tracker: work()``,
    then ``tracker.result``: the allocator's peaks are ``own_bytes`` plus the most the region
    allocated (reserved) above the start, whatever else the process keeps on the device."""

    def __init__(self, device: str, nvml_interval: float = 0.001, *, own_bytes: int = 0) -> None:
        self.device = device
        self.own_bytes = own_bytes
        self._start_allocated = 0
        self._start_reserved = 0
        self._interval = nvml_interval
        self._process: _Sampler | None = None
        self._whole: _Sampler | None = None
        self._problem: str | None = None
        self.result: CudaMemory | None = None

    def __enter__(self) -> CudaMemoryTracker:
        import torch

        torch.cuda.synchronize(self.device)
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(self.device)
        self._start_allocated = int(torch.cuda.memory_allocated(self.device))
        self._start_reserved = int(torch.cuda.memory_reserved(self.device))
        try:
            handle = nvml.handle_for_torch_device(torch.device(self.device).index or 0)
            pid = os.getpid()
            self._process = _Sampler(lambda: nvml.process_used_bytes(handle, pid), self._interval)
            self._whole = _Sampler(lambda: nvml.device_used_bytes(handle), self._interval)
            self._process.start()
            self._whole.start()
        except (nvml.NvmlUnavailable, MissingExtra) as error:  # the allocator's figures stand without NVML's
            self._problem = str(error)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        import torch

        torch.cuda.synchronize(self.device)
        process = whole = None
        for sampler in (self._process, self._whole):
            if sampler is not None:
                sampler.stop()
        if self._process is not None:
            process = self._process.peak
            self._problem = self._problem or self._process.error
        if self._whole is not None:
            whole = self._whole.peak
        self.result = CudaMemory(
            peak_allocated_bytes=int(torch.cuda.max_memory_allocated(self.device)) - self._start_allocated + self.own_bytes,
            peak_reserved_bytes=int(torch.cuda.max_memory_reserved(self.device)) - self._start_reserved + self.own_bytes,
            nvml_process_bytes=process,
            nvml_device_bytes=whole,
            nvml_problem=self._problem if process is None else None,
        )


def host_memory_increases(work: Callable[[], Any], rounds: int) -> list[HostMemory]:
    """Peak resident memory of ``rounds`` runs of ``work``, each tracked on its own.

    ``work`` runs once untracked first: first-call allocations (kernels, caches) are not the
    workload's.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    work()
    results: list[HostMemory] = []
    for _ in range(rounds):
        with HostMemoryTracker() as tracker:
            work()
        assert tracker.result is not None
        results.append(tracker.result)
    return results


def cuda_memory_of(work: Callable[[], Any], device: str, *, own_bytes: int = 0) -> CudaMemory:
    """Allocator peaks and NVML readings of one run of ``work``, after one untracked run;
    ``own_bytes`` (``module_bytes(model)``) is what the work keeps resident on the device."""
    work()
    with CudaMemoryTracker(device, own_bytes=own_bytes) as tracker:
        work()
    assert tracker.result is not None
    return tracker.result


def host_memory_measurement(
    results: Sequence[HostMemory],
    label: str,
    *,
    context: Mapping[str, Any],
    notes: Sequence[str] = (),
    measure: Measure = HOST_MEMORY,
) -> Measurement:
    """``host_memory[<label>]`` (or ``measure``'s name): the peak each tracked run added (MB),
    one sample per run."""
    return Measurement.from_samples(
        measure.named(label),
        [result.increase_bytes / MB for result in results],
        unit=measure.unit,
        direction=measure.direction,
        context={**context, "method": results[-1].method},
        notes=notes,
    )


INFERENCE_GPU_MEASURES = (GPU_PEAK_ALLOCATED, GPU_PEAK_RESERVED, GPU_NVML_PROCESS, GPU_NVML_DEVICE)


def gpu_memory_measurements(
    result: CudaMemory,
    label: str,
    *,
    context: Mapping[str, Any],
    notes: Sequence[str] = (),
    measures: tuple[Measure, Measure, Measure, Measure] = INFERENCE_GPU_MEASURES,
) -> dict[Measure, Measurement]:
    """``gpu_memory.<kind>[<label>]`` (MB) by measure: the allocator's peak allocated (exact: the
    allocator is deterministic) and peak reserved bytes, and NVML's process and device readings
    where NVML read them. ``measures`` names the four, in that order (a training step's have
    names of their own)."""
    allocated, reserved, process, device = measures
    readings = {
        allocated: result.peak_allocated_bytes,
        reserved: result.peak_reserved_bytes,
        process: result.nvml_process_bytes,
        device: result.nvml_device_bytes,
    }
    measurements: dict[Measure, Measurement] = {}
    for measure, value in readings.items():
        if value is None:
            continue
        name = measure.named(label)
        if measure.deterministic:
            measurements[measure] = Measurement.exact(name, value / MB, unit=measure.unit, context=context, notes=notes)
        else:
            measurements[measure] = Measurement(
                name, measure.unit, measure.direction, value / MB, context=dict(context), notes=tuple(notes)
            )
    return measurements


# torch's CPU allocator does not raise torch.OutOfMemoryError (torch 2.13): it raises a plain
# RuntimeError whose message contains this, so the message is the only sign.
CPU_ALLOCATOR_FAILURE = "DefaultCPUAllocator: can't allocate memory"


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an exception is the device running out of memory: torch's own error type on
    CUDA, the CPU allocator's failure on the host, or Python's ``MemoryError``."""
    import torch

    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(error, RuntimeError) and CPU_ALLOCATOR_FAILURE in str(error)


def release_device_memory(device: str) -> None:
    """Give cached blocks back after an out-of-memory cell, so that the next cell starts clean."""
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def run_unless_out_of_memory(work: Any, device: str) -> tuple[Any, str | None]:
    """``(work(), None)``, or ``(None, OUT_OF_MEMORY)`` with the device memory released.

    The error (and its traceback, which holds the failed cell's tensors) is dropped before the
    memory is released; anything but out-of-memory propagates.
    """
    try:
        return work(), None
    except Exception as error:
        if not is_out_of_memory(error):
            raise
    release_device_memory(device)
    return None, OUT_OF_MEMORY
