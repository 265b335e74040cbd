"""Running a sweep: every cell of every model, with a progress bar, never stopping early.

Each model is loaded once for all of its cells and freed before the next (``del``, garbage
collection, and the CUDA cache emptied on CUDA). A cell that runs out of memory is recorded
as ``out of memory`` and the sweep goes on; any other exception in a cell, or in loading its
model, is recorded as ``error: <Type>: <message>`` and the sweep goes on, so that a crash is
reported at the end (the command then exits non-zero) instead of losing the other cells.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from ..core.timing import TimingOptions
from ..measure.cell import (
    MEASURE_GROUPS,
    Cell,
    CellMeasurements,
    error_status,
    measure_cell,
    measures_for,
    peak_memory_mb,
    skip_reason,
)
from ..measure.memory import release_device_memory
from ..measure.workloads import Workload
from ..models.loading import load_model
from .grid import Grid
from .largest_batch import LargestBatch, SearchSettings, find_largest_batch

# resolve(model) -> (checkpoint, task): see models.resolve_model
Resolver = Callable[[str], tuple[str, str]]


@dataclass(frozen=True)
class SweepSettings:
    device: str  # a resolved torch device: "cpu" or "cuda:N"
    dtype: str
    timing: TimingOptions = field(default_factory=TimingOptions)
    groups: tuple[str, ...] = MEASURE_GROUPS
    memory_rounds: int = 5
    largest_batch: SearchSettings | None = None  # None: no largest-batch search

    @property
    def measures(self) -> tuple[str, ...]:
        return measures_for(self.groups, self.device)

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
        return data


@dataclass(frozen=True)
class SweepResult:
    grid: Grid
    settings: SweepSettings
    cells: tuple[CellMeasurements, ...]
    largest: tuple[LargestBatch, ...] = ()

    @property
    def errors(self) -> list[str]:
        """``<cell id>: error: ...`` for each cell, and each search, that failed with an error."""
        failed = [f"{result.cell.id}: {result.status}" for result in self.cells if result.status.startswith("error:")]
        failed += [
            f"{found.label} largest batch at s{found.sequence_length}: {found.reason}" for found in self.largest if found.error
        ]
        return failed


def run_sweep(grid: Grid, settings: SweepSettings, resolve: Resolver, *, progress: bool = True) -> SweepResult:
    """Measure every cell of the grid; with ``settings.largest_batch``, also search the largest
    batch per model and sequence length. The bar goes to stderr, and only to a terminal."""
    searches = len(grid.sequence_lengths) if settings.largest_batch is not None else 0
    total = len(grid.cells()) + searches * len(grid.models)
    bar = tqdm(total=total, unit="cell", file=sys.stderr, disable=not progress or not sys.stderr.isatty(), dynamic_ncols=True)
    cells: list[CellMeasurements] = []
    largest: list[LargestBatch] = []
    try:
        for model in grid.models:
            model_cells, model_largest = _sweep_model(grid, model, settings, resolve, bar)
            cells.extend(model_cells)
            largest.extend(model_largest)
    finally:
        bar.close()
    return SweepResult(grid, settings, tuple(cells), tuple(largest))


def _sweep_model(
    grid: Grid, model: str, settings: SweepSettings, resolve: Resolver, bar: Any
) -> tuple[list[CellMeasurements], list[LargestBatch]]:
    cells = grid.cells_of(model)
    bar.set_postfix_str(f"loading {grid.label_of(model)}")
    try:
        checkpoint, task = resolve(model)
        loaded = load_model(checkpoint, task=task, device=settings.device, dtype=settings.dtype)
    except Exception as error:
        status = error_status(error)
        release_device_memory(settings.device)
        bar.update(len(cells) + (len(grid.sequence_lengths) if settings.largest_batch is not None else 0))
        failed = [CellMeasurements(cell, status, settings.device, settings.dtype, settings.measures) for cell in cells]
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
        return failed, searches
    try:
        results = [_measure_one(loaded, cell, settings, bar) for cell in cells]
        searches = []
        if settings.largest_batch is not None:
            for length in grid.sequence_lengths:
                bar.set_postfix_str(f"{grid.label_of(model)}-s{length}: largest batch")
                searches.append(largest_batch_of(loaded, model, grid.label_of(model), length, settings.largest_batch))
                bar.update(1)
        return results, searches
    finally:
        del loaded
        release_device_memory(settings.device)  # garbage collection, and the CUDA cache emptied on CUDA


def _measure_one(loaded: Any, cell: Cell, settings: SweepSettings, bar: Any) -> CellMeasurements:
    bar.set_postfix_str(cell.id)
    try:
        result = measure_cell(loaded, cell, groups=settings.groups, timing=settings.timing, memory_rounds=settings.memory_rounds)
    except Exception as error:
        result = CellMeasurements(cell, error_status(error), settings.device, settings.dtype, settings.measures)
    if not result.status.startswith(("ok", "skipped")):
        release_device_memory(settings.device)
    bar.update(1)
    return result


def largest_batch_of(loaded: Any, model: str, label: str, sequence_length: int, search: SearchSettings) -> LargestBatch:
    """The largest batch of the loaded model at this sequence length that fits."""
    limit = search.limit(loaded.device)
    reason = skip_reason(Cell(model, label, 1, sequence_length), loaded.config)
    if reason is not None:
        return LargestBatch(model, label, sequence_length, None, None, limit, reason)
    largest, failing, why, probes = find_largest_batch(
        lambda batch: peak_memory_mb(loaded, Workload(batch, sequence_length)), search, device=loaded.device
    )
    return LargestBatch(model, label, sequence_length, largest, failing, limit, why, probes)


def default_cpu_budget_mb() -> float:
    """Half the host memory available now: a CPU search stops well before the host runs out
    (the kernel's OOM killer, not an error, is what an exhausted host gives)."""
    import psutil

    return psutil.virtual_memory().available / 2 / 1e6
