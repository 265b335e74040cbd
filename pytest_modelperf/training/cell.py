"""A sweep cell measured as training: one optimizer step of a model at one batch size and sequence length.

``measure_training_cell`` is ``measure.cell.measure_cell`` for ``modelperf sweep --mode
training``: it gives the same ``CellMeasurements`` (status ``ok``, ``out of memory`` with N/A
measurements, ``skipped: ...``), keyed by the training measures' sweep ids (``train_time``,
``train_throughput``, ``train_host_memory_peak`` and on CUDA ``train_gpu_memory_*``), so that a
training sweep's tables, plots and N/A cells work as an inference sweep's. Each cell trains a
fresh copy of the loaded model on synthetic batches with labels for its task, one per
micro-batch, timed and measured by ``measurement.measure_training`` (memory: a step from a
fresh optimizer). ``training_peak_memory_mb`` is the largest-batch search's probe for training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.measurement import Measurement
from ..core.timing import TimingOptions
from ..measure import catalogue
from ..measure.catalogue import Measure
from ..measure.cell import MEASURE_GROUPS, OK, Cell, CellMeasurements, refuse_unknown_groups, skip_reason
from ..measure.memory import (
    MB,
    OUT_OF_MEMORY,
    run_unless_out_of_memory,
)
from ..measure.workloads import Workload
from ..models.loading import LoadedModel, model_notes
from .measurement import (
    Training,
    TrainingPlan,
    fresh_step_cuda_memory,
    fresh_step_host_memory,
    measure_training,
    training_context,
)
from .step import StepSettings, TrainingStep, synthetic_batch, training_copy

TRAIN_TIME = catalogue.sweep_id_of(catalogue.TRAIN_STEP_LATENCY)
TRAIN_THROUGHPUT = catalogue.sweep_id_of(catalogue.TRAIN_THROUGHPUT)
TRAIN_HOST_MEMORY = catalogue.sweep_id_of(catalogue.TRAIN_HOST_MEMORY)
TRAIN_GPU_MEASURES: tuple[Measure, ...] = (
    catalogue.TRAIN_GPU_PEAK_ALLOCATED,
    catalogue.TRAIN_GPU_PEAK_RESERVED,
    catalogue.TRAIN_GPU_NVML_DEVICE,
)
TRAIN_GPU_MEMORY: tuple[str, ...] = tuple(catalogue.sweep_id_of(measure) for measure in TRAIN_GPU_MEASURES)
TRAIN_GPU_ALLOCATED, TRAIN_GPU_RESERVED, TRAIN_GPU_NVML = TRAIN_GPU_MEMORY


@dataclass(frozen=True)
class StepRecipe:
    """What every cell's training step does beyond its workload: its micro-batches and autocast."""

    gradient_accumulation: int = 1
    autocast: str | None = None  # "bfloat16" or "float16"; None: the weights' own dtype

    def __post_init__(self) -> None:
        self.settings(Workload(1, 1))  # StepSettings refuses a bad value, naming it

    def settings(self, workload: Workload) -> StepSettings:
        return StepSettings(workload, gradient_accumulation=self.gradient_accumulation, autocast=self.autocast)

    def to_dict(self) -> dict[str, Any]:
        return {"gradient_accumulation": self.gradient_accumulation, "autocast": self.autocast or "none"}


DEFAULT_RECIPE = StepRecipe()


def training_measures_for(groups: Sequence[str], device: str) -> tuple[str, ...]:
    """The training measures' sweep ids these groups (``time``, ``throughput``, ``memory``) make
    on this device, in a fixed order: ``measure.cell.measures_for``'s, for a training step."""
    refuse_unknown_groups(groups)
    names = [sweep_id for group, sweep_id in (("time", TRAIN_TIME), ("throughput", TRAIN_THROUGHPUT)) if group in groups]
    if "memory" in groups:
        names.append(TRAIN_HOST_MEMORY)
        if device.startswith("cuda"):
            names.extend(TRAIN_GPU_MEMORY)
    return tuple(names)


def training_step(loaded: LoadedModel, workload: Workload, recipe: StepRecipe) -> TrainingStep:
    """A step training a fresh copy of the model: synthetic batches with labels, one per micro-batch."""
    settings = recipe.settings(workload)
    batches = [synthetic_batch(loaded, workload, seed=seed) for seed in range(recipe.gradient_accumulation)]
    return TrainingStep(training_copy(loaded), batches, settings, device=loaded.device)


def measure_training_cell(
    loaded: LoadedModel,
    cell: Cell,
    *,
    recipe: StepRecipe = DEFAULT_RECIPE,
    groups: Sequence[str] = MEASURE_GROUPS,
    timing: TimingOptions,
    calibrate: bool = False,
    memory_rounds: int = 5,
) -> CellMeasurements:
    """One cell's training step: timed over the timing options' rounds after
    ``timing.warmup_rounds`` untimed steps (at least one: the first creates the optimizer's
    state; a warm-up time does not apply), then its memory over ``memory_rounds`` steps from a
    fresh optimizer. The measurements carry the autocast dtype, when there is one, as their dtype."""
    measures = training_measures_for(groups, loaded.device)
    dtype = recipe.autocast or loaded.dtype
    reason = skip_reason(cell, loaded.config)
    if reason is not None:
        return CellMeasurements(cell, reason, loaded.device, dtype, measures)
    step, unavailable = run_unless_out_of_memory(lambda: training_step(loaded, cell.workload, recipe), loaded.device)
    if step is None:
        return _out_of_memory(loaded, cell, recipe, measures, dtype, unavailable)
    plan = TrainingPlan(
        timing,
        warmup_steps=max(timing.warmup_rounds, 1),
        memory_rounds=memory_rounds,
        calibrate=calibrate,
        measure_time=TRAIN_TIME in measures or TRAIN_THROUGHPUT in measures,
        measure_memory=TRAIN_HOST_MEMORY in measures,
    )
    try:
        training = measure_training(loaded, step, plan)
    finally:
        step.release()
    if training.out_of_memory:
        return _out_of_memory(loaded, cell, recipe, measures, dtype, OUT_OF_MEMORY)
    return _cell_measurements(cell, training, measures, loaded.device, dtype)


def training_peak_memory_mb(loaded: LoadedModel, workload: Workload, recipe: StepRecipe = DEFAULT_RECIPE) -> float:
    """The device's peak for one training step from a fresh optimizer (MB), after one untracked
    step: the allocator's peak on CUDA, the host's peak increase on the CPU. The largest-batch
    search compares it with a budget; out of memory, the device's error propagates."""
    step = training_step(loaded, workload, recipe)
    try:
        step()  # first-call allocations (kernels, caches) are not the step's
        if loaded.device.startswith("cuda"):
            return fresh_step_cuda_memory(step, loaded.device).peak_allocated_bytes / MB
        return fresh_step_host_memory(step).increase_bytes / MB
    finally:
        step.release()


def _cell_measurements(cell: Cell, training: Training, measures: tuple[str, ...], device: str, dtype: str) -> CellMeasurements:
    parts: dict[str, Measurement | None] = {
        TRAIN_TIME: training.step_latency,
        TRAIN_THROUGHPUT: training.samples_per_second,
        TRAIN_HOST_MEMORY: training.host_memory,
        TRAIN_GPU_ALLOCATED: training.gpu_memory_allocated,
        TRAIN_GPU_RESERVED: training.gpu_memory_reserved,
        TRAIN_GPU_NVML: training.gpu_memory_nvml,
    }
    by_measure: dict[str, Measurement] = {}
    for name in measures:
        measurement = parts[name]
        if measurement is not None:
            by_measure[name] = measurement
    unavailable = {}
    if TRAIN_GPU_NVML in measures and training.gpu_memory_nvml is None:
        unavailable[TRAIN_GPU_NVML] = f"unavailable: {training.nvml_problem or 'NVML gave no reading'}"
    return CellMeasurements(cell, OK, device, dtype, measures, by_measure, unavailable)


def _out_of_memory(
    loaded: LoadedModel, cell: Cell, recipe: StepRecipe, measures: tuple[str, ...], dtype: str, problem: str | None
) -> CellMeasurements:
    """Every measure N/A for ``problem`` (out of memory), named and directed as the catalogue says."""
    settings = recipe.settings(cell.workload)
    context = training_context(loaded, settings)
    notes = model_notes(loaded)
    by_measure = {}
    for name in measures:
        measure = catalogue.sweep_measure(name)
        by_measure[name] = Measurement.not_available(
            measure.named(settings.label),
            problem or OUT_OF_MEMORY,
            unit=measure.unit,
            direction=measure.direction,
            context=context,
            notes=notes,
        )
    return CellMeasurements(cell, OUT_OF_MEMORY, loaded.device, dtype, measures, by_measure)
