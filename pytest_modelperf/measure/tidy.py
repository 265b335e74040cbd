"""Measurements as tidy rows: one row per model, workload and measure, every statistic in its column.

The one definition of a tidy row, which ``modelperf sweep``'s ``sweep.csv``, ``load_sweep``
and the plots read (``TIDY_COLUMNS`` is its exact column order). ``measure`` is the measure's
sweep id and ``unit`` its table unit, both from ``measure.catalogue``. ``value`` is the
headline figure, empty unless ``status`` is ``ok``: the median time (s), the throughput of the
median time (samples/s), the peak memory (MB = 10^6 bytes; the highest of the rounds where
memory was sampled in rounds). The statistic columns describe the rounds in the table unit
(``stdev`` is the sample standard deviation); they are empty where a single reading was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import stats
from ..core.measurement import Measurement
from ..core.units import convert
from .catalogue import Measure, measure_named, sweep_measure
from .cell import OK, CellMeasurements

TIDY_COLUMNS: tuple[str, ...] = (
    "model",
    "label",
    "batch_size",
    "sequence_length",
    "measure",
    "unit",
    "value",
    "status",
    "median",
    "mean",
    "min",
    "max",
    "stdev",
    "iqr",
    "rounds",
    "device",
    "dtype",
)
STATISTIC_COLUMNS: tuple[str, ...] = ("median", "mean", "min", "max", "stdev", "iqr")
_STATISTICS: Mapping[str, str] = {"stdev": "std"}  # column -> core.stats' name, where they differ


def tidy_rows(result: CellMeasurements) -> list[dict[str, Any]]:
    """One row per measure of a sweep cell, in the order the cell's measures were made."""
    cell = result.cell
    return [
        measurement_row(
            result.by_measure.get(measure),
            sweep_measure(measure),
            model=cell.model,
            label=cell.label,
            batch_size=cell.batch_size,
            sequence_length=cell.sequence_length,
            device=result.device,
            dtype=result.dtype,
            status=result.status_of(measure),
        )
        for measure in result.measures
    ]


def context_row(measurement: Measurement) -> dict[str, Any] | None:
    """The tidy row of a measurement a test made, from its name and context: its measure must
    have a sweep id, and its context must name a model, a batch size and a sequence length (a
    latency timed side by side has no row of its own). None for any other measurement."""
    context = measurement.context
    if "side_by_side" in context or not context.get("model"):
        return None
    if not all(isinstance(context.get(size), int) and context[size] > 0 for size in ("batch_size", "sequence_length")):
        return None
    measure = measure_named(measurement.name)
    if measure is None or measure.sweep_id is None:
        return None
    model = str(context["model"])
    return measurement_row(
        measurement,
        measure,
        model=model,
        label=model,
        batch_size=int(context["batch_size"]),
        sequence_length=int(context["sequence_length"]),
        device=str(context.get("device", "")),
        dtype=str(context.get("dtype", "")),
        status=measurement.unavailable or OK,
    )


def measurement_row(
    measurement: Measurement | None,
    measure: Measure,
    *,
    model: str,
    label: str,
    batch_size: int,
    sequence_length: int,
    device: str,
    dtype: str,
    status: str = OK,
) -> dict[str, Any]:
    """The tidy row of one measurement (None: not measured); its figures only where ``status`` is ``ok``."""
    row: dict[str, Any] = dict.fromkeys(TIDY_COLUMNS)
    row.update(
        model=model,
        label=label,
        batch_size=batch_size,
        sequence_length=sequence_length,
        measure=measure.sweep_id,
        unit=measure.table_unit,
        status=status,
        device=device,
        dtype=dtype,
    )
    if status != OK or measurement is None or measurement.unavailable is not None:
        return row
    row.update(_figures(measure, measurement, batch_size))
    return row


def _figures(measure: Measure, measurement: Measurement, batch_size: int) -> dict[str, Any]:
    unit = measure.table_unit
    if not measurement.samples:
        return {"value": convert(measurement.value, measurement.unit, unit), "rounds": 1}
    samples = [convert(sample, measurement.unit, unit) for sample in measurement.samples]
    if measure.headline == "rate of median time":
        # the per-round rates are batch / seconds: the rate of the median round time
        value = batch_size / stats.statistic([batch_size / rate for rate in samples], "median")
    elif measure.headline == "max":
        value = max(samples)
    else:
        value = stats.statistic(samples, "median")
    figures: dict[str, Any] = {"value": value, "rounds": len(samples)}
    for column in STATISTIC_COLUMNS:
        figures[column] = stats.statistic(samples, _STATISTICS.get(column, column))
    return figures
