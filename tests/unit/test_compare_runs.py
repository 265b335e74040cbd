"""Unit tests for pytest_modelperf.cli.comparison: matching two runs' checks and judging them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from pytest_modelperf.cli.comparison import CompareError, FailOn, compare_runs, compare_with_baselines
from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome
from pytest_modelperf.storage.baseline_store import JsonBaselineStore
from pytest_modelperf.storage.run_export import RunExport, parse_export

HW = "amd-epyc-2c-float32"
LOWER = Direction.LOWER_IS_BETTER
HIGHER = Direction.HIGHER_IS_BETTER


def timing(center: float, name: str = "latency", *, width: float = 0.005, n: int = 21, **context: Any) -> Measurement:
    """``n`` evenly spaced samples within ``center * (1 ± width)``, median exactly ``center``."""
    half = (n - 1) / 2
    samples = [center * (1 + width * (i - half) / half) for i in range(n)]
    return Measurement.from_samples(name, samples, unit="ms", direction=LOWER, context={"device": "cpu", **context})


def result(
    nodeid: str,
    measurement: Measurement,
    *,
    threshold: str | None = "10%",
    limit: str | None = None,
    statistic: str | None = None,
    hardware: str = HW,
) -> dict[str, Any]:
    return {
        "nodeid": nodeid,
        "hardware_key": hardware,
        "environment": "env1",
        "measurement": measurement.to_dict(),
        "statistic": statistic or measurement.statistic,
        "outcome": "pass",
        "current": None if measurement.unavailable else measurement.value,
        "baseline": None,
        "change": None,
        "noise_band": None,
        "threshold": threshold,
        "limit": limit,
        "detail": "",
    }


def export(*results: dict[str, Any], noise: dict[str, Any] | None = None, name: str = "run.json") -> RunExport:
    data: dict[str, Any] = {
        "schema": 1,
        "started": "2026-01-01T00:00:00+00:00",
        "environments": {"env1": {"torch": "2.13.0"}},
        "results": list(results),
    }
    if noise is not None:
        data["noise"] = noise
    return parse_export(data, Path(name))


def outcomes(comparison) -> dict[str, Outcome]:
    return {f"{c.nodeid} {c.verdict.metric}": c.verdict.outcome for c in comparison.checks}


# -- matching --------------------------------------------------------------------------------


def test_an_unchanged_run_passes_every_check() -> None:
    base = export(result("t.py::test_a", timing(10.0)), result("t.py::test_b", timing(20.0, "throughput_latency")))
    comparison = compare_runs(base, base)
    assert outcomes(comparison) == {
        "t.py::test_a latency (median)": Outcome.PASS,
        "t.py::test_b throughput_latency (median)": Outcome.PASS,
    }
    assert comparison.added == () and comparison.removed == ()
    assert comparison.failing() == []
    assert comparison.summary() == "2 checks compared: 0 regressions, 0 improvements, 2 passed; 0 added, 0 removed"


def test_checks_are_matched_by_test_measurement_and_hardware_key() -> None:
    base = export(
        result("t.py::test_a", timing(10.0)),
        result("t.py::test_gone", timing(10.0)),
        result("t.py::test_a", timing(10.0, "other")),
    )
    new = export(
        result("t.py::test_a", timing(10.0)),
        result("t.py::test_new", timing(10.0)),
        result("t.py::test_a", timing(10.0, "other"), hardware="nvidia-h100-float16"),
    )
    comparison = compare_runs(base, new)
    assert [c.key for c in comparison.checks] == [EntryKey(HW, "t.py", "test_a", "latency")]
    assert comparison.added == (
        EntryKey(HW, "t.py", "test_new", "latency"),
        EntryKey("nvidia-h100-float16", "t.py", "test_a", "other"),
    )
    assert comparison.removed == (EntryKey(HW, "t.py", "test_gone", "latency"), EntryKey(HW, "t.py", "test_a", "other"))


def test_runs_on_different_hardware_say_that_nothing_was_compared() -> None:
    comparison = compare_runs(
        export(result("t.py::test_a", timing(10.0))), export(result("t.py::test_a", timing(10.0), hardware="other-hw"))
    )
    assert comparison.checks == () and len(comparison.added) == 1 and len(comparison.removed) == 1
    assert "the runs share no hardware key: amd-epyc-2c-float32 against other-hw" in comparison.summary()


# -- judging with the plugin's comparison ----------------------------------------------------------


def test_a_slower_run_is_a_regression_and_its_test_comes_first() -> None:
    base = export(result("t.py::test_a", timing(10.0)), result("t.py::test_b", timing(10.0)))
    new = export(result("t.py::test_a", timing(10.0)), result("t.py::test_b", timing(30.0)))
    comparison = compare_runs(base, new)
    (regression,) = comparison.failing()
    assert regression.nodeid == "t.py::test_b"
    assert regression.verdict.baseline == pytest.approx(10.0) and regression.verdict.current == pytest.approx(30.0)
    assert "beyond the threshold and the noise band" in regression.verdict.detail
    assert [nodeid for nodeid, _, _ in comparison.by_test()] == ["t.py::test_b", "t.py::test_a"]
    assert comparison.summary().startswith("2 checks compared: 1 regression, 0 improvements, 1 passed")


def test_a_base_of_one_run_has_the_assumed_noise_band() -> None:
    """+12% against a 10% threshold: within the band of a baseline recorded once (assumed 5% spread),
    the band the plugin gives against an entry recorded once from the base run."""
    base, new = export(result("t.py::test_a", timing(10.0))), export(result("t.py::test_a", timing(11.2)))
    (check,) = compare_runs(base, new).checks
    assert check.verdict.outcome is Outcome.PASS
    assert check.verdict.detail.startswith("beyond the threshold but within the noise band")
    recorded_once = BaselineEntry.from_measurement(timing(10.0), environment="env1", recorded="")
    plugin = judge(timing(11.2), Check("median", parse_quantity("10%"), None), recorded_once, NoisePolicy())
    assert check.verdict.noise_band == pytest.approx(plugin.noise_band) and check.verdict.noise_band > 0.12
    (check,) = compare_runs(base, new, policy=NoisePolicy(enabled=False)).checks
    assert check.verdict.outcome is Outcome.REGRESSION


def test_the_noise_policy_recorded_in_the_new_run_is_used() -> None:
    base = export(result("t.py::test_a", timing(10.0)))
    new = export(result("t.py::test_a", timing(11.2)), noise={"enabled": False, "confidence": 0.99, "assumed_spread": 0.05})
    assert compare_runs(base, new).failing()[0].verdict.noise_band is None


def test_a_faster_run_is_an_improvement_which_fails_only_when_asked() -> None:
    comparison = compare_runs(export(result("t.py::test_a", timing(10.0))), export(result("t.py::test_a", timing(5.0))))
    assert comparison.count(Outcome.IMPROVEMENT) == 1
    assert comparison.failing(FailOn.REGRESSION) == []
    assert len(comparison.failing(FailOn.IMPROVEMENT)) == 1 and len(comparison.failing(FailOn.ANY)) == 1


def test_each_check_keeps_its_own_threshold_and_the_override_replaces_it() -> None:
    base = export(result("t.py::test_a", timing(10.0), threshold="5ms"))
    new = export(result("t.py::test_a", timing(30.0), threshold="25ms"))
    assert compare_runs(base, new).failing() == []  # B's own threshold: +20 ms allowed 25 ms
    assert len(compare_runs(base, new, threshold=parse_quantity("50%")).failing()) == 1


def test_an_absolute_override_applies_only_to_metrics_of_its_kind() -> None:
    memory = Measurement.from_samples("host_memory", [100.0] * 5, unit="MB", direction=LOWER)
    base = export(result("t.py::test_a", timing(10.0)), result("t.py::test_a", memory))
    new = export(result("t.py::test_a", timing(30.0)), result("t.py::test_a", memory.renamed("host_memory")))
    comparison = compare_runs(base, new, threshold=parse_quantity("50ms"))
    thresholds = {c.verdict.metric: str(c.verdict.check.threshold) for c in comparison.checks}
    assert thresholds == {"latency (median)": "50ms", "host_memory (median)": "10%"}
    assert comparison.failing() == []


def test_the_checked_statistic_is_compared() -> None:
    base = timing(10.0, width=0.1)
    tail = Measurement.from_samples(
        "latency", [*timing(10.0, width=0.1).samples[:-3], 40.0, 40.0, 40.0], unit="ms", direction=LOWER
    )
    comparison = compare_runs(
        export(result("t.py::test_a", base, statistic="p99")), export(result("t.py::test_a", tail, statistic="p99"))
    )
    (check,) = comparison.checks
    assert check.verdict.metric == "latency (p99)"
    assert check.verdict.outcome is Outcome.REGRESSION
    assert check.verdict.baseline == pytest.approx(base.value_of("p99"))


def test_a_limit_only_check_is_judged_on_its_limit_and_not_compared() -> None:
    base = export(result("t.py::test_a", timing(10.0), threshold=None, limit="50ms"))
    fine = compare_runs(base, export(result("t.py::test_a", timing(40.0), threshold=None, limit="50ms")))
    (check,) = fine.checks
    assert check.verdict.outcome is Outcome.PASS and check.verdict.baseline is None
    over = compare_runs(base, export(result("t.py::test_a", timing(60.0), threshold=None, limit="50ms")))
    assert [c.verdict.outcome for c in over.failing()] == [Outcome.OVER_LIMIT]
    assert over.added == ()


def test_each_check_of_a_measurement_is_judged_like_the_plugin_judged_it() -> None:
    """check(latency) and check(latency, limit="50ms"): compared once, and held to the limit once."""
    checks = (result("t.py::test_a", timing(10.0)), result("t.py::test_a", timing(10.0), threshold=None, limit="50ms"))
    slower = (result("t.py::test_a", timing(60.0)), result("t.py::test_a", timing(60.0), threshold=None, limit="50ms"))
    comparison = compare_runs(export(*checks), export(*slower))
    assert [(str(c.verdict.check.threshold), c.verdict.outcome) for c in comparison.checks] == [
        ("10%", Outcome.REGRESSION),
        ("None", Outcome.OVER_LIMIT),
    ]


def test_an_exact_metric_that_changes_is_a_regression() -> None:
    def parameters(count: int) -> Measurement:
        return Measurement.exact("parameters", count, unit="count")

    comparison = compare_runs(
        export(result("t.py::test_a", parameters(1000), threshold="0%")),
        export(result("t.py::test_a", parameters(1001), threshold="0%")),
    )
    (check,) = comparison.failing()
    assert check.verdict.noise_band is None


def test_a_cell_that_ran_out_of_memory_in_the_new_run_is_a_regression() -> None:
    oom = Measurement.not_available("gpu_peak", "out of memory", unit="MB")
    measured = Measurement.exact("gpu_peak", 512, unit="MB")
    comparison = compare_runs(
        export(result("t.py::test_a", measured, threshold="0%")), export(result("t.py::test_a", oom, threshold="0%"))
    )
    (check,) = comparison.failing()
    assert "out of memory" in check.verdict.detail


def answers(flips: int, n: int = 500) -> ExampleOutcomes:
    rng = random.Random(3)
    right = [1.0 if rng.random() < 0.85 else 0.0 for _ in range(n)]
    for i in [i for i, r in enumerate(right) if r][:flips]:
        right[i] = 0.0
    return ExampleOutcomes("mean", tuple(f"q{i}" for i in range(n)), tuple(right))


def score(flips: int) -> Measurement:
    examples = answers(flips)
    return Measurement("exact_match[facts-qa/validation]", "points", HIGHER, examples.value(), examples=examples)


def test_quality_scores_are_paired_example_by_example() -> None:
    base = export(result("t.py::test_q", score(0), threshold="0.5points"))
    unchanged = compare_runs(base, base).checks[0].verdict
    assert unchanged.outcome is Outcome.PASS and "paired over 500 examples" in unchanged.detail
    dropped = compare_runs(base, export(result("t.py::test_q", score(15), threshold="0.5points"))).checks[0].verdict
    assert dropped.outcome is Outcome.REGRESSION and dropped.current - dropped.baseline == pytest.approx(-3.0)


def test_times_are_judged_at_the_machine_speed_of_each_run() -> None:
    """B ran on a machine 1.6x slower (its reference workload too): not a regression."""

    def calibrated(center: float, reference_ms: float) -> Measurement:
        measurement = timing(center, speed_reference="torch 2.13.0, 2 threads")
        return Measurement(**{**measurement.__dict__, "reference": tuple(reference_ms * (1 + 0.001 * i) for i in range(21))})

    base = export(result("t.py::test_a", calibrated(10.0, 5.0)))
    new = export(result("t.py::test_a", calibrated(16.0, 8.0)))
    (check,) = compare_runs(base, new).checks
    assert check.verdict.outcome is Outcome.PASS
    assert check.verdict.speed is not None and check.verdict.speed.slowdown == pytest.approx(1.6, rel=0.01)
    assert "at this speed" in check.verdict.describe_change()


def test_a_direction_that_changed_between_runs_is_an_error_naming_the_check() -> None:
    flipped = Measurement.from_samples("latency", timing(10.0).samples, unit="ms", direction=HIGHER)
    with pytest.raises(
        CompareError, match=r"t\.py::test_a latency \[amd-epyc-2c-float32\]: latency: the baseline says lower_is_better"
    ):
        compare_runs(export(result("t.py::test_a", timing(10.0))), export(result("t.py::test_a", flipped)))


# -- against the committed baselines ---------------------------------------------------------


def test_a_run_is_judged_against_the_stored_baselines(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    entry = BaselineEntry.from_measurement(timing(10.0), environment="e", recorded="2026-01-01")
    store.apply({EntryKey(HW, "t.py", "test_a", "latency"): entry, EntryKey(HW, "t.py", "test_gone", "latency"): entry}, [], {})
    new = export(
        result("t.py::test_a", timing(30.0)),
        result("t.py::test_new", timing(10.0)),
        result("t.py::test_slo", timing(10.0), threshold=None, limit="1s"),
    )
    comparison = compare_with_baselines(new, JsonBaselineStore(tmp_path))
    assert outcomes(comparison) == {
        "t.py::test_a latency (median)": Outcome.REGRESSION,
        "t.py::test_slo latency (median)": Outcome.PASS,
    }
    assert comparison.added == (EntryKey(HW, "t.py", "test_new", "latency"),)
    assert comparison.removed == (EntryKey(HW, "t.py", "test_gone", "latency"),)


def test_a_broken_baseline_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / HW / "t.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not json")
    with pytest.raises(CompareError, match=r"baseline file .*t\.json: not valid JSON"):
        compare_with_baselines(export(result("t.py::test_a", timing(10.0))), JsonBaselineStore(tmp_path))


# -- one baseline policy with the plugin (pytest_modelperf.core.policy) -----------------------------

HALF = "amd-epyc-2c-float16"


def half_precision(measurement: Measurement) -> Measurement:
    return Measurement(**{**measurement.__dict__, "context": {"device": "cpu", "dtype": "float16"}})


def test_a_half_precision_quality_score_is_judged_against_the_float32_base() -> None:
    """As the plugin judges it: a float16 score with no float16 baseline answers to the float32 one."""
    base = export(result("t.py::test_q", score(0), threshold="0.5points"))
    new = export(result("t.py::test_q", half_precision(score(15)), threshold="0.5points", hardware=HALF))
    comparison = compare_runs(base, new)
    (check,) = comparison.checks
    assert check.key == EntryKey(HALF, "t.py", "test_q", "exact_match[facts-qa/validation]")
    assert check.verdict.outcome is Outcome.REGRESSION
    assert "judged against the float32 baseline: there is no float16 one" in check.verdict.measurement.notes
    assert comparison.added == ()
    assert comparison.removed == (), "the float32 entry was used, so it is not reported as removed"
    assert comparison.summary() == "1 check compared: 1 regression, 0 improvements, 0 passed; 0 added, 0 removed"


def test_a_half_precision_quality_score_is_judged_against_the_stored_float32_baseline(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    entry = BaselineEntry.from_measurement(score(0), environment="e", recorded="2026-01-01")
    store.apply({EntryKey(HW, "t.py", "test_q", "exact_match[facts-qa/validation]"): entry}, [], {})
    new = export(result("t.py::test_q", half_precision(score(0)), threshold="0.5points", hardware=HALF))
    comparison = compare_with_baselines(new, JsonBaselineStore(tmp_path))
    (check,) = comparison.checks
    assert check.verdict.outcome is Outcome.PASS and check.verdict.baseline == pytest.approx(score(0).value)
    assert comparison.added == ()


def test_a_half_precision_timing_has_no_float32_fallback() -> None:
    """Only quality scores fall back: a float16 timing says nothing about float32's."""
    base = export(result("t.py::test_a", timing(10.0)))
    new = export(result("t.py::test_a", half_precision(timing(10.0)), hardware=HALF))
    comparison = compare_runs(base, new)
    assert comparison.checks == () and comparison.added == (EntryKey(HALF, "t.py", "test_a", "latency"),)


def test_a_base_check_with_only_a_limit_makes_no_baseline() -> None:
    """The plugin records no baseline from a limit-only check, so a base run's limit-only check
    is no baseline for the new run's compared one: added, as the plugin would report it missing."""
    base = export(result("t.py::test_a", timing(10.0), threshold=None, limit="50ms"))
    new = export(result("t.py::test_a", timing(30.0)))
    comparison = compare_runs(base, new)
    assert comparison.checks == ()
    assert comparison.added == (EntryKey(HW, "t.py", "test_a", "latency"),)
    assert comparison.removed == ()


def test_the_base_is_judged_as_the_baseline_store_would_keep_it() -> None:
    """A stored baseline keeps 6 significant digits; the base run's measurement is judged as
    that stored entry, so that comparing with the base and with its recorded baseline agree."""
    unrounded = Measurement.from_samples("latency", [10.0000004] * 5, unit="ms", direction=LOWER)
    slower = Measurement.from_samples("latency", [11.0000002] * 5, unit="ms", direction=LOWER)
    quiet = {"enabled": False, "confidence": 0.99, "assumed_spread": 0.05}
    base = export(result("t.py::test_a", unrounded, threshold="1ms"))
    new = export(result("t.py::test_a", slower, threshold="1ms"), noise=quiet)
    (check,) = compare_runs(base, new).checks
    assert check.verdict.baseline == 10.0
    assert check.verdict.outcome is Outcome.REGRESSION, "+1.0000002 ms against the stored 10 ms is beyond 1 ms"


def test_the_override_leaves_exact_metrics_exact() -> None:
    """Like the plugin's --modelperf-threshold, a relative --threshold is for sampled metrics:
    a parameter count that changed is still a regression under --threshold 50%."""
    base = export(result("t.py::test_a", Measurement.exact("parameters", 1000, unit="count"), threshold="0%"))
    new = export(result("t.py::test_a", Measurement.exact("parameters", 1100, unit="count"), threshold="0%"))
    (check,) = compare_runs(base, new, threshold=parse_quantity("50%")).checks
    assert str(check.verdict.check.threshold) == "0%"
    assert check.verdict.outcome is Outcome.REGRESSION


def test_a_base_measurement_on_a_statistic_no_summary_keeps_stands_as_a_baseline() -> None:
    """A p75 measurement keeps its p75 in the entry it would become, so a base run of it is
    compared like any other: the same samples pass, twice the time is a regression."""
    tail = Measurement.from_samples("latency", [10.0, 11.0, 12.0], unit="ms", direction=LOWER, statistic="p75")
    slower = Measurement.from_samples("latency", [20.0, 22.0, 24.0], unit="ms", direction=LOWER, statistic="p75")
    base = export(result("t.py::test_a", tail), name="base.json")
    (same,) = compare_runs(base, export(result("t.py::test_a", tail))).checks
    assert same.verdict.outcome is Outcome.PASS and same.verdict.baseline == pytest.approx(11.5)
    (worse,) = compare_runs(base, export(result("t.py::test_a", slower))).checks
    assert worse.verdict.outcome is Outcome.REGRESSION
