"""How a run's verdicts read in every report: a quality score's change in points, exact checks
without noise wording, counts in words, and advice that never contradicts the flags in force."""

from __future__ import annotations

import pandas

SCORED = """
import os
import random

from pytest_modelperf import Direction, Measurement
from pytest_modelperf.core.example_outcomes import ExampleOutcomes


def score(name, wrong):
    rng = random.Random(3)
    right = [1.0 if rng.random() < 0.85 else 0.0 for _ in range(400)]
    for i in [i for i, r in enumerate(right) if r][:wrong]:
        right[i] = 0.0
    examples = ExampleOutcomes("mean", tuple(f"q{i}" for i in range(400)), tuple(right))
    return Measurement(name, "points", Direction.HIGHER_IS_BETTER, examples.value(), examples=examples, context={"device": "cpu"})


def test_quality(modelperf):
    wrong = int(os.environ.get("WRONG", "0"))
    modelperf.check(score("accuracy", wrong), threshold="0.5 points")
    modelperf.check(score("f1", wrong), threshold="0.5points")


def test_parameters(modelperf):
    modelperf.check(modelperf.record("parameters", int(os.environ.get("PARAMETERS", "1000")), unit="count", deterministic=True))
"""


def test_a_quality_drop_reads_in_points_in_every_report(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=SCORED)
    run("--modelperf-update").assert_outcomes(passed=2)
    monkeypatch.setenv("WRONG", "40")  # 40 of 400 examples: 10 points
    result = run("--modelperf-markdown=summary.md", "--modelperf-html=report.html", "--modelperf-csv=run.csv")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ModelPerfRegression: modelperf: 2 regressions in test_perf.py::test_quality*",
            "*accuracy*-10.00 points*-0.5 points, noise ±* points*REGRESSION*",
        ]
    )
    table = [line for line in result.stdout.lines if "test_perf.py::test_quality" in line and "accuracy" in line]
    assert table and all("%" not in line for line in table), table
    markdown = (pytester.path / "summary.md").read_text()
    assert "| -10.00 points | -0.5 points, noise ±" in markdown
    assert "2 failing — 1 passed" in markdown
    html = (pytester.path / "report.html").read_text()
    assert "-10.00 points" in html and "-0.5 points, noise ±" in html
    frame = pandas.read_csv(pytester.path / "run.csv").set_index("measurement")
    assert frame.loc["accuracy", "change_in_unit"] == -10.0
    assert frame.loc["accuracy", "noise_band_in_unit"] > 0
    assert frame.loc["accuracy", "threshold"] == "0.5 points"


def test_an_exact_check_fails_without_noise_wording(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=SCORED)
    run("--modelperf-update").assert_outcomes(passed=2)
    monkeypatch.setenv("PARAMETERS", "1001")
    result = run("-k", "test_parameters")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*parameters: worse than the baseline; an exact check allows no change towards worse*"])
    assert "noise band" not in result.stdout.str()


def test_missing_baselines_being_recorded_are_not_told_to_be_recorded(pytester, run):
    pytester.makepyfile(test_perf=SCORED)
    result = run("-k", "test_parameters", "--modelperf-update-missing", "--modelperf-missing=fail")
    text = result.stdout.str()
    assert "record one with" not in text and "record them with" not in text
    result.stdout.fnmatch_lines(
        [
            "*parameters: no baseline on this hardware; --modelperf-update-missing records one at the end of this run*",
            "1 of 1 check has no baseline (*); --modelperf-update-missing records them at the end of this run: "
            "commit the files it writes",
        ]
    )


def test_missing_baselines_warn_with_the_flag_in_force(pytester, run):
    pytester.makepyfile(test_perf=SCORED)
    result = run("-k", "test_parameters", "--modelperf-add-run")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*parameters: no baseline on this hardware; --modelperf-add-run records one at the end*"])
    assert "record one with" not in result.stdout.str()


DIRECTED = """
import os
def test_score(modelperf):
    modelperf.check(modelperf.record("score", [1.0, 1.1, 1.2], unit="ms", direction=os.environ["DIRECTION"]))
"""


def test_a_baseline_that_cannot_be_compared_is_re_recorded_by_the_update_it_advises(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=DIRECTED)
    monkeypatch.setenv("DIRECTION", "lower_is_better")
    run("--modelperf-update").assert_outcomes(passed=1)
    monkeypatch.setenv("DIRECTION", "higher_is_better")
    refused = run()
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines(["*the measurement higher_is_better; re-record the baseline with --modelperf-update*"])

    updated = run("--modelperf-update")
    updated.assert_outcomes(passed=1)
    assert "re-record the baseline with" not in updated.stdout.str()
    updated.stdout.fnmatch_lines(
        [
            "*score (median): no baseline on this hardware; --modelperf-update records one at the end of this run "
            "(its baseline could not be compared: score: the baseline says lower_is_better, the measurement higher_is_better)*"
        ]
    )
    run().assert_outcomes(passed=1)


def test_verbose_runs_show_each_verdict_as_it_is_judged_and_quiet_runs_do_not(pytester, run, monkeypatch):
    pytester.makepyfile(test_perf=SCORED)
    run("--modelperf-update").assert_outcomes(passed=2)
    monkeypatch.setenv("PARAMETERS", "1001")
    verbose = run("-v")
    verbose.assert_outcomes(passed=1, failed=1)
    verbose.stdout.fnmatch_lines(
        [
            "test_perf.py::test_quality ",
            "modelperf: accuracy: 85 points against 85 points, +0.00 points ?-0.5 points, noise ±0.00 points?: pass",
            "modelperf: f1: * points against * points, +0.00 points ?-0.5 points*: pass",
            "test_perf.py::test_quality PASSED*",
            "modelperf: parameters: 1,001 against 1,000, +0.1% ?+0%?: REGRESSION",
            "test_perf.py::test_parameters FAILED*",
        ]
    )
    quiet = run()
    assert not [line for line in quiet.stdout.lines if line.startswith("modelperf: accuracy")]
