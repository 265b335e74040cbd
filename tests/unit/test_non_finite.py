"""Nothing non-finite is a number: NaN and infinity become "unavailable" and fail any gate."""

from __future__ import annotations

import json
import math

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement, ratio_of
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome
from pytest_modelperf.measure.calibration import with_reference
from pytest_modelperf.measure.cell import Cell, CellMeasurements
from pytest_modelperf.measure.latency import latency_from_seconds
from pytest_modelperf.measure.throughput import throughput_from_seconds
from pytest_modelperf.measure.tidy import tidy_rows
from pytest_modelperf.measure.workloads import Workload

LOWER = Direction.LOWER_IS_BETTER
HIGHER = Direction.HIGHER_IS_BETTER
POLICY = NoisePolicy()
OOM = "out of memory"


def latency(samples: list[float]) -> Measurement:
    return Measurement.from_samples("latency[1x128]", samples, unit="ms", direction=LOWER)


def accuracy(value: float) -> Measurement:
    return Measurement("accuracy", "points", HIGHER, value, deterministic=True)


def entry(measurement: Measurement) -> BaselineEntry:
    return BaselineEntry.from_measurement(measurement, environment="env", recorded="2026-01-01")


def threshold(text: str = "10%") -> Check:
    return Check("value", parse_quantity(text), None)


def limit(text: str) -> Check:
    return Check("value", None, parse_quantity(text))


# -- a non-finite measurement is unavailable, whichever way it was made ---------------------------


@pytest.mark.parametrize(
    ("made", "shown"),
    [
        (lambda: latency([10.0, math.nan, 11.0]), "nan"),
        (lambda: latency([10.0, 11.0, math.inf]), "inf"),
        (lambda: Measurement.exact("parameters", math.inf, unit="count"), "inf"),
        (lambda: Measurement.exact("parameters", -math.inf, unit="count"), "-inf"),
        (lambda: accuracy(math.nan), "nan"),
        (lambda: Measurement("load_time", "s", LOWER, math.nan), "nan"),
    ],
)
def test_a_non_finite_measurement_is_unavailable_with_a_reason(made, shown: str) -> None:
    measurement = made()
    assert measurement.unavailable is not None
    assert measurement.unavailable.startswith("not a finite number")
    assert f"({shown}" in measurement.unavailable
    assert math.isnan(measurement.value)
    assert measurement.samples == ()  # no NaN is kept to reach a file
    json.dumps(measurement.to_dict(), allow_nan=False)
    json.dumps(entry(measurement).to_dict(), allow_nan=False)


def test_the_reason_names_the_round_of_a_non_finite_sample() -> None:
    assert latency([10.0, 11.0, math.nan, 12.0]).unavailable == "not a finite number (nan in round 3 of 4)"


def test_a_tracker_that_times_a_non_finite_round_gives_an_unavailable_measurement() -> None:
    measured = latency_from_seconds("latency[1x128]", [0.01, math.nan, 0.01], context={})
    assert measured.unavailable == "not a finite number (nan in round 2 of 3)"
    rates = throughput_from_seconds([0.01, math.inf, 0.01], Workload(1, 8), context={})
    assert rates.samples_per_second.unavailable is None  # 1 / inf is 0: slow, but a number
    assert rates.samples_per_second.value == pytest.approx(100.0)


def test_a_round_that_took_no_measurable_time_makes_the_throughput_unavailable() -> None:
    rates = throughput_from_seconds([0.01, 0.0, 0.01], Workload(2, 8), context={})
    for rate in (rates.samples_per_second, rates.tokens_per_second):
        assert rate.unavailable == "division by zero: round 2 of 3 took no measurable time"
        assert rate.direction is HIGHER


def test_a_sweep_row_of_a_non_finite_measurement_gives_the_reason_as_its_status() -> None:
    latency = latency_from_seconds("latency[1x8]", [0.01, math.nan, 0.01], context={})
    cell = CellMeasurements(Cell("bert", "bert", 1, 8), "ok", "cpu", "float32", ("time",), {"time": latency})
    (row,) = tidy_rows(cell)
    assert row["status"] == "not a finite number (nan in round 2 of 3)" and row["value"] is None


def test_a_non_finite_speed_reference_is_dropped_not_stored() -> None:
    measurement = with_reference(latency([10.0, 11.0, 12.0]), [0.002, math.nan, 0.002])
    assert measurement.unavailable is None and measurement.value == 11.0
    assert measurement.reference == ()
    assert any("speed reference" in note and "not a finite number" in note for note in measurement.notes)
    json.dumps(entry(measurement).to_dict(), allow_nan=False)


def test_an_out_of_memory_cell_keeps_its_own_reason() -> None:
    assert Measurement.not_available("gpu_memory", OOM, unit="MB").unavailable == OOM


# -- and it fails every gate that has a limit or a baseline ----------------------------------------


def test_a_nan_latency_is_over_a_limit_and_says_why() -> None:
    verdict = judge(latency([math.nan] * 5), limit("5ms"), None, POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT and verdict.failed
    assert "not a finite number (nan" in verdict.detail and "5ms" in verdict.detail


def test_a_nan_accuracy_fails_against_a_ninety_point_baseline() -> None:
    verdict = judge(accuracy(math.nan), threshold("1points"), entry(accuracy(90.0)), POLICY)
    assert verdict.outcome is Outcome.REGRESSION and verdict.failed
    assert "not a finite number (nan)" in verdict.detail


@pytest.mark.parametrize("recorded", ["not a finite number (nan)", OOM])
def test_a_non_finite_measurement_fails_even_where_the_baseline_was_unavailable(recorded: str) -> None:
    unavailable_baseline = entry(Measurement.not_available("latency[1x128]", recorded, unit="ms"))
    verdict = judge(latency([math.inf] * 3), threshold(), unavailable_baseline, POLICY)
    assert verdict.failed
    assert "not a finite number" in verdict.detail


def test_a_non_finite_measurement_without_a_baseline_or_limit_is_reported_not_failed() -> None:
    verdict = judge(latency([math.nan] * 3), threshold(), None, POLICY)
    assert verdict.outcome is Outcome.NO_BASELINE and not verdict.failed
    assert "not a finite number" in verdict.detail


def test_a_judged_statistic_that_is_not_finite_fails_its_check() -> None:
    # Finite samples, a finite median, and an interquartile range that overflows to infinity.
    huge = Measurement.from_samples("latency", [-1e308, -1e308, 0.0, 1e308, 1e308], unit="ms", direction=LOWER)
    verdict = judge(huge, Check("iqr", None, parse_quantity("5ms")), None, POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT
    assert "not a finite number (inf as the iqr)" in verdict.detail


# -- ratios -------------------------------------------------------------------------------------------


def timed(model: str, samples: list[float]) -> Measurement:
    return Measurement.from_samples("latency[1x128]", samples, unit="ms", direction=LOWER, context={"model": model})


def test_a_ratio_with_a_zero_round_is_unavailable_naming_the_round() -> None:
    speedup = ratio_of(timed("bert", [2.0, 2.0, 2.0]), timed("distilbert", [1.0, 0.0, 1.0]), name="speed-up")
    assert speedup.unavailable == "division by zero: latency[1x128] of distilbert measured 0 in round 2"
    assert speedup.unit == "x" and math.isnan(speedup.value)
    json.dumps(speedup.to_dict(), allow_nan=False)


def test_a_ratio_of_single_values_with_a_zero_denominator_is_unavailable() -> None:
    zero = Measurement.exact("parameters", 0.0, unit="count", context={"model": "empty"})
    ratio = ratio_of(Measurement.exact("parameters", 10.0, unit="count"), zero, name="r")
    assert ratio.unavailable == "division by zero: parameters of empty measured 0"


def test_a_ratio_with_a_zero_denominator_fails_its_limit() -> None:
    speedup = ratio_of(timed("bert", [2.0, 2.0]), timed("distilbert", [0.0, 0.0]), name="speed-up")
    verdict = judge(speedup, limit("1.5x"), None, POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT and "division by zero" in verdict.detail
