"""The plugin and ``modelperf compare`` give every check the same verdict.

A project with one check of each kind is run twice: a baseline run that records the baselines
(``--modelperf-update``) and exports, and a current run, judged by the plugin against those
baselines, that exports too. ``modelperf compare`` then judges the current export against the
baseline export and against the recorded baselines; each check's outcome must be the one the
plugin gave it (a check the plugin found no baseline for is one the command lists as added).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelperf.cli.comparison import Comparison, compare_runs, compare_with_baselines
from pytest_modelperf.cli.main import main
from pytest_modelperf.core.verdict import Outcome
from pytest_modelperf.storage.baseline_store import JsonBaselineStore
from pytest_modelperf.storage.run_export import RunExport, load_export

# What changes between the two runs is set by the environment: PACE (a timing and the
# machine's speed), STEP_MS (a timing judged on its p90), SCORE_DTYPE and FLIPS (a quality
# score), SLO_MS (a limit-only check), PARAMETERS (an exact value), OUT_OF_MEMORY (a value
# that cannot be measured) and NEW (a check with no baseline).
PROJECT = """
import os
import random
from dataclasses import replace

from pytest_modelperf import Direction, Measurement
from pytest_modelperf.core.example_outcomes import ExampleOutcomes


def env(name, default):
    return os.environ.get(name, default)


def test_exact(modelperf):
    modelperf.check(modelperf.record("parameters", int(env("PARAMETERS", "1000")), unit="count", deterministic=True))


def test_timed(modelperf):
    timed = modelperf.measure_callable(lambda: sum(range(2000)), name="work")
    modelperf.check(timed, threshold="10000%")


def test_calibrated(modelperf):
    # A machine 1.6x slower, its reference workload too: judged at the machine's speed, a pass.
    pace = float(env("PACE", "1"))
    samples = [10.0 * pace * (1 + 0.002 * (i % 5)) for i in range(25)]
    timed = Measurement.from_samples("model", samples, unit="ms", direction=Direction.LOWER_IS_BETTER)
    reference = tuple(5.0 * pace * (1 + 0.002 * (i % 3)) for i in range(25))
    modelperf.check(replace(timed, reference=reference, context={"device": "cpu", "speed_reference": "parity"}))


def test_built_in_the_test(modelperf):
    step = float(env("STEP_MS", "10"))
    samples = [step * (1 + 0.01 * (i % 5)) for i in range(25)]
    built = Measurement.from_samples("step", samples, unit="ms", direction=Direction.LOWER_IS_BETTER, context={"device": "cpu"})
    modelperf.check(built, threshold="20%", statistic="p90")


def test_quality(modelperf):
    rng = random.Random(3)
    right = [1.0 if rng.random() < 0.85 else 0.0 for _ in range(400)]
    for i in [i for i, r in enumerate(right) if r][: int(env("FLIPS", "0"))]:
        right[i] = 0.0
    examples = ExampleOutcomes("mean", tuple(f"q{i}" for i in range(400)), tuple(right))
    score = Measurement(
        "accuracy", "points", Direction.HIGHER_IS_BETTER, examples.value(), examples=examples,
        context={"device": "cpu", "dtype": env("SCORE_DTYPE", "float32")},
    )
    modelperf.check(score, threshold="0.5points")


def test_limit_only(modelperf):
    modelperf.check(modelperf.record("slo", [float(env("SLO_MS", "20"))] * 5, unit="ms"), limit="50ms")


def test_unavailable(modelperf):
    if env("OUT_OF_MEMORY", ""):
        peak = Measurement.not_available("gpu_peak", "out of memory", unit="MB", context={"device": "cpu"})
    else:
        peak = Measurement.exact("gpu_peak", 512, unit="MB", context={"device": "cpu"})
    modelperf.check(peak)


def test_new(modelperf):
    if env("NEW", ""):
        modelperf.check(modelperf.record("fresh", [5.0] * 5, unit="ms"))
    modelperf.check(modelperf.record("steady", [5.0] * 5, unit="ms"))
"""

CHANGES = {
    "PACE": "1.6",  # the machine and the model both 1.6x slower
    "STEP_MS": "30",  # +200%: a regression
    "SCORE_DTYPE": "float16",  # only a float32 baseline exists
    "FLIPS": "20",  # 5 points fewer: a regression against the float32 baseline
    "SLO_MS": "60",  # beyond the limit
    "PARAMETERS": "999",  # fewer parameters: an improvement of an exact value
    "OUT_OF_MEMORY": "1",  # measured before, not now: a regression
    "NEW": "1",  # a check that has no baseline
}

# What the plugin concludes in the current run, per check: every kind of verdict is exercised.
EXPECTED = {
    "test_perf.py::test_exact parameters": Outcome.IMPROVEMENT,
    "test_perf.py::test_calibrated model (median)": Outcome.PASS,
    "test_perf.py::test_built_in_the_test step (p90)": Outcome.REGRESSION,
    "test_perf.py::test_quality accuracy": Outcome.REGRESSION,
    "test_perf.py::test_limit_only slo (median)": Outcome.OVER_LIMIT,
    "test_perf.py::test_unavailable gpu_peak": Outcome.REGRESSION,
    "test_perf.py::test_new fresh (median)": Outcome.NO_BASELINE,
    "test_perf.py::test_new steady (median)": Outcome.PASS,
}


def plugin_outcomes(export: RunExport) -> dict[str, Outcome]:
    return {f"{check.nodeid} {check.data['metric']}": check.outcome for check in export.checks}


def command_outcomes(comparison: Comparison, new: RunExport) -> dict[str, Outcome]:
    """Each check's outcome as the command concludes it; an added check is one without a baseline."""
    outcomes = {f"{check.nodeid} {check.verdict.metric}": check.verdict.outcome for check in comparison.checks}
    for check in new.checks:
        if check.key in comparison.added:
            outcomes.setdefault(f"{check.nodeid} {check.data['metric']}", Outcome.NO_BASELINE)
    return outcomes


@pytest.fixture
def exports(pytester: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch) -> tuple[RunExport, RunExport]:
    pytester.makepyfile(test_perf=PROJECT)
    run("--modelperf-update", "--modelperf-json", "a.json").assert_outcomes(passed=8)
    for name, value in CHANGES.items():
        monkeypatch.setenv(name, value)
    run("--modelperf-json", "b.json")
    return load_export(Path("a.json")), load_export(Path("b.json"))


def test_the_command_gives_every_check_the_plugin_verdict(
    exports: tuple[RunExport, RunExport], capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = exports
    plugin = plugin_outcomes(new)
    timed = "test_perf.py::test_timed work (median)"
    assert {name: outcome for name, outcome in plugin.items() if name != timed} == EXPECTED
    (calibrated,) = [check for check in new.checks if check.measurement.name == "model"]
    assert calibrated.data["machine_slowdown"] == pytest.approx(1.6, rel=0.01)

    assert command_outcomes(compare_runs(base, new), new) == plugin
    assert command_outcomes(compare_with_baselines(new, JsonBaselineStore(Path("baselines"))), new) == plugin

    capsys.readouterr()
    assert main(["compare", "a.json", "b.json"]) == 1
    lines = capsys.readouterr().out.splitlines()
    added = lines.index("added (in B only, nothing to compare with):")
    assert lines[added + 1].split()[:2] == ["test_perf.py::test_new", "fresh"] and lines[added + 2] == ""
    assert "FAILED (3 regressions, 1 over limit)" in lines[-1]


def test_the_quality_score_in_float16_says_which_baseline_judged_it(exports: tuple[RunExport, RunExport]) -> None:
    base, new = exports
    note = "judged against the float32 baseline: there is no float16 one"
    (plugin,) = [check for check in new.checks if check.measurement.name == "accuracy"]
    assert note in plugin.measurement.notes
    (command,) = [check for check in compare_runs(base, new).checks if check.verdict.measurement.name == "accuracy"]
    assert command.verdict.measurement.notes.count(note) == 1
    assert command.verdict.baseline == pytest.approx(plugin.data["baseline"])
