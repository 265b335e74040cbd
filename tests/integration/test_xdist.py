"""Under pytest-xdist, the options that write one file for the whole run are refused once, by
the controller, before any worker starts; measuring and checking still run in parallel."""

from __future__ import annotations

import pytest

TESTS = """
def test_a(modelperf):
    modelperf.check(modelperf.record("memory", 100.0, unit="MB", deterministic=True))

def test_b(modelperf):
    modelperf.check(modelperf.record("parameters", 1000, unit="count", deterministic=True))
"""


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--modelperf-update",), "--modelperf-update"),
        (("--modelperf-add-run",), "--modelperf-add-run"),
        (("--modelperf-json", "run.json"), "--modelperf-json"),
        (("--modelperf-csv", "run.csv", "--modelperf-html", "run.html"), "--modelperf-csv, --modelperf-html"),
    ],
)
def test_writing_options_are_refused_in_the_controller(pytester: pytest.Pytester, options, named):
    pytester.makepyfile(test_perf=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [
        f"ERROR: modelperf: {named} cannot be used with -n (pytest-xdist): each writes one file from every "
        "test's checks, and the tests run in separate worker processes; run without -n, or with -n 0"
    ]
    assert "Traceback" not in result.stdout.str()
    assert not (pytester.path / "baselines").exists()


def test_checks_still_run_in_parallel_without_those_options(pytester: pytest.Pytester):
    pytester.makepyfile(test_perf=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK


def test_n_0_runs_in_one_process_and_writes(pytester: pytest.Pytester):
    pytester.makepyfile(test_perf=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "0", "--modelperf-update")
    result.assert_outcomes(passed=2)
    assert list((pytester.path / "baselines").rglob("test_perf.json"))
