"""Times judged at the machine's current speed, measured by a reference workload timed alongside."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_modelperf.compare import Check, NoisePolicy, Outcome, judge
from pytest_modelperf.results import BaselineEntry, Direction, Measurement
from pytest_modelperf.units import parse_quantity

IDENTITY = "gemm384x4/torch-test/threads-2"
CHECK = Check("value", parse_quantity("10%"), None)


def timed(median: float, reference: float, *, unit: str = "ms", identity: str = IDENTITY, spread: float = 0.01) -> Measurement:
    """21 rounds around ``median`` with the reference workload around ``reference`` ms."""
    offsets = [spread * (i - 10) / 10 for i in range(21)]
    values = [median * (1 + o) for o in offsets] if unit == "ms" else [median * (1 - o) for o in offsets]
    direction = Direction.LOWER_IS_BETTER if unit == "ms" else Direction.HIGHER_IS_BETTER
    measurement = Measurement.from_samples("latency", values, unit=unit, direction=direction)
    return replace(measurement, reference=tuple(reference * (1 + o) for o in offsets), context={"speed_reference": identity})


def recorded(pairs: list[tuple[float, float]], *, unit: str = "ms", identity: str = IDENTITY) -> BaselineEntry:
    entry = None
    for median, reference in pairs:
        entry = BaselineEntry.from_measurement(timed(median, reference, unit=unit, identity=identity), environment="e",
                                               recorded="2026-11-21", previous=entry)
    assert entry is not None
    return entry


QUIET_RUNS = [(10.0, 5.0), (10.2, 5.1), (9.9, 4.95), (10.1, 5.05), (10.0, 5.0)]


def test_a_slow_machine_is_not_a_regression():
    verdict = judge(timed(16.0, 8.0), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.outcome is Outcome.PASS
    assert verdict.speed is not None and verdict.speed.slowdown == pytest.approx(1.6)
    assert verdict.speed.expected == pytest.approx(16.0)
    assert "machine 1.60x slower than when recorded" in verdict.detail
    assert verdict.describe_change() == "+60.0% (+0.0% at this speed)"


def test_a_slower_model_on_a_slow_machine_is_a_regression():
    verdict = judge(timed(16.0 * 1.3, 8.0), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.adjusted_change == pytest.approx(0.3)


def test_a_faster_machine_does_not_hide_a_regression():
    verdict = judge(timed(10.0 * 1.3 * 0.7, 5.0 * 0.7), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.change == pytest.approx(-0.09)  # faster than the baseline in milliseconds


def test_rates_scale_inversely_with_the_reference_time():
    runs = [(100.0, 5.0), (98.0, 5.1), (101.0, 4.95)]
    slow = judge(timed(62.5, 8.0, unit="samples/s"), CHECK, recorded(runs, unit="samples/s"), NoisePolicy())
    assert slow.outcome is Outcome.PASS and slow.speed.expected == pytest.approx(62.5, rel=0.01)
    worse = judge(timed(45.0, 8.0, unit="samples/s"), CHECK, recorded(runs, unit="samples/s"), NoisePolicy())
    assert worse.outcome is Outcome.REGRESSION


@pytest.mark.parametrize(
    ("current", "baseline"),
    [
        (timed(16.0, 8.0, identity="gemm384x4/torch-other/threads-2"), recorded(QUIET_RUNS)),  # another torch
        (replace(timed(16.0, 8.0), reference=()), recorded(QUIET_RUNS)),  # timed without the reference
        (timed(16.0, 8.0), BaselineEntry.from_measurement(Measurement.from_samples(
            "latency", [10.0] * 21, unit="ms", direction=Direction.LOWER_IS_BETTER), environment="e", recorded="")),
    ],
    ids=["other-reference", "no-reference-now", "no-reference-then"],
)
def test_without_a_shared_reference_times_are_compared_as_they_are(current, baseline):
    verdict = judge(current, CHECK, baseline, NoisePolicy())
    assert verdict.speed is None
    assert verdict.outcome is Outcome.REGRESSION


def test_the_reference_is_stored_with_each_recorded_run():
    entry = recorded(QUIET_RUNS[:2])
    assert [run["reference"] for run in entry.runs] == [pytest.approx(5.0), pytest.approx(5.1)]
    stored = BaselineEntry.from_dict(entry.to_dict(), "x")
    assert [run["reference"] for run in stored.runs] == [pytest.approx(5.0), pytest.approx(5.1)]


def test_noise_off_compares_times_as_they_are():
    verdict = judge(timed(16.0, 8.0), CHECK, recorded(QUIET_RUNS), NoisePolicy(enabled=False))
    assert verdict.speed is None and verdict.outcome is Outcome.REGRESSION


def test_a_round_of_the_reference_is_its_fastest_run(monkeypatch):
    from pytest_modelperf.trackers import calibration

    ticks = iter([0.0, 0.010, 0.010, 0.013, 0.013, 0.025, 1.0, 1.004, 1.004, 1.009, 1.009, 1.014])
    monkeypatch.setattr(calibration.time, "perf_counter", lambda: next(ticks))
    clock = calibration.ReferenceClock(lambda: None)
    clock()
    clock()
    assert clock.seconds == [pytest.approx(0.003), pytest.approx(0.004)]


def test_the_reference_names_what_it_ran():
    from pytest_modelperf.trackers.calibration import reference_identity

    assert reference_identity().startswith("gemm384x4-min3/torch-")
