"""What the reports say of orphaned entries under --modelperf-prune follows what the session's
end did: "removed" when the baseline files were written, "not removed" when they could not be."""

from __future__ import annotations

import json
import re

import pytest

TESTS = """
def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [10.0] * 20, unit="ms"))

def test_gone(modelperf):
    modelperf.check(modelperf.record("memory", 100.0, unit="MB", deterministic=True))
"""
PRUNE = ("--modelperf-update", "--modelperf-prune", "--modelperf-html=report.html")


@pytest.fixture
def orphaned(pytester: pytest.Pytester, run) -> pytest.Pytester:
    """A module whose baselines hold an entry of a test that no longer exists."""
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=2)
    pytester.makepyfile(test_perf=TESTS.split("def test_gone")[0])
    return pytester


def orphans_line(page: str) -> str:
    (line,) = re.findall(r"<li>1 orphaned baseline entry [^\n]*", page)
    return line


def stored_tests(pytester: pytest.Pytester) -> set[str]:
    (path,) = (pytester.path / "baselines").rglob("test_perf.json")
    return set(json.loads(path.read_text())["tests"])


def test_orphans_pruned_are_reported_removed(orphaned, run) -> None:
    result = run(*PRUNE)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["1 orphaned baseline entry removed:"])
    assert orphans_line((orphaned.path / "report.html").read_text()) == "<li>1 orphaned baseline entry removed:<ul>"
    assert stored_tests(orphaned) == {"test_a"}


def test_orphans_that_could_not_be_pruned_are_not_reported_removed(orphaned, run) -> None:
    (orphaned.path / "baselines" / ".modelperf").rename(orphaned.path / "lock-folder-moved")
    (orphaned.path / "baselines" / ".modelperf").write_text("a file where the lock folder should be\n")
    result = run(*PRUNE)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(["1 orphaned baseline entry not removed: the baselines could not be written:"])
    line = orphans_line((orphaned.path / "report.html").read_text())
    assert line == "<li>1 orphaned baseline entry not removed: the baselines could not be written:<ul>"
    assert stored_tests(orphaned) == {"test_a", "test_gone"}
