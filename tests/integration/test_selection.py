"""Orphans and --modelperf-prune follow the selection: a test this run did not select is never
an orphan, and prune only touches modules whose every test the run selected."""

from __future__ import annotations

import json

import pytest

TESTS = """
import os
import pytest

@pytest.mark.fast
def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [10.0] * 20, unit="ms"))

def test_b(modelperf):
    modelperf.check(modelperf.record("memory", 100.0, unit="MB", deterministic=True))

def test_c(modelperf):
    modelperf.check(modelperf.record("weights", 1000, unit="count", deterministic=True))
    assert os.environ.get("C_FAILS") != "1", "test_c fails on request"
"""

PRUNE = ("--modelperf-update", "--modelperf-prune")


def stored_tests(pytester: pytest.Pytester, name: str = "test_perf.json") -> set[str]:
    (path,) = (pytester.path / "baselines").rglob(name)
    return set(json.loads(path.read_text())["tests"])


@pytest.fixture
def recorded(pytester: pytest.Pytester, run) -> pytest.Pytester:
    pytester.makeini("[pytest]\nmarkers =\n    fast: a quick test\n")
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=3)
    assert stored_tests(pytester) == {"test_a", "test_b", "test_c"}
    return pytester


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param(("test_perf.py::test_a",), id="node-id"),
        pytest.param(("-k", "test_a"), id="keyword"),
        pytest.param(("-m", "fast"), id="marker"),
        pytest.param(("--deselect", "test_perf.py::test_b", "--deselect", "test_perf.py::test_c"), id="deselect"),
    ],
)
def test_unselected_tests_are_neither_orphans_nor_pruned(recorded, run, selection):
    result = run(*selection)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*orphaned*")
    result = run(*selection, *PRUNE)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*orphaned*")
    result.stdout.fnmatch_lines(
        [
            "*--modelperf-prune left test_perf.py alone: this run selected 1 of its 3 tests; select the whole module to prune it*",
        ]
    )
    assert stored_tests(recorded) == {"test_a", "test_b", "test_c"}


def test_last_failed_selection_prunes_nothing_it_did_not_run(recorded, monkeypatch):
    # --lf needs the cache provider, which the `run` fixture turns off.
    options = ("--modelperf-min-rounds=3", "--modelperf-max-rounds=20", "--modelperf-max-time=0.05")
    monkeypatch.setenv("C_FAILS", "1")
    recorded.runpytest(*options).assert_outcomes(passed=2, failed=1)
    monkeypatch.delenv("C_FAILS")
    result = recorded.runpytest(*options, "--lf", *PRUNE)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*orphaned*")
    assert stored_tests(recorded) == {"test_a", "test_b", "test_c"}


def test_a_path_subset_leaves_other_modules_alone(pytester, run):
    pytester.makepyfile(**{"one/__init__": "", "one/test_perf": TESTS, "two/__init__": "", "two/test_perf": TESTS})
    run("--modelperf-update").assert_outcomes(passed=6)
    pytester.makepyfile(**{"two/test_perf": TESTS.replace("def test_b", "def test_renamed")})
    result = run("one", *PRUNE)
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*orphaned*")
    two = next((pytester.path / "baselines").rglob("two/test_perf.json"))
    assert set(json.loads(two.read_text())["tests"]) == {"test_a", "test_b", "test_c"}


def test_a_test_removed_from_a_fully_selected_module_is_reported_and_pruned(recorded, run):
    recorded.makepyfile(test_perf=TESTS.replace("def test_c", "def test_renamed"))
    # Naming every test of the module by node id selects all of it, as running the file does.
    every_test = ("test_perf.py::test_a", "test_perf.py::test_b", "test_perf.py::test_renamed")
    result = run(*every_test)
    result.stdout.fnmatch_lines(
        ["*1 orphaned baseline entry reported*", "*test_perf.py::test_c weights * the test no longer exists*"]
    )
    result = run("-k", "test", *PRUNE)  # a keyword that deselects nothing
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*1 orphaned baseline entry removed*"])
    assert stored_tests(recorded) == {"test_a", "test_b", "test_renamed"}


def test_a_removed_parameter_of_a_fully_selected_module_is_pruned(pytester, run):
    source = """
import pytest
@pytest.mark.parametrize("batch", [{batches}])
def test_latency(modelperf, batch):
    modelperf.check(modelperf.record("latency", [10.0 * batch] * 20, unit="ms"))
"""
    pytester.makepyfile(test_perf=source.format(batches="1, 8"))
    run("--modelperf-update").assert_outcomes(passed=2)
    pytester.makepyfile(test_perf=source.format(batches="1"))
    run(*PRUNE).stdout.fnmatch_lines(["*1 orphaned baseline entry removed*", "*test_latency?8? latency*"])
    assert stored_tests(pytester) == {"test_latency[1]"}


def test_an_unselected_method_of_a_class_is_not_an_orphan(pytester, run):
    pytester.makepyfile(
        test_perf="""
class TestModel:
    def test_a(self, modelperf):
        modelperf.check(modelperf.record("latency", [10.0] * 20, unit="ms"))

    def test_b(self, modelperf):
        modelperf.check(modelperf.record("memory", 100.0, unit="MB", deterministic=True))
"""
    )
    run("--modelperf-update").assert_outcomes(passed=2)
    result = run("test_perf.py::TestModel::test_a", *PRUNE)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*orphaned*")
    assert stored_tests(pytester) == {"TestModel::test_a", "TestModel::test_b"}
