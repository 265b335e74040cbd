"""What ``modelperf.check`` accepts, and errors that name the check and the argument."""

import json

import pytest

SAMPLES = "[10.0, 10.5, 11.0, 10.2, 10.4]"


def check_latency(pytester, arguments: str, *, marker: str = "") -> None:
    pytester.makepyfile(
        test_perf=f"""
import pytest
{marker}
def test_latency(modelperf):
    latency = modelperf.record("latency[1x128]", {SAMPLES}, unit="ms")
    modelperf.check(latency{arguments})
"""
    )


# -- thresholds and limits need a unit or a % --------------------------------------------------


# A bare number, and a unit of the wrong kind: each names the check and the argument
# (the message after "modelperf.check(latency[1x128], ").
ARGUMENT_ERRORS = [
    (', threshold="10"', "threshold='10'): '10' has no unit; give a unit or a %, e.g. '10%' or '10ms'"),
    (", threshold=10", "threshold=10): 10 has no unit; give a unit or a %, e.g. '10%' or '10ms'"),
    (', limit="50"', "limit='50'): '50' has no unit; give a unit or a %, e.g. '50%' or '50ms'"),
    (', limit="5MB"', "limit='5MB'): limit is a memory size, the measurement is a time (ms)"),
    (', threshold="64MB"', "threshold='64MB'): threshold is a memory size, the measurement is a time (ms)"),
    (
        ', threshold="5%", limit="100samples/s"',
        "limit='100samples/s'): limit is a rate in samples/s, the measurement is a time (ms)",
    ),
    (', limit="10%"', "limit='10%'): a limit must be absolute, e.g. '10ms'; a % belongs to the threshold"),
]


@pytest.mark.parametrize(("arguments", "message"), ARGUMENT_ERRORS)
def test_a_threshold_or_limit_it_cannot_take_is_refused_naming_the_check_and_the_argument(pytester, run, arguments, message):
    check_latency(pytester, arguments)
    result = run()
    result.assert_outcomes(failed=1)
    assert f"UnitError: modelperf.check(latency[1x128], {message}\n" in result.stdout.str()


def test_a_bare_marker_threshold_is_refused_naming_the_marker(pytester, run):
    check_latency(pytester, "", marker='@pytest.mark.modelperf(threshold="10")')
    result = run()
    result.assert_outcomes(failed=1)
    marker = "@pytest.mark.modelperf(threshold='10')"
    assert f"modelperf.check(latency[1x128]) under {marker}: '10' has no unit; give a unit or a %" in result.stdout.str()


def test_a_bare_threshold_option_is_a_usage_error(pytester, run):
    check_latency(pytester, "")
    result = run("--modelperf-threshold=10")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--modelperf-threshold*'10' has no unit; give a unit or a %, e.g. '10%' or '10ms'*"])


def test_a_bare_threshold_in_the_ini_file_is_a_usage_error(pytester, run):
    pytester.makeini("[pytest]\nmodelperf_threshold = 10\n")
    check_latency(pytester, "")
    result = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*modelperf_threshold*'10' has no unit*"])


# -- a unit of the wrong kind ------------------------------------------------------------------


def test_a_marker_threshold_of_the_wrong_kind_names_the_marker(pytester, run):
    check_latency(pytester, "", marker='@pytest.mark.modelperf(threshold="5MB")')
    result = run()
    result.assert_outcomes(failed=1)
    assert (
        "modelperf.check(latency[1x128]) under @pytest.mark.modelperf(threshold='5MB'): threshold is a memory size, "
        "the measurement is a time (ms)"
    ) in result.stdout.str()


# -- what can be checked -------------------------------------------------------------------------


def test_a_plain_number_is_refused_naming_the_check(pytester, run):
    pytester.makepyfile("""
        def test_number(modelperf):
            modelperf.check(12.5)
    """)
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*TypeError: modelperf.check(12.5): expected a Measurement (from modelperf.measure_* or modelperf.record), "
            "got float; a number of your own goes through modelperf.record(name, value, unit=...)*"
        ]
    )


def test_a_throughput_is_checked_as_both_of_its_rates(pytester, run, tiny_checkpoint):
    pytester.makepyfile(
        test_perf=f"""
def test_throughput(modelperf):
    model = modelperf.load({str(tiny_checkpoint)!r}, device="cpu")
    verdicts = modelperf.check(modelperf.measure_throughput(model, batch_size=2, sequence_length=8), threshold="50%")
    assert [verdict.measurement.name for verdict in verdicts] == ["throughput[2x8]", "token_throughput[2x8]"]
"""
    )
    run("--modelperf-update").assert_outcomes(passed=1)
    stored = json.loads(next((pytester.path / "baselines").rglob("test_perf.json")).read_text())
    assert set(stored["tests"]["test_throughput"]) == {"throughput[2x8]", "token_throughput[2x8]"}


def test_a_result_without_an_obvious_set_of_measurements_is_refused_naming_its_fields(pytester, run, tiny_checkpoint):
    pytester.makepyfile(
        test_perf=f"""
def test_facts(modelperf):
    model = modelperf.load({str(tiny_checkpoint)!r}, device="cpu")
    modelperf.check(modelperf.model_facts(model))
"""
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*TypeError: modelperf.check(ModelFacts): expected a Measurement; a ModelFacts holds parameter_count, "
            "artefact_size, load_time: check the one you mean, e.g. modelperf.check(result.parameter_count)*"
        ]
    )


# -- non-finite values and ratios through the plugin ---------------------------------------------


def test_a_nan_latency_fails_its_limit_and_the_run_still_writes_its_reports(pytester, run):
    pytester.makepyfile(
        test_perf="""
        def test_nan(modelperf):
            latency = modelperf.record("latency", [float("nan")] * 3, unit="ms")
            modelperf.check(latency, limit="5ms")
    """
    )
    result = run("--modelperf-json", "out.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*latency*N/A*OVER LIMIT*",
            "*N/A (not a finite number (nan in round 1 of 3)), so not within the limit 5ms*",
        ]
    )
    exported = json.loads((pytester.path / "out.json").read_text())
    assert "NaN" not in (pytester.path / "out.json").read_text() and exported


def test_a_nan_accuracy_fails_against_its_baseline(pytester, run, monkeypatch):
    pytester.makepyfile(
        test_perf="""
        import os
        def test_accuracy(modelperf):
            score = modelperf.record(
                "accuracy", float(os.environ["SCORE"]), unit="points", direction="higher_is_better", deterministic=True
            )
            modelperf.check(score, threshold="1points")
    """
    )
    monkeypatch.setenv("SCORE", "90")
    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("SCORE", "nan")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*accuracy*90 points*N/A*REGRESSION*"])


def test_a_ratio_with_a_zero_round_fails_its_limit_and_is_not_recorded(pytester, run):
    pytester.makepyfile(
        test_perf="""
        def test_speedup(modelperf):
            bert = modelperf.record("latency of bert", [2.0, 2.0, 2.0], unit="ms")
            distil = modelperf.record("latency of distil", [1.0, 0.0, 1.0], unit="ms")
            modelperf.check(modelperf.ratio(bert, distil, name="speed-up"), threshold="10%", limit="1.5x")
    """
    )
    result = run("--modelperf-update", "--modelperf-json", "out.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*division by zero: latency of distil measured 0 in round 2*"])
    assert json.loads((pytester.path / "out.json").read_text())["results"][0]["outcome"] == "over limit"
    assert not list((pytester.path / "baselines").rglob("test_perf.json")), "a fault is never recorded as a baseline"


def test_a_fault_under_update_fails_and_keeps_the_good_baseline(pytester, run, monkeypatch):
    pytester.makepyfile(
        test_perf="""
        import os
        def test_latency(modelperf):
            modelperf.check(modelperf.record("latency", [float(os.environ["MS"])] * 5, unit="ms"), threshold="10%")
    """
    )
    monkeypatch.setenv("MS", "10")
    run("--modelperf-update").assert_outcomes(passed=1)
    baseline = next((pytester.path / "baselines").rglob("test_perf.json"))
    recorded = baseline.read_bytes()
    for update in ("--modelperf-update", "--modelperf-add-run", "--modelperf-update-missing"):
        monkeypatch.setenv("MS", "nan")
        result = run(update)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*not a finite number*"])
        assert baseline.read_bytes() == recorded, update


# -- comparison errors name the baseline file ----------------------------------------------------


def test_a_direction_mismatch_names_the_baseline_file(pytester, run, monkeypatch):
    pytester.makepyfile(
        test_perf="""
        import os
        def test_score(modelperf):
            modelperf.check(modelperf.record("score", [1.0, 1.1, 1.2], unit="ms", direction=os.environ["DIRECTION"]))
    """
    )
    monkeypatch.setenv("DIRECTION", "lower_is_better")
    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("DIRECTION", "higher_is_better")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ComparisonError: *baselines*test_perf.json: score: the baseline says lower_is_better, the measurement higher_is_better*"
        ]
    )
