"""Unit tests for pytest_modelperf.core.judge and core.verdict: verdicts against baselines, thresholds
and limits."""

from __future__ import annotations

import itertools
import math

import pytest

from pytest_modelperf.core import stats
from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.judge import ComparisonError, NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import Quantity, UnitError, parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome, Verdict

LOWER = Direction.LOWER_IS_BETTER
HIGHER = Direction.HIGHER_IS_BETTER
POLICY = NoisePolicy()
NO_NOISE = NoisePolicy(enabled=False)


def spread_samples(center: float, relative_width: float = 0.005, n: int = 21) -> list[float]:
    """``n`` evenly spaced samples within ``center * (1 ± relative_width)``, median exactly ``center``."""
    half = (n - 1) / 2
    return [center * (1 + relative_width * (i - half) / half) for i in range(n)]


def measured(
    center: float,
    *,
    unit: str = "ms",
    direction: Direction = LOWER,
    relative_width: float = 0.005,
    name: str = "latency",
    statistic: str = "median",
) -> Measurement:
    return Measurement.from_samples(
        name, spread_samples(center, relative_width), unit=unit, direction=direction, statistic=statistic
    )


def baseline_from_runs(
    medians: list[float], *, unit: str = "ms", direction: Direction = LOWER, relative_width: float = 0.005
) -> BaselineEntry:
    entry = None
    for median in medians:
        entry = BaselineEntry.from_measurement(
            measured(median, unit=unit, direction=direction, relative_width=relative_width),
            environment="env",
            recorded="2024-01-01",
            previous=entry,
        )
    assert entry is not None
    return entry


def check(threshold: str | None = "10%", limit: str | None = None, statistic: str = "value") -> Check:
    return Check(
        statistic,
        parse_quantity(threshold) if threshold is not None else None,
        parse_quantity(limit) if limit is not None else None,
    )


def exact_baseline(value: float, *, unit: str = "count", direction: Direction = LOWER) -> BaselineEntry:
    return BaselineEntry.from_measurement(
        Measurement.exact("parameters", value, unit=unit, direction=direction), environment="env", recorded="d"
    )


# Runs whose medians spread by about 7% (relative sample standard deviation), centred on 100.
NOISY_RUNS = [91.25, 95.5, 100.0, 104.5, 108.75]
# Runs whose medians spread by about 0.5%, centred on 100.
QUIET_RUNS = [99.4, 99.7, 100.0, 100.3, 100.6]


def test_run_fixtures_have_the_intended_spread() -> None:
    noisy = baseline_from_runs(NOISY_RUNS)
    quiet = baseline_from_runs(QUIET_RUNS)
    assert noisy.center("median") == pytest.approx(100.0)
    assert quiet.center("median") == pytest.approx(100.0)
    assert noisy.between_run_spread("median").spread.relative == pytest.approx(0.07, abs=0.002)
    assert quiet.between_run_spread("median").spread.relative == pytest.approx(0.005, abs=0.0005)


# -- the key property: noise-aware verdicts -----------------------------------------------------


def test_noisy_baseline_tolerates_a_12_percent_slowdown() -> None:
    verdict = judge(measured(112.0), check("10%"), baseline_from_runs(NOISY_RUNS), POLICY)
    assert verdict.outcome is Outcome.PASS
    assert not verdict.failed
    assert "within the noise band" in verdict.detail
    assert verdict.change == pytest.approx(0.12)
    assert verdict.noise_band is not None and verdict.noise_band > 0.12


def test_noisy_baseline_still_catches_a_40_percent_slowdown() -> None:
    verdict = judge(measured(140.0), check("10%"), baseline_from_runs(NOISY_RUNS), POLICY)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.failed
    assert verdict.change == pytest.approx(0.40)
    assert verdict.noise_band is not None and 0.12 < verdict.noise_band < 0.40


def test_quiet_baseline_catches_a_15_percent_slowdown() -> None:
    # Five runs spread 0.47% teach 4 degrees of freedom; the assumed 5% still counts as 6:
    # s^2 = (6 * 0.05^2 + 4 * 0.0047^2) / 10 = 0.001509, s = 0.0388; t(0.99, 10) = 2.764;
    # band = 2.764 * 0.0388 * sqrt(1 + 1/5) = 0.1176 (this run's own error adds a little).
    verdict = judge(measured(115.0), check("10%"), baseline_from_runs(QUIET_RUNS), POLICY)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.failed
    assert verdict.noise_band == pytest.approx(0.1176, abs=0.001)
    assert "beyond the threshold and the noise band" in verdict.detail


# -- basic outcomes ------------------------------------------------------------------------------------


def test_pass_within_threshold() -> None:
    verdict = judge(measured(105.0), check("10%"), baseline_from_runs(QUIET_RUNS), POLICY)
    assert verdict.outcome is Outcome.PASS
    assert verdict.detail == ""
    assert verdict.current == pytest.approx(105.0)
    assert verdict.baseline == pytest.approx(100.0)
    assert verdict.change == pytest.approx(0.05)


def test_pass_when_faster_within_threshold() -> None:
    verdict = judge(measured(95.0), check("10%"), baseline_from_runs(QUIET_RUNS), POLICY)
    assert verdict.outcome is Outcome.PASS
    assert verdict.detail == ""


def test_regression_needs_both_threshold_and_noise_band() -> None:
    verdict = judge(measured(120.0), check("10%"), baseline_from_runs(QUIET_RUNS), POLICY)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.change is not None and verdict.noise_band is not None
    assert verdict.change > 0.10
    assert verdict.change > verdict.noise_band


def test_beyond_threshold_within_noise_band_passes() -> None:
    # a single recorded run: the assumed 5% spread, counted as 6 degrees of freedom, gives
    # t(0.99, 6) * sqrt(1 + 1/1) * 5% = 3.1427 * 1.41421 * 0.05 = 0.2222 (a table's t)
    baseline = baseline_from_runs([100.0])
    verdict = judge(measured(112.0), check("10%"), baseline, POLICY)
    assert verdict.outcome is Outcome.PASS
    assert "within the noise band" in verdict.detail
    assert verdict.noise_band == pytest.approx(0.2222, abs=0.0005)


def test_within_noise_band_but_beyond_threshold_fails_without_noise_policy() -> None:
    verdict = judge(measured(112.0), check("10%"), baseline_from_runs([100.0]), NO_NOISE)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.noise_band is None


def test_large_improvement() -> None:
    verdict = judge(measured(50.0), check("10%"), baseline_from_runs(QUIET_RUNS), POLICY)
    assert verdict.outcome is Outcome.IMPROVEMENT
    assert not verdict.failed
    assert "better than the baseline" in verdict.detail
    assert verdict.change == pytest.approx(-0.5)


def test_improvement_within_the_noise_band_is_a_plain_pass() -> None:
    verdict = judge(measured(88.0), check("10%"), baseline_from_runs(NOISY_RUNS), POLICY)
    assert verdict.outcome is Outcome.PASS
    assert verdict.detail == ""


def test_threshold_boundary_is_not_a_regression() -> None:
    baseline = exact_baseline(100.0, unit="ms")
    measurement = Measurement.exact("latency", 110.0, unit="ms")
    assert judge(measurement, check("10%"), baseline, POLICY).outcome is Outcome.PASS
    measurement = Measurement.exact("latency", 110.5, unit="ms")
    assert judge(measurement, check("10%"), baseline, POLICY).outcome is Outcome.REGRESSION


# -- higher is better -----------------------------------------------------------------------------------


def test_throughput_drop_is_a_regression() -> None:
    baseline = baseline_from_runs([1000.0, 1002.0, 998.0], unit="samples/s", direction=HIGHER)
    verdict = judge(measured(800.0, unit="samples/s", direction=HIGHER), check("10%"), baseline, POLICY)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.change == pytest.approx(-0.2)


def test_throughput_rise_is_an_improvement() -> None:
    baseline = baseline_from_runs([1000.0, 1002.0, 998.0], unit="samples/s", direction=HIGHER)
    verdict = judge(measured(1300.0, unit="samples/s", direction=HIGHER), check("10%"), baseline, POLICY)
    assert verdict.outcome is Outcome.IMPROVEMENT
    assert verdict.change == pytest.approx(0.3)


def test_small_throughput_drop_passes() -> None:
    baseline = baseline_from_runs([1000.0, 1002.0, 998.0], unit="samples/s", direction=HIGHER)
    verdict = judge(measured(950.0, unit="samples/s", direction=HIGHER), check("10%"), baseline, POLICY)
    assert verdict.outcome is Outcome.PASS


# -- absolute thresholds ----------------------------------------------------------------------------------


def test_absolute_threshold() -> None:
    baseline = baseline_from_runs(QUIET_RUNS)
    assert judge(measured(104.0), check("5ms"), baseline, NO_NOISE).outcome is Outcome.PASS
    assert judge(measured(106.0), check("5ms"), baseline, NO_NOISE).outcome is Outcome.REGRESSION
    assert judge(measured(94.0), check("5ms"), baseline, NO_NOISE).outcome is Outcome.IMPROVEMENT


def test_absolute_threshold_in_another_unit_of_time() -> None:
    baseline = baseline_from_runs(QUIET_RUNS)
    assert judge(measured(104.0), check("0.005s"), baseline, NO_NOISE).outcome is Outcome.PASS
    assert judge(measured(106.0), check("0.005s"), baseline, NO_NOISE).outcome is Outcome.REGRESSION
    assert judge(measured(102.0), check("1000us"), baseline, NO_NOISE).outcome is Outcome.REGRESSION


def test_absolute_threshold_for_throughput() -> None:
    baseline = baseline_from_runs([1000.0], unit="samples/s", direction=HIGHER)
    ok = judge(measured(960.0, unit="samples/s", direction=HIGHER), check("50samples/s"), baseline, NO_NOISE)
    bad = judge(measured(940.0, unit="samples/s", direction=HIGHER), check("50samples/s"), baseline, NO_NOISE)
    assert ok.outcome is Outcome.PASS
    assert bad.outcome is Outcome.REGRESSION


def test_absolute_threshold_of_the_wrong_dimension() -> None:
    with pytest.raises(UnitError):
        judge(measured(104.0), check("5MB"), baseline_from_runs(QUIET_RUNS), NO_NOISE)


# -- limits ---------------------------------------------------------------------------------------------------


def test_limit_with_baseline() -> None:
    baseline = baseline_from_runs(QUIET_RUNS)
    verdict = judge(measured(105.0), check("10%", limit="102ms"), baseline, POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT
    assert verdict.failed
    assert verdict.baseline == pytest.approx(100.0)
    assert "above the limit" in verdict.detail
    assert verdict.detail == "105.0 ms is above the limit 102.0 ms"
    assert judge(measured(101.0), check("10%", limit="102ms"), baseline, POLICY).outcome is Outcome.PASS


def test_limit_takes_precedence_over_improvement() -> None:
    verdict = judge(measured(50.0), check("10%", limit="40ms"), baseline_from_runs(QUIET_RUNS), POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT


def test_limit_without_baseline() -> None:
    verdict = judge(measured(105.0), check("10%", limit="102ms"), None, POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT
    assert verdict.baseline is None
    assert "above the limit" in verdict.detail
    within = judge(measured(101.0), check("10%", limit="102ms"), None, POLICY)
    assert within.outcome is Outcome.NO_BASELINE


@pytest.mark.parametrize("with_baseline", [True, False])
def test_limit_only_check(with_baseline: bool) -> None:
    baseline = baseline_from_runs([50.0]) if with_baseline else None  # far better: no threshold, so ignored
    ok = judge(measured(101.0), check(None, limit="102ms"), baseline, POLICY)
    assert ok.outcome is Outcome.PASS
    assert ok.baseline is None
    assert ok.noise_band is None
    assert ok.detail == ""
    over = judge(measured(103.0), check(None, limit="102ms"), baseline, POLICY)
    assert over.outcome is Outcome.OVER_LIMIT
    assert over.outcome is not Outcome.NO_BASELINE


def test_check_with_neither_threshold_nor_limit_passes() -> None:
    verdict = judge(measured(103.0), check(None), None, POLICY)
    assert verdict.outcome is Outcome.PASS


def test_limit_at_the_bound_passes() -> None:
    measurement = Measurement.exact("latency", 102.0, unit="ms")
    assert judge(measurement, check(None, limit="102ms"), None, POLICY).outcome is Outcome.PASS


def test_limit_in_another_unit() -> None:
    assert judge(measured(150.0), check(None, limit="0.2s"), None, POLICY).outcome is Outcome.PASS
    verdict = judge(measured(250.0), check(None, limit="0.2s"), None, POLICY)
    assert verdict.outcome is Outcome.OVER_LIMIT
    assert verdict.detail == "250.0 ms is above the limit 200.0 ms"


def test_throughput_limit_is_a_floor() -> None:
    below = judge(measured(90.0, unit="samples/s", direction=HIGHER), check(None, limit="100samples/s"), None, POLICY)
    above = judge(measured(110.0, unit="samples/s", direction=HIGHER), check(None, limit="100samples/s"), None, POLICY)
    assert below.outcome is Outcome.OVER_LIMIT
    assert "below the limit" in below.detail
    assert above.outcome is Outcome.PASS


def test_memory_limit() -> None:
    peak = Measurement.exact("peak_memory", 70.0, unit="MB")
    assert judge(peak, check(None, limit="64MiB"), None, POLICY).outcome is Outcome.OVER_LIMIT  # 64 MiB = 67.1 MB
    assert judge(peak, check(None, limit="0.1GB"), None, POLICY).outcome is Outcome.PASS


def test_relative_limit_is_refused() -> None:
    with pytest.raises(UnitError, match="absolute"):
        judge(measured(100.0), check(None, limit="10%"), None, POLICY)


def test_limit_of_the_wrong_dimension_is_refused() -> None:
    with pytest.raises(UnitError):
        judge(measured(100.0), check(None, limit="64MB"), None, POLICY)


# -- no baseline -----------------------------------------------------------------------------------------------


def test_no_baseline() -> None:
    verdict = judge(measured(100.0), check("10%"), None, POLICY)
    assert verdict.outcome is Outcome.NO_BASELINE
    assert not verdict.failed
    assert verdict.baseline is None
    assert verdict.change is None
    assert verdict.noise_band is None
    assert verdict.current == pytest.approx(100.0)


def test_outcome_failed() -> None:
    assert {o for o in Outcome if o.failed} == {Outcome.REGRESSION, Outcome.OVER_LIMIT}


# -- deterministic metrics --------------------------------------------------------------------------------------


def test_deterministic_any_increase_is_a_regression_at_zero_threshold() -> None:
    verdict = judge(Measurement.exact("parameters", 100001, unit="count"), check("0%"), exact_baseline(100000), POLICY)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.noise_band is None


def test_deterministic_equal_passes() -> None:
    verdict = judge(Measurement.exact("parameters", 100000, unit="count"), check("0%"), exact_baseline(100000), POLICY)
    assert verdict.outcome is Outcome.PASS
    assert verdict.noise_band is None
    assert verdict.change == 0.0


def test_deterministic_decrease_is_an_improvement() -> None:
    verdict = judge(Measurement.exact("parameters", 99999, unit="count"), check("0%"), exact_baseline(100000), POLICY)
    assert verdict.outcome is Outcome.IMPROVEMENT


def test_deterministic_tiny_change_is_caught() -> None:
    # a noise band would swallow this; deterministic metrics are compared exactly
    baseline = exact_baseline(12.3456789, unit="MB")
    stored = BaselineEntry.from_dict(baseline.to_dict(), "x")
    verdict = judge(Measurement.exact("size", 12.3456790, unit="MB"), check("0%"), stored, POLICY)
    assert verdict.outcome is Outcome.REGRESSION


def test_deterministic_within_relative_threshold() -> None:
    baseline = exact_baseline(1000.0)
    assert judge(Measurement.exact("p", 1005, unit="count"), check("1%"), baseline, POLICY).outcome is Outcome.PASS
    assert judge(Measurement.exact("p", 1020, unit="count"), check("1%"), baseline, POLICY).outcome is Outcome.REGRESSION


def test_deterministic_higher_is_better() -> None:
    baseline = exact_baseline(0.9, unit="points", direction=HIGHER)
    lower = judge(Measurement.exact("acc", 0.89, unit="points", direction=HIGHER), check("0%"), baseline, POLICY)
    higher = judge(Measurement.exact("acc", 0.91, unit="points", direction=HIGHER), check("0%"), baseline, POLICY)
    assert lower.outcome is Outcome.REGRESSION
    assert higher.outcome is Outcome.IMPROVEMENT


def test_zero_baseline() -> None:
    baseline = exact_baseline(0.0)
    assert judge(Measurement.exact("p", 0, unit="count"), check("10%"), baseline, POLICY).outcome is Outcome.PASS
    verdict = judge(Measurement.exact("p", 1, unit="count"), check("10%"), baseline, POLICY)
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.change == math.inf
    assert verdict.describe_change() == "+inf%"


# -- the noise band ------------------------------------------------------------------------------------------------


def test_noise_band_grows_with_the_spread_between_runs() -> None:
    bands = []
    for spread in (0.0, 0.01, 0.03, 0.07, 0.15):
        runs = [100.0 * (1 + spread * k) for k in (-1.5, -0.5, 0.0, 0.5, 1.5)]
        verdict = judge(measured(100.0), check("10%"), baseline_from_runs(runs), POLICY)
        assert verdict.noise_band is not None
        bands.append(verdict.noise_band)
    assert all(a < b for a, b in itertools.pairwise(bands)), bands


def test_noise_band_grows_with_the_spread_within_this_run() -> None:
    baseline = baseline_from_runs(QUIET_RUNS)
    narrow = judge(measured(100.0, relative_width=0.001), check("10%"), baseline, POLICY).noise_band
    wide = judge(measured(100.0, relative_width=0.3), check("10%"), baseline, POLICY).noise_band
    assert narrow is not None and wide is not None
    assert wide > narrow


def test_noise_band_grows_with_confidence() -> None:
    baseline = baseline_from_runs(NOISY_RUNS)
    low = judge(measured(100.0), check("10%"), baseline, NoisePolicy(confidence=0.9)).noise_band
    high = judge(measured(100.0), check("10%"), baseline, NoisePolicy(confidence=0.999)).noise_band
    assert low is not None and high is not None
    assert high > low


def test_noise_band_pools_the_assumed_spread_with_the_runs() -> None:
    # NOISY_RUNS: mean 100, squared deviations 76.5625 + 20.25 + 0 + 20.25 + 76.5625 = 193.625,
    # variance 193.625 / 4 = 48.406: relative spread 0.069575 with 4 degrees of freedom.
    # Pooled with the assumed 5% as 6: s^2 = (6 * 0.0025 + 4 * 0.0048407) / 10 = 0.0034363, s = 0.058620.
    # t(0.99, 10) = 2.7638 (table); band = 2.7638 * 0.058620 * sqrt(1 + 1/5) = 0.17748.
    constant = Measurement.from_samples("latency", [103.0] * 10, unit="ms", direction=LOWER)
    verdict = judge(constant, check("10%"), baseline_from_runs(NOISY_RUNS), POLICY)
    assert verdict.noise_band == pytest.approx(0.17748, abs=2e-5)
    assert verdict.recorded_runs == 5


def test_two_recorded_runs_do_not_make_the_band_useless() -> None:
    # The README's recipe, --modelperf-update then one --modelperf-add-run: runs 100 and 120,
    # mean 110, sd 20 / sqrt(2) = 14.142, relative 0.128565 with 1 degree of freedom.
    # Before: t(0.99, 1) = 31.82 gave 31.82 * 0.1286 * sqrt(1.5) = ±501%.
    # Now: s^2 = (6 * 0.0025 + 1 * 0.016529) / 7 = 0.0045041, s = 0.067113;
    # at 0.99, t(7) = 2.9980: 2.9980 * 0.067113 * 1.224745 = 0.24643;
    # at 0.999, t(7) = 4.7853: 0.39334, so a real +61% slowdown fails.
    baseline = baseline_from_runs([100.0, 120.0])
    constant = Measurement.from_samples("latency", [110.0 * 1.61] * 10, unit="ms", direction=LOWER)
    at_99 = judge(constant, check("10%"), baseline, POLICY)
    at_999 = judge(constant, check("10%"), baseline, NoisePolicy(confidence=0.999))
    assert at_99.noise_band == pytest.approx(0.24643, abs=2e-5)
    assert at_999.noise_band == pytest.approx(0.39334, abs=2e-5)
    assert at_999.outcome is Outcome.REGRESSION


def _runs_with_relative_spread(count: int, relative: float) -> list[float]:
    """``count`` evenly spaced medians around 100 whose relative sample standard deviation is ``relative``."""
    if count == 1:
        return [100.0]
    offsets = [index - (count - 1) / 2 for index in range(count)]
    sd = math.sqrt(sum(offset**2 for offset in offsets) / (count - 1))
    return [100.0 + offset * relative * 100.0 / sd for offset in offsets]


@pytest.mark.parametrize("confidence", [0.99, 0.999])
def test_the_band_shrinks_as_runs_with_the_assumed_spread_accumulate(confidence: float) -> None:
    policy = NoisePolicy(confidence=confidence)
    bands = []
    for count in range(1, 11):
        constant = Measurement.from_samples("latency", [100.0] * 10, unit="ms", direction=LOWER)
        verdict = judge(constant, check("10%"), baseline_from_runs(_runs_with_relative_spread(count, 0.05)), policy)
        bands.append(verdict.noise_band)
    assert all(later < earlier for earlier, later in itertools.pairwise(bands)), bands
    # Hand-derived at 0.99 (table t): k=1: t(6) = 3.1427 * 0.05 * sqrt(2) = 0.22222;
    # k=2: t(7) = 2.9980 * 0.05 * sqrt(1.5) = 0.18359; k=10: t(15) = 2.6025 * 0.05 * sqrt(1.1) = 0.13648.
    # At 0.999: t(6) = 5.2076 -> 0.36823; t(7) = 4.7853 -> 0.29304; t(15) = 3.7328 -> 0.19575.
    expected = {0.99: (0.22222, 0.18359, 0.13648), 0.999: (0.36823, 0.29304, 0.19575)}[confidence]
    assert (bands[0], bands[1], bands[9]) == pytest.approx(expected, abs=3e-5)


def test_a_wide_band_says_how_many_more_runs_would_narrow_it() -> None:
    # Runs 100 and 120: band 0.24643 (above). With m more runs teaching the same s = 0.067113,
    # at 10 runs: t(0.99, 15) * 0.067113 * sqrt(1.1) = 2.6025 * 0.070389 = 0.1832, still above 10%,
    # so the note names the most runs a baseline keeps (8 more).
    constant = Measurement.from_samples("latency", [110.0] * 10, unit="ms", direction=LOWER)
    verdict = judge(constant, check("10%"), baseline_from_runs([100.0, 120.0]), POLICY)
    assert "band ±25% from 2 recorded runs; 8 more would bring it near ±18%" in verdict.detail
    assert "warning" not in verdict.detail  # 2.5 times the threshold, not more than 3
    assert verdict.describe_threshold() == "+10%, noise ±24.6% (2 recorded runs)"


def test_a_band_several_times_the_threshold_is_flagged() -> None:
    constant = Measurement.from_samples("latency", [110.0] * 10, unit="ms", direction=LOWER)
    verdict = judge(constant, check("5%"), baseline_from_runs([100.0, 120.0]), POLICY)
    assert "warning: the noise band is 5x the threshold, so only a change beyond ±25% can fail" in verdict.detail


def test_a_narrow_band_adds_no_note() -> None:
    constant = Measurement.from_samples("latency", [100.0] * 10, unit="ms", direction=LOWER)
    verdict = judge(constant, check("25%"), baseline_from_runs(QUIET_RUNS), POLICY)
    assert verdict.detail == ""


def test_one_odd_recorded_run_does_not_widen_the_band() -> None:
    five = [100.0, 102.0, 98.0, 101.0, 99.0]
    constant = Measurement.from_samples("latency", [100.0] * 10, unit="ms", direction=LOWER)
    with_odd = judge(constant, check("10%"), baseline_from_runs([*five, 160.0]), POLICY)
    without = judge(constant, check("10%"), baseline_from_runs(five), POLICY)
    assert with_odd.noise_band == pytest.approx(without.noise_band, rel=1e-12)
    assert with_odd.baseline == pytest.approx(100.0)
    assert "1 odd recorded run set aside" in with_odd.detail


def test_noise_band_uses_assumed_spread_below_two_runs() -> None:
    constant = Measurement.from_samples("latency", [100.0] * 10, unit="ms", direction=LOWER)
    baseline = BaselineEntry.from_measurement(constant, environment="env", recorded="d")
    # t(0.99, 6) * sqrt(2) = 3.1427 * 1.41421 = 4.44443 (table t), times the assumed spread
    for assumed, expected in ((0.02, 0.088889), (0.2, 0.88889)):
        verdict = judge(constant, check("10%"), baseline, NoisePolicy(assumed_spread=assumed))
        assert verdict.noise_band == pytest.approx(expected, rel=1e-4)


def test_noise_band_for_baseline_without_recorded_runs() -> None:
    baseline = BaselineEntry(unit="ms", direction=LOWER, deterministic=False, statistic="median", summary={"median": 100.0})
    constant = Measurement.from_samples("latency", [100.0] * 10, unit="ms", direction=LOWER)
    verdict = judge(constant, check("10%"), baseline, NoisePolicy(assumed_spread=0.05))
    assert verdict.noise_band == pytest.approx(0.22222, rel=1e-4)  # 3.1427 * 1.41421 * 0.05


def test_noise_band_disabled() -> None:
    verdict = judge(measured(100.0), check("10%"), baseline_from_runs(NOISY_RUNS), NO_NOISE)
    assert verdict.noise_band is None
    assert verdict.outcome is Outcome.PASS


def test_single_value_measurement_against_sampled_baseline() -> None:
    """A single value is judged against a sampled baseline's centre by the threshold alone."""
    baseline = baseline_from_runs(NOISY_RUNS)
    same = judge(Measurement.exact("latency", 100.0, unit="ms"), check("10%"), baseline, POLICY)
    assert same.outcome is Outcome.PASS
    assert same.baseline == pytest.approx(100.0)
    assert same.noise_band is None  # a deterministic measurement has no noise band
    slower = judge(Measurement.exact("latency", 115.0, unit="ms"), check("10%"), baseline, POLICY)
    assert slower.outcome is Outcome.REGRESSION and slower.change == pytest.approx(0.15)


def test_noise_policy_validation() -> None:
    with pytest.raises(ValueError):
        NoisePolicy(confidence=1.0)
    with pytest.raises(ValueError):
        NoisePolicy(confidence=0.5)
    with pytest.raises(ValueError, match="assumed_spread"):
        NoisePolicy(assumed_spread=-0.01)
    assert NoisePolicy(assumed_spread=0.0).assumed_spread == 0.0


def test_verdict_is_reproducible() -> None:
    baseline = baseline_from_runs(NOISY_RUNS)
    measurement = measured(103.0, relative_width=0.1)
    first = judge(measurement, check("10%"), baseline, POLICY)
    second = judge(measurement, check("10%"), baseline, POLICY)
    assert first == second


# -- statistics other than the measurement's own ------------------------------------------------------------------


def test_check_of_another_statistic() -> None:
    baseline = baseline_from_runs(QUIET_RUNS)
    measurement = measured(100.0, relative_width=0.5)  # same median, much wider tail
    median = judge(measurement, check("10%", statistic="median"), baseline, NO_NOISE)
    p99 = judge(measurement, check("10%", statistic="p99"), baseline, NO_NOISE)
    assert median.outcome is Outcome.PASS
    assert p99.outcome is Outcome.REGRESSION
    assert p99.current == pytest.approx(stats.percentile(measurement.samples, 99))
    assert p99.baseline == pytest.approx(baseline.center("p99"))


def test_statistic_the_baseline_lacks() -> None:
    with pytest.raises(ComparisonError, match="'p75'"):
        judge(measured(100.0), check("10%", statistic="p75"), baseline_from_runs(QUIET_RUNS), POLICY)


def test_direction_mismatch() -> None:
    baseline = baseline_from_runs(QUIET_RUNS, direction=HIGHER)
    with pytest.raises(ComparisonError, match="higher_is_better"):
        judge(measured(100.0), check("10%"), baseline, POLICY)


def test_comparison_error_is_a_value_error() -> None:
    assert issubclass(ComparisonError, ValueError)


# -- units ---------------------------------------------------------------------------------------------------------


def test_baseline_in_seconds_measurement_in_milliseconds() -> None:
    baseline = baseline_from_runs([m / 1000.0 for m in QUIET_RUNS], unit="s")
    ok = judge(measured(105.0), check("10%"), baseline, POLICY)
    assert ok.outcome is Outcome.PASS
    assert ok.baseline == pytest.approx(100.0)
    assert ok.change == pytest.approx(0.05)
    bad = judge(measured(140.0), check("10%"), baseline, POLICY)
    assert bad.outcome is Outcome.REGRESSION
    assert bad.baseline == pytest.approx(100.0)


def test_baseline_in_megabytes_measurement_in_mebibytes() -> None:
    baseline = exact_baseline(100.0, unit="MB")
    measurement = Measurement.exact("peak", 100.0 / 1.048576, unit="MiB")
    verdict = judge(measurement, check("0.001%"), baseline, POLICY)
    assert verdict.baseline == pytest.approx(100.0 / 1.048576)
    assert verdict.outcome is Outcome.PASS


def test_baseline_in_an_incompatible_unit() -> None:
    baseline = baseline_from_runs(QUIET_RUNS, unit="MB")
    with pytest.raises(ComparisonError, match="'MB'"):
        judge(measured(100.0), check("10%"), baseline, POLICY)


# -- Verdict ---------------------------------------------------------------------------------------------------------


def verdict(
    current: float,
    baseline: float | None,
    *,
    direction: Direction = LOWER,
    threshold: str | None = "10%",
    limit: str | None = None,
    noise_band: float | None = None,
    unit: str = "ms",
) -> Verdict:
    measurement = Measurement.from_samples("latency", [current], unit=unit, direction=direction)
    return Verdict(measurement, check(threshold, limit), Outcome.PASS, current, baseline, noise_band)


@pytest.mark.parametrize(
    ("current", "baseline", "change", "text"),
    [
        (112.0, 100.0, 0.12, "+12.0%"),
        (50.0, 100.0, -0.5, "-50.0%"),
        (100.0, 100.0, 0.0, "+0.0%"),
        (-5.0, -10.0, 0.5, "+50.0%"),
        (0.0, 0.0, 0.0, "+0.0%"),
        (5.0, 0.0, math.inf, "+inf%"),
        (-5.0, 0.0, -math.inf, "-inf%"),
    ],
)
def test_verdict_change(current: float, baseline: float, change: float, text: str) -> None:
    v = verdict(current, baseline)
    assert v.change == pytest.approx(change)
    assert v.describe_change() == text


def test_verdict_change_without_baseline() -> None:
    v = verdict(100.0, None)
    assert v.change is None
    assert v.describe_change() == "-"


def test_describe_threshold_lower_is_better() -> None:
    v = verdict(100.0, 100.0, limit="50ms", noise_band=0.1234)
    assert v.describe_threshold() == "+10%, noise ±12.3%, limit ≤ 50ms"


def test_describe_threshold_higher_is_better() -> None:
    v = verdict(100.0, 100.0, direction=HIGHER, threshold="5%", limit="80samples/s", unit="samples/s")
    assert v.describe_threshold() == "-5%, limit ≥ 80 samples/s"


def test_describe_threshold_absolute_and_empty() -> None:
    assert verdict(100.0, 100.0, threshold="5ms").describe_threshold() == "+5ms"
    assert verdict(100.0, None, threshold=None).describe_threshold() == "-"


def test_describe_threshold_of_judged_verdicts() -> None:
    sampled = judge(measured(100.0), check("10%"), baseline_from_runs(NOISY_RUNS), POLICY)
    assert sampled.describe_threshold().startswith("+10%, noise ±")
    exact = judge(Measurement.exact("p", 5, unit="count"), check("0%"), exact_baseline(5), POLICY)
    assert exact.describe_threshold() == "+0%"


def test_describe_value_and_metric() -> None:
    v = judge(measured(12.345), check("10%"), None, POLICY)
    assert v.describe_value(12.345) == "12.3 ms"
    assert v.describe_value(None) == "-"
    assert v.metric == "latency (median)"
    p90 = judge(measured(12.345), check("10%", statistic="p90"), None, POLICY)
    assert p90.metric == "latency (p90)"
    exact = judge(Measurement.exact("parameters", 5, unit="count"), check("0%"), None, POLICY)
    assert exact.metric == "parameters"


def test_check_holds_quantities() -> None:
    c = check("10%", limit="5ms")
    assert c.threshold == Quantity(10.0, "%")
    assert c.limit == Quantity(5.0, "ms")


def test_single_value_non_deterministic_measurement() -> None:
    previous = None
    for seconds in (2.0, 2.1, 1.9):
        previous = BaselineEntry.from_measurement(
            Measurement("load_time", "s", LOWER, seconds), environment="env", recorded="d", previous=previous
        )
    assert previous is not None
    ok = judge(Measurement("load_time", "s", LOWER, 2.1), check("10%"), previous, POLICY)
    assert ok.outcome is Outcome.PASS
    assert ok.baseline == pytest.approx(2.0)
    # between-run spread 5% over 3 runs (2 degrees of freedom), pooled with the assumed 5% (6):
    # still 5% with 8; t(0.99, 8) = 2.8965 (table) * 0.05 * sqrt(1 + 1/3) = 0.16723
    assert ok.noise_band == pytest.approx(0.16723, abs=2e-5)
    bad = judge(Measurement("load_time", "s", LOWER, 3.0), check("10%"), previous, POLICY)
    assert bad.outcome is Outcome.REGRESSION


def test_deterministic_measurement_has_no_noise_band_even_against_a_sampled_baseline() -> None:
    previous = None
    for seconds in (2.0, 2.4, 1.6):  # 20% spread between runs: a band would swallow a 5% change
        previous = BaselineEntry.from_measurement(
            Measurement("load_time", "s", LOWER, seconds), environment="env", recorded="d", previous=previous
        )
    assert previous is not None and not previous.deterministic
    verdict = judge(Measurement.exact("load_time", 2.1, unit="s"), check("0%"), previous, POLICY)
    assert verdict.noise_band is None
    assert verdict.outcome is Outcome.REGRESSION
