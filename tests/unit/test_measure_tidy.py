"""Tidy rows of measurements a test made: the same row, units and headline as a sweep's."""

from __future__ import annotations

import pytest

from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.measure.catalogue import HOST_MEMORY, LATENCY
from pytest_modelperf.measure.cell import Cell, CellMeasurements
from pytest_modelperf.measure.tidy import TIDY_COLUMNS, context_row, measurement_row, tidy_rows

CONTEXT = {"model": "org/bert", "batch_size": 8, "sequence_length": 128, "device": "cpu", "dtype": "float32"}


def latency(context: dict[str, object] = CONTEXT, name: str = "latency[8x128]") -> Measurement:
    return Measurement.from_samples(name, [10.0, 30.0, 20.0], unit="ms", direction=Direction.LOWER_IS_BETTER, context=context)


def test_a_latency_is_tabulated_in_seconds_as_the_sweep_tabulates_it() -> None:
    row = context_row(latency())
    assert row is not None and list(row) == list(TIDY_COLUMNS)
    assert (row["measure"], row["unit"], row["status"], row["rounds"]) == ("time", "s", "ok", 3)
    assert row["value"] == pytest.approx(0.020) and row["max"] == pytest.approx(0.030)
    assert (row["model"], row["batch_size"], row["sequence_length"], row["device"]) == ("org/bert", 8, 128, "cpu")


def test_a_memory_peak_is_the_highest_round() -> None:
    memory = Measurement.from_samples(
        "host_memory[8x128]", [1.0, 3.0, 2.0], unit="MB", direction=Direction.LOWER_IS_BETTER, context=CONTEXT
    )
    row = context_row(memory)
    assert row is not None and (row["measure"], row["value"], row["median"]) == ("host_memory_peak", 3.0, 2.0)


def test_the_row_of_a_test_equals_the_row_of_a_sweep_cell() -> None:
    cell = Cell("org/bert", "org/bert", 8, 128)
    result = CellMeasurements(cell, "ok", "cpu", "float32", ("time",), {"time": latency()})
    assert tidy_rows(result) == [context_row(latency())]


@pytest.mark.parametrize(
    "measurement",
    [
        latency({**CONTEXT, "side_by_side": ["a", "b"]}),
        latency({key: value for key, value in CONTEXT.items() if key != "batch_size"}),
        latency(name="my_own_timing"),
        Measurement.exact("parameters", 4.4e6, unit="count", context=CONTEXT),
    ],
    ids=["side by side", "no batch size", "a name of the test's own", "no sweep id"],
)
def test_a_measurement_without_a_tidy_row_gives_none(measurement: Measurement) -> None:
    assert context_row(measurement) is None


def test_an_unavailable_measurement_has_its_reason_and_no_figures() -> None:
    missing = Measurement.not_available("latency[8x128]", "out of memory", unit="ms", context=CONTEXT)
    row = context_row(missing)
    assert row is not None and (row["status"], row["value"], row["rounds"]) == ("out of memory", None, None)


def test_a_single_reading_has_a_value_and_one_round() -> None:
    row = measurement_row(
        Measurement("host_memory[1x8]", "MB", Direction.LOWER_IS_BETTER, 12.0),
        HOST_MEMORY,
        model="m",
        label="m",
        batch_size=1,
        sequence_length=8,
        device="cpu",
        dtype="float32",
    )
    assert (row["value"], row["rounds"], row["median"]) == (12.0, 1, None)
    assert LATENCY.table_unit == "s"
