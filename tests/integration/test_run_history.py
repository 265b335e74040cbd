"""Autosaved run history: ``--modelperf-autosave`` saves each judged run as its export under
``.modelperf/runs/<hardware key>/NNNN_<commit>.json`` (off by default, as in pytest-benchmark),
``modelperf compare`` takes run ids, and the HTML report shows each check's trend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main

PLAIN = "-p", "no:cacheprovider"

TESTS = """
import os

def test_latency(modelperf):
    modelperf.check(modelperf.record("latency", [float(os.environ.get("MS", "10"))] * 20, unit="ms"))

def test_memory(modelperf):
    modelperf.check(modelperf.record("memory", 100.0, unit="MB", deterministic=True))

def test_plain():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_perf=TESTS)
    return pytester


def saved(pytester: pytest.Pytester) -> list[str]:
    """The saved runs' paths under .modelperf/runs/<hardware key>, with the key."""
    runs = pytester.path / ".modelperf" / "runs"
    return sorted("/".join(path.relative_to(runs).parts) for path in runs.rglob("*.json")) if runs.exists() else []


def numbers(pytester: pytest.Pytester) -> list[str]:
    return [name.split("/")[1] for name in saved(pytester)]


def test_autosave_is_off_by_default(project: pytest.Pytester):
    project.runpytest(*PLAIN).assert_outcomes(passed=3)
    assert not (project.path / ".modelperf").exists()


def test_each_judged_run_is_saved_as_its_export_under_the_next_number(project: pytest.Pytester):
    first = project.runpytest(*PLAIN, "--modelperf-autosave", "--modelperf-json=run.json")
    first.assert_outcomes(passed=3)
    [name] = saved(project)
    key = name.split("/")[0]
    assert name == f"{key}/0001_nocommit.json"  # the project is no git checkout
    first.stdout.fnmatch_lines([f"run saved as .modelperf/runs/{key}/0001_nocommit.json (run id 0001_nocommit)"])
    history = project.path / ".modelperf" / "runs" / name
    assert json.loads(history.read_text()) == json.loads((project.path / "run.json").read_text())
    content = history.read_bytes()

    project.runpytest(*PLAIN, "--modelperf-autosave").assert_outcomes(passed=3)
    assert numbers(project) == ["0001_nocommit.json", "0002_nocommit.json"]
    assert history.read_bytes() == content, "a saved run is never rewritten"


def test_a_failing_run_is_saved_too(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    project.runpytest(*PLAIN, "--modelperf-update").assert_outcomes(passed=3)
    monkeypatch.setenv("MS", "30")
    project.runpytest(*PLAIN, "--modelperf-autosave", "--modelperf-confirm=0").assert_outcomes(passed=2, failed=1)
    assert numbers(project) == ["0001_nocommit.json"]


@pytest.mark.parametrize(
    ("options", "selection"),
    [(("--modelperf-disable",), ()), ((), ("-k", "plain"))],
    ids=["smoke-run", "no-check"],
)
def test_a_run_that_judged_no_check_is_not_saved(project: pytest.Pytester, options, selection):
    project.runpytest(*PLAIN, "--modelperf-autosave", *options, *selection).assert_outcomes(passed=3 - 2 * bool(selection))
    assert saved(project) == []


def test_the_ini_key_turns_autosave_on_and_the_negative_switch_off(project: pytest.Pytester):
    project.makeini("[pytest]\nmodelperf_autosave = true\n")
    project.runpytest(*PLAIN, "--no-modelperf-autosave").assert_outcomes(passed=3)
    assert saved(project) == []
    project.runpytest(*PLAIN).assert_outcomes(passed=3)
    assert numbers(project) == ["0001_nocommit.json"]


def test_a_run_that_cannot_be_saved_says_why_and_exits_3(project: pytest.Pytester):
    (project.path / ".modelperf").write_text("a file where the folder would be")
    result = project.runpytest(*PLAIN, "--modelperf-autosave")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(["error: --modelperf-autosave *: cannot be written*the run was not saved"])


def test_the_html_report_shows_each_check_s_trend_over_the_saved_runs(project: pytest.Pytester, monkeypatch):
    project.runpytest(*PLAIN, "--modelperf-autosave", "--modelperf-html=first.html").assert_outcomes(passed=3)
    assert "id='trends'" not in (project.path / "first.html").read_text()  # one run is no trend
    monkeypatch.setenv("MS", "12")
    project.runpytest(*PLAIN, "--modelperf-autosave", "--modelperf-html=second.html").assert_outcomes(passed=3)
    page = (project.path / "second.html").read_text()
    assert "id='trends'" in page and "2 checks over up to 2 runs each" in page
    assert page.count("<svg") >= 2 and "0001_nocommit" in page and "0002_nocommit" in page
    project.runpytest(*PLAIN, "--modelperf-html=third.html").assert_outcomes(passed=3)
    assert "this run" in (project.path / "third.html").read_text(), "a run not saved ends its trends"


def test_compare_takes_run_ids_and_lists_the_saved_runs(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    project.runpytest(*PLAIN, "--modelperf-autosave").assert_outcomes(passed=3)
    monkeypatch.setenv("MS", "30")
    project.runpytest(*PLAIN, "--modelperf-autosave").assert_outcomes(passed=3)
    [key] = {name.split("/")[0] for name in saved(project)}
    capsys.readouterr()

    assert main(["compare", "--list"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [f"saved runs in {Path('.modelperf', 'runs')}:", f"{key}:"]

    assert main(["compare", "0001", "latest"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"A: {Path('.modelperf', 'runs', key, '0001_nocommit.json')} (run started ")
    assert "modelperf compare: FAILED (1 regression)" in out

    assert main(["compare", "0002_nocommit", "0002"]) == 0
    assert main(["compare", "0007", "latest"]) == 2
    assert "run 0007: no saved run numbered 0007" in capsys.readouterr().err


def test_under_xdist_only_the_controller_saves_the_whole_run(project: pytest.Pytester):
    result = project.runpytest_subprocess(*PLAIN, "-n", "2", "--modelperf-autosave")
    result.assert_outcomes(passed=3)
    [name] = saved(project)
    data = json.loads((project.path / ".modelperf" / "runs" / name).read_text())
    assert [r["nodeid"] for r in data["results"]] == ["test_perf.py::test_latency", "test_perf.py::test_memory"]


def test_dist_each_refuses_autosave(project: pytest.Pytester):
    result = project.runpytest_subprocess(*PLAIN, "-n", "2", "--dist", "each", "--modelperf-autosave")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--modelperf-autosave cannot be used with --dist each*"])
