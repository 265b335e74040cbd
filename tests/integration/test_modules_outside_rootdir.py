"""Test modules outside the root dir each get their own baseline file, the same on every run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = """
def test_latency(modelperf):
    modelperf.check(modelperf.record("latency", [{value}] * 20, unit="ms"))

def test_memory(modelperf):
    modelperf.check(modelperf.record("memory", {value}, unit="MB", deterministic=True))
"""


@pytest.fixture
def layout(pytester: pytest.Pytester) -> tuple[Path, Path, Path]:
    """A project (the root dir) and two test folders beside it, with same-named tests."""
    project = pytester.mkdir("project")
    (project / "pytest.ini").write_text("[pytest]\n")
    first, second = pytester.mkdir("first"), pytester.mkdir("second")
    (first / "test_first.py").write_text(TESTS.format(value=10.0))
    (second / "test_second.py").write_text(TESTS.format(value=20.0))
    return project, first / "test_first.py", second / "test_second.py"


def baseline_files(project: Path) -> dict[str, dict]:
    files = sorted((project / "baselines").rglob("*.json"))
    return {path.relative_to(project / "baselines").as_posix().split("/", 1)[1]: json.loads(path.read_text()) for path in files}


def test_each_module_outside_the_root_dir_has_its_own_file(layout, run):
    project, first, second = layout
    run("--rootdir", str(project), str(first), str(second), "--modelperf-update").assert_outcomes(passed=4)
    files = baseline_files(project)
    assert set(files) == {"_parent/first/test_first.json", "_parent/second/test_second.json"}
    assert files["_parent/first/test_first.json"]["tests"]["test_memory"]["memory"]["summary"]["value"] == 10
    assert files["_parent/second/test_second.json"]["tests"]["test_memory"]["memory"]["summary"]["value"] == 20
    # Judged against its own baseline, from another invocation directory too.
    export = project / "run.json"
    result = run("--rootdir", str(project), str(second.parent), "--modelperf-json", str(export))
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*no baseline*")
    result.stdout.fnmatch_lines(["*memory*20 MB*20 MB*+0.0%*"])
    exported = {check["nodeid"] for check in json.loads(export.read_text())["results"]}
    assert exported == {"_parent/second/test_second.py::test_latency", "_parent/second/test_second.py::test_memory"}


def test_prune_on_one_module_outside_the_root_dir_leaves_the_other_alone(layout, run):
    project, first, second = layout
    run("--rootdir", str(project), str(first), str(second), "--modelperf-update").assert_outcomes(passed=4)
    first.write_text(TESTS.format(value=10.0).replace("def test_memory", "def test_renamed"))
    result = run("--rootdir", str(project), str(first), "--modelperf-update", "--modelperf-prune")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*1 orphaned baseline entry removed*", "*test_first.py::test_memory memory*"])
    files = baseline_files(project)
    assert set(files["_parent/first/test_first.json"]["tests"]) == {"test_latency", "test_renamed"}
    assert set(files["_parent/second/test_second.json"]["tests"]) == {"test_latency", "test_memory"}
