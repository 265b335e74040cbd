"""Measuring one cell (a model at one batch size and sequence length) and running out of memory.

One code path serves ``modelperf sweep``, ``modelperf.measure_cell`` and
``modelperf.measure_gpu_memory`` in a test: latency, throughput and each memory figure, named,
united and directed as ``measure.catalogue`` declares them, like the fixture's
``measure_latency``, ``measure_throughput`` and ``measure_host_memory``. A cell or reading
that runs out of memory is recorded as such (the study's N/A), with the memory released; any
other error propagates to the caller. The sweep grid builds the ``Cell`` values measured here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from ..core.counts import counted
from ..core.measurement import Measurement
from ..core.timing import TimingOptions
from ..models.loading import LoadedModel, model_notes
from . import catalogue
from .calibration import time_with_reference, with_reference
from .catalogue import Measure
from .latency import latency_from_seconds
from .memory import (
    MB,
    OUT_OF_MEMORY,
    CudaMemory,
    cuda_memory_of,
    gpu_memory_measurements,
    host_memory_increases,
    host_memory_measurement,
    module_bytes,
    run_unless_out_of_memory,
)
from .throughput import throughput_from_seconds
from .workloads import Workload, forward, synthetic_inputs, workload_context

OK = "ok"

# What --measures accepts; "memory" stands for every memory figure the device has.
MEASURE_GROUPS: tuple[str, ...] = ("time", "throughput", "memory")
TIME = catalogue.sweep_id_of(catalogue.LATENCY)
THROUGHPUT = catalogue.sweep_id_of(catalogue.THROUGHPUT)
HOST_MEMORY = catalogue.sweep_id_of(catalogue.HOST_MEMORY)
GPU_MEASURES: tuple[Measure, ...] = (catalogue.GPU_PEAK_ALLOCATED, catalogue.GPU_PEAK_RESERVED, catalogue.GPU_NVML_DEVICE)
GPU_MEMORY: tuple[str, ...] = tuple(catalogue.sweep_id_of(measure) for measure in GPU_MEASURES)
GPU_ALLOCATED, GPU_RESERVED, GPU_NVML = GPU_MEMORY

Result = TypeVar("Result")


@dataclass(frozen=True)
class Cell:
    """One model at one batch size and sequence length."""

    model: str  # as given: a registry name, a local directory or a hub id
    label: str
    batch_size: int
    sequence_length: int

    @property
    def id(self) -> str:
        """``bert-tiny-b8-s128``: the cell's pytest id and its name in progress lines."""
        return f"{self.label}-b{self.batch_size}-s{self.sequence_length}"

    @property
    def workload(self) -> Workload:
        return Workload(self.batch_size, self.sequence_length)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "label": self.label, "batch_size": self.batch_size, "sequence_length": self.sequence_length}


def skip_reason(cell: Cell, config: Any) -> str | None:
    """Why the cell cannot run on this model (``skipped: ...``), or None when it can."""
    limit = getattr(config, "max_position_embeddings", None)
    if isinstance(limit, int) and cell.sequence_length > limit:
        return f"skipped: sequence length {cell.sequence_length} exceeds {cell.label}'s max_position_embeddings ({limit})"
    return None


def refuse_unknown_groups(groups: Sequence[str]) -> None:
    """A ``ValueError`` naming the groups that are not among ``MEASURE_GROUPS``."""
    unknown = sorted(set(groups) - set(MEASURE_GROUPS))
    if unknown:
        named = f"{counted(len(unknown), 'unknown measure')}: {', '.join(unknown)}"
        raise ValueError(f"{named}; choose from {', '.join(MEASURE_GROUPS)}")


def measures_for(groups: Sequence[str], device: str) -> tuple[str, ...]:
    """The sweep ids of the measures these groups make on this device, in a fixed order."""
    refuse_unknown_groups(groups)
    names: list[str] = [sweep_id for group, sweep_id in (("time", TIME), ("throughput", THROUGHPUT)) if group in groups]
    if "memory" in groups:
        names.append(HOST_MEMORY)
        if device.startswith("cuda"):
            names.extend(GPU_MEMORY)
    return tuple(names)


@dataclass(frozen=True)
class CellMeasurements:
    """What one cell gave: a status, and a measurement per measure (by sweep id) that has one.

    ``status`` is ``ok``, ``out of memory`` (every measurement is N/A), ``skipped: ...`` or
    ``error: <Type>: <message>``. ``unavailable`` gives the reason of a measure the device
    cannot read (NVML in a container) in a cell that is otherwise ``ok``.
    """

    cell: Cell
    status: str
    device: str
    dtype: str
    measures: tuple[str, ...]
    by_measure: Mapping[str, Measurement] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Every measurement of the cell, for ``modelperf.check`` one by one."""
        return tuple(self.by_measure[name] for name in self.measures if name in self.by_measure)

    @property
    def latency(self) -> Measurement | None:
        return self.by_measure.get(TIME)

    @property
    def throughput(self) -> Measurement | None:
        return self.by_measure.get(THROUGHPUT)

    @property
    def host_memory(self) -> Measurement | None:
        return self.by_measure.get(HOST_MEMORY)

    @property
    def gpu_memory_allocated(self) -> Measurement | None:
        return self.by_measure.get(GPU_ALLOCATED)

    @property
    def gpu_memory_reserved(self) -> Measurement | None:
        return self.by_measure.get(GPU_RESERVED)

    @property
    def gpu_memory_nvml(self) -> Measurement | None:
        return self.by_measure.get(GPU_NVML)

    def status_of(self, measure: str) -> str:
        """The cell's status, else why this measure has no value (NVML unreadable, not a finite number)."""
        if self.status != OK:
            return self.status
        measurement = self.by_measure.get(measure)
        if measurement is not None and measurement.unavailable is not None:
            return measurement.unavailable
        return self.unavailable.get(measure, OK)


@dataclass(frozen=True)
class GpuMemory:
    """The GPU memory of one forward pass: allocator peaks, and NVML's readings where it has them."""

    peak_allocated: Measurement
    peak_reserved: Measurement
    nvml_process: Measurement | None
    nvml_device: Measurement | None
    nvml_problem: str | None

    @property
    def out_of_memory(self) -> bool:
        return self.peak_allocated.unavailable is not None


def measure_cell(
    loaded: LoadedModel,
    cell: Cell,
    *,
    groups: Sequence[str] = MEASURE_GROUPS,
    timing: TimingOptions,
    calibrate: bool = False,
    memory_rounds: int = 5,
) -> CellMeasurements:
    """Measure one cell of a loaded model: the timings (on the CPU beside the speed reference
    when ``calibrate``), then host memory over ``memory_rounds`` rounds, then, on CUDA, the
    allocator peaks and NVML's device reading of one forward pass."""
    measures = measures_for(groups, loaded.device)
    reason = skip_reason(cell, loaded.config)
    if reason is not None:
        return CellMeasurements(cell, reason, loaded.device, loaded.dtype, measures)
    work = partial(_measure, loaded, cell, measures, timing, calibrate, memory_rounds)
    measured, missing = unless_out_of_memory(work, loaded, cell.workload, [catalogue.sweep_measure(name) for name in measures])
    if measured is None:
        by_measure = dict(zip(measures, missing, strict=True))
        return CellMeasurements(cell, OUT_OF_MEMORY, loaded.device, loaded.dtype, measures, by_measure)
    return measured


def measure_gpu_memory(loaded: LoadedModel, workload: Workload) -> GpuMemory:
    """Allocator peaks and NVML readings (MB) of one forward pass on a CUDA device; out of
    memory, the allocator peaks are N/A ("out of memory")."""
    context = workload_context(loaded, workload)
    notes = model_notes(loaded)

    def measure() -> GpuMemory:
        result = model_cuda_memory(loaded, partial(forward, loaded, synthetic_inputs(loaded, workload)))
        readings = gpu_memory_measurements(result, workload.label, context=context, notes=notes)
        return GpuMemory(
            peak_allocated=readings[catalogue.GPU_PEAK_ALLOCATED],
            peak_reserved=readings[catalogue.GPU_PEAK_RESERVED],
            nvml_process=readings.get(catalogue.GPU_NVML_PROCESS),
            nvml_device=readings.get(catalogue.GPU_NVML_DEVICE),
            nvml_problem=result.nvml_problem,
        )

    allocator_peaks = [catalogue.GPU_PEAK_ALLOCATED, catalogue.GPU_PEAK_RESERVED]
    measured, missing = unless_out_of_memory(measure, loaded, workload, allocator_peaks)
    if measured is None:
        allocated, reserved = missing
        return GpuMemory(allocated, reserved, nvml_process=None, nvml_device=None, nvml_problem=None)
    return measured


def unless_out_of_memory(
    work: Callable[[], Result], loaded: LoadedModel, workload: Workload, measures: Sequence[Measure]
) -> tuple[Result | None, list[Measurement]]:
    """``(work(), [])``, or, when the device runs out of memory, ``(None, N/A measurements)``:
    one per measure, each unavailable for "out of memory", with the device memory released."""
    result, unavailable = run_unless_out_of_memory(work, loaded.device)
    if unavailable is None:
        return result, []
    context = workload_context(loaded, workload)
    notes = model_notes(loaded)
    missing = [
        Measurement.not_available(
            measure.named(workload.label),
            unavailable,
            unit=measure.unit,
            direction=measure.direction,
            context=context,
            notes=notes,
        )
        for measure in measures
    ]
    return None, missing


def _measure(
    loaded: LoadedModel, cell: Cell, measures: tuple[str, ...], timing: TimingOptions, calibrate: bool, memory_rounds: int
) -> CellMeasurements:
    workload = cell.workload
    context = workload_context(loaded, workload)
    notes = model_notes(loaded)
    inputs = synthetic_inputs(loaded, workload)
    work = partial(forward, loaded, inputs)
    by_measure: dict[str, Measurement] = {}
    unavailable: dict[str, str] = {}

    if TIME in measures or THROUGHPUT in measures:
        seconds, reference = time_with_reference(work, loaded.device, timing, calibrate=calibrate)
        if TIME in measures:
            latency = latency_from_seconds(catalogue.LATENCY.named(workload.label), seconds, context=context, notes=notes)
            by_measure[TIME] = with_reference(latency, reference)
        if THROUGHPUT in measures:
            samples = throughput_from_seconds(seconds, workload, context=context, notes=notes).samples_per_second
            by_measure[THROUGHPUT] = with_reference(samples, reference)
    if HOST_MEMORY in measures:
        rounds = host_memory_increases(work, memory_rounds)
        by_measure[HOST_MEMORY] = host_memory_measurement(rounds, workload.label, context=context, notes=notes)
    if any(name in measures for name in GPU_MEMORY):
        result = model_cuda_memory(loaded, work)
        readings = gpu_memory_measurements(result, workload.label, context=context, notes=notes)
        for measure in GPU_MEASURES:
            name = catalogue.sweep_id_of(measure)
            reading = readings.get(measure)
            if reading is not None:
                by_measure[name] = reading
            else:
                unavailable[name] = f"unavailable: {result.nvml_problem or 'NVML gave no reading'}"
    return CellMeasurements(cell, OK, loaded.device, loaded.dtype, measures, by_measure, unavailable)


def model_cuda_memory(loaded: LoadedModel, work: Callable[[], Any]) -> CudaMemory:
    """The allocator's peaks and NVML's readings of ``work`` on the model's CUDA device, the
    model's weights counted as the work's own."""
    return cuda_memory_of(work, loaded.device, own_bytes=module_bytes(loaded.model))


def peak_memory_mb(loaded: LoadedModel, workload: Workload) -> float:
    """The device's peak for one forward pass (MB): the allocator's peak on CUDA (the weights and
    what the pass allocates), the host's peak increase on the CPU. The largest-batch search
    compares it with a budget."""
    inputs = synthetic_inputs(loaded, workload)
    work = partial(forward, loaded, inputs)
    if loaded.device.startswith("cuda"):
        return model_cuda_memory(loaded, work).peak_allocated_bytes / MB
    return host_memory_increases(work, 1)[0].increase_bytes / MB


def error_status(error: BaseException) -> str:
    """``error: <Type>: <message>`` on one line."""
    message = " ".join(str(error).split())
    return f"error: {type(error).__name__}: {message}" if message else f"error: {type(error).__name__}"
