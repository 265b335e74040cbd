"""--modelperf-update keeps the between-run spread learned from earlier runs; --modelperf-forget-spread drops it."""

import json

TESTS = """
import os
def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [float(os.environ.get("A", "10"))] * 20, unit="ms"))
"""


def entry(pytester):
    (path,) = (pytester.path / "baselines").rglob("test_perf.json")
    return json.loads(path.read_text())["tests"]["test_a"]["latency"]


def record_three_runs(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=1)
    for value in ("11", "12"):
        monkeypatch.setenv("A", value)
        run("--modelperf-add-run").assert_outcomes(passed=1)


def test_an_update_keeps_the_learned_spread(pytester, run, monkeypatch):
    record_three_runs(pytester, run, monkeypatch)
    monkeypatch.setenv("A", "20")
    run("--modelperf-update").assert_outcomes(passed=1)
    latency = entry(pytester)
    assert [r["median"] for r in latency["runs"]] == [20]
    # runs 10, 11, 12: mean 11, sd 1, relative 1/11 with 2 degrees of freedom
    assert latency["earlier_spread"] == {"median": {"relative": 0.0909091, "degrees_of_freedom": 2}}


def test_forget_spread_starts_afresh(pytester, run, monkeypatch):
    record_three_runs(pytester, run, monkeypatch)
    monkeypatch.setenv("A", "20")
    run("--modelperf-update", "--modelperf-forget-spread").assert_outcomes(passed=1)
    assert "earlier_spread" not in entry(pytester)


def test_forget_spread_needs_update(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    result = run("--modelperf-forget-spread")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--modelperf-forget-spread only works together with --modelperf-update*"])
