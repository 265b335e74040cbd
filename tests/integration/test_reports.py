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


def test_markdown_is_appended_to_the_github_step_summary(pytester, run, monkeypatch):
    summary = pytester.path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(test_perf=TESTS)
    run().assert_outcomes(passed=1)
    text = summary.read_text()
    assert text.startswith("earlier step\n### modelperf: 1 check(s), no regressions")
    assert "| test_perf.py::test_a | latency (median) | - | 10 ms | - | +10% | no baseline |" in text


def test_markdown_marks_failures(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=TESTS)
    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("A", "30")
    run("--modelperf-markdown", "out.md").assert_outcomes(failed=1)
    text = (pytester.path / "out.md").read_text()
    assert "1 failing" in text and "**REGRESSION**" in text
