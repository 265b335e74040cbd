"""Trends over saved runs: each run's median of a check, in the check's unit (times below a
second in ms), only for checks that at least two runs measured; and the HTML section of them."""

from __future__ import annotations

import dataclasses
import math

import pytest

from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.render.trend import (
    TREND_RUNS,
    display_unit,
    history_run,
    median_of,
    smoke_notice,
    trend_of,
    trends_of,
    trends_section,
)

KEY = EntryKey("cpu-a", "tests/test_perf.py", "test_latency", "latency")
OTHER = EntryKey("cpu-a", "tests/test_perf.py", "test_latency", "memory")


def sampled(samples: list[float], unit: str = "ms", statistic: str = "median") -> Measurement:
    return Measurement.from_samples("latency", samples, unit=unit, direction=Direction.LOWER_IS_BETTER, statistic=statistic)


def runs_of(*measurements: Measurement | None, key: EntryKey = KEY):
    """Runs 0001, 0002, ... each with the measurement of ``key`` given for it (None: it did not measure it)."""
    return [history_run(f"{i + 1:04d}_nocommit", [(key, m)] if m is not None else []) for i, m in enumerate(measurements)]


def test_a_trend_is_each_run_s_median_labelled_by_run_id():
    runs = runs_of(sampled([1, 2, 9]), None, sampled([4, 5, 6], statistic="p90"))
    trend = trend_of(KEY, runs)
    assert trend is not None and trend.unit == "ms"
    assert [(p.run, p.value) for p in trend.points] == [("0001_nocommit", 2), ("0003_nocommit", 5)]
    assert trend.title == "tests/test_perf.py::test_latency" and trend.axis_label == "latency (ms)"


def test_a_check_measured_by_fewer_than_two_runs_has_no_trend():
    assert trend_of(KEY, runs_of(sampled([1.0]), None)) is None
    assert trend_of(OTHER, runs_of(sampled([1.0]), sampled([2.0]))) is None


def test_small_times_are_drawn_in_ms_and_long_ones_in_seconds():
    assert [p.value for p in trend_of(KEY, runs_of(sampled([0.012], "s"), sampled([0.5], "s"))).points] == [12, 500]
    assert trend_of(KEY, runs_of(sampled([0.012], "s"), sampled([0.5], "s"))).unit == "ms"
    assert trend_of(KEY, runs_of(sampled([1500.0]), sampled([900.0]))).unit == "s"
    assert display_unit("MB", [0.1]) == "MB" and display_unit("samples/s", [0.5]) == "samples/s"


def test_a_run_in_another_unit_is_converted_and_one_of_another_kind_left_out():
    runs = runs_of(sampled([10.0]), sampled([0.02], "s"), sampled([64.0], "MB"))
    assert [p.value for p in trend_of(KEY, runs).points] == pytest.approx([10, 20])


def test_exact_values_and_unavailable_measurements():
    assert median_of(Measurement.exact("latency", 42.0, unit="count")) == 42.0
    assert median_of(dataclasses.replace(sampled([1.0]), unavailable="out of memory")) is None
    assert median_of(sampled([math.inf])) is None


def test_trends_follow_the_order_of_the_keys_once_each_and_show_the_last_runs():
    many = runs_of(*(sampled([float(i)]) for i in range(TREND_RUNS + 5)))
    other = [history_run(f"o{i}", [(OTHER, sampled([1.0], "MB"))]) for i in range(2)]
    trends = trends_of([OTHER, KEY, OTHER], many + other)
    assert [trend.key for trend in trends] == [OTHER, KEY]
    assert len(trends[1].points) == TREND_RUNS and trends[1].points[0].value == 5


def test_the_section_shows_a_figure_per_trend_and_escapes_names():
    key = EntryKey("cpu-a", "t.py", "test_<b>", "latency")
    trend = trend_of(key, runs_of(sampled([1.0]), sampled([2.0]), key=key))
    section = str(trends_section([trend], 2))
    assert section.count("<svg") == 1 and "test_&lt;b&gt;" in section and "test_<b>" not in section
    assert "0002_nocommit" in section  # the x axis names the runs
    assert str(trends_section([], 0)) == ""
    assert "run not shown: broken.json: bad" in str(trends_section([], 0, ["broken.json: bad"]))


def test_a_smoke_notice_is_escaped():
    assert str(smoke_notice("a <b>")) == "<section id='smoke'><p class='headline'><strong>a &lt;b&gt;</strong></p></section>\n"
