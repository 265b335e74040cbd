"""``--modelperf-disable`` (smoke runs), ``--modelperf-skip``, ``--modelperf-only`` and the
``modelperf`` mark added to every test that uses the fixture: as pytest-benchmark users expect."""

from __future__ import annotations

import json

import pytest

PLAIN = "-p", "no:cacheprovider"

TESTS = """
import os
import pytest

@pytest.fixture
def measured(modelperf):
    return modelperf

def test_latency(modelperf):
    verdict = modelperf.check(modelperf.record("latency", [float(os.environ.get("MS", "10"))] * 20, unit="ms"))
    print(f"VERDICT {verdict.outcome.value}: {verdict.detail}")

def test_indirect(measured):
    measured.check(measured.record("memory", 100.0, unit="MB", deterministic=True), limit="1MB")

def test_plain():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_perf=TESTS)
    return pytester


def test_a_smoke_run_measures_once_without_warm_up_or_speed_reference(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        def test_work(modelperf):
            calls = []
            measurement = modelperf.measure_callable(lambda: calls.append(1), name="work")
            assert len(calls) == 1 and len(measurement.samples) == 1 and not measurement.reference
            assert modelperf.timing.min_rounds == modelperf.timing.max_rounds == 1
        """
    )
    pytester.runpytest(*PLAIN, "--modelperf-disable", "--modelperf-min-rounds=5").assert_outcomes(passed=1)


def test_a_smoke_run_judges_nothing_and_writes_no_baseline(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    project.runpytest(*PLAIN, "--modelperf-update").assert_outcomes(passed=2, failed=1)  # test_indirect's limit fails
    baselines = {path: path.read_bytes() for path in (project.path / "baselines").rglob("*.json")}
    monkeypatch.setenv("MS", "30")  # a regression of 200%, and a limit crossed, in a judged run
    result = project.runpytest(
        *PLAIN, "-s", "--modelperf-disable", "--modelperf-missing=fail", "--modelperf-confirm=3", "--modelperf-json=run.json"
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*VERDICT pass: not judged (--modelperf-disable)",
            "smoke run (--modelperf-disable): 2 checks in 2 tests measured once and not judged against baselines or "
            "limits; no baseline was written",
        ]
    )
    assert "re-run" not in result.stdout.str()
    assert {path: path.read_bytes() for path in (project.path / "baselines").rglob("*.json")} == baselines
    assert json.loads((project.path / "run.json").read_text())["results"] == []


def test_a_smoke_run_still_refuses_a_bad_check(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        def test_bad(modelperf):
            modelperf.check(modelperf.record("latency", 1.0, unit="ms"), threshold="ten")
        """
    )
    result = pytester.runpytest(*PLAIN, "--modelperf-disable")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot parse 'ten'*"])


def test_a_smoke_run_s_reports_say_its_checks_were_not_judged(project: pytest.Pytester):
    result = project.runpytest(*PLAIN, "--modelperf-disable", "--modelperf-markdown=summary.md", "--modelperf-html=report.html")
    result.assert_outcomes(passed=3)
    summary = (project.path / "summary.md").read_text()
    assert summary.startswith("### modelperf: smoke run (--modelperf-disable): 2 checks in 2 tests measured once")
    assert "smoke run (--modelperf-disable): 2 checks" in (project.path / "report.html").read_text()


@pytest.mark.parametrize("update", ["--modelperf-update", "--modelperf-update-missing", "--modelperf-add-run"])
def test_a_smoke_run_cannot_update_the_baselines(project: pytest.Pytester, update: str):
    result = project.runpytest(*PLAIN, "--modelperf-disable", update)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        f"ERROR: modelperf: --modelperf-disable (or ini modelperf_disable) and {update} cannot be used together: "
        "a smoke run judges no check and writes no baseline"
    ) in result.stderr.lines


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ("--modelperf-skip", "--modelperf-only"),
            "--modelperf-skip (or ini modelperf_skip) and --modelperf-only (or ini modelperf_only) cannot be used together: "
            "one skips the tests that use the modelperf fixture and the other every other test",
        ),
        (
            ("--modelperf-disable", "--modelperf-skip"),
            "--modelperf-disable (or ini modelperf_disable) and --modelperf-skip (or ini modelperf_skip) cannot be used "
            "together: --modelperf-skip skips every test that --modelperf-disable would run as a smoke test",
        ),
        (
            ("--modelperf-skip", "--modelperf-update"),
            "--modelperf-skip (or ini modelperf_skip) and --modelperf-update cannot be used together: "
            "no test that could record a baseline would run",
        ),
    ],
    ids=["skip-only", "disable-skip", "skip-update"],
)
def test_contradictory_switches_are_a_usage_error_naming_both(project: pytest.Pytester, options, message):
    result = project.runpytest(*PLAIN, *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: modelperf: {message}" in result.stderr.lines


def test_skip_skips_the_tests_that_use_the_fixture_even_through_another_fixture(project: pytest.Pytester):
    result = project.runpytest(*PLAIN, "-rs", "--modelperf-skip")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED [2] test_perf.py: uses the modelperf fixture (--modelperf-skip)"])


def test_only_skips_every_other_test(project: pytest.Pytester):
    result = project.runpytest(*PLAIN, "-rs", "--modelperf-only", "--modelperf-disable")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [1] test_perf.py: does not use the modelperf fixture (--modelperf-only)"])


@pytest.mark.parametrize(
    ("ini", "options", "outcomes"),
    [
        ("modelperf_skip = true", (), {"passed": 1, "skipped": 2}),
        ("modelperf_only = true\nmodelperf_disable = true", (), {"passed": 2, "skipped": 1}),
        ("modelperf_skip = false", ("--modelperf-disable",), {"passed": 3}),
    ],
    ids=["skip", "only-disable", "false"],
)
def test_the_switches_are_ini_keys_too(project: pytest.Pytester, ini: str, options: tuple[str, ...], outcomes: dict[str, int]):
    project.makeini(f"[pytest]\n{ini}\n")
    project.runpytest(*PLAIN, *options).assert_outcomes(**outcomes)


def test_a_bad_ini_value_names_the_key(project: pytest.Pytester):
    project.makeini("[pytest]\nmodelperf_disable = maybe\n")
    result = project.runpytest(*PLAIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ERROR: modelperf: ini modelperf_disable: expected true or false, got 'maybe'" in result.stderr.lines


def test_tests_that_use_the_fixture_get_the_modelperf_mark(project: pytest.Pytester):
    selected = project.runpytest(*PLAIN, "-m", "modelperf", "--collect-only", "-q")
    assert [line for line in selected.stdout.lines if "::" in line] == [
        "test_perf.py::test_latency",
        "test_perf.py::test_indirect",
    ]
    others = project.runpytest(*PLAIN, "-m", "not modelperf", "--collect-only", "-q")
    assert [line for line in others.stdout.lines if "::" in line] == ["test_perf.py::test_plain"]


def test_the_mark_of_a_class_keeps_its_arguments(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.modelperf(threshold="50%")
        class TestPerf:
            def test_latency(self, modelperf):
                verdict = modelperf.check(modelperf.record("latency", [10.0] * 20, unit="ms"))
                assert str(verdict.check.threshold) == "50%"
        """
    )
    pytester.runpytest(*PLAIN, "-m", "modelperf").assert_outcomes(passed=1)


def test_the_marker_is_registered_with_its_description(pytester: pytest.Pytester):
    result = pytester.runpytest(*PLAIN, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.modelperf(*): *; added to every test that uses the modelperf fixture, *"])
