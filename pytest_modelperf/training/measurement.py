"""A training step measured now: its time per step, samples/s and tokens/s, and its memory.

Timing is inference's: warm-up steps untimed (the first creates the optimizer's state), then
timed rounds of one step each (``LatencyTracker``: CUDA events on a GPU), on the CPU beside the
speed reference when calibrating, all of it one hold of the timing lock under pytest-xdist.

Memory is that of a step from a fresh optimizer, each round on its own: the gradients and
AdamW's state are released before the tracked region, which then creates the optimizer and
runs one step. So the host peak (and on CUDA the allocator's peaks and NVML's readings) holds
what training adds to a loaded model (activations, gradients, optimizer state), the figure the
study reported as fine-tune memory, the same in every round. A step that runs out of memory
gives N/A measurements (the study's N/A) with the memory released.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.measurement import DIVISION_BY_ZERO, Measurement
from ..core.timing import TimingOptions
from ..measure import catalogue
from ..measure.calibration import time_with_reference, with_reference
from ..measure.catalogue import Measure
from ..measure.latency import latency_from_seconds
from ..measure.memory import (
    OUT_OF_MEMORY,
    CudaMemory,
    CudaMemoryTracker,
    HostMemory,
    HostMemoryTracker,
    gpu_memory_measurements,
    host_memory_measurement,
    module_bytes,
    run_unless_out_of_memory,
)
from ..measure.workloads import workload_context
from ..models.loading import LoadedModel, model_notes
from .step import StepSettings, TrainingStep

DEFAULT_WARMUP_STEPS = 2  # the first step creates AdamW's state; the second runs as every later one
GPU_MEASURES = (
    catalogue.TRAIN_GPU_PEAK_ALLOCATED,
    catalogue.TRAIN_GPU_PEAK_RESERVED,
    catalogue.TRAIN_GPU_NVML_PROCESS,
    catalogue.TRAIN_GPU_NVML_DEVICE,
)


@dataclass(frozen=True)
class Training:
    """What ``modelperf.measure_training`` gives: a step's time and rates, and its memory.

    A part that was not asked for is None (a sweep may ask for time or memory only);
    ``gpu_memory_*`` are None off CUDA; ``gpu_memory_nvml`` also where NVML gave no reading
    (``nvml_problem`` says why). ``loss`` is the last step's loss, for a look, never a check.
    """

    step_latency: Measurement | None
    samples_per_second: Measurement | None
    tokens_per_second: Measurement | None
    host_memory: Measurement | None
    gpu_memory_allocated: Measurement | None = None
    gpu_memory_reserved: Measurement | None = None
    gpu_memory_nvml: Measurement | None = None
    nvml_problem: str | None = None
    loss: float | None = None
    unavailable: Mapping[str, str] = field(default_factory=dict)

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Every measurement it holds, for ``modelperf.check`` one by one."""
        parts = (
            self.step_latency,
            self.samples_per_second,
            self.tokens_per_second,
            self.host_memory,
            self.gpu_memory_allocated,
            self.gpu_memory_reserved,
            self.gpu_memory_nvml,
        )
        return tuple(part for part in parts if part is not None)

    @property
    def out_of_memory(self) -> bool:
        return any(part.unavailable == OUT_OF_MEMORY for part in self.measurements)


@dataclass(frozen=True)
class TrainingPlan:
    """How a training step is measured: the timed rounds and the memory rounds."""

    timing: TimingOptions
    steps: int | None = None  # timed steps exactly; None: the timing options' rounds and time limit
    warmup_steps: int = DEFAULT_WARMUP_STEPS
    memory_rounds: int = 3
    calibrate: bool = False
    measure_time: bool = True
    measure_memory: bool = True

    def __post_init__(self) -> None:
        for name, lowest in (("steps", 2), ("warmup_steps", 1), ("memory_rounds", 1)):
            value = getattr(self, name)
            if value is None and name == "steps":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
                raise ValueError(f"{name} must be an integer of at least {lowest}, got {value!r}")

    def step_timing(self) -> TimingOptions:
        """The timing options of the timed steps: ``warmup_steps`` untimed, then ``steps`` timed."""
        if self.steps is None:
            return replace(self.timing, warmup_rounds=self.warmup_steps, warmup_time=0.0)
        return replace(
            self.timing, warmup_rounds=self.warmup_steps, warmup_time=0.0, min_rounds=self.steps, max_rounds=self.steps
        )


def training_context(loaded: LoadedModel, settings: StepSettings, *, optimizer: str | None = None) -> dict[str, Any]:
    """What a training measurement was made on: the workload's context and the step's recipe
    (``optimizer``: its class name, where a step was made).

    Under autocast the measurement's dtype is the autocast dtype (its baselines are kept under
    it) and the weights' dtype is kept beside it."""
    context = workload_context(loaded, settings.workload)
    context.update(mode="training", gradient_accumulation=settings.gradient_accumulation)
    if optimizer is not None:
        context.update(optimizer=optimizer)
    if settings.autocast is not None:
        context.update(dtype=settings.autocast, weights_dtype=loaded.dtype, autocast=settings.autocast)
    return context


def measure_training(loaded: LoadedModel, step: TrainingStep, plan: TrainingPlan) -> Training:
    """Time ``step`` and measure its memory, as the module's docstring says."""
    context = training_context(loaded, step.settings, optimizer=type(step.optimizer).__name__)
    notes = model_notes(loaded)
    label = step.settings.label

    def measure() -> Training:
        return _measure(loaded, step, plan, context, notes)

    measured, problem = run_unless_out_of_memory(measure, loaded.device)
    if measured is not None:
        return measured
    assert problem is not None
    step.release()  # what the failed step left goes with its gradients and optimizer

    def missing(measure: Measure) -> Measurement:
        return Measurement.not_available(
            measure.named(label), problem, unit=measure.unit, direction=measure.direction, context=context, notes=notes
        )

    timed = plan.measure_time
    gpu = plan.measure_memory and loaded.device.startswith("cuda")
    return Training(
        step_latency=missing(catalogue.TRAIN_STEP_LATENCY) if timed else None,
        samples_per_second=missing(catalogue.TRAIN_THROUGHPUT) if timed else None,
        tokens_per_second=missing(catalogue.TRAIN_TOKEN_THROUGHPUT) if timed else None,
        host_memory=missing(catalogue.TRAIN_HOST_MEMORY) if plan.measure_memory else None,
        gpu_memory_allocated=missing(catalogue.TRAIN_GPU_PEAK_ALLOCATED) if gpu else None,
        gpu_memory_reserved=missing(catalogue.TRAIN_GPU_PEAK_RESERVED) if gpu else None,
    )


def _measure(
    loaded: LoadedModel, step: TrainingStep, plan: TrainingPlan, context: dict[str, Any], notes: tuple[str, ...]
) -> Training:
    label = step.settings.label
    timed: dict[Measure, Measurement] = {}
    if plan.measure_time:
        seconds, reference = time_with_reference(step, loaded.device, plan.step_timing(), calibrate=plan.calibrate)
        timed = {
            measure: with_reference(measurement, reference)
            for measure, measurement in step_rates(seconds, step.settings, context=context, notes=notes).items()
        }
    host_memory = None
    gpu_readings: dict[Measure, Measurement] = {}
    nvml_problem = None
    if plan.measure_memory:
        host = [fresh_step_host_memory(step) for _ in range(plan.memory_rounds)]
        host_memory = host_memory_measurement(host, label, context=context, notes=notes, measure=catalogue.TRAIN_HOST_MEMORY)
        if loaded.device.startswith("cuda"):
            gpu = fresh_step_cuda_memory(step, loaded.device)
            gpu_readings = gpu_memory_measurements(gpu, label, context=context, notes=notes, measures=GPU_MEASURES)
            nvml_problem = gpu.nvml_problem
    return Training(
        step_latency=timed.get(catalogue.TRAIN_STEP_LATENCY),
        samples_per_second=timed.get(catalogue.TRAIN_THROUGHPUT),
        tokens_per_second=timed.get(catalogue.TRAIN_TOKEN_THROUGHPUT),
        host_memory=host_memory,
        gpu_memory_allocated=gpu_readings.get(catalogue.TRAIN_GPU_PEAK_ALLOCATED),
        gpu_memory_reserved=gpu_readings.get(catalogue.TRAIN_GPU_PEAK_RESERVED),
        gpu_memory_nvml=gpu_readings.get(catalogue.TRAIN_GPU_NVML_DEVICE),
        nvml_problem=nvml_problem,
        loss=step.last_loss(),
    )


def step_rates(
    seconds: Sequence[float], settings: StepSettings, *, context: Mapping[str, Any], notes: Sequence[str] = ()
) -> dict[Measure, Measurement]:
    """Per-step seconds as the step's latency (ms) and its samples/s and tokens/s per step."""
    label = settings.label
    samples = settings.samples
    tokens = samples * settings.workload.sequence_length
    latency = latency_from_seconds(catalogue.TRAIN_STEP_LATENCY.named(label), seconds, context=context, notes=notes)
    instant = next((index for index, value in enumerate(seconds, start=1) if value <= 0), None)

    def rate(measure: Measure, amount: int) -> Measurement:
        if instant is not None:
            reason = f"{DIVISION_BY_ZERO}: step {instant} of {len(seconds)} took no measurable time"
            return Measurement.not_available(
                measure.named(label), reason, unit=measure.unit, direction=measure.direction, context=context, notes=notes
            )
        return Measurement.from_samples(
            measure.named(label),
            [amount / value for value in seconds],
            unit=measure.unit,
            direction=measure.direction,
            context=context,
            notes=notes,
        )

    return {
        catalogue.TRAIN_STEP_LATENCY: latency,
        catalogue.TRAIN_THROUGHPUT: rate(catalogue.TRAIN_THROUGHPUT, samples),
        catalogue.TRAIN_TOKEN_THROUGHPUT: rate(catalogue.TRAIN_TOKEN_THROUGHPUT, tokens),
    }


def fresh_step_host_memory(step: TrainingStep) -> HostMemory:
    """The host peak of one step from a fresh optimizer: gradients and optimizer state released
    before the tracked region, which makes the optimizer and runs the step."""
    step.release()
    with HostMemoryTracker() as tracker:
        step.restart()
        step()
    assert tracker.result is not None
    return tracker.result


def fresh_step_cuda_memory(step: TrainingStep, device: str) -> CudaMemory:
    """The allocator's peaks and NVML's readings of one step from a fresh optimizer: the weights of
    the trained model and of what its loss keeps resident (a teacher), and what the step
    allocates (its gradients, the optimizer's state, the activations)."""
    step.release()
    with CudaMemoryTracker(device, own_bytes=module_bytes(step.model, *step.resident)) as tracker:
        step.restart()
        step()
    assert tracker.result is not None
    return tracker.result
