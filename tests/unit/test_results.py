"""Unit tests for pytest_modelperf.core.measurement and core.baseline_entry: directions, measurements
and baseline entries."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from pytest_modelperf.core import stats
from pytest_modelperf.core.baseline_entry import MAX_RECORDED_RUNS, BaselineEntry
from pytest_modelperf.core.file_format import FormatError
from pytest_modelperf.core.measurement import Direction, Measurement

LOWER = Direction.LOWER_IS_BETTER
HIGHER = Direction.HIGHER_IS_BETTER


def latency(samples: list[float], *, unit: str = "ms", statistic: str = "median") -> Measurement:
    return Measurement.from_samples("latency", samples, unit=unit, direction=LOWER, statistic=statistic)


def entry_from_runs(medians: list[float], *, unit: str = "ms") -> BaselineEntry:
    entry = None
    for index, median in enumerate(medians):
        entry = BaselineEntry.from_measurement(
            latency([median - 1.0, median, median + 1.0], unit=unit),
            environment="env",
            recorded=f"2024-01-{index + 1:02d}",
            previous=entry,
        )
    assert entry is not None
    return entry


# -- Direction ---------------------------------------------------------------------------------


def test_direction_values() -> None:
    assert Direction("lower_is_better") is LOWER
    assert Direction("higher_is_better") is HIGHER
    assert LOWER.value == "lower_is_better"


# -- Measurement ---------------------------------------------------------------------------------


def test_from_samples() -> None:
    measurement = Measurement.from_samples(
        "latency", [3, 1, 2, 10], unit="ms", direction=LOWER, context={"device": "cpu"}, notes=["warm"]
    )
    assert measurement.value == pytest.approx(2.5)
    assert measurement.statistic == "median"
    assert measurement.samples == (3.0, 1.0, 2.0, 10.0)
    assert all(isinstance(s, float) for s in measurement.samples)
    assert not measurement.deterministic
    assert measurement.context == {"device": "cpu"}
    assert measurement.notes == ("warm",)


def test_from_samples_with_other_statistic() -> None:
    samples = [float(i) for i in range(1, 11)]
    measurement = Measurement.from_samples("lat", samples, unit="ms", direction=LOWER, statistic="p90")
    assert measurement.value == pytest.approx(stats.percentile(samples, 90))
    assert measurement.statistic == "p90"


def test_from_samples_copies_context() -> None:
    context = {"device": "cpu"}
    measurement = Measurement.from_samples("lat", [1.0], unit="ms", direction=LOWER, context=context)
    context["device"] = "cuda"
    assert measurement.context == {"device": "cpu"}


def test_from_samples_needs_samples() -> None:
    with pytest.raises(ValueError, match="'latency'"):
        Measurement.from_samples("latency", [], unit="ms", direction=LOWER)


def test_from_samples_unknown_statistic() -> None:
    with pytest.raises(ValueError, match="unknown statistic"):
        Measurement.from_samples("latency", [1.0, 2.0], unit="ms", direction=LOWER, statistic="average")


def test_exact() -> None:
    measurement = Measurement.exact("parameters", 109482240, unit="count")
    assert measurement.deterministic
    assert measurement.value == 109482240.0
    assert isinstance(measurement.value, float)
    assert measurement.direction is LOWER
    assert measurement.samples == ()
    assert measurement.statistic == "value"
    assert measurement.summary == {"value": 109482240.0}


def test_exact_with_direction() -> None:
    assert Measurement.exact("accuracy", 0.9, unit="points", direction=HIGHER).direction is HIGHER


def test_summary_of_sampled_measurement() -> None:
    samples = [1.0, 2.0, 3.0, 4.0, 100.0]
    summary = latency(samples).summary
    assert summary == stats.summarize(samples)
    assert summary["median"] == 3.0
    assert summary["rounds"] == 5.0
    assert "value" not in summary


def test_summary_of_single_value_measurement() -> None:
    measurement = Measurement("load_time", "s", LOWER, 1.25)
    assert measurement.summary == {"value": 1.25}
    assert not measurement.deterministic


def test_value_of() -> None:
    samples = [1.0, 2.0, 3.0, 4.0, 100.0]
    measurement = latency(samples)
    assert measurement.value_of("value") == 3.0
    assert measurement.value_of("median") == 3.0
    assert measurement.value_of("max") == 100.0
    assert measurement.value_of("mean") == pytest.approx(22.0)
    assert measurement.value_of("p90") == pytest.approx(stats.percentile(samples, 90))


def test_value_of_single_value() -> None:
    measurement = Measurement.exact("parameters", 10, unit="count")
    assert measurement.value_of("value") == 10.0
    with pytest.raises(ValueError, match="single value"):
        measurement.value_of("p90")


def test_renamed() -> None:
    measurement = latency([1.0, 2.0])
    renamed = measurement.renamed("latency_b2")
    assert renamed.name == "latency_b2"
    assert renamed.samples == measurement.samples
    assert measurement.name == "latency"


def test_measurement_to_dict() -> None:
    measurement = Measurement.from_samples(
        "latency", [1.0, 2.0, 3.0], unit="ms", direction=LOWER, context={"device": "cpu"}, notes=("n",)
    )
    data = measurement.to_dict()
    assert data["name"] == "latency"
    assert data["unit"] == "ms"
    assert data["direction"] == "lower_is_better"
    assert data["value"] == 2.0
    assert data["statistic"] == "median"
    assert data["deterministic"] is False
    assert data["summary"] == stats.summarize([1.0, 2.0, 3.0])
    assert data["context"] == {"device": "cpu"}
    assert data["notes"] == ["n"]
    assert data["samples"] == [1.0, 2.0, 3.0]
    json.dumps(data, allow_nan=False)  # JSON-serialisable as is
    assert "samples" not in measurement.to_dict(include_samples=False)


def test_exact_measurement_to_dict_has_no_samples() -> None:
    data = Measurement.exact("parameters", 5, unit="count").to_dict()
    assert "samples" not in data
    assert data["deterministic"] is True
    assert data["summary"] == {"value": 5.0}
    assert data["statistic"] == "value"


# -- BaselineEntry.from_measurement -------------------------------------------------------------


def test_from_measurement_first_run() -> None:
    measurement = Measurement.from_samples("latency", [1.0, 2.0, 3.0, 4.0], unit="ms", direction=LOWER, context={"device": "cpu"})
    entry = BaselineEntry.from_measurement(measurement, environment="env1", recorded="2024-05-01")
    assert entry.unit == "ms"
    assert entry.direction is LOWER
    assert not entry.deterministic
    assert entry.statistic == "median"
    assert entry.summary == measurement.summary
    assert entry.quantiles == tuple(stats.quantile_sketch(measurement.samples))
    assert len(entry.quantiles) == 21
    assert entry.runs == (measurement.summary,)
    assert entry.context == {"device": "cpu"}
    assert entry.environment == "env1"
    assert entry.recorded == "2024-05-01"


def test_from_measurement_appends_to_previous_runs() -> None:
    first = BaselineEntry.from_measurement(latency([1.0, 2.0, 3.0]), environment="e", recorded="d1")
    second = BaselineEntry.from_measurement(latency([2.0, 3.0, 4.0]), environment="e", recorded="d2", previous=first)
    assert [run["median"] for run in second.runs] == [2.0, 3.0]
    assert second.summary["median"] == 3.0  # the summary is this run's
    assert second.recorded == "d2"
    third = BaselineEntry.from_measurement(latency([5.0, 6.0, 7.0]), environment="e", recorded="d3", previous=second)
    assert [run["median"] for run in third.runs] == [2.0, 3.0, 6.0]
    assert [run["median"] for run in first.runs] == [2.0]  # earlier entries are untouched


def test_from_measurement_without_previous_starts_over() -> None:
    entry = entry_from_runs([10.0, 20.0, 30.0])
    fresh = BaselineEntry.from_measurement(latency([5.0, 6.0, 7.0]), environment="e", recorded="d")
    assert len(entry.runs) == 3
    assert [run["median"] for run in fresh.runs] == [6.0]


def test_from_measurement_caps_recorded_runs_keeping_the_latest() -> None:
    total = MAX_RECORDED_RUNS + 3
    entry = entry_from_runs([float(10 + i) for i in range(total)])
    assert len(entry.runs) == MAX_RECORDED_RUNS
    assert [run["median"] for run in entry.runs] == [float(10 + i) for i in range(3, total)]


def test_from_measurement_drops_previous_runs_in_another_unit() -> None:
    in_seconds = entry_from_runs([1.0, 2.0], unit="s")
    entry = BaselineEntry.from_measurement(latency([5.0, 6.0, 7.0]), environment="e", recorded="d", previous=in_seconds)
    assert [run["median"] for run in entry.runs] == [6.0]


def test_from_measurement_deterministic_has_no_runs() -> None:
    previous = BaselineEntry.from_measurement(Measurement.exact("p", 10, unit="count"), environment="e", recorded="d1")
    entry = BaselineEntry.from_measurement(
        Measurement.exact("p", 12, unit="count"), environment="e", recorded="d2", previous=previous
    )
    assert previous.runs == ()
    assert entry.runs == ()
    assert entry.deterministic
    assert entry.quantiles == ()
    assert entry.statistic == "value"
    assert entry.summary == {"value": 12.0}


def test_from_measurement_single_value_non_deterministic_records_runs() -> None:
    first = BaselineEntry.from_measurement(Measurement("load_time", "s", LOWER, 2.0), environment="e", recorded="d")
    second = BaselineEntry.from_measurement(
        Measurement("load_time", "s", LOWER, 4.0), environment="e", recorded="d", previous=first
    )
    assert second.runs == ({"value": 2.0}, {"value": 4.0})
    assert second.quantiles == ()
    assert second.center("value") == 3.0


# -- center and between_run_spread ---------------------------------------------------------------


def test_center_is_the_mean_of_the_typical_recorded_runs() -> None:
    entry = entry_from_runs([10.0, 30.0, 11.0, 12.0, 100.0])
    assert entry.summary["median"] == 100.0  # the latest run
    # median 12, absolute deviations 2 18 1 0 88: MAD 2, robust sd 2.97, cutoff 3.5 * 2.97 = 10.4:
    # 30 and 100 are odd; the mean of 10, 11 and 12 is 11
    assert entry.center("median") == pytest.approx(11.0)


def test_center_even_number_of_runs() -> None:
    entry = entry_from_runs([10.0, 20.0])
    assert entry.center("median") == 15.0


def test_center_of_other_statistic_over_runs() -> None:
    entry = entry_from_runs([10.0, 20.0, 30.0])
    # each run is [m-1, m, m+1]: its max is m+1
    assert entry.center("max") == 21.0


def test_center_without_runs_uses_summary() -> None:
    entry = BaselineEntry(
        unit="ms", direction=LOWER, deterministic=False, statistic="median", summary={"median": 7.0, "p90": 9.0}
    )
    assert entry.center("median") == 7.0
    assert entry.center("p90") == 9.0
    assert entry.center("value") == 7.0


def test_center_of_deterministic_entry() -> None:
    entry = BaselineEntry.from_measurement(Measurement.exact("p", 42, unit="count"), environment="e", recorded="d")
    assert entry.center("value") == 42.0


def test_center_of_statistic_missing_from_runs() -> None:
    entry = entry_from_runs([10.0, 20.0])
    with pytest.raises(KeyError):
        entry.center("p42")


def test_between_run_spread() -> None:
    entry = entry_from_runs([90.0, 100.0, 110.0])
    assert entry.between_run_spread("median").spread.relative == pytest.approx(10.0 / 100.0)
    assert entry_from_runs([100.0]).between_run_spread("median").spread is None
    assert entry_from_runs([100.0, 100.0, 100.0]).between_run_spread("median").spread.relative == 0.0


def test_between_run_spread_of_deterministic_entry_is_none() -> None:
    entry = BaselineEntry.from_measurement(Measurement.exact("p", 42, unit="count"), environment="e", recorded="d")
    assert entry.between_run_spread("value") is None


def test_has_statistic() -> None:
    entry = entry_from_runs([10.0])
    assert entry.has_statistic("median")
    assert entry.has_statistic("value")
    assert entry.has_statistic("p99")
    assert not entry.has_statistic("p42")


# -- to_dict / from_dict ----------------------------------------------------------------------------


def test_to_dict_shape() -> None:
    entry = entry_from_runs([10.0, 20.0])
    data = entry.to_dict()
    assert set(data) == {
        "unit",
        "direction",
        "deterministic",
        "statistic",
        "summary",
        "context",
        "environment",
        "recorded",
        "quantiles",
        "runs",
    }
    assert data["direction"] == "lower_is_better"
    assert data["summary"]["median"] == 20
    assert isinstance(data["summary"]["median"], int)  # integral values are written as integers
    assert len(data["runs"]) == 2
    assert len(data["quantiles"]) == 21
    json.dumps(data, allow_nan=False)


def test_to_dict_without_runs_or_quantiles_omits_them() -> None:
    data = BaselineEntry.from_measurement(Measurement.exact("p", 3, unit="count"), environment="e", recorded="d").to_dict()
    assert "runs" not in data
    assert "quantiles" not in data
    assert data["summary"] == {"value": 3}


def test_to_dict_rounds_sampled_values_to_six_significant_digits() -> None:
    entry = BaselineEntry(
        unit="ms",
        direction=LOWER,
        deterministic=False,
        statistic="median",
        summary={"median": 1.23456789, "mean": 0.000123456789},
        runs=({"median": 9.87654321},),
        quantiles=(1.1111111,),
    )
    data = entry.to_dict()
    assert data["summary"] == {"median": 1.23457, "mean": 0.000123457}
    assert data["runs"] == [{"median": 9.87654}]
    assert data["quantiles"] == [1.11111]


def test_to_dict_keeps_deterministic_values_exact() -> None:
    entry = BaselineEntry.from_measurement(Measurement.exact("size", 12.3456789123, unit="MB"), environment="e", recorded="d")
    assert entry.to_dict()["summary"] == {"value": 12.3456789123}
    assert BaselineEntry.from_dict(entry.to_dict(), "x") == entry


def test_round_trip_through_json() -> None:
    entry = BaselineEntry.from_measurement(
        latency([10.0, 12.5, 11.0, 13.0, 10.5]),
        environment="env1",
        recorded="2024-05-01",
        previous=entry_from_runs([11.0, 12.0]),
    )
    entry = dataclasses.replace(entry, context={"device": "cpu", "batch": 2})
    data = json.loads(json.dumps(entry.to_dict(), allow_nan=False))
    restored = BaselineEntry.from_dict(data, "tests.t.latency")
    assert restored.to_dict() == entry.to_dict()
    assert restored.unit == entry.unit
    assert restored.direction is entry.direction
    assert restored.deterministic is entry.deterministic
    assert restored.statistic == entry.statistic
    assert restored.environment == "env1"
    assert restored.recorded == "2024-05-01"
    assert restored.context == {"device": "cpu", "batch": 2}
    assert set(restored.summary) == set(entry.summary)
    for key, value in entry.summary.items():
        assert restored.summary[key] == pytest.approx(value, rel=1e-5)
    assert restored.quantiles == pytest.approx(entry.quantiles, rel=1e-5)
    assert len(restored.runs) == 3
    assert restored.center("median") == pytest.approx(entry.center("median"))
    assert restored.between_run_spread("median").spread.relative == pytest.approx(
        entry.between_run_spread("median").spread.relative, rel=1e-4
    )


def test_round_trip_of_tidy_values_is_exact() -> None:
    entry = entry_from_runs([10.0, 20.0, 30.0])
    assert BaselineEntry.from_dict(entry.to_dict(), "x") == entry


def test_from_dict_minimal_entry_defaults() -> None:
    entry = BaselineEntry.from_dict(
        {"unit": "ms", "direction": "higher_is_better", "deterministic": False, "statistic": "median", "summary": {"median": 5}},
        "x",
    )
    assert entry.direction is HIGHER
    assert entry.summary == {"median": 5.0}
    assert isinstance(entry.summary["median"], float)
    assert entry.runs == ()
    assert entry.quantiles == ()
    assert entry.context == {}
    assert entry.environment == ""
    assert entry.recorded == ""


def _valid() -> dict[str, Any]:
    return {
        "unit": "ms",
        "direction": "lower_is_better",
        "deterministic": False,
        "statistic": "median",
        "summary": {"median": 10.0, "p90": 12.0},
        "quantiles": [9.0, 10.0, 11.0],
        "runs": [{"median": 10.0}, {"median": 11.0}],
        "context": {"device": "cpu"},
        "environment": "env",
        "recorded": "2024-01-01",
    }


def test_valid_fixture_parses() -> None:
    entry = BaselineEntry.from_dict(_valid(), "x")
    assert entry.center("median") == 10.5
    assert entry.quantiles == (9.0, 10.0, 11.0)


def _mutated(change: dict[str, Any], *, drop: str | None = None) -> dict[str, Any]:
    data = copy.deepcopy(_valid())
    data.update(change)
    if drop is not None:
        del data[drop]
    return data


@pytest.mark.parametrize("field", ["unit", "direction", "summary", "statistic", "deterministic"])
def test_from_dict_missing_field(field: str) -> None:
    with pytest.raises(FormatError) as info:
        BaselineEntry.from_dict(_mutated({}, drop=field), "x")
    assert info.value.path == f"x.{field}"
    assert info.value.problem == "missing"
    assert str(info.value) == f"x.{field}: missing"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"unit": 5}, "x.unit"),
        ({"unit": None}, "x.unit"),
        ({"direction": 1}, "x.direction"),
        ({"direction": "sideways"}, "x.direction"),
        ({"direction": "LOWER_IS_BETTER"}, "x.direction"),
        ({"summary": [10.0]}, "x.summary"),
        ({"summary": {"median": "10ms"}}, "x.summary.median"),
        ({"summary": {"median": None}}, "x.summary.median"),
        ({"summary": {"median": True}}, "x.summary.median"),
        ({"summary": {"median": 10.0, "p90": [1]}}, "x.summary.p90"),
        ({"statistic": 3}, "x.statistic"),
        ({"statistic": "p99"}, "x.statistic"),
        ({"statistic": "value"}, "x.summary"),
        ({"deterministic": "no"}, "x.deterministic"),
        ({"deterministic": 0}, "x.deterministic"),
        ({"quantiles": "1,2,3"}, "x.quantiles"),
        ({"quantiles": [1.0, "2"]}, "x.quantiles"),
        ({"quantiles": [1.0, False]}, "x.quantiles"),
        ({"runs": {"median": 1.0}}, "x.runs"),
        ({"runs": [{"median": 1.0}, 5]}, "x.runs[1]"),
        ({"runs": [{"median": 1.0}, {"median": "slow"}]}, "x.runs[1].median"),
        ({"context": ["cpu"]}, "x.context"),
    ],
)
def test_from_dict_malformed_field(change: dict[str, Any], path: str) -> None:
    with pytest.raises(FormatError) as info:
        BaselineEntry.from_dict(_mutated(change), "x")
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")
    assert info.value.problem


def test_from_dict_unknown_direction_lists_choices() -> None:
    with pytest.raises(FormatError) as info:
        BaselineEntry.from_dict(_mutated({"direction": "sideways"}), "tests.t.m")
    assert info.value.path == "tests.t.m.direction"
    assert "'sideways'" in info.value.problem
    assert "lower_is_better" in info.value.problem
    assert "higher_is_better" in info.value.problem


def test_from_dict_wrong_type_names_types() -> None:
    with pytest.raises(FormatError) as info:
        BaselineEntry.from_dict(_mutated({"unit": 5}), "x")
    assert "str" in info.value.problem
    assert "int" in info.value.problem


@pytest.mark.parametrize("data", [None, [], "entry", 5])
def test_from_dict_not_an_object(data: Any) -> None:
    with pytest.raises(FormatError) as info:
        BaselineEntry.from_dict(data, "tests.t.m")
    assert info.value.path == "tests.t.m"
    assert type(data).__name__ in info.value.problem


def test_format_error_is_a_value_error() -> None:
    assert issubclass(FormatError, ValueError)


def test_center_of_value_means_the_entry_statistic_with_runs() -> None:
    entry = entry_from_runs([10.0, 20.0, 30.0])
    assert entry.has_statistic("value")
    assert entry.center("value") == entry.center("median") == 20.0


def test_a_single_value_timed_with_the_speed_reference_keeps_the_reference_in_its_summary() -> None:
    single = Measurement("fine_tune.time", "s", Direction.LOWER_IS_BETTER, 12.5, reference=(3.0, 5.0, 4.0))
    assert single.summary == {"value": 12.5, "reference": 4.0}
    assert Measurement("fine_tune.time", "s", Direction.LOWER_IS_BETTER, 12.5).summary == {"value": 12.5}
