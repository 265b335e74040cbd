"""Unit tests for reading --modelperf-json exports back: Measurement.from_dict and load_export's errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.file_format import FormatError
from pytest_modelperf.core.judge import NoisePolicy
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.verdict import Outcome
from pytest_modelperf.storage.run_export import ExportError, load_export


def sampled() -> Measurement:
    return Measurement(
        **{
            **Measurement.from_samples(
                "latency[1x128]",
                [3.0, 1.0, 2.0],
                unit="ms",
                direction=Direction.LOWER_IS_BETTER,
                context={"model": "m", "batch_size": 1},
                notes=("stand-in weights",),
            ).__dict__,
            "reference": (5.0, 5.1, 4.9),
        }
    )


@pytest.mark.parametrize(
    "measurement",
    [
        sampled(),
        Measurement.exact("parameters", 4_386_436, unit="count"),
        Measurement("load_time", "s", Direction.LOWER_IS_BETTER, 0.25),
        Measurement(
            "accuracy[topics/validation]",
            "points",
            Direction.HIGHER_IS_BETTER,
            50.0,
            examples=ExampleOutcomes("accuracy", ("a", "b"), (1.0, 0.0), (1.0, 1.0)),
        ),
    ],
    ids=["sampled", "exact", "single", "quality"],
)
def test_a_measurement_round_trips_through_its_dictionary(measurement: Measurement) -> None:
    data = json.loads(json.dumps(measurement.to_dict(), allow_nan=False))
    assert Measurement.from_dict(data, "m") == measurement


def test_a_not_available_measurement_round_trips() -> None:
    oom = Measurement.not_available("gpu_peak", "out of memory", unit="MB")
    restored = Measurement.from_dict(oom.to_dict(), "m")
    assert restored.unavailable == "out of memory" and math.isnan(restored.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit": "parsecs"}, "m.unit"),
        ({"direction": "sideways"}, "m.direction"),
        ({"value": "fast"}, "m.value"),
        ({"samples": [1, "x"]}, "m.samples"),
        ({"deterministic": "no"}, "m.deterministic"),
        ({"context": []}, "m.context"),
    ],
)
def test_a_malformed_measurement_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(FormatError) as raised:
        Measurement.from_dict({**sampled().to_dict(), **change}, "m")
    assert raised.value.path == field


def run_payload(**changes: Any) -> dict[str, Any]:
    result = {
        "nodeid": "t.py::test_a",
        "hardware_key": "hw",
        "environment": "e",
        "measurement": sampled().to_dict(),
        "statistic": "median",
        "outcome": "regression",
        "current": 2.0,
        "baseline": 1.0,
        "change": 1.0,
        "noise_band": 0.2,
        "threshold": "10%",
        "limit": None,
        "detail": "",
    }
    result.update(changes)
    return {
        "schema": 1,
        "started": "2026-01-01",
        "environments": {"e": {}},
        "noise": {"enabled": True, "confidence": 0.999, "assumed_spread": 0.05},
        "results": [result],
    }


def write(tmp_path: Path, data: Any, name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_an_export_is_read_with_its_checks_and_noise_policy(tmp_path: Path) -> None:
    export = load_export(write(tmp_path, run_payload()))
    (check,) = export.checks
    assert check.nodeid == "t.py::test_a" and check.outcome is Outcome.REGRESSION
    assert str(check.threshold) == "10%" and check.limit is None
    assert check.measurement == sampled()
    assert export.noise == NoisePolicy(confidence=0.999)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{ not json", r"run\.json: not a modelperf export: not valid JSON \(line 1, column 3"),
        ([1, 2], r"run\.json: not a modelperf export: expected a JSON object, got list"),
        (
            {"schema": 1, "hardware_key": "hw", "tests": {}},
            r"run\.json: this is a baseline file, not a --modelperf-json export; .*--baselines DIR",
        ),
        ({"anything": 1}, r"run\.json: not a modelperf export: it has no 'results' field"),
        ({**run_payload(), "schema": 2}, r"run\.json: field schema: expected 1, got 2"),
        (run_payload(outcome="meh"), r"run\.json: field results\[0\]\.outcome: 'meh' is not one of pass, "),
        (run_payload(threshold="ten"), r"run\.json: field results\[0\]\.threshold: threshold: cannot parse 'ten'"),
        (run_payload(nodeid=None), r"run\.json: field results\[0\]\.nodeid: expected a string, got None"),
        (run_payload(measurement={"name": "x"}), r"run\.json: field results\[0\]\.measurement\.unit: missing"),
        (
            {**run_payload(), "noise": {"enabled": True, "confidence": 2, "assumed_spread": 0.05}},
            r"run\.json: field noise: confidence must be within",
        ),
    ],
    ids=["json", "list", "baseline-file", "no-results", "schema", "outcome", "threshold", "nodeid", "measurement", "noise"],
)
def test_bad_input_is_an_error_naming_the_file_and_the_field(tmp_path: Path, content: Any, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        load_export(write(tmp_path, content))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"nope\.json: no such file"):
        load_export(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("raw", "spelling"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("1e999", "Infinity")]
)
@pytest.mark.parametrize(
    ("place", "field"),
    [
        (lambda r: r, "results[0].current"),
        (lambda r: r["measurement"], "results[0].measurement.value"),
        (lambda r: r["measurement"]["summary"], "results[0].measurement.summary.median"),
    ],
    ids=["current", "value", "summary"],
)
def test_a_non_finite_number_in_an_export_is_an_error_naming_the_file_and_the_field(
    tmp_path: Path, raw: str, spelling: str, place: Any, field: str
) -> None:
    payload = run_payload()
    result = payload["results"][0]
    place(result)[field.rsplit(".", 1)[1]] = "PLACEHOLDER"
    path = write(tmp_path, json.dumps(payload).replace('"PLACEHOLDER"', raw))
    with pytest.raises(ExportError) as raised:
        load_export(path)
    assert str(raised.value) == f"{path}: field {field}: not a finite number ({spelling})"


def test_a_non_finite_sample_is_named_by_its_index(tmp_path: Path) -> None:
    payload = run_payload()
    payload["results"][0]["measurement"]["samples"] = [1.0, "PLACEHOLDER", 3.0]
    path = write(tmp_path, json.dumps(payload).replace('"PLACEHOLDER"', "NaN"))
    with pytest.raises(ExportError, match=r"field results\[0\]\.measurement\.samples\[1\]: not a finite number \(NaN\)$"):
        load_export(path)


def test_modelperf_compare_refuses_an_export_with_nan_instead_of_passing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_modelperf.cli.main import main

    base = write(tmp_path, run_payload(outcome="pass"), "base.json")
    payload = run_payload(outcome="pass")
    payload["results"][0]["measurement"]["value"] = "PLACEHOLDER"
    payload["results"][0]["measurement"]["samples"] = ["PLACEHOLDER"] * 3
    new = write(tmp_path, json.dumps(payload).replace('"PLACEHOLDER"', "NaN"), "new.json")
    assert main(["compare", str(base), str(new)]) == 2
    assert f"{new}: field results[0].measurement.value: not a finite number (NaN)" in capsys.readouterr().err
