"""Times judged at the machine's current speed, measured by a reference workload timed alongside."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome, SpeedAdjustment

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
        entry = BaselineEntry.from_measurement(
            timed(median, reference, unit=unit, identity=identity), environment="e", recorded="2026-11-21", previous=entry
        )
    assert entry is not None
    return entry


QUIET_RUNS = [(10.0, 5.0), (10.2, 5.1), (9.9, 4.95), (10.1, 5.05), (10.0, 5.0)]


def test_a_slow_machine_is_not_a_regression():
    verdict = judge(timed(16.0, 8.0), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.outcome is Outcome.PASS
    assert verdict.speed is not None and verdict.speed.slowdown == pytest.approx(1.6)
    assert verdict.speed.expected == pytest.approx(16.0)
    assert "machine 1.60x slower than when recorded" in verdict.detail
    # the baseline is the mean of the recorded medians, 50.2 / 5 = 10.04 ms: 16 / 10.04 = +59.4%;
    # every run is 2 references long, so at a reference of 8 ms the expectation is 16 ms: +0.0%
    assert verdict.describe_change() == "+59.4% (+0.0% at this speed)"


def test_a_slower_model_on_a_slow_machine_is_a_regression():
    verdict = judge(timed(16.0 * 1.3, 8.0), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.adjusted_change == pytest.approx(0.3)


def test_a_faster_reference_never_fails_a_time_within_the_threshold():
    # The reference reads 0.7x; the model is 9.1 ms against 10.04 ms recorded: faster in ms.
    # Judged at the reference's speed it is +30%, but a fast reference may be an uncontended
    # reference beside a contended model, so a time no worse than the threshold as measured passes.
    verdict = judge(timed(10.0 * 1.3 * 0.7, 5.0 * 0.7), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.adjusted_change == pytest.approx(0.3)
    assert verdict.outcome is Outcome.PASS
    assert verdict.change == pytest.approx(9.1 / 10.04 - 1)
    assert "worse at this speed, but not beyond the threshold as measured" in verdict.detail


def test_a_faster_machine_does_not_hide_a_regression_beyond_the_threshold():
    # 0.8x reference, model 1.5x: 12.0 ms against 10.04 (+19.5% as measured), +50% at this speed
    verdict = judge(timed(10.0 * 1.5 * 0.8, 5.0 * 0.8), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.adjusted_change == pytest.approx(0.5)


def test_an_improvement_is_never_turned_into_a_regression():
    # Under contention a model 81% faster once failed as "-81.0% (+520.9% at this speed)" because
    # the reference read far faster than recorded. 1.9 ms against 10.04 ms is an improvement.
    verdict = judge(timed(1.9, 0.3), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.adjusted_change == pytest.approx(1.9 / 0.6 - 1)  # +217% at this speed
    assert verdict.outcome is Outcome.PASS
    assert not verdict.failed


def test_the_adjustment_never_fails_a_time_within_the_threshold_as_measured():
    """Over machine speeds from 4x faster to 4x slower and models from 4x faster to 4x slower,
    the adjusted verdict fails only where the time as measured is beyond the threshold."""
    baseline = recorded(QUIET_RUNS)
    unadjusted_policy = NoisePolicy()
    failed, improved = [], []
    for machine in (0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0):
        for model in (0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0):
            current = timed(10.04 * machine * model, 5.0 * machine)
            adjusted = judge(current, CHECK, baseline, unadjusted_policy)
            as_is = judge(replace(current, reference=()), CHECK, baseline, unadjusted_policy)
            if adjusted.failed:
                failed.append((machine, model))
                assert as_is.change > 0.10, (machine, model)
            if as_is.outcome is Outcome.IMPROVEMENT:
                improved.append((machine, model))
                assert not adjusted.failed, (machine, model)
    # Both rules above were exercised: a 4x slower model fails on a quiet machine, and a 4x
    # faster one on a 4x faster machine is an improvement as measured.
    assert (1.0, 4.0) in failed and (0.25, 0.25) in improved


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
        (
            timed(16.0, 8.0),
            BaselineEntry.from_measurement(
                Measurement.from_samples("latency", [10.0] * 21, unit="ms", direction=Direction.LOWER_IS_BETTER),
                environment="e",
                recorded="",
            ),
        ),
    ],
    ids=["other-reference", "no-reference-now", "no-reference-then"],
)
def test_without_a_shared_reference_times_are_compared_as_they_are(current, baseline):
    verdict = judge(current, CHECK, baseline, NoisePolicy())
    assert verdict.speed is None
    assert verdict.outcome is Outcome.REGRESSION


@pytest.mark.parametrize(
    ("identity", "named"),
    [
        ("gemm384x4/torch-test/threads-1", "threads-2 then, threads-1 now"),
        ("gemm384x4/torch-other/threads-2", "torch-test then, torch-other now"),
        ("gemm512", "gemm384x4/torch-test/threads-2 then, gemm512 now"),
    ],
    ids=["threads", "torch", "other-shape"],
)
def test_a_reference_that_differs_is_named_in_the_verdict_not_compared_silently(identity, named):
    verdict = judge(timed(10.5, 10.0, identity=identity), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.speed is None and verdict.outcome is Outcome.PASS
    assert verdict.detail == f"compared as measured, not at this speed: the speed reference differs ({named})"


def test_a_matching_reference_or_none_adds_no_such_note():
    assert "speed reference differs" not in judge(timed(10.5, 5.0), CHECK, recorded(QUIET_RUNS), NoisePolicy()).detail
    no_reference = replace(timed(10.5, 5.0), context={})
    assert "speed reference differs" not in judge(no_reference, CHECK, recorded(QUIET_RUNS), NoisePolicy()).detail


def test_the_reference_is_stored_with_each_recorded_run():
    entry = recorded(QUIET_RUNS[:2])
    assert [run["reference"] for run in entry.runs] == [pytest.approx(5.0), pytest.approx(5.1)]
    stored = BaselineEntry.from_dict(entry.to_dict(), "x")
    assert [run["reference"] for run in stored.runs] == [pytest.approx(5.0), pytest.approx(5.1)]


def test_noise_off_compares_times_as_they_are():
    verdict = judge(timed(16.0, 8.0), CHECK, recorded(QUIET_RUNS), NoisePolicy(enabled=False))
    assert verdict.speed is None and verdict.outcome is Outcome.REGRESSION


def test_a_round_of_the_reference_is_one_run_like_a_round_of_the_model(monkeypatch):
    from pytest_modelperf.measure import calibration

    ticks = iter([0.0, 0.010, 1.0, 1.004])
    monkeypatch.setattr(calibration.time, "perf_counter", lambda: next(ticks))
    calls = []
    clock = calibration.ReferenceClock(lambda: calls.append(1))
    clock()
    clock()
    assert clock.seconds == [pytest.approx(0.010), pytest.approx(0.004)]
    assert len(calls) == 2


def test_the_reference_names_what_it_ran():
    import torch

    from pytest_modelperf.measure.calibration import reference_identity

    assert reference_identity() == f"gemm384x4-single/torch-{torch.__version__}/threads-{torch.get_num_threads()}"


def test_one_recorded_run_in_another_machine_state_does_not_open_the_band():
    # One run in another machine state: five runs at 2.0 references each and one at 3.2 (16 ms beside a 5 ms
    # reference) made the spread 24.5% and the band ±89%, so a 75% slowdown passed. In reference
    # units the median is 2.0 with no deviation, so the robust sd is the assumed 5% of 2.0, and
    # 3.2 lies beyond 3.5 * 0.1: set aside. The five runs teach 0 with 4 degrees of freedom:
    # s^2 = 6 * 0.05^2 / 10 = 0.0015, s = 0.03873; t(0.99, 10) = 2.7638 (table);
    # band >= 2.7638 * 0.03873 * sqrt(1 + 1/5) = 0.1173 (this run's own error adds a little).
    baseline = recorded([*QUIET_RUNS, (16.0, 5.0)])
    verdict = judge(timed(11.0 * 1.75, 5.5), CHECK, baseline, NoisePolicy())
    assert verdict.speed is not None and verdict.speed.odd_runs == 1
    assert 0.1172 <= verdict.noise_band <= 0.125
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.adjusted_change == pytest.approx(0.75)
    assert "1 odd recorded run set aside" in verdict.detail


@pytest.mark.parametrize(
    ("slowdown", "pace"),
    [(1.0, "as fast as"), (1.004, "as fast as"), (0.996, "as fast as"), (1.006, "1.01x slower than"), (0.5, "2.00x faster than")],
)
def test_the_machine_s_pace_reads_as_fast_when_it_rounds_to_1x(slowdown: float, pace: str) -> None:
    adjustment = SpeedAdjustment(slowdown=slowdown, expected=10.0, spread=None, runs=3)
    assert adjustment.describe("ms") == f"machine {pace} when recorded (reference workload); judged against 10 ms at this speed"


def test_a_change_that_rounds_to_zero_reads_plus_zero() -> None:
    verdict = judge(timed(10.04 * 0.9996, 5.02), CHECK, recorded(QUIET_RUNS), NoisePolicy())
    assert verdict.describe_change() == "+0.0%"
