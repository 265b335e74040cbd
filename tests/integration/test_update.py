"""--modelperf-update, --modelperf-update-missing, --modelperf-add-run, orphans and pruning."""

import json

from pytest_modelperf.core.file_format import baseline_text

TESTS = """
import os
def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [float(os.environ.get("A", "10"))] * 20, unit="ms"))

def test_b(modelperf):
    modelperf.check(modelperf.record("memory", float(os.environ.get("B", "100")), unit="MB", deterministic=True))
"""


def stored(pytester):
    (path,) = (pytester.path / "baselines").rglob("test_perf.json")
    return path, json.loads(path.read_text())


def test_update_writes_sorted_readable_json(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    result = run("--modelperf-update")
    result.assert_outcomes(passed=2)
    path, data = stored(pytester)
    result.stdout.fnmatch_lines([f"*wrote {path} (2 entries)*"])
    assert path.parent.name == data["hardware_key"]
    text = path.read_text()
    assert text == baseline_text(data)
    assert data["tests"]["test_b"]["memory"]["summary"] == {"value": 100}
    latency = data["tests"]["test_a"]["latency"]
    assert latency["summary"]["median"] == 10 and latency["summary"]["rounds"] == 20
    assert len(latency["quantiles"]) == 21 and len(latency["runs"]) == 1
    environment = data["environments"][latency["environment"]]
    assert {"python", "torch", "transformers", "cpu", "cpu_cores"} <= environment.keys()
    assert "commit" not in environment  # an entry's own field, and only inside a git checkout


def test_update_rewrites_what_ran_and_keeps_the_rest(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=2)
    monkeypatch.setenv("A", "30")
    monkeypatch.setenv("B", "200")
    run("--modelperf-update", "-k", "test_a").assert_outcomes(passed=1)
    _, data = stored(pytester)
    assert data["tests"]["test_a"]["latency"]["summary"]["median"] == 30
    assert data["tests"]["test_b"]["memory"]["summary"]["value"] == 100  # not selected, untouched


def test_update_missing_writes_only_new_entries(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update", "-k", "test_a").assert_outcomes(passed=1)
    monkeypatch.setenv("A", "30")
    result = run("--modelperf-update-missing")
    result.assert_outcomes(passed=1, failed=1)  # test_a regressed: 10 -> 30 ms; it is not rewritten
    _, data = stored(pytester)
    assert data["tests"]["test_a"]["latency"]["summary"]["median"] == 10
    assert data["tests"]["test_b"]["memory"]["summary"]["value"] == 100


def test_unchanged_update_leaves_identical_bytes(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=2)
    path, _ = stored(pytester)
    before = path.read_bytes()
    run("--modelperf-update").assert_outcomes(passed=2)
    assert path.read_bytes() == before


def test_add_run_accumulates_runs_and_learns_the_spread(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=2)
    for value in ("11", "12"):
        monkeypatch.setenv("A", value)
        run("--modelperf-add-run").assert_outcomes(passed=2)
    _, data = stored(pytester)
    runs = data["tests"]["test_a"]["latency"]["runs"]
    assert [r["median"] for r in runs] == [10, 11, 12]
    assert "runs" not in data["tests"]["test_b"]["memory"]  # deterministic: no spread to learn
    monkeypatch.setenv("A", "11")
    result = run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*latency (median)*11 ms*11 ms*+0.0%*"])  # the center is the median of the runs


def test_orphans_are_reported_and_pruned_on_request(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=2)
    pytester.makepyfile(test_perf=TESTS.replace("def test_b", "def test_renamed"))
    result = run()
    result.stdout.fnmatch_lines(
        [
            "*1 orphaned baseline entry reported (remove them with --modelperf-update --modelperf-prune)*",
            "*test_perf.py::test_b memory * the test no longer exists*",
        ]
    )
    _, data = stored(pytester)
    assert "test_b" in data["tests"]
    result = run("--modelperf-update", "--modelperf-prune")
    result.stdout.fnmatch_lines(["*1 orphaned baseline entry removed*"])
    _, data = stored(pytester)
    assert set(data["tests"]) == {"test_a", "test_renamed"}


def test_a_measurement_no_longer_produced_is_an_orphan(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=2)
    pytester.makepyfile(test_perf=TESTS.replace('"memory"', '"memory_v2"'))
    result = run()
    result.stdout.fnmatch_lines(["*test_b memory * the test ran but did not produce this measurement*"])


def test_other_hardware_keys_are_never_touched(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    other = pytester.path / "baselines" / "nvidia-h100-float16" / "test_perf.json"
    other.parent.mkdir(parents=True)
    other.write_text('{"schema": 1, "hardware_key": "nvidia-h100-float16", "tests": {}}')
    before = other.read_bytes()
    run("--modelperf-update", "--modelperf-prune").assert_outcomes(passed=2)
    assert other.read_bytes() == before


def test_update_accepts_a_regression_but_not_a_broken_limit(pytester, run, monkeypatch):
    pytester.makepyfile(
        test_perf=TESTS
        + """
def test_slo(modelperf):
    latency = modelperf.record("slo_latency", [float(os.environ.get("A", "10"))] * 20, unit="ms")
    modelperf.check(latency, threshold="10%", limit="20ms")
"""
    )
    run("--modelperf-update").assert_outcomes(passed=3)
    monkeypatch.setenv("A", "30")
    result = run("--modelperf-update")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*1 over limit in test_perf.py::test_slo*", "*1 regression accepted*"])
