"""Unit tests for pytest_modelperf.core.stats: percentiles, named statistics, bootstrap, z and t."""

from __future__ import annotations

import itertools
import math
import random
import subprocess
import sys

import numpy as np
import pytest

from pytest_modelperf.core.stats import (
    QUANTILE_LEVELS,
    SUMMARY_STATISTICS,
    Spread,
    bootstrap_relative_std,
    is_known_statistic,
    one_sided_t,
    one_sided_z,
    percentile,
    prediction_band,
    quantile_sketch,
    run_spread,
    statistic,
    summarize,
    typical_values,
)

SAMPLE = [7.0, 1.0, 4.0, 10.0, 2.0]  # sorted: 1, 2, 4, 7, 10


# -- percentile ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0, 1.0),
        (100, 10.0),
        (50, 4.0),
        (25, 2.0),
        (75, 7.0),
        (10, 1.4),  # position 0.4 between 1 and 2
        (90, 8.8),  # position 3.6 between 7 and 10
        (37.5, 3.0),  # position 1.5 between 2 and 4
        (99, 9.88),  # position 3.96
    ],
)
def test_percentile_interpolates_linearly(q: float, expected: float) -> None:
    assert percentile(SAMPLE, q) == pytest.approx(expected, rel=1e-12)


def test_percentile_even_count_median_is_mean_of_middle_pair() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)


def test_percentile_single_sample() -> None:
    for q in (0, 13, 50, 100):
        assert percentile([3.5], q) == 3.5


def test_percentile_does_not_reorder_its_input() -> None:
    data = [3.0, 1.0, 2.0]
    percentile(data, 50)
    assert data == [3.0, 1.0, 2.0]


def test_percentile_matches_numpy_linear_method() -> None:
    rng = random.Random(1234)
    for n in (1, 2, 3, 7, 20, 101):
        data = [rng.lognormvariate(0.0, 0.5) for _ in range(n)]
        for q in (0, 1, 5, 12.5, 25, 50, 66.6, 75, 90, 95, 99, 99.9, 100):
            expected = float(np.percentile(data, q))  # numpy's default method is "linear"
            assert percentile(data, q) == pytest.approx(expected, rel=1e-12, abs=1e-15), (n, q)


@pytest.mark.parametrize("q", [-0.1, 100.1, 150, -50])
def test_percentile_level_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile(SAMPLE, q)


def test_percentile_of_empty_sample() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


# -- statistic -----------------------------------------------------------------------------------


def test_statistic_basic_names() -> None:
    assert statistic(SAMPLE, "mean") == pytest.approx(4.8)
    assert statistic(SAMPLE, "min") == 1.0
    assert statistic(SAMPLE, "max") == 10.0
    assert statistic(SAMPLE, "median") == 4.0
    assert statistic(SAMPLE, "iqr") == pytest.approx(7.0 - 2.0)


def test_statistic_std_is_sample_std() -> None:
    # deviations from 4.8: -3.8, -2.8, -0.8, 2.2, 5.2 -> squares sum 54.8, / (n-1) = 13.7
    assert statistic(SAMPLE, "std") == pytest.approx(math.sqrt(13.7), rel=1e-12)
    assert statistic(SAMPLE, "std") == pytest.approx(float(np.std(SAMPLE, ddof=1)), rel=1e-12)


def test_statistic_std_of_one_sample_is_zero() -> None:
    assert statistic([42.0], "std") == 0.0


def test_statistic_std_of_constant_sample_is_zero() -> None:
    assert statistic([3.0] * 8, "std") == 0.0


@pytest.mark.parametrize(
    ("name", "q"),
    [("p90", 90), ("p95", 95), ("p99", 99), ("p50", 50), ("p0", 0), ("p100", 100), ("p99.9", 99.9), ("p12.5", 12.5)],
)
def test_statistic_percentile_names(name: str, q: float) -> None:
    assert statistic(SAMPLE, name) == pytest.approx(percentile(SAMPLE, q))


def test_statistic_p90_value() -> None:
    assert statistic(SAMPLE, "p90") == pytest.approx(8.8)


@pytest.mark.parametrize("name", ["average", "p", "pXX", "p9.9.9", "P90", "median ", "", "q90"])
def test_statistic_unknown_name(name: str) -> None:
    with pytest.raises(ValueError, match="unknown statistic"):
        statistic(SAMPLE, name)


def test_statistic_percentile_name_out_of_range() -> None:
    with pytest.raises(ValueError):
        statistic(SAMPLE, "p150")


@pytest.mark.parametrize("name", ["mean", "std", "median", "p90"])
def test_statistic_of_empty_sample(name: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        statistic([], name)


@pytest.mark.parametrize("name", [*SUMMARY_STATISTICS, "p0", "p50", "p99.9", "p100"])
def test_is_known_statistic_true(name: str) -> None:
    assert is_known_statistic(name)


@pytest.mark.parametrize("name", ["value", "average", "p", "p101", "p-1", "pXX", "P50", ""])
def test_is_known_statistic_false(name: str) -> None:
    assert not is_known_statistic(name)


# -- summarize and quantile_sketch -----------------------------------------------------------------


def test_summarize_keys_and_values() -> None:
    summary = summarize(SAMPLE)
    assert set(summary) == {"mean", "std", "min", "max", "median", "p90", "p95", "p99", "iqr", "rounds"}
    assert summary["rounds"] == 5.0
    for name in SUMMARY_STATISTICS:
        assert summary[name] == pytest.approx(statistic(SAMPLE, name))
    assert summary["median"] == 4.0
    assert summary["p95"] == pytest.approx(9.4)


def test_summarize_single_sample() -> None:
    summary = summarize([2.0])
    assert summary["std"] == 0.0
    assert summary["iqr"] == 0.0
    assert summary["rounds"] == 1.0
    assert summary["p99"] == 2.0


def test_summary_statistics_are_all_known() -> None:
    assert all(is_known_statistic(name) for name in SUMMARY_STATISTICS)


def test_quantile_levels() -> None:
    assert len(QUANTILE_LEVELS) == 21
    assert QUANTILE_LEVELS[0] == 0.0
    assert QUANTILE_LEVELS[-1] == 1.0
    assert QUANTILE_LEVELS[10] == 0.5


def test_quantile_sketch_length_ends_and_monotone() -> None:
    rng = random.Random(7)
    data = [rng.expovariate(1.0) for _ in range(57)]
    sketch = quantile_sketch(data)
    assert len(sketch) == 21
    assert sketch[0] == min(data)
    assert sketch[-1] == max(data)
    assert sketch[10] == pytest.approx(statistic(data, "median"))
    assert all(a <= b for a, b in itertools.pairwise(sketch))
    for level, value in zip(QUANTILE_LEVELS, sketch, strict=True):
        assert value == pytest.approx(percentile(data, level * 100))


def test_quantile_sketch_of_three_values_is_linear() -> None:
    sketch = quantile_sketch([3.0, 1.0, 2.0])
    assert sketch == pytest.approx([1.0 + i * 0.1 for i in range(21)])


def test_quantile_sketch_of_one_value() -> None:
    assert quantile_sketch([5.0]) == [5.0] * 21


# -- bootstrap_relative_std --------------------------------------------------------------------------


def _spread_samples(center: float, relative_width: float, n: int = 30) -> list[float]:
    rng = random.Random(99)
    return [center * (1 + relative_width * rng.uniform(-1.0, 1.0)) for _ in range(n)]


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    data = _spread_samples(10.0, 0.2)
    first = bootstrap_relative_std(data, "median", seed=3)
    assert first == bootstrap_relative_std(data, "median", seed=3)
    assert first == bootstrap_relative_std(list(data), "median", seed=3, resamples=400)
    assert first > 0


def test_bootstrap_default_seed_is_fixed() -> None:
    data = _spread_samples(10.0, 0.2)
    assert bootstrap_relative_std(data, "median") == bootstrap_relative_std(data, "median", seed=0)


def test_bootstrap_seed_changes_the_estimate_a_little() -> None:
    data = _spread_samples(10.0, 0.2)
    a = bootstrap_relative_std(data, "median", seed=1)
    b = bootstrap_relative_std(data, "median", seed=2)
    assert a != b
    assert a == pytest.approx(b, rel=0.5)


def test_bootstrap_does_not_touch_global_random_state() -> None:
    data = _spread_samples(10.0, 0.2)
    random.seed(5)
    expected = random.random()
    random.seed(5)
    bootstrap_relative_std(data, "median")
    assert random.random() == expected


@pytest.mark.parametrize("name", ["median", "mean", "p90", "min"])
def test_bootstrap_of_constant_samples_is_zero(name: str) -> None:
    assert bootstrap_relative_std([4.2] * 25, name) == pytest.approx(0.0, abs=1e-12)


def test_bootstrap_grows_with_the_width_of_the_sample() -> None:
    narrow = bootstrap_relative_std(_spread_samples(100.0, 0.01), "median")
    wide = bootstrap_relative_std(_spread_samples(100.0, 0.20), "median")
    assert 0 < narrow < wide
    assert wide > 5 * narrow  # the same shape, 20 times as wide


def test_bootstrap_is_relative_to_the_statistic() -> None:
    data = _spread_samples(1.0, 0.1)
    scaled = [1000.0 * x for x in data]
    assert bootstrap_relative_std(data, "mean") == pytest.approx(bootstrap_relative_std(scaled, "mean"), rel=1e-9)


def test_bootstrap_of_the_mean_is_near_the_standard_error() -> None:
    data = _spread_samples(100.0, 0.1, n=200)
    expected = statistic(data, "std") / math.sqrt(len(data)) / statistic(data, "mean")
    assert bootstrap_relative_std(data, "mean", resamples=2000) == pytest.approx(expected, rel=0.15)


def test_bootstrap_below_two_samples_is_zero() -> None:
    assert bootstrap_relative_std([5.0], "median") == 0.0
    assert bootstrap_relative_std([], "median") == 0.0


def test_bootstrap_of_zero_statistic_is_zero() -> None:
    assert bootstrap_relative_std([0.0, 0.0, 0.0, 1.0], "median") == 0.0


# -- run spreads: odd runs set aside, pooled with the assumed spread ------------------------------


def test_run_spread_of_two_runs_keeps_both() -> None:
    # mean 10; deviations ±1, so the sample variance is (1 + 1) / 1 = 2: sd sqrt(2), relative sqrt(2)/10
    result = run_spread([9.0, 11.0])
    assert result is not None and result.spread is not None
    assert result.center == pytest.approx(10.0)
    assert result.spread.relative == pytest.approx(0.1414214, abs=1e-7)
    assert result.spread.degrees_of_freedom == 1
    assert result.odd_runs == 0


def test_run_spread_of_one_run_has_no_spread() -> None:
    result = run_spread([5.0])
    assert result is not None and result.center == 5.0 and result.spread is None
    assert run_spread([]) is None


def test_run_spread_is_relative_to_the_mean_of_typical_runs() -> None:
    # median 100, absolute deviations 10, 0, 10: MAD 10, robust sd 14.8, so nothing is odd;
    # deviations from the mean 100 are -10, 0, 10: variance 200 / 2 = 100, sd 10, relative 0.1
    result = run_spread([90.0, 100.0, 110.0])
    assert result is not None and result.spread is not None
    assert result.spread.relative == pytest.approx(0.1)
    assert result.spread.degrees_of_freedom == 2


def test_one_odd_run_of_six_does_not_dominate_the_spread() -> None:
    five = [100.0, 102.0, 98.0, 101.0, 99.0]
    # The five alone: mean 100, squared deviations 0 + 4 + 4 + 1 + 1 = 10, variance 10 / 4: sd 1.581.
    # With 160: median 100.5, absolute deviations 0.5 1.5 2.5 0.5 1.5 59.5, MAD 1.5, robust sd
    # 1.4826 * 1.5 = 2.22; 160 is 59.5 away, beyond 3.5 * 2.22 = 7.8, so it is set aside.
    # (The plain sample sd of all six is 24.5 around 110, relative 0.223: 14 times too wide.)
    for floor in (0.0, 0.05):  # the assumed 5% floor makes the cutoff 3.5 * 5.0 = 17.6: still odd
        result = run_spread([*five, 160.0], floor=floor)
        assert result is not None and result.spread is not None
        assert result.odd_runs == 1
        assert result.center == pytest.approx(100.0)
        assert result.spread.relative == pytest.approx(0.0158114, abs=1e-7)
        assert result.spread.degrees_of_freedom == 4


def test_the_floor_keeps_three_close_runs_together() -> None:
    # median 101, deviations 1, 0, 9: MAD 1, robust sd 1.48, cutoff 5.2: 110 would be odd by
    # chance alone; with the assumed 5% the robust sd is at least 5.05, cutoff 17.7: kept.
    assert typical_values([100.0, 101.0, 110.0]) == [100.0, 101.0]
    assert typical_values([100.0, 101.0, 110.0], floor=0.05) == [100.0, 101.0, 110.0]


def test_equal_runs_have_no_spread() -> None:
    result = run_spread([3.0, 3.0, 3.0])
    assert result is not None and result.spread == Spread(0.0, 2)


def test_pooled_spread_weights_variances_by_degrees_of_freedom() -> None:
    # (8 * 0.05^2 + 1 * 0.2^2) / 9 = (0.02 + 0.04) / 9 = 0.0066667: sd 0.0816497
    pooled = Spread(0.05, 8).pooled_with(Spread(0.2, 1), None)
    assert pooled.relative == pytest.approx(0.0816497, abs=1e-7)
    assert pooled.degrees_of_freedom == 9
    assert Spread(0.05, 8).pooled_with() == Spread(0.05, 8)


def test_a_spread_needs_a_degree_of_freedom_and_a_finite_value() -> None:
    with pytest.raises(ValueError, match="degree"):
        Spread(0.1, 0)
    with pytest.raises(ValueError, match="finite"):
        Spread(math.inf, 3)


@pytest.mark.parametrize(
    ("confidence", "spread", "runs", "within", "expected"),
    [
        # t(0.99, 8) = 2.8965 from a table; sqrt(1 + 1/1) = 1.41421: 2.8965 * 0.05 * 1.41421 = 0.20481
        (0.99, Spread(0.05, 8), 1, 0.0, 0.20481),
        # t(0.999, 8) = 4.5008: 4.5008 * 0.05 * 1.41421 = 0.31826
        (0.999, Spread(0.05, 8), 1, 0.0, 0.31826),
        # t(0.99, 17) = 2.5669, sqrt(0.05^2 * 1.1 + 0.02^2) = sqrt(0.00275 + 0.0004) = 0.056125: 0.14407
        (0.99, Spread(0.05, 17), 10, 0.02, 0.14407),
    ],
)
def test_prediction_band_against_table_values(confidence, spread, runs, within, expected) -> None:
    assert prediction_band(confidence, spread, runs, within) == pytest.approx(expected, abs=2e-5)


def test_prediction_band_needs_a_recorded_run() -> None:
    with pytest.raises(ValueError, match="recorded run"):
        prediction_band(0.99, Spread(0.05, 8), 0)


# -- one_sided_z ------------------------------------------------------------------------------------


def test_one_sided_z_values() -> None:
    assert one_sided_z(0.99) == pytest.approx(2.326348, abs=1e-5)
    assert one_sided_z(0.95) == pytest.approx(1.644854, abs=1e-5)
    assert one_sided_z(0.975) == pytest.approx(1.959964, abs=1e-5)
    assert one_sided_z(0.999) > one_sided_z(0.99) > one_sided_z(0.9)


@pytest.mark.parametrize("confidence", [0.5, 1.0, 0.0, 0.3, 1.5, -0.99, 99])
def test_one_sided_z_range(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        one_sided_z(confidence)


# -- one_sided_t -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "dof", "expected"),
    [(0.99, 6, 3.142668), (0.975, 1, 12.706205), (0.95, 10, 1.812461), (0.999, 9, 4.296806), (0.99, 2, 6.964557)],
)
def test_one_sided_t_matches_published_tables(confidence: float, dof: int, expected: float) -> None:
    assert one_sided_t(confidence, dof) == pytest.approx(expected, abs=1e-5)


def test_one_sided_t_tends_to_the_normal_quantile() -> None:
    assert one_sided_t(0.99, 100_000) == pytest.approx(one_sided_z(0.99), abs=1e-4)
    assert one_sided_t(0.99, 3) > one_sided_t(0.99, 9) > one_sided_z(0.99)


# Three-decimal values as printed in textbook t tables (one-sided upper-tail areas 0.10 ... 0.005).
@pytest.mark.parametrize(
    ("confidence", "dof", "expected"),
    [(0.95, 1, 6.314), (0.90, 5, 1.476), (0.975, 20, 2.086), (0.995, 30, 2.750), (0.99, 60, 2.390), (0.95, 120, 1.658)],
)
def test_one_sided_t_matches_three_decimal_tables(confidence: float, dof: int, expected: float) -> None:
    assert one_sided_t(confidence, dof) == pytest.approx(expected, abs=5e-4)


@pytest.mark.parametrize("confidence", [0.6, 0.9, 0.95, 0.99, 0.999])
def test_one_sided_t_matches_the_closed_forms_for_one_and_two_degrees_of_freedom(confidence: float) -> None:
    # One degree of freedom is the Cauchy distribution: F(t) = 1/2 + atan(t)/pi.
    assert one_sided_t(confidence, 1) == pytest.approx(math.tan(math.pi * (confidence - 0.5)), rel=1e-9)
    # Two: F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so t = (2p - 1) / sqrt(2 p (1 - p)).
    closed = (2 * confidence - 1) / math.sqrt(2 * confidence * (1 - confidence))
    assert one_sided_t(confidence, 2) == pytest.approx(closed, rel=1e-9)


@pytest.mark.parametrize("confidence", [0.5, 1.0, 1.5])
def test_one_sided_t_refuses_a_confidence_out_of_range(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        one_sided_t(confidence, 5)


def test_importing_the_statistics_leaves_scipy_unloaded() -> None:
    code = "import sys, pytest_modelperf.core.stats; print('scipy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_one_sided_t_needs_a_degree_of_freedom() -> None:
    with pytest.raises(ValueError, match="degrees_of_freedom"):
        one_sided_t(0.99, 0)
