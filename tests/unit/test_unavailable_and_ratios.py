"""Cells that could not be measured (the study's N/A) and ratios of two measurements."""

from __future__ import annotations

import json
import math

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.file_format import FormatError
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement, ratio_of
from pytest_modelperf.core.units import UnitError, parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome

OOM = "out of memory"
EXACT = Check("value", parse_quantity("0%"), None)
POLICY = NoisePolicy()


def not_available(name: str = "gpu_memory.peak_allocated[256x512]") -> Measurement:
    return Measurement.not_available(name, OOM, unit="MB", context={"model": "bert"})


def entry(measurement: Measurement) -> BaselineEntry:
    return BaselineEntry.from_measurement(measurement, environment="env", recorded="2026-01-01")


# -- N/A measurements and baseline entries ----------------------------------------------------


def test_a_not_available_measurement() -> None:
    measurement = not_available()
    assert math.isnan(measurement.value)
    assert measurement.deterministic
    assert measurement.summary == {}
    assert math.isnan(measurement.value_of("p99"))
    data = measurement.to_dict()
    assert data["value"] is None and data["unavailable"] == OOM
    json.dumps(data, allow_nan=False)  # a report never carries NaN


def test_a_not_available_entry_round_trips() -> None:
    stored = entry(not_available()).to_dict()
    assert stored["unavailable"] == OOM and stored["summary"] == {} and "runs" not in stored
    json.dumps(stored, allow_nan=False)
    assert BaselineEntry.from_dict(stored, "f.json:t:m") == entry(not_available())


@pytest.mark.parametrize("reason", ["", 3, None])
def test_an_entry_without_a_value_needs_a_reason(reason: object) -> None:
    stored = entry(not_available()).to_dict()
    stored["unavailable"] = reason
    with pytest.raises(FormatError) as caught:
        BaselineEntry.from_dict(stored, "f.json:t:m")
    assert caught.value.path.startswith("f.json:t:m.")


def test_not_available_as_in_the_baseline_passes() -> None:
    verdict = judge(not_available(), EXACT, entry(not_available()), POLICY)
    assert verdict.outcome is Outcome.PASS
    assert verdict.describe_value(verdict.current) == "N/A" and verdict.describe_value(verdict.baseline) == "N/A"
    assert verdict.describe_change() == "-"
    assert "as in the baseline" in verdict.detail


def test_not_available_where_the_baseline_measured_is_a_regression() -> None:
    measured = Measurement.exact("gpu_memory.peak_allocated[256x512]", 10_417.0, unit="MB")
    verdict = judge(not_available(), EXACT, entry(measured), POLICY)
    assert verdict.outcome is Outcome.REGRESSION and verdict.failed
    assert verdict.baseline == 10_417.0 and "out of memory" in verdict.detail


def test_measured_where_the_baseline_was_not_available_is_an_improvement() -> None:
    measured = Measurement.exact("gpu_memory.peak_allocated[256x512]", 10_417.0, unit="MB")
    verdict = judge(measured, EXACT, entry(not_available()), POLICY)
    assert verdict.outcome is Outcome.IMPROVEMENT and not verdict.failed
    assert verdict.current == 10_417.0


def test_not_available_without_a_baseline_or_with_a_limit() -> None:
    assert judge(not_available(), EXACT, None, POLICY).outcome is Outcome.NO_BASELINE
    limit_only = Check("value", None, parse_quantity("20GB"))
    assert judge(not_available(), limit_only, None, POLICY).outcome is Outcome.OVER_LIMIT
    assert judge(not_available(), Check("value", None, None), None, POLICY).outcome is Outcome.PASS


# -- ratios -----------------------------------------------------------------------------------


def timed(model: str, samples: list[float], unit: str = "ms") -> Measurement:
    return Measurement.from_samples(
        "latency[1x128]",
        samples,
        unit=unit,
        direction=Direction.LOWER_IS_BETTER,
        context={"model": model, "device": "cpu", "dtype": "float32", "batch_size": 1, "sequence_length": 128},
        notes=("stand-in",),
    )


def test_a_ratio_of_rounds_timed_side_by_side_is_taken_per_round() -> None:
    # The machine slows down halfway: both models slow alike, their ratio does not move.
    bert = timed("bert", [200, 200, 400, 400])
    distilbert = timed("distilbert", [100, 100, 200, 200])
    speedup = ratio_of(bert, distilbert, name="speed-up")
    assert speedup.samples == (2.0, 2.0, 2.0, 2.0)
    assert speedup.value == 2.0 and speedup.unit == "x"
    assert speedup.direction is Direction.HIGHER_IS_BETTER and not speedup.deterministic
    assert speedup.context["model"] == "bert / distilbert"
    assert speedup.context["batch_size"] == 1 and speedup.notes == ("stand-in",)


def test_a_ratio_converts_units_of_one_dimension() -> None:
    assert ratio_of(timed("a", [300.0]), timed("b", [0.1], unit="s"), name="r").value == pytest.approx(3.0)


def test_a_ratio_of_unpaired_or_exact_values() -> None:
    unpaired = ratio_of(timed("a", [4, 4, 4]), timed("b", [2, 2]), name="r")
    assert unpaired.value == 2.0 and unpaired.samples == () and not unpaired.deterministic
    exact = ratio_of(
        Measurement.exact("parameters", 110.0, unit="count"), Measurement.exact("parameters", 55.0, unit="count"), name="r"
    )
    assert exact.value == 2.0 and exact.deterministic


def test_a_ratio_with_a_missing_side_is_not_available() -> None:
    result = ratio_of(not_available(), Measurement.exact("m", 5.0, unit="MB"), name="r", direction=Direction.LOWER_IS_BETTER)
    assert result.unavailable == OOM and result.direction is Direction.LOWER_IS_BETTER


def test_a_ratio_of_different_dimensions_is_an_error() -> None:
    with pytest.raises(UnitError):
        ratio_of(timed("a", [1.0]), Measurement.exact("m", 5.0, unit="MB"), name="r")


def test_a_ratio_limit_holds_a_floor() -> None:
    speedup = ratio_of(timed("bert", [150, 150]), timed("distilbert", [100, 100]), name="speed-up")
    verdict = judge(speedup, Check("value", None, parse_quantity("1.5x")), None, POLICY)
    assert verdict.outcome is Outcome.PASS
    verdict = judge(speedup, Check("value", None, parse_quantity("1.6x")), None, POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT and "1.5x is below the limit 1.6x" in verdict.detail
