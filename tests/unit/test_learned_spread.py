"""The between-run spread a baseline learned survives an intentional update, and is stored reviewably."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.file_format import FormatError
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.stats import Spread
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check

LOWER = Direction.LOWER_IS_BETTER
CHECK = Check("value", parse_quantity("10%"), None)
IDENTITY = "gemm384x4-single/torch-test/threads-1"


def run(median: float, *, reference: float | None = None, identity: str = IDENTITY) -> Measurement:
    measurement = Measurement.from_samples("latency", [median] * 5, unit="ms", direction=LOWER)
    if reference is None:
        return measurement
    return replace(measurement, reference=(reference,) * 5, context={"speed_reference": identity})


def recorded(*measurements: Measurement) -> BaselineEntry:
    entry = None
    for measurement in measurements:
        entry = BaselineEntry.from_measurement(measurement, environment="e", recorded="d", previous=entry)
    assert entry is not None
    return entry


def test_an_update_starts_the_value_afresh_but_keeps_the_spread() -> None:
    before = recorded(run(10.0), run(11.0), run(12.0))
    updated = BaselineEntry.from_measurement(run(20.0), environment="e", recorded="d2", replaced=before)
    assert [r["median"] for r in updated.runs] == [20.0]
    assert updated.center("median") == 20.0
    # runs 10, 11, 12: mean 11, sd 1, relative 1/11 = 0.0909091 with 2 degrees of freedom
    assert updated.earlier_spread["median"].relative == pytest.approx(0.0909091, abs=1e-7)
    assert updated.earlier_spread["median"].degrees_of_freedom == 2


def test_without_the_replaced_entry_an_update_forgets_the_spread() -> None:
    updated = BaselineEntry.from_measurement(run(20.0), environment="e", recorded="d2")
    assert updated.earlier_spread == {}


def test_add_run_keeps_the_earlier_spread_and_learns_more() -> None:
    before = recorded(run(10.0), run(11.0), run(12.0))
    updated = BaselineEntry.from_measurement(run(20.0), environment="e", recorded="d2", replaced=before)
    added = BaselineEntry.from_measurement(run(22.0), environment="e", recorded="d3", previous=updated)
    assert added.earlier_spread == updated.earlier_spread
    # now: runs 20 and 22, mean 21, sd sqrt(2), relative 0.0673435 (1 degree of freedom), pooled with
    # the earlier 0.0909091 (2): (2 * 0.0082645 + 0.0045351) / 3 = 0.0070214, sqrt 0.0837938
    learned = added.learned_spread("median")
    assert learned is not None
    assert learned.relative == pytest.approx(0.0837938, abs=1e-6)
    assert learned.degrees_of_freedom == 3


def test_a_second_update_does_not_count_the_same_runs_twice() -> None:
    before = recorded(run(10.0), run(11.0), run(12.0))
    once = BaselineEntry.from_measurement(run(20.0), environment="e", recorded="d2", replaced=before)
    twice = BaselineEntry.from_measurement(run(20.0), environment="e", recorded="d3", replaced=once)
    assert twice.earlier_spread == once.earlier_spread


def test_the_carried_spread_is_capped_at_one_full_set_of_runs() -> None:
    entry = recorded(*(run(100.0 + (i % 2)) for i in range(10)))
    entry = replace(entry, earlier_spread={"median": Spread(0.005, 9)})
    updated = BaselineEntry.from_measurement(run(50.0), environment="e", recorded="d2", replaced=entry)
    assert updated.earlier_spread["median"].degrees_of_freedom == 9


def test_the_band_after_an_update_uses_the_learned_spread() -> None:
    # Five quiet runs, 100 101 99 100.5 99.5: mean 100, squared deviations 0 + 1 + 1 + 0.25 + 0.25
    # = 2.5, variance 0.625, relative sd 0.0079057 with 4 degrees of freedom. After the update one
    # run remains; pooled with the assumed 5% as 6: (6 * 0.0025 + 4 * 0.0000625) / 10 = 0.001525,
    # s = 0.039051; t(0.99, 10) = 2.7638 (table): band 2.7638 * 0.039051 * sqrt(2) = 0.15264.
    # Forgetting the spread gives the one-run band: t(0.99, 6) = 3.1427 * 0.05 * sqrt(2) = 0.22222.
    quiet = recorded(*(run(value) for value in (100.0, 101.0, 99.0, 100.5, 99.5)))
    kept = BaselineEntry.from_measurement(run(150.0), environment="e", recorded="d2", replaced=quiet)
    forgot = BaselineEntry.from_measurement(run(150.0), environment="e", recorded="d2")
    assert judge(run(150.0), CHECK, kept, NoisePolicy()).noise_band == pytest.approx(0.15264, abs=2e-5)
    assert judge(run(150.0), CHECK, forgot, NoisePolicy()).noise_band == pytest.approx(0.22222, abs=2e-5)


def test_the_spread_in_reference_units_is_kept_for_the_same_reference_only() -> None:
    before = recorded(run(10.0, reference=5.0), run(11.0, reference=5.0), run(12.0, reference=6.0))
    same = BaselineEntry.from_measurement(
        run(20.0, reference=5.0), environment="e", recorded="d", replaced=before, spread_floor=0.05
    )
    # in references: 2.0, 2.2, 2.0 (2.2 is 0.2 from the median, within 3.5 * 5% * 2.0 = 0.35, so
    # typical): mean 2.0667, squared deviations 0.004444 + 0.017778 + 0.004444, variance 0.013333,
    # sd 0.11547, relative 0.0558726
    assert same.earlier_spread["median in reference units"].relative == pytest.approx(0.0558726, abs=1e-6)
    other = BaselineEntry.from_measurement(
        run(20.0, reference=5.0, identity="gemm384x4-single/torch-other/threads-1"),
        environment="e",
        recorded="d",
        replaced=before,
    )
    assert "median in reference units" not in other.earlier_spread
    assert "median" in other.earlier_spread


def test_a_new_unit_starts_the_spread_afresh() -> None:
    before = recorded(run(10.0), run(11.0), run(12.0))
    seconds = Measurement.from_samples("latency", [0.02] * 5, unit="s", direction=LOWER)
    assert BaselineEntry.from_measurement(seconds, environment="e", recorded="d", replaced=before).earlier_spread == {}


def test_the_learned_spread_round_trips_through_json_and_reads_plainly() -> None:
    before = recorded(run(10.0), run(11.0), run(12.0))
    updated = BaselineEntry.from_measurement(run(20.0), environment="e", recorded="d2", replaced=before)
    data = json.loads(json.dumps(updated.to_dict(), allow_nan=False))
    assert data["earlier_spread"] == {"median": {"relative": 0.0909091, "degrees_of_freedom": 2}}
    restored = BaselineEntry.from_dict(data, "tests.t.latency")
    assert restored.to_dict() == data


def test_files_written_before_the_learned_spread_still_load() -> None:
    data = recorded(run(10.0), run(11.0)).to_dict()
    assert "earlier_spread" not in data
    assert BaselineEntry.from_dict(data, "x").earlier_spread == {}


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ([], "x.earlier_spread"),
        ({"median": 0.1}, "x.earlier_spread.median"),
        ({"median": {"relative": -0.1, "degrees_of_freedom": 2}}, "x.earlier_spread.median.relative"),
        ({"median": {"relative": float("nan"), "degrees_of_freedom": 2}}, "x.earlier_spread.median.relative"),
        ({"median": {"relative": 0.1, "degrees_of_freedom": 0}}, "x.earlier_spread.median.degrees_of_freedom"),
        ({"median": {"relative": 0.1, "degrees_of_freedom": 1.5}}, "x.earlier_spread.median.degrees_of_freedom"),
    ],
)
def test_a_malformed_learned_spread_is_refused_naming_the_field(value: object, path: str) -> None:
    data = recorded(run(10.0), run(11.0)).to_dict()
    data["earlier_spread"] = value
    with pytest.raises(FormatError) as info:
        BaselineEntry.from_dict(data, "x")
    assert info.value.path == path
