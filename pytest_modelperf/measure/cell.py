"""Measuring one cell with the project's trackers: latency, throughput and each memory figure.

The same code path serves ``modelperf sweep`` and ``modelperf.measure_cell`` in a test, and it
builds the same measurements, under the same names, as the fixture's ``measure_latency``,
``measure_throughput``, ``measure_host_memory`` and ``measure_gpu_memory``. A cell that runs
out of memory is recorded as such (the study's N/A), with the memory released; any other
error propagates to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from ..core.measurement import Direction, Measurement
from ..core.timing import TimingOptions
from ..models.loading import LoadedModel, model_notes
from ..sweep.grid import Cell, skip_reason
from .calibration import time_with_reference, with_reference
from .latency import latency_from_seconds
from .memory import MB
from .throughput import throughput_from_seconds
from .workloads import Workload, forward, synthetic_inputs, workload_context

OK = "ok"
OUT_OF_MEMORY = "out of memory"

# What --measures accepts; "memory" stands for every memory figure the device has.
MEASURE_GROUPS: tuple[str, ...] = ("time", "throughput", "memory")
HOST_MEMORY = "host_memory_peak"
GPU_MEMORY: tuple[str, ...] = ("gpu_memory_allocated", "gpu_memory_reserved", "gpu_memory_nvml")


@dataclass(frozen=True)
class MeasureSpec:
    """A sweep measure: the measurement it is made as (name pattern, unit, direction)."""

    name: str  # the measurement's name, "{}" standing for the workload label ("8x128")
    unit: str
    direction: Direction = Direction.LOWER_IS_BETTER


MEASURES: Mapping[str, MeasureSpec] = {
    "time": MeasureSpec("latency[{}]", "ms"),
    "throughput": MeasureSpec("throughput[{}]", "samples/s", Direction.HIGHER_IS_BETTER),
    HOST_MEMORY: MeasureSpec("host_memory[{}]", "MB"),
    "gpu_memory_allocated": MeasureSpec("gpu_memory.peak_allocated[{}]", "MB"),
    "gpu_memory_reserved": MeasureSpec("gpu_memory.peak_reserved[{}]", "MB"),
    "gpu_memory_nvml": MeasureSpec("gpu_memory.nvml_device[{}]", "MB"),
}
# The tracker readings behind the GPU measures (trackers.memory.gpu_memory_measurements' kinds).
_GPU_KINDS: Mapping[str, str] = {
    "gpu_memory_allocated": "peak_allocated",
    "gpu_memory_reserved": "peak_reserved",
    "gpu_memory_nvml": "nvml_device",
}


def measures_for(groups: Sequence[str], device: str) -> tuple[str, ...]:
    """The measures a sweep of these groups makes on this device, in a fixed order."""
    unknown = sorted(set(groups) - set(MEASURE_GROUPS))
    if unknown:
        raise ValueError(f"unknown measure(s) {', '.join(unknown)}; choose from {', '.join(MEASURE_GROUPS)}")
    names: list[str] = [group for group in ("time", "throughput") if group in groups]
    if "memory" in groups:
        names.append(HOST_MEMORY)
        if device.startswith("cuda"):
            names.extend(GPU_MEMORY)
    return tuple(names)


@dataclass(frozen=True)
class CellMeasurements:
    """What one cell gave: a status, and a measurement per measure that has one.

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
        return self.by_measure.get("time")

    @property
    def throughput(self) -> Measurement | None:
        return self.by_measure.get("throughput")

    @property
    def host_memory(self) -> Measurement | None:
        return self.by_measure.get(HOST_MEMORY)

    @property
    def gpu_memory_allocated(self) -> Measurement | None:
        return self.by_measure.get("gpu_memory_allocated")

    @property
    def gpu_memory_reserved(self) -> Measurement | None:
        return self.by_measure.get("gpu_memory_reserved")

    @property
    def gpu_memory_nvml(self) -> Measurement | None:
        return self.by_measure.get("gpu_memory_nvml")

    def status_of(self, measure: str) -> str:
        """The cell's status, else why this measure has no value (NVML unreadable, not a finite number)."""
        if self.status != OK:
            return self.status
        measurement = self.by_measure.get(measure)
        if measurement is not None and measurement.unavailable is not None:
            return measurement.unavailable
        return self.unavailable.get(measure, OK)


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
    from .memory import run_unless_out_of_memory

    measures = measures_for(groups, loaded.device)
    reason = skip_reason(cell, loaded.config)
    if reason is not None:
        return CellMeasurements(cell, reason, loaded.device, loaded.dtype, measures)
    work = partial(_measure, loaded, cell, measures, timing, calibrate, memory_rounds)
    measured, unavailable = run_unless_out_of_memory(work, loaded.device)
    if unavailable is not None:
        return out_of_memory(loaded, cell, measures)
    return measured


def _measure(
    loaded: LoadedModel, cell: Cell, measures: tuple[str, ...], timing: TimingOptions, calibrate: bool, memory_rounds: int
) -> CellMeasurements:
    from .memory import cuda_memory_of, gpu_memory_measurements, host_memory_increases, host_memory_measurement

    workload = cell.workload
    context = workload_context(loaded, workload)
    notes = model_notes(loaded)
    inputs = synthetic_inputs(loaded, workload)
    work = partial(forward, loaded, inputs)
    by_measure: dict[str, Measurement] = {}
    unavailable: dict[str, str] = {}

    if "time" in measures or "throughput" in measures:
        seconds, reference = time_with_reference(work, loaded.device, timing, calibrate=calibrate)
        if "time" in measures:
            latency = latency_from_seconds(MEASURES["time"].name.format(workload.label), seconds, context=context, notes=notes)
            by_measure["time"] = with_reference(latency, reference)
        if "throughput" in measures:
            samples = throughput_from_seconds(seconds, workload, context=context, notes=notes).samples_per_second
            by_measure["throughput"] = with_reference(samples, reference)
    if HOST_MEMORY in measures:
        rounds = host_memory_increases(work, memory_rounds)
        by_measure[HOST_MEMORY] = host_memory_measurement(rounds, workload.label, context=context, notes=notes)
    if any(name in measures for name in GPU_MEMORY):
        result = cuda_memory_of(work, loaded.device)
        readings = gpu_memory_measurements(result, workload.label, context=context, notes=notes)
        for name in GPU_MEMORY:
            reading = readings.get(_GPU_KINDS[name])
            if reading is not None:
                by_measure[name] = reading
            else:
                unavailable[name] = f"unavailable: {result.nvml_problem or 'NVML gave no reading'}"
    return CellMeasurements(cell, OK, loaded.device, loaded.dtype, measures, by_measure, unavailable)


def out_of_memory(loaded: LoadedModel, cell: Cell, measures: tuple[str, ...]) -> CellMeasurements:
    """The cell as N/A: each measurement recorded as unavailable, "out of memory"."""
    workload = cell.workload
    context = workload_context(loaded, workload)
    notes = model_notes(loaded)
    by_measure = {
        name: Measurement.not_available(
            MEASURES[name].name.format(workload.label), OUT_OF_MEMORY,
            unit=MEASURES[name].unit, direction=MEASURES[name].direction, context=context, notes=notes,
        )
        for name in measures
    }
    return CellMeasurements(cell, OUT_OF_MEMORY, loaded.device, loaded.dtype, measures, by_measure)


def peak_memory_mb(loaded: LoadedModel, workload: Workload) -> float:
    """The device's peak for one forward pass (MB): the allocator's peak on CUDA, the host's
    peak increase on the CPU. The largest-batch search compares it with a budget."""
    from .memory import cuda_memory_of, host_memory_increases

    inputs = synthetic_inputs(loaded, workload)
    work = partial(forward, loaded, inputs)
    if loaded.device.startswith("cuda"):
        return cuda_memory_of(work, loaded.device).peak_allocated_bytes / MB
    return host_memory_increases(work, 1)[0].increase_bytes / MB


def error_status(error: BaseException) -> str:
    """``error: <Type>: <message>`` on one line."""
    message = " ".join(str(error).split())
    return f"error: {type(error).__name__}: {message}" if message else f"error: {type(error).__name__}"

