"""pytest-xdist (``-n N``): each worker hands its checks to the controller, which writes the baselines
and the reports once, from the merged checks, as a single process does. Only what cannot be merged
is refused, once, before any worker starts: ``--dist each`` with an option that writes a file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

TESTS = """
import os

def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [float(os.environ.get("A", "10"))] * 20, unit="ms"))

def test_b(modelperf):
    modelperf.check(modelperf.record("memory", float(os.environ.get("B", "100")), unit="MB", deterministic=True))

def test_c(modelperf):
    modelperf.check(modelperf.record("parameters", 1000, unit="count", deterministic=True))

def test_d(modelperf):
    modelperf.check(modelperf.record("memory", 50.0, unit="MB", deterministic=True))
"""
NODEIDS = [f"test_perf.py::test_{name}" for name in "abcd"]


@pytest.fixture(
    params=[pytest.param((), id="one-process"), pytest.param(("-n", "0"), id="n0"), pytest.param(("-n", "2"), id="n2")]
)
def run(request: pytest.FixtureRequest, pytester: pytest.Pytester):
    """pytest in a subprocess (xdist's workers are processes), in one process, with -n 0, or with -n 2."""

    def runner(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", *request.param, *args)

    return runner


def stored(pytester: pytest.Pytester) -> dict[str, dict]:
    """Every stored test's entries, across the hardware keys' files of test_perf.py."""
    tests: dict[str, dict] = {}
    for path in sorted((pytester.path / "baselines").rglob("test_perf.json")):
        for test, entries in json.loads(path.read_text())["tests"].items():
            tests.setdefault(test, {}).update(entries)
    return tests


def record(pytester: pytest.Pytester, *files: str) -> None:
    """Record the baselines in one process (in this one, which is quicker): the scenarios' starting point."""
    pytester.runpytest("-p", "no:cacheprovider", "--modelperf-update", *files).assert_outcomes(passed=4)


def test_update_records_every_test(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    result = run("--modelperf-update")
    result.assert_outcomes(passed=4)
    tests = stored(pytester)
    assert sorted(tests) == ["test_a", "test_b", "test_c", "test_d"]
    assert tests["test_a"]["latency"]["summary"]["median"] == 10
    assert tests["test_b"]["memory"]["summary"] == {"value": 100}
    result.stdout.fnmatch_lines(["*wrote *test_perf.json (* entr*"])


def test_add_run_adds_every_test_s_run(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    record(pytester)
    monkeypatch.setenv("A", "11")
    run("--modelperf-add-run").assert_outcomes(passed=4)
    assert [r["median"] for r in stored(pytester)["test_a"]["latency"]["runs"]] == [10, 11]


def test_json_export_holds_every_check_in_collection_order(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-json", "reports/run.json").assert_outcomes(passed=4)
    data = json.loads((pytester.path / "reports" / "run.json").read_text())
    assert [result["nodeid"] for result in data["results"]] == NODEIDS
    assert {result["environment"] for result in data["results"]} <= set(data["environments"])


def test_a_regression_fails_its_test_and_the_run(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    record(pytester)
    monkeypatch.setenv("B", "200")
    result = run()
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*= modelperf =*", "*test_perf.py::test_b*memory*100.0 MB*200.0 MB*REGRESSION*"])
    assert stored(pytester)["test_b"]["memory"]["summary"] == {"value": 100}


def test_orphans_are_pruned_only_where_the_whole_module_ran(pytester, run):
    pytester.makepyfile(test_perf=TESTS)
    record(pytester)
    pytester.makepyfile(test_perf=TESTS.replace("def test_b", "def test_renamed"))
    result = run("--modelperf-update", "--modelperf-prune", "-k", "test_a or test_c")
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*orphaned*")
    result.stdout.fnmatch_lines(["*--modelperf-prune left test_perf.py alone: this run selected 2 of its 4 tests*"])
    assert "test_b" in stored(pytester)
    result = run("--modelperf-update", "--modelperf-prune")
    result.stdout.fnmatch_lines(
        ["*1 orphaned baseline entry removed:*", "*test_perf.py::test_b memory * the test no longer exists*"]
    )
    assert sorted(stored(pytester)) == ["test_a", "test_c", "test_d", "test_renamed"]


# Deterministic values throughout, so that both runs measure the same numbers; a class and a
# parametrised test, so that the order of the checks is more than the order of the functions.
SUITE = """
import pytest

@pytest.mark.parametrize("batch", [1, 2, 4, 8])
def test_sizes(modelperf, batch):
    modelperf.check(modelperf.record("memory", 10.0 * batch, unit="MB", deterministic=True))
    modelperf.check(modelperf.record("parameters", 1000 + batch, unit="count", deterministic=True))

class TestModel:
    def test_latency(self, modelperf):
        modelperf.check(modelperf.record("latency", [5.0, 6.0, 7.0] * 7, unit="ms"))

    def test_memory(self, modelperf):
        modelperf.check(modelperf.record("memory", 64.0, unit="MB", deterministic=True))

def test_last(modelperf):
    modelperf.check(modelperf.record("memory", 1.0, unit="MB", deterministic=True))
"""
OTHER = """
def test_other(modelperf):
    modelperf.check(modelperf.record("parameters", 7, unit="count", deterministic=True))
"""
OUTPUTS = ("baselines", "run.json", "summary.md")
SUITE_CHECKS = [  # in the order of collection: modules by name, then as written
    "test_other.py::test_other",
    *[f"test_perf.py::test_sizes[{batch}]" for batch in (1, 2, 4, 8) for _ in ("memory", "parameters")],
    "test_perf.py::TestModel::test_latency",
    "test_perf.py::TestModel::test_memory",
    "test_perf.py::test_last",
]


def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[pytest.RunResult, Path]:
    """Run the suite with an update, a JSON export and a step summary; move what it wrote aside."""
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary.md"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, "--modelperf-update", "--modelperf-json", "run.json")
    result.assert_outcomes(passed=8)
    kept = pytester.path / ("outputs" + "-".join(args))
    kept.mkdir()
    for name in OUTPUTS:
        shutil.move(pytester.path / name, kept / name)
    return result, kept


def modelperf_section(result: pytest.RunResult) -> list[str]:
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"=+ modelperf =+", line))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("==="))
    return lines[start:end]


def without_start_time(export: dict) -> dict:
    """The export less its ``started`` timestamp: the one field that differs between any two runs.
    Nothing else is normalised: the values are deterministic, both runs record the same day, and
    the environment (software versions, CPU model and cores) and so its identifier are the same."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", export.pop("started"))
    return export


def test_two_workers_write_what_one_process_writes(pytester, monkeypatch):
    pytester.makepyfile(test_perf=SUITE, test_other=OTHER)
    single, one = run_suite(pytester, monkeypatch)
    distributed, two = run_suite(pytester, monkeypatch, "-n", "2")
    distributed.stdout.fnmatch_lines(["created: 2/2 workers"])  # it did run in workers
    baselines = sorted(path.relative_to(one) for path in (one / "baselines").rglob("*.json"))
    assert len(baselines) >= 2
    assert baselines == sorted(path.relative_to(two) for path in (two / "baselines").rglob("*.json"))
    for path in baselines:
        assert (two / path).read_text() == (one / path).read_text(), path
    exported = [without_start_time(json.loads((kept / "run.json").read_text())) for kept in (one, two)]
    assert exported[1] == exported[0]
    assert [result["nodeid"] for result in exported[0]["results"]] == SUITE_CHECKS
    assert (two / "summary.md").read_text() == (one / "summary.md").read_text()
    assert (one / "summary.md").read_text().startswith("### modelperf: 12 checks, no regressions")
    # The terminal summary too, line for line: the table, the hardware keys, the files written.
    assert modelperf_section(distributed) == modelperf_section(single)
    assert any(line.startswith("wrote ") for line in modelperf_section(distributed))


CRASH = """
import os

def test_crash(modelperf):
    modelperf.check(modelperf.record("parameters", 5, unit="count", deterministic=True))
    if os.environ.get("CRASH") == "1":
        os._exit(1)
"""


def test_a_crashed_worker_leaves_the_baselines_and_exports_unwritten(pytester, monkeypatch):
    pytester.makepyfile(test_perf=TESTS, test_crash=CRASH)
    pytester.runpytest("-p", "no:cacheprovider", "--modelperf-update").assert_outcomes(passed=5)
    before = {path: path.read_bytes() for path in (pytester.path / "baselines").rglob("*.json")}
    monkeypatch.setenv("B", "200")  # an update would re-record test_b
    monkeypatch.setenv("CRASH", "1")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--modelperf-update", "--modelperf-prune", "--modelperf-json", "run.json"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # xdist fails the test that was running
    errors = [line for line in result.stdout.lines if line.startswith("error: worker ")]
    assert len(errors) == 1
    assert re.fullmatch(
        r"error: worker gw\d crashed \(.+\) and its checks are lost, so this run did not write the baselines and "
        r"--modelperf-json: a partial run changes nothing; run again",
        errors[0],
    )
    result.stdout.fnmatch_lines(["*= modelperf =*", "test_perf.py::test_* memory *"])  # the others' checks are reported
    assert {path: path.read_bytes() for path in (pytester.path / "baselines").rglob("*.json")} == before
    assert not (pytester.path / "run.json").exists()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--modelperf-update",), "--modelperf-update"),
        (("--modelperf-add-run",), "--modelperf-add-run"),
        (("--modelperf-json", "run.json", "--modelperf-csv", "run.csv"), "--modelperf-json, --modelperf-csv"),
    ],
)
def test_dist_each_is_refused_with_a_writer_before_any_worker_starts(pytester, options, named):
    pytester.makepyfile(test_perf=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "each", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [
        f"ERROR: modelperf: {named} cannot be used with --dist each (pytest-xdist): every worker runs every test, "
        "so each check would be made once per worker; run with -n N and the default --dist load, or without -n"
    ]
    assert "Traceback" not in result.stdout.str()
    assert not (pytester.path / "baselines").exists()


def test_dist_each_names_the_worker_of_each_check_in_the_reports(pytester, monkeypatch):
    """Without a file that needs each check once, --dist each runs: every worker's check is shown, named."""
    pytester.makepyfile(test_perf=TESTS)
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "each")
    result.assert_outcomes(passed=8)
    lines = result.stdout.lines
    header = next(number for number, line in enumerate(lines) if line.startswith("test  "))  # the summary's table
    rows = [line.split()[:2] for line in lines[header:] if line.startswith("test_perf.py::")]
    assert rows == [[nodeid, f"[gw{worker}]"] for nodeid in NODEIDS for worker in (0, 1)]
    markdown = summary.read_text()
    assert all(f"`{nodeid} [gw{worker}]`" in markdown for nodeid in NODEIDS for worker in (0, 1)), markdown


TIMED = """
from pytest_modelperf.measure.timing_lock import lock_path

def test_timed(modelperf):
    modelperf.check(modelperf.measure_callable(lambda: sum(range(1000)), name="work"))
    assert lock_path() is not None and lock_path().exists()  # the worker timed under the run's lock
"""


def test_the_run_s_timing_lock_file_is_removed_when_every_worker_is_done(pytester, monkeypatch):
    temporary = pytester.path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    pytester.makepyfile(test_timed=TIMED)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "each").assert_outcomes(passed=2)
    assert sorted(path.name for path in temporary.glob("modelperf-timing-*")) == []
