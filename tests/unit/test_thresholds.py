"""The threshold policy: which threshold and limit a check is judged with, and every refusal."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.thresholds import EXACT, check_of, limit_of, threshold_of
from pytest_modelperf.core.units import Quantity, UnitError

LATENCY = Measurement.from_samples("latency[1x128]", [10.0, 10.5, 11.0], unit="ms", direction=Direction.LOWER_IS_BETTER)
PARAMETERS = Measurement.exact("parameters", 4_400_000, unit="count")


def chosen(
    measurement: Measurement, threshold: str | None = None, limit: Quantity | None = None, marker: str | None = None
) -> Quantity | None:
    return threshold_of(measurement, threshold, limit, marker_threshold=marker, run_threshold="10%")


def test_the_calls_threshold_comes_first() -> None:
    assert chosen(LATENCY, "2ms", marker="5%") == Quantity(2.0, "ms")
    assert chosen(PARAMETERS, "1%") == Quantity(1.0, "%")


def test_a_limit_alone_checks_no_baseline() -> None:
    assert chosen(LATENCY, limit=Quantity(50.0, "ms"), marker="5%") is None


def test_a_deterministic_measurement_is_held_exact_whatever_the_marker() -> None:
    assert chosen(PARAMETERS, marker="5%") == EXACT


def test_a_sampled_measurement_takes_the_marker_else_the_runs_threshold() -> None:
    assert chosen(LATENCY, marker="5%") == Quantity(5.0, "%")
    assert chosen(LATENCY) == Quantity(10.0, "%")


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (None, "modelperf.check(latency[1x128]) under --modelperf-threshold=10: '10' has no unit"),
        ("64MB", "modelperf.check(latency[1x128]) under @pytest.mark.modelperf(threshold='64MB'): threshold is a memory size"),
    ],
)
def test_a_default_it_cannot_take_names_where_it_came_from(marker: str | None, message: str) -> None:
    with pytest.raises(UnitError, match=re.escape(message)):
        threshold_of(LATENCY, None, None, marker_threshold=marker, run_threshold="10")


def test_a_limit_must_be_absolute_and_of_the_measurements_kind() -> None:
    assert limit_of(LATENCY, "0.05s") == Quantity(0.05, "s")
    with pytest.raises(UnitError, match=r"a limit must be absolute, e.g. '10ms'; a % belongs to the threshold"):
        limit_of(LATENCY, "10%")
    with pytest.raises(UnitError, match=r"limit is a memory size, the measurement is a time \(ms\)"):
        limit_of(LATENCY, "5MB")


def test_a_check_keeps_the_statistic_asked_for_and_refuses_an_unknown_one() -> None:
    check = check_of(LATENCY, threshold=None, limit="50ms", statistic="p90", marker_threshold=None, run_threshold="10%")
    assert (check.statistic, check.threshold, check.limit) == ("p90", None, Quantity(50.0, "ms"))
    default = check_of(LATENCY, threshold=None, limit=None, statistic=None, marker_threshold=None, run_threshold="10%")
    assert default.statistic == "median"
    with pytest.raises(ValueError, match=r"modelperf.check\(latency\[1x128\], statistic='p200'\): unknown statistic 'p200'"):
        check_of(LATENCY, threshold=None, limit=None, statistic="p200", marker_threshold=None, run_threshold="10%")


def test_the_policy_imports_no_pytest() -> None:
    code = "import sys, pytest_modelperf.core.thresholds; print('pytest' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
