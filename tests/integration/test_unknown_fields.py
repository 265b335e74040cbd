"""Fields the plugin does not know (from a newer version, or added by hand) survive an update of another test."""

import json

TESTS = """
import os

def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [10.0] * 20, unit="ms"))

def test_b(modelperf):
    modelperf.check(modelperf.record("memory", float(os.environ.get("B", "100")), unit="MB", deterministic=True))
"""


def test_unknown_fields_survive_an_update_of_another_test(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=2)
    (path,) = (pytester.path / "baselines").rglob("test_perf.json")
    data = json.loads(path.read_text())
    data["reviewed_by"] = "alice"
    data["tests"]["test_a"]["latency"]["learned_spread"] = {"median": 0.031}
    path.write_text(json.dumps(data, indent=2))

    monkeypatch.setenv("B", "120")
    run("test_perf.py::test_b", "--modelperf-update").assert_outcomes(passed=1)

    rewritten = json.loads(path.read_text())
    assert rewritten["tests"]["test_b"]["memory"]["summary"] == {"value": 120}
    assert rewritten["reviewed_by"] == "alice"
    assert rewritten["tests"]["test_a"]["latency"] == data["tests"]["test_a"]["latency"]
