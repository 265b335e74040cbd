"""``modelperf compare`` end to end, on exports written by real pytest runs: exit codes 0, 1 and 2,
the printed table, the Markdown, and the committed baselines as the base."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main

# A real (tiny) model's latency with a threshold no machine's noise reaches, its exact
# parameter count, and a timing of the test's own whose value the environment sets.
TESTS = """
import os

def test_model(modelperf):
    model = modelperf.load(r"{checkpoint}")
    modelperf.check(modelperf.measure_latency(model, batch_size=1, sequence_length=16), threshold="1000%")
    modelperf.check(modelperf.model_facts(model).parameter_count)

def test_step(modelperf):
    modelperf.check(modelperf.record("step", [float(os.environ.get("STEP_MS", "10"))] * 20, unit="ms"))
"""


@pytest.fixture
def project(pytester: pytest.Pytester, tiny_checkpoint: Path) -> pytest.Pytester:
    pytester.makepyfile(test_perf=TESTS.format(checkpoint=tiny_checkpoint))
    return pytester


def compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["compare", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_regression_exits_1_with_the_table_and_an_unchanged_run_exits_0(
    project: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run("--modelperf-update").assert_outcomes(passed=2)
    run("--modelperf-json", "a.json").assert_outcomes(passed=2)
    monkeypatch.setenv("STEP_MS", "30")
    run("--modelperf-json", "b.json").assert_outcomes(passed=1, failed=1)
    capsys.readouterr()

    code, out, err = compare(capsys, "a.json", "b.json", "--markdown", "compare.md")
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0].startswith("A: a.json (run started ") and lines[1].startswith("B: b.json (run started ")
    assert lines[3].split() == ["metric", "A", "B", "change", "threshold", "verdict"]
    step = lines.index(next(line for line in lines if line.startswith("test_perf.py::test_step [")))
    model = lines.index(next(line for line in lines if line.startswith("test_perf.py::test_model [") and "any-" not in line))
    assert step < model, "the test with a regression comes first"
    assert lines[step + 1].split()[:8] == ["step", "(median)", "10", "ms", "30", "ms", "+200.0%", "+10%,"]
    assert lines[step + 1].split()[-1] == "REGRESSION"
    assert "step (median): worse than the baseline beyond the threshold and the noise band" in lines[step + 2]
    # the latency under the hardware key, the parameter count under the key of every device
    portable = lines.index("test_perf.py::test_model [any-device]")
    model_rows = [lines[model + 1], lines[portable + 1]]
    assert [row.split()[0] for row in model_rows] == ["latency[1x16]", "parameters"]
    assert all(row.split()[-1] == "pass" for row in model_rows)
    assert lines[-1] == (
        "modelperf compare: FAILED (1 regression); 3 checks compared: 1 regression, 0 improvements, 2 passed; 0 added, 0 removed"
    )

    markdown = Path("compare.md").read_text()
    assert markdown.startswith("### modelperf compare: FAILED (1 regression)\n")
    assert "| test_perf.py::test_step | step (median) | 10 ms | 30 ms | +200.0% |" in markdown
    assert "**REGRESSION**" in markdown
    assert "<details><summary>2 other checks</summary>" in markdown

    code, out, _ = compare(capsys, "a.json", "a.json")
    assert code == 0
    assert out.splitlines()[-1].startswith("modelperf compare: no regressions; 3 checks compared: 0 regressions")

    code, out, _ = compare(capsys, "b.json", "a.json")
    assert code == 0, "B faster than A is an improvement, not a regression"
    code, _, _ = compare(capsys, "b.json", "a.json", "--fail-on", "improvement")
    assert code == 1
    code, _, _ = compare(capsys, "a.json", "b.json", "--threshold", "500%")
    assert code == 0, "the threshold given replaces the checks' own"


def test_the_console_script_needs_no_registry(project: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch) -> None:
    run("--modelperf-json", "a.json", "-k", "test_step").assert_outcomes(passed=1)
    monkeypatch.setenv("STEP_MS", "30")
    run("--modelperf-json", "b.json", "-k", "test_step").assert_outcomes(passed=1)  # no baseline yet: a warning
    assert not Path("pyproject.toml").exists()
    script = Path(sys.executable).parent / "modelperf"
    completed = subprocess.run([str(script), "compare", "a.json", "b.json"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1, completed.stderr
    assert "REGRESSION" in completed.stdout and completed.stderr == ""


def test_a_run_is_compared_with_the_committed_baselines(
    project: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project.makepyfile(test_gone="def test_old(modelperf):\n    modelperf.check(modelperf.record('x', [1.0] * 5, unit='ms'))\n")
    run("--modelperf-update").assert_outcomes(passed=3)
    monkeypatch.setenv("STEP_MS", "30")
    run("--modelperf-json", "b.json", "test_perf.py").assert_outcomes(passed=1, failed=1)
    capsys.readouterr()

    code, out, err = compare(capsys, "b.json")  # the plugin's baseline dir: baselines/
    assert code == 1, err
    assert out.splitlines()[0].startswith("A: baselines in ") and "REGRESSION" in out
    assert "removed (in A only)" not in out, "only the modules that ran are looked at"

    Path("pyproject.toml").write_text('[tool.pytest.ini_options]\nmodelperf_baseline_dir = "elsewhere"\n')
    code, _, err = compare(capsys, "b.json")
    assert code == 2 and "--baselines " in err and "elsewhere: no such folder" in err
    Path("pyproject.toml").unlink()

    monkeypatch.setenv("STEP_MS", "10")
    run("--modelperf-json", "same.json", "test_perf.py").assert_outcomes(passed=2)
    code, out, _ = compare(capsys, "same.json", "--baselines", "baselines")
    assert code == 0
    assert out.splitlines()[-1].endswith("3 checks compared: 0 regressions, 0 improvements, 3 passed; 0 added, 0 removed")


def test_bad_input_exits_2_naming_the_file_and_the_field(
    project: pytest.Pytester, run, capsys: pytest.CaptureFixture[str]
) -> None:
    run("--modelperf-update", "--modelperf-json", "a.json", "-k", "test_step").assert_outcomes(passed=1)
    capsys.readouterr()
    data = json.loads(Path("a.json").read_text())

    Path("future.json").write_text(json.dumps({**data, "schema": 99}))
    code, out, err = compare(capsys, "a.json", "future.json")
    assert (code, out) == (2, "")
    assert err.strip() == "modelperf compare: error: future.json: field schema: expected 1, got 99"

    data["results"][0]["measurement"]["direction"] = "sideways"
    Path("broken.json").write_text(json.dumps(data))
    code, _, err = compare(capsys, "a.json", "broken.json")
    assert code == 2 and "broken.json: field results[0].measurement.direction: 'sideways' is not one of" in err

    (baseline_file,) = Path("baselines").glob("*/test_perf.json")
    code, _, err = compare(capsys, "a.json", str(baseline_file))
    assert code == 2 and "this is a baseline file, not a --modelperf-json export" in err

    code, _, err = compare(capsys, "a.json", "missing.json")
    assert code == 2 and "missing.json: no such file" in err

    Path("notes.json").write_text("[1, 2")
    code, _, err = compare(capsys, "notes.json", "a.json")
    assert code == 2 and "notes.json: not a modelperf export: not valid JSON" in err

    with pytest.raises(SystemExit) as exited:
        main(["compare", "a.json", "a.json", "--threshold", "fast"])
    assert exited.value.code == 2 and "--threshold: cannot parse 'fast'" in capsys.readouterr().err


def test_the_default_baseline_dir_is_the_plugin_default() -> None:
    """The command names the plugin's default baseline dir without loading the plugin's settings."""
    from pytest_modelperf.core.policy import DEFAULT_BASELINE_DIR
    from pytest_modelperf.options import DEFAULTS

    assert DEFAULTS["baseline_dir"] == DEFAULT_BASELINE_DIR


def test_markdown_replaces_a_file_already_there_as_its_help_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for side in ("a", "b"):
        Path(side).mkdir()
        Path(side, "time.csv").write_text("model,batch_size,sequence_length,result\nbert,8,32,0.01\n")
    Path("compare.md").write_text("an earlier comparison\n")
    code, _, err = compare(capsys, "a", "b", "--markdown", "compare.md")
    assert code == 0, err
    assert "an earlier comparison" not in Path("compare.md").read_text()
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert "--markdown PATH also write the comparison to PATH as Markdown, replacing a file already there" in usage
