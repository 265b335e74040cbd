"""Running a sweep: every cell of every model, with its progress shown, never stopping early.

The sweep's mode (``modes``) says what a cell runs, a forward pass or a training step, and
gives the measurer of its cells and the probe of its largest-batch search. With a search, the
time and throughput at the largest batch found are measured too, per model and sequence
length, apart from the grid's cells.

Each model is loaded once for all of its cells and freed before the next (``del``, garbage
collection, and the CUDA cache emptied on CUDA). A cell that runs out of memory is recorded
as ``out of memory`` and the sweep goes on; any other exception in a cell, or in loading its
model, is recorded as ``error: <Type>: <message>`` and the sweep goes on, so that a crash is
reported at the end (the command then exits non-zero) instead of losing the other cells.
Progress goes to stderr: a bar on a terminal, one line per cell and per model in a log
(``progress``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.timing import TimingOptions
from ..measure.cell import MEASURE_GROUPS, Cell, CellMeasurements, error_status, peak_memory_mb, skip_reason
from ..measure.memory import release_device_memory
from ..measure.workloads import Workload
from ..models.loading import load_model
from .grid import Grid
from .largest_batch import LargestBatch, SearchSettings, find_largest_batch
from .modes import INFERENCE_MODE, CellMeasurer, PeakProbe, SweepMode
from .progress import SweepProgress, elapsed_since, sweep_progress

# resolve(model) -> (checkpoint, task): see models.resolve_model
Resolver = Callable[[str], tuple[str, str]]
# What is measured at the largest batch found: its speed.
SPEED_GROUPS: tuple[str, ...] = ("time", "throughput")


@dataclass(frozen=True)
class SweepSettings:
    device: str  # a resolved torch device: "cpu" or "cuda:N"
    dtype: str
    timing: TimingOptions = field(default_factory=TimingOptions)
    groups: tuple[str, ...] = MEASURE_GROUPS
    memory_rounds: int = 5
    largest_batch: SearchSettings | None = None  # None: no largest-batch search
    mode: SweepMode = INFERENCE_MODE

    @property
    def measures(self) -> tuple[str, ...]:
        return self.mode.measures_for(self.groups, self.device)

    @property
    def measured_dtype(self) -> str:
        """The dtype the cells' measurements carry: the autocast dtype of a training step under
        autocast, else the weights' dtype."""
        recipe = self.mode.recipe
        return recipe.autocast if recipe is not None and recipe.autocast is not None else self.dtype

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "device": self.device,
            "dtype": self.dtype,
            "measures": list(self.measures),
            "timing": {
                "warmup_rounds": self.timing.warmup_rounds,
                "warmup_time": self.timing.warmup_time,
                "min_rounds": self.timing.min_rounds,
                "max_rounds": self.timing.max_rounds,
                "max_time": self.timing.max_time,
            },
            "memory_rounds": self.memory_rounds,
        }
        if self.largest_batch is not None:
            data["largest_batch"] = {
                "start": self.largest_batch.start,
                "max_batch": self.largest_batch.max_batch,
                "memory_budget_mb": self.largest_batch.budget_mb,
                "limit": self.largest_batch.limit(self.device),
            }
        return {**self.mode.settings(), **data}


@dataclass(frozen=True)
class SweepResult:
    grid: Grid
    settings: SweepSettings
    cells: tuple[CellMeasurements, ...]
    largest: tuple[LargestBatch, ...] = ()
    largest_speed: tuple[CellMeasurements, ...] = ()  # time and throughput at each largest batch found

    @property
    def errors(self) -> list[str]:
        """``<cell id>: error: ...`` for each cell, each search and each speed at a largest
        batch that failed with an error."""
        failed = [f"{result.cell.id}: {result.status}" for result in self.cells if result.status.startswith("error:")]
        failed += [
            f"{found.label} largest batch at s{found.sequence_length}: {found.reason}" for found in self.largest if found.error
        ]
        failed += [
            f"{result.cell.id} (speed at the largest batch): {result.status}"
            for result in self.largest_speed
            if result.status.startswith("error:")
        ]
        return failed

    def speed_at(self, found: LargestBatch) -> CellMeasurements | None:
        """The speed measured at a search's largest batch; None where it found none."""
        for result in self.largest_speed:
            cell = result.cell
            if (cell.model, cell.sequence_length, cell.batch_size) == (found.model, found.sequence_length, found.largest_batch):
                return result
        return None


def run_sweep(grid: Grid, settings: SweepSettings, resolve: Resolver, *, progress: bool = True) -> SweepResult:
    """Measure every cell of the grid; with ``settings.largest_batch``, also search the largest
    batch per model and sequence length and measure its time and throughput. With ``progress``,
    a bar on stderr when it is a terminal, else one line per cell and per model."""
    searches = len(grid.sequence_lengths) if settings.largest_batch is not None else 0
    total = len(grid.cells()) + searches * len(grid.models)
    bar = sweep_progress(total, settings.mode, enabled=progress)
    cells: list[CellMeasurements] = []
    largest: list[LargestBatch] = []
    speeds: list[CellMeasurements] = []
    try:
        for model in grid.models:
            model_cells, model_largest, model_speeds = _sweep_model(grid, model, settings, resolve, bar)
            cells.extend(model_cells)
            largest.extend(model_largest)
            speeds.extend(model_speeds)
    finally:
        bar.close()
    return SweepResult(grid, settings, tuple(cells), tuple(largest), tuple(speeds))


def _sweep_model(
    grid: Grid, model: str, settings: SweepSettings, resolve: Resolver, bar: SweepProgress
) -> tuple[list[CellMeasurements], list[LargestBatch], list[CellMeasurements]]:
    cells = grid.cells_of(model)
    label = grid.label_of(model)
    steps = len(cells) + (len(grid.sequence_lengths) if settings.largest_batch is not None else 0)
    started = time.perf_counter()
    bar.model_loading(label)
    try:
        checkpoint, task = resolve(model)
        loaded = load_model(checkpoint, task=task, device=settings.device, dtype=settings.dtype)
    except Exception as error:
        status = error_status(error)
        release_device_memory(settings.device)
        bar.cells_skipped(steps)
        bar.model_done(label, steps, elapsed_since(started), problem=status)
        failed = [CellMeasurements(cell, status, settings.device, settings.measured_dtype, settings.measures) for cell in cells]
        searches = (
            [
                LargestBatch(
                    model, grid.label_of(model), length, None, None, settings.largest_batch.limit(settings.device), status
                )
                for length in grid.sequence_lengths
            ]
            if settings.largest_batch is not None
            else []
        )
        return failed, searches, []
    measure, probe = settings.mode.measure_cell, settings.mode.peak_memory_mb
    try:
        results = [_measure_one(loaded, cell, settings, measure, bar) for cell in cells]
        searches, speeds = [], []
        if settings.largest_batch is not None:
            for length in grid.sequence_lengths:
                bar.cell_started(f"{label}-s{length}: largest batch")
                searching = time.perf_counter()
                found = largest_batch_of(loaded, model, label, length, settings.largest_batch, probe=probe)
                searches.append(found)
                if found.largest_batch:
                    speed_cell = Cell(model, label, found.largest_batch, length)
                    speeds.append(_measure_one(loaded, speed_cell, settings, measure, bar, groups=SPEED_GROUPS))
                bar.search_done(found, elapsed_since(searching))
        bar.model_done(label, steps, elapsed_since(started))
        return results, searches, speeds
    finally:
        del loaded
        release_device_memory(settings.device)  # garbage collection, and the CUDA cache emptied on CUDA


def _measure_one(
    loaded: Any,
    cell: Cell,
    settings: SweepSettings,
    measure: CellMeasurer,
    bar: SweepProgress,
    *,
    groups: tuple[str, ...] | None = None,
) -> CellMeasurements:
    """One cell measured by ``measure`` (the grid's cells: ``settings.groups``; the progress
    moves on for them only); an error is the cell's status."""
    bar.cell_started(cell.id)
    started = time.perf_counter()
    grid_cell = groups is None
    groups = settings.groups if groups is None else groups
    try:
        result = measure(loaded, cell, groups=groups, timing=settings.timing, memory_rounds=settings.memory_rounds)
    except Exception as error:
        measures = settings.mode.measures_for(groups, settings.device)
        result = CellMeasurements(cell, error_status(error), settings.device, settings.measured_dtype, measures)
    if not result.status.startswith(("ok", "skipped")):
        release_device_memory(settings.device)
    if grid_cell:
        bar.cell_done(result, elapsed_since(started))
    return result


def largest_batch_of(
    loaded: Any, model: str, label: str, sequence_length: int, search: SearchSettings, *, probe: PeakProbe = peak_memory_mb
) -> LargestBatch:
    """The largest batch of the loaded model at this sequence length that fits, each batch
    tried by ``probe(loaded, workload)``: the device's peak (MB) of a forward pass by default."""
    limit = search.limit(loaded.device)
    reason = skip_reason(Cell(model, label, 1, sequence_length), loaded.config)
    if reason is not None:
        return LargestBatch(model, label, sequence_length, None, None, limit, reason)
    largest, failing, why, probes = find_largest_batch(
        lambda batch: probe(loaded, Workload(batch, sequence_length)), search, device=loaded.device
    )
    return LargestBatch(model, label, sequence_length, largest, failing, limit, why, probes)


def default_cpu_budget_mb() -> float:
    """Half the host memory available now: a CPU search stops well before the host runs out
    (the kernel's OOM killer, not an error, is what an exhausted host gives)."""
    import psutil

    return psutil.virtual_memory().available / 2 / 1e6
