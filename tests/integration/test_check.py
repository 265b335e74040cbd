"""Checks against baselines: pass, regression, improvement, limits, missing baselines."""

import json

RECORDING = """
import os
def test_fast(modelperf):
    samples = [float(x) for x in os.environ["SAMPLES"].split(",")]
    modelperf.check(modelperf.record("latency", samples, unit="ms"), threshold="{threshold}")

def test_other(modelperf):
    modelperf.check(modelperf.record("parameters", 1000, unit="count", deterministic=True))
"""

STEADY = ",".join(str(10 + (i % 5) * 0.01) for i in range(50))  # 10.00 .. 10.04 ms
SLOWER = ",".join(str(20 + (i % 5) * 0.01) for i in range(50))  # twice as slow
FASTER = ",".join(str(5 + (i % 5) * 0.01) for i in range(50))


def record_baseline(pytester, run, monkeypatch, threshold="10%"):
    pytester.makepyfile(test_perf=RECORDING.replace("{threshold}", threshold))
    monkeypatch.setenv("SAMPLES", STEADY)
    result = run("--modelperf-update")
    result.assert_outcomes(passed=2)
    return result


def test_unchanged_measurements_pass(pytester, run, monkeypatch):
    record_baseline(pytester, run, monkeypatch)
    result = run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_perf.py::test_fast*latency (median)*10 ms*10 ms*+0.0%*pass*"])


def test_regression_fails_that_test_only_with_a_table(pytester, run, monkeypatch):
    record_baseline(pytester, run, monkeypatch)
    monkeypatch.setenv("SAMPLES", SLOWER)
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ModelPerfRegression: modelperf: 1 regression in test_perf.py::test_fast*",
            "*metric*baseline*current*change*threshold*verdict*",
            "*latency (median)*10 ms*20 ms*+99.8%*+10%, noise ±*REGRESSION*",
        ]
    )


def test_improvement_passes_and_is_reported(pytester, run, monkeypatch):
    record_baseline(pytester, run, monkeypatch)
    monkeypatch.setenv("SAMPLES", FASTER)
    result = run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*latency (median)*10 ms*5.02 ms*-49.9%*improvement*"])


def test_deterministic_metric_fails_on_any_increase(pytester, run, monkeypatch):
    record_baseline(pytester, run, monkeypatch)
    pytester.makepyfile(test_perf=RECORDING.replace("{threshold}", "10%").replace("1000", "1001"))
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*parameters*1,000*1,001*+0.1%*+0%*REGRESSION*"])


def test_change_within_the_noise_band_passes(pytester, run, monkeypatch):
    # One recorded run: the assumed 5% spread gives a noise band of about 22%, so +12% passes
    # a 10% threshold and is reported as within noise, while +100% failed above.
    record_baseline(pytester, run, monkeypatch)
    monkeypatch.setenv("SAMPLES", ",".join(str(11.2 + (i % 5) * 0.01) for i in range(50)))
    result = run("-rA")
    result.assert_outcomes(passed=2)
    # one recorded run, the assumed 5% as 6 degrees of freedom: t(0.99, 6) = 3.1427 * sqrt(2) * 5% = 22.2%
    result.stdout.fnmatch_lines(["*latency (median)*+12.0%*+10%, noise ±22.2% (1 recorded run)*pass*"])


def test_noise_handling_can_be_switched_off(pytester, run, monkeypatch):
    record_baseline(pytester, run, monkeypatch)
    monkeypatch.setenv("SAMPLES", ",".join(str(11.2 + (i % 5) * 0.01) for i in range(50)))
    result = run("-o", "modelperf_noise_aware=false")
    result.assert_outcomes(passed=1, failed=1)


def test_absolute_threshold(pytester, run, monkeypatch):
    record_baseline(pytester, run, monkeypatch, threshold="0.5ms")
    monkeypatch.setenv("SAMPLES", ",".join(str(12 + (i % 5) * 0.01) for i in range(50)))
    result = run("-o", "modelperf_noise_aware=false")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*latency (median)*+20.0%*+0.5ms*REGRESSION*"])


def test_wrong_unit_in_threshold_is_a_clear_error(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=RECORDING.replace("{threshold}", "64MB"))
    monkeypatch.setenv("SAMPLES", STEADY)
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*modelperf.check(latency, threshold='64MB'): threshold is a memory size, the measurement is a time (ms)*",
        ]
    )


def test_limit_without_baseline(pytester, run, monkeypatch):
    pytester.makepyfile("""
        def test_slo(modelperf):
            latency = modelperf.record("latency", [40.0, 45.0, 60.0, 41.0], unit="ms")
            modelperf.check(latency, statistic="median", limit="50ms")
            modelperf.check(latency, statistic="max", limit="50ms")
    """)
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*1 over limit*", "*latency (max)*60 ms*limit ≤ 50ms*OVER LIMIT*", "*60 ms is above the limit 50 ms*"]
    )
    assert "no baseline" not in result.stdout.str()


def test_missing_baseline_is_reported_not_silent(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=RECORDING.replace("{threshold}", "10%"))
    monkeypatch.setenv("SAMPLES", STEADY)
    result = run()
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(
        [
            "*ModelPerfWarning: latency (median): no baseline on this hardware*",
        ]
    )
    hardware = next(line for line in result.stdout.lines if line.startswith("modelperf: hardware key ")).split()[3]
    assert (
        f"2 of 2 checks have no baseline ({hardware}: 1, any-device: 1) and went ungated: only their limits were "
        "checked; record them with --modelperf-update-missing (or --modelperf-update) and commit the files, or run with "
        "--modelperf-missing=fail to fail on them"
    ) in result.stdout.lines
    assert not (pytester.path / "baselines").exists(), "nothing is written unless asked"


def test_missing_baseline_fails_when_asked(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=RECORDING.replace("{threshold}", "10%"))
    monkeypatch.setenv("SAMPLES", STEADY)
    result = run("--modelperf-missing=fail")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*no baseline on this hardware; record one with --modelperf-update-missing*",
            "2 of 2 checks have no baseline (*-float32: 1, any-device: 1); record them with "
            "--modelperf-update-missing (or --modelperf-update) and commit the files",
        ]
    )


def test_regression_is_not_hidden_by_a_later_skip(pytester, run, monkeypatch):
    pytester.makepyfile("""
        import os, pytest
        def test_then_skip(modelperf):
            samples = [float(x) for x in os.environ["SAMPLES"].split(",")]
            modelperf.check(modelperf.record("latency", samples, unit="ms"))
            pytest.skip("no GPU")
    """)
    monkeypatch.setenv("SAMPLES", STEADY)
    run("--modelperf-update").assert_outcomes(skipped=1)
    monkeypatch.setenv("SAMPLES", SLOWER)
    run().assert_outcomes(failed=1)


def test_same_name_for_two_measurements_is_an_error(pytester, run, monkeypatch):
    pytester.makepyfile("""
        def test_twice(modelperf):
            modelperf.check(modelperf.record("latency", 1.0, unit="ms"))
            modelperf.check(modelperf.record("latency", 2.0, unit="ms"))
    """)
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*two different measurements are named 'latency'*"])


def test_unknown_marker_argument_is_rejected(pytester, run, monkeypatch):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.modelperf(treshold="5%")
        def test_typo(modelperf):
            pass
    """)
    result = run()
    result.stdout.fnmatch_lines(["*@pytest.mark.modelperf got 1 unknown argument: treshold;*"])
    assert result.ret != 0


def test_marker_threshold_applies_to_sampled_metrics(pytester, run, monkeypatch):
    pytester.makepyfile(
        test_perf="""
        import os, pytest
        @pytest.mark.modelperf(threshold="500%")
        def test_fast(modelperf):
            samples = [float(x) for x in os.environ["SAMPLES"].split(",")]
            modelperf.check(modelperf.record("latency", samples, unit="ms"))
    """
    )
    monkeypatch.setenv("SAMPLES", STEADY)
    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("SAMPLES", SLOWER)
    result = run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*+99.8%*+500%*pass*"])
    stored = json.loads(next((pytester.path / "baselines").rglob("test_perf.json")).read_text())
    assert stored["tests"]["test_fast"]["latency"]["summary"]["median"] == 10.02


def test_a_statistic_no_summary_keeps_is_recorded_and_judged(pytester, run, monkeypatch):
    pytester.makepyfile(
        test_perf="""
        import os
        def test_p75(modelperf):
            samples = [float(x) for x in os.environ["SAMPLES"].split(",")]
            modelperf.check(modelperf.record("latency", samples, unit="ms", statistic="p75"), threshold="10%")
            modelperf.check(modelperf.record("other", samples, unit="ms"), statistic="p75", threshold="10%")
    """
    )
    monkeypatch.setenv("SAMPLES", STEADY)
    run("--modelperf-update").assert_outcomes(passed=1)
    entries = json.loads(next(pytester.path.glob("baselines/*/test_perf.json")).read_text())["tests"]["test_p75"]
    assert entries["latency"]["summary"]["p75"] == 10.03 and entries["other"]["summary"]["p75"] == 10.03
    run().assert_outcomes(passed=1)
    monkeypatch.setenv("SAMPLES", SLOWER)
    run().assert_outcomes(failed=1)
