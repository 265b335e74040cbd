"""A broken baseline file is a clear error naming the file, and is never lost."""

import json

TEST = """
def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [10.0] * 20, unit="ms"))
"""


def write_broken(pytester, run, text):
    pytester.makepyfile(test_perf=TEST)
    run("--modelperf-update").assert_outcomes(passed=1)
    (path,) = (pytester.path / "baselines").rglob("test_perf.json")
    path.write_text(text)
    return path


def test_invalid_json_fails_the_test_naming_the_file(pytester, run):
    path = write_broken(pytester, run, '{"schema": 1, "tests": {')
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*BaselineError: baseline file {path}: not valid JSON (line 1, column 25*"])
    assert path.read_text() == '{"schema": 1, "tests": {'


def test_malformed_entry_names_the_field(pytester, run):
    path = write_broken(pytester, run, "")
    path.write_text(
        '{"schema": 1, "hardware_key": "k", "tests": {"test_a": {"latency": {"unit": "ms", '
        '"direction": "sideways", "deterministic": false, "statistic": "median", "summary": {"median": 1}}}}}'
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*baseline file {path}: field tests.test_a.latency.direction: 'sideways' is not one of*"])


def test_corrupt_file_is_not_overwritten_by_update_missing(pytester, run):
    path = write_broken(pytester, run, "not json")
    run("--modelperf-update-missing").assert_outcomes(failed=1)
    assert path.read_text() == "not json"


def test_update_moves_the_corrupt_file_aside_and_rewrites(pytester, run):
    path = write_broken(pytester, run, "not json")
    result = run("--modelperf-update")
    result.assert_outcomes(passed=1)
    aside = path.with_name(path.name + ".corrupt")
    result.stdout.fnmatch_lines([f"*the unreadable file it replaces was kept as {aside}*"])
    assert aside.read_text() == "not json"
    assert '"latency"' in path.read_text()


def test_a_nan_in_the_baseline_fails_the_test_naming_the_file_and_the_field(pytester, run):
    path = write_broken(pytester, run, "")
    run("--modelperf-update").assert_outcomes(passed=1)
    stored = json.loads(path.read_text())
    assert stored["tests"]["test_a"]["latency"]["summary"]["median"] == 10
    stored["tests"]["test_a"]["latency"]["summary"]["median"] = "PLACEHOLDER"
    path.write_text(json.dumps(stored, indent=2).replace('"PLACEHOLDER"', "NaN"))
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*baseline file {path}: field tests.test_a.latency.summary.median: not a finite number (NaN)*"])


def test_an_infinite_baseline_is_not_overwritten_by_update_missing(pytester, run):
    path = write_broken(pytester, run, "")
    run("--modelperf-update").assert_outcomes(passed=1)
    stored = json.loads(path.read_text())
    stored["tests"]["test_a"]["latency"]["summary"]["median"] = "PLACEHOLDER"
    broken = json.dumps(stored, indent=2).replace('"PLACEHOLDER"', "Infinity")
    path.write_text(broken)
    run("--modelperf-update-missing").assert_outcomes(failed=1)
    assert path.read_text() == broken
