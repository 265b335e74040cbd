"""--modelperf-csv: one flat row per check for pandas, and results_frame over the JSON export."""

from __future__ import annotations

import pandas
import pandas.testing
import pytest

from pytest_modelperf import results_frame
from pytest_modelperf.storage.run_export import ExportError

TESTS = """
import os

def test_model(modelperf):
    model = modelperf.load(r"{checkpoint}")
    modelperf.check(modelperf.measure_latency(model, batch_size=2, sequence_length=16), threshold="1000%")
    modelperf.check(modelperf.model_facts(model).parameter_count)

def test_step(modelperf):
    modelperf.check(modelperf.record("step", [float(os.environ.get("STEP_MS", "10"))] * 20, unit="ms"))
    modelperf.check(modelperf.record("step_p99", [5.0] * 20, unit="ms"), limit="1s")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, tiny_checkpoint) -> pytest.Pytester:
    pytester.makepyfile(test_perf=TESTS.format(checkpoint=tiny_checkpoint))
    return pytester


def test_the_csv_has_one_row_per_check_and_is_written_when_a_test_fails(project, run, monkeypatch):
    run("--modelperf-update").assert_outcomes(passed=2)
    monkeypatch.setenv("STEP_MS", "30")
    run("--modelperf-csv", "reports/run.csv", "--modelperf-json", "reports/run.json").assert_outcomes(passed=1, failed=1)
    frame = pandas.read_csv(project.path / "reports" / "run.csv")

    assert len(frame) == 4
    assert list(frame.columns[:10]) == [
        "nodeid",
        "module",
        "test",
        "hardware_key",
        "model",
        "measurement",
        "metric",
        "statistic",
        "unit",
        "direction",
    ]
    for column in (
        "current",
        "baseline",
        "change",
        "threshold",
        "outcome",
        "noise_band",
        "device",
        "dtype",
        "batch_size",
        "sequence_length",
        "environment",
        "env_torch",
        "env_python",
    ):
        assert column in frame.columns, column
    rows = frame.set_index("measurement")
    assert rows.loc["step", "outcome"] == "regression" and bool(rows.loc["step", "failed"])
    assert (rows.loc["step", "baseline"], rows.loc["step", "current"], rows.loc["step", "change"]) == (10.0, 30.0, 2.0)
    assert rows.loc["step", "threshold"] == "10%" and rows.loc["step", "unit"] == "ms"
    assert rows.loc["step_p99", "limit"] == "1s" and pandas.isna(rows.loc["step_p99", "threshold"])
    latency = rows.loc["latency[2x16]"]
    assert (latency["batch_size"], latency["sequence_length"], latency["device"]) == (2, 16, "cpu")
    assert latency["model"] == "tiny-bert" and latency["rounds"] >= 3
    assert latency["direction"] == "lower_is_better" and latency["outcome"] == "pass"
    assert rows.loc["parameters", "unit"] == "count" and bool(rows.loc["parameters", "deterministic"])
    assert frame["test"].tolist().count("test_step") == 2

    from_json = results_frame(project.path / "reports" / "run.json")
    pandas.testing.assert_frame_equal(from_json, frame)
    pandas.testing.assert_frame_equal(results_frame(project.path / "reports" / "run.csv"), frame)
    assert not [p for p in (project.path / "reports").iterdir() if p.name.startswith(".")], "no temporary file is left"


def test_the_ini_key_writes_relative_to_the_root_dir(project, run):
    project.makeini("[pytest]\nmodelperf_csv = out/checks.csv\n")
    run("-k", "test_step").assert_outcomes(passed=1)
    frame = pandas.read_csv(project.path / "out" / "checks.csv")
    assert frame["outcome"].tolist() == ["no baseline", "pass"]


def test_results_frame_names_a_file_that_is_not_an_export(tmp_path):
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ExportError, match=r"other\.csv: not a --modelperf-csv file: no column nodeid, measurement, outcome"):
        results_frame(tmp_path / "other.csv")
    (tmp_path / "other.json").write_text('{"x": 1}')
    with pytest.raises(ExportError, match=r"other\.json: not a modelperf export"):
        results_frame(tmp_path / "other.json")
