"""--modelperf-json export and the Markdown summary for CI step summaries."""

import json

TESTS = """
import os
def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [float(os.environ.get("A", "10"))] * 20, unit="ms"))
"""


def test_json_export_holds_every_check(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("A", "30")
    run("--modelperf-json", "reports/run.json").assert_outcomes(failed=1)
    data = json.loads((pytester.path / "reports" / "run.json").read_text())
    (result,) = data["results"]
    assert result["nodeid"] == "test_perf.py::test_a"
    assert result["outcome"] == "regression"
    assert result["baseline"] == 10 and result["current"] == 30 and result["change"] == 2.0
    assert result["measurement"]["samples"] == [30.0] * 20
    assert result["environment"] in data["environments"]
    assert result["metric"] == "latency (median)" and result["threshold"] == "10%"
    assert data["noise"] == {
        "enabled": True,
        "confidence": 0.99,
        "assumed_spread": 0.05,
        "assumed_spread_weight": 6,
        "bootstrap_resamples": 400,
    }


def test_markdown_is_appended_to_the_github_step_summary(pytester, run, monkeypatch):
    summary = pytester.path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(test_perf=TESTS)
    run().assert_outcomes(passed=1)
    text = summary.read_text()
    assert text.startswith("earlier step\n### modelperf: 1 check, no regressions — 1 without a baseline\n")
    assert "<details><summary>All 1 check</summary>" in text
    assert "| test_perf.py::test_a | latency (median) | - | 10 ms | - | +10% | no baseline |" in text
    assert "- `test_perf.py::test_a`: latency (median)" in text


def test_markdown_marks_failures(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("A", "30")
    run("--modelperf-markdown", "out.md").assert_outcomes(failed=1)
    text = (pytester.path / "out.md").read_text()
    assert "1 failing" in text and "**REGRESSION**" in text
    assert "<details>" not in text, "nothing passed, so nothing is collapsed"


MANY = """
import os
import pytest

@pytest.mark.parametrize("block", range(15))
def test_block(modelperf, block):
    slow = os.environ.get("SLOW", "")
    for i in range(10):
        name = f"m{i}"
        value = 30.0 if slow == f"{block}-{i}" else 10.0
        modelperf.check(modelperf.record(name, [value] * 5, unit="ms"))
    if os.environ.get("NEW") == str(block):
        modelperf.check(modelperf.record("fresh", [1.0] * 5, unit="ms"))
"""


def test_markdown_stays_compact_at_150_checks(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=MANY)
    run("--modelperf-update").assert_outcomes(passed=15)
    monkeypatch.setenv("SLOW", "7-3")
    monkeypatch.setenv("NEW", "2")
    run("--modelperf-markdown", "out.md").assert_outcomes(passed=14, failed=1)
    text = (pytester.path / "out.md").read_text()
    lines = text.splitlines()
    assert lines[0] == "### modelperf: 151 checks, 1 failing — 149 passed, 1 without a baseline"
    failing_table = lines[lines.index("| test | metric | baseline | current | change | threshold | verdict |") :]
    assert failing_table[2].startswith("| test_perf.py::test_block[7] | m3 (median) | 10 ms | 30 ms | +200.0% |")
    assert failing_table[2].endswith("| **REGRESSION** |")
    assert failing_table[3] == ""
    assert any(
        line.startswith(
            "- `test_perf.py::test_block[7]` m3 (median): worse than the baseline beyond the threshold and the noise band"
        )
        for line in lines
    )
    opening = lines.index("<details><summary>150 other checks</summary>")
    closing = lines.index("</details>")
    assert opening < closing
    collapsed = lines[opening:closing]
    assert sum(line.startswith("| test_perf.py::") for line in collapsed) == 150
    assert "| test_perf.py::test_block[2] | fresh (median) | - | 1 ms | - | +10% | no baseline |" in collapsed
    outside = lines[:opening] + lines[closing:]
    assert len(outside) < 25, "only the failing checks and short lists stay open"
    assert any(
        line.startswith("1 of 151 checks has no baseline (")
        and line.endswith(
            "went ungated: only their limits were checked; "
            "record them with --modelperf-update-missing (or --modelperf-update) and commit the files, or run with "
            "--modelperf-missing=fail to fail on them. Those checks:"
        )
        for line in outside
    )
    assert "- `test_perf.py::test_block[2]`: fresh (median)" in outside
    assert outside[-1].startswith("Hardware key: `") and outside[-1].endswith("-float32`")


def test_markdown_lists_tests_that_passed_only_on_re_run(pytester, run, monkeypatch):
    """A failure on a timing that does not reproduce: the table shows the re-run, a short list the first attempt."""
    pytester.makepyfile(
        test_perf="""
import os
from pathlib import Path

def test_flaky(modelperf):
    marker = Path("attempted")
    value = 10.0 if marker.exists() or os.environ.get("FLAKY") != "1" else 30.0
    marker.touch()
    modelperf.check(modelperf.record("latency", [value] * 20, unit="ms"))
"""
    )
    run("--modelperf-update").assert_outcomes(passed=1)
    (pytester.path / "attempted").unlink()
    monkeypatch.setenv("FLAKY", "1")
    run("--modelperf-markdown", "out.md").assert_outcomes(passed=1)
    text = (pytester.path / "out.md").read_text()
    assert text.startswith("### modelperf: 1 check, no regressions — 1 passed\n")
    assert (
        "Passed only on re-run:\n"
        "- re-run `test_perf.py::test_flaky`: not reproduced: the first attempt failed (latency (median) +200.0%)"
    ) in text
