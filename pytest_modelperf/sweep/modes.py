"""What a sweep measures in a cell: a forward pass (inference) or one optimizer step (training).

A ``SweepMode`` hands the runner its cell measurer and the largest-batch search its probe, and
hands the outputs the measures' sweep ids and the names of the study-shaped tables, so that
none of them branches on the mode. Inference is ``measure.cell``'s; training is
``training.cell``'s, whose tables are named ``train_time.csv``, ``train_throughput.csv``,
``train_required_memory.csv`` and ``memory_train_<measure>.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..measure import cell as inference
from ..measure.cell import CellMeasurements
from ..training import cell as training
from ..training.cell import DEFAULT_RECIPE, StepRecipe

INFERENCE = "inference"
TRAINING = "training"
MODES: tuple[str, ...] = (INFERENCE, TRAINING)

# measure(loaded, cell, *, groups, timing, memory_rounds) -> CellMeasurements
CellMeasurer = Callable[..., CellMeasurements]
# probe(loaded, workload) -> the device's peak (MB), raising its out-of-memory error when it does not fit
PeakProbe = Callable[[Any, Any], float]


@dataclass(frozen=True)
class SweepMode:
    name: str
    measure_cell: CellMeasurer
    peak_memory_mb: PeakProbe
    measures_for: Callable[[Sequence[str], str], tuple[str, ...]]
    time: str  # the sweep ids of its measures
    throughput: str
    host_memory: str
    gpu_memory: tuple[str, ...]  # allocator's peak allocated, peak reserved, NVML's device reading
    table_prefix: str  # of the study-shaped tables' names
    work: str  # what a cell runs, in a few words
    recipe: StepRecipe | None = None  # training's step, beyond the workload

    @property
    def gpu_nvml(self) -> str:
        return self.gpu_memory[-1]

    @property
    def memory_measures(self) -> tuple[str, ...]:
        return (self.host_memory, *self.gpu_memory)

    def study_tables(self) -> tuple[str, ...]:
        """Every study-shaped table a sweep of this mode can write, by file name."""
        prefix = self.table_prefix
        names = (f"{prefix}time.csv", f"{prefix}throughput.csv", f"{prefix}required_memory.csv")
        return names + tuple(f"memory_{measure}.csv" for measure in self.memory_measures)

    def settings(self) -> dict[str, Any]:
        """What a sweep records of its mode: nothing for inference (as sweeps always wrote),
        ``mode`` and the training step's recipe for training."""
        if self.recipe is None:
            return {}
        return {"mode": self.name, **self.recipe.to_dict()}


INFERENCE_MODE = SweepMode(
    name=INFERENCE,
    measure_cell=inference.measure_cell,
    peak_memory_mb=inference.peak_memory_mb,
    measures_for=inference.measures_for,
    time=inference.TIME,
    throughput=inference.THROUGHPUT,
    host_memory=inference.HOST_MEMORY,
    gpu_memory=inference.GPU_MEMORY,
    table_prefix="",
    work="a forward pass",
)


def training_mode(recipe: StepRecipe = DEFAULT_RECIPE) -> SweepMode:
    """Training: each cell measures one AdamW step of a fresh copy of the model, as ``recipe`` says."""
    return SweepMode(
        name=TRAINING,
        measure_cell=partial(training.measure_training_cell, recipe=recipe),
        peak_memory_mb=partial(training.training_peak_memory_mb, recipe=recipe),
        measures_for=training.training_measures_for,
        time=training.TRAIN_TIME,
        throughput=training.TRAIN_THROUGHPUT,
        host_memory=training.TRAIN_HOST_MEMORY,
        gpu_memory=training.TRAIN_GPU_MEMORY,
        table_prefix="train_",
        work="one training step",
        recipe=recipe,
    )
