"""A sweep's results as tidy rows: one row per cell and measure, every statistic in its column.

The schema (the plots and ``load_sweep`` read it; ``TIDY_COLUMNS`` is its exact column order):
``value`` is the headline figure, empty unless ``status`` is ``ok``: the median time (s), the
throughput of the median time (samples/s), the peak memory (MB = 10^6 bytes; the highest of
the rounds where memory was sampled in rounds). The statistic columns describe the rounds
(``stdev`` is the sample standard deviation); they are empty where a single reading was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import stats
from ..core.measurement import Measurement
from ..measure.cell import OK, CellMeasurements

TIDY_COLUMNS: tuple[str, ...] = (
    "model", "label", "batch_size", "sequence_length", "measure", "unit", "value", "status",
    "median", "mean", "min", "max", "stdev", "iqr", "rounds", "device", "dtype",
)
STATISTIC_COLUMNS: tuple[str, ...] = ("median", "mean", "min", "max", "stdev", "iqr")
UNITS: Mapping[str, str] = {
    "time": "s",
    "throughput": "samples/s",
    "host_memory_peak": "MB",
    "gpu_memory_allocated": "MB",
    "gpu_memory_reserved": "MB",
    "gpu_memory_nvml": "MB",
}


def tidy_rows(result: CellMeasurements) -> list[dict[str, Any]]:
    """One row per measure of the cell, in the order the cell's measures were made."""
    return [_row(result, measure) for measure in result.measures]


def _row(result: CellMeasurements, measure: str) -> dict[str, Any]:
    cell = result.cell
    status = result.status_of(measure)
    row: dict[str, Any] = dict.fromkeys(TIDY_COLUMNS)
    row.update(
        model=cell.model, label=cell.label, batch_size=cell.batch_size, sequence_length=cell.sequence_length,
        measure=measure, unit=UNITS[measure], status=status, device=result.device, dtype=result.dtype,
    )
    measurement = result.by_measure.get(measure)
    if status != OK or measurement is None or measurement.unavailable is not None:
        return row
    row.update(_figures(measure, measurement, cell.batch_size))
    return row


def _figures(measure: str, measurement: Measurement, batch_size: int) -> dict[str, Any]:
    if not measurement.samples:
        return {"value": measurement.value, "rounds": 1}
    samples = list(measurement.samples)
    if measure == "time":
        samples = [ms / 1e3 for ms in samples]  # the measurement is in ms; the sweep reports seconds
        value = stats.statistic(samples, "median")
    elif measure == "throughput":
        # samples/s of the median round time: the per-round rates are batch / seconds
        value = batch_size / stats.statistic([batch_size / rate for rate in samples], "median")
    else:
        value = max(samples)
    figures: dict[str, Any] = {"value": value, "rounds": len(samples)}
    for column in STATISTIC_COLUMNS:
        figures[column] = stats.statistic(samples, "std" if column == "stdev" else column)
    return figures
