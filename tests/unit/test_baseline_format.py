"""The compact layout of baseline files, the commit kept in entries, and the environment id."""

from __future__ import annotations

import difflib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.file_format import baseline_text
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.stats import Spread
from pytest_modelperf.measure.environment import environment_id
from pytest_modelperf.storage.baseline_store import (
    BaselineError,
    BaselineFile,
    JsonBaselineStore,
    StorageError,
    baseline_file_text,
    parse_baseline,
)

HW = "amd-epyc-2c-float32"
MODULE = "perf_tests/test_models.py"
ENVIRONMENT = {"python": "3.11.7", "torch": "2.3.0", "transformers": "5.0.0", "cpu": "AMD EPYC", "cpu_cores": 2}


def latency(median: float, previous: BaselineEntry | None = None) -> BaselineEntry:
    measurement = Measurement.from_samples(
        "latency", [median + i / 10 for i in range(-10, 11)], unit="ms", direction=Direction.LOWER_IS_BETTER
    )
    return BaselineEntry.from_measurement(
        measurement, environment="env-1", recorded="2026-01-02", previous=previous, spread_floor=0.05
    )


def accuracy(predictions: list[int], *, scores: bool = False) -> BaselineEntry:
    n = len(predictions)
    outcomes = ExampleOutcomes(
        metric="roc_auc" if scores else "accuracy",
        ids=tuple(f"topics-validation-{i:05d}" for i in range(n)),
        predictions=tuple(float(p) for p in predictions),
        references=tuple(float(i % 4) for i in range(n)),
        scores=tuple((0.1, 0.2, 0.3, 0.4) for _ in range(n)) if scores else (),
    )
    measurement = Measurement.exact("accuracy[topics/validation]", outcomes.value(), unit="points")
    measurement = replace(measurement, direction=Direction.HIGHER_IS_BETTER, deterministic=False, examples=outcomes)
    return BaselineEntry.from_measurement(measurement, environment="env-1", recorded="2026-01-02")


def full_file() -> BaselineFile:
    """A file with every kind of entry: runs, quantiles, learned spread, examples with class scores."""
    sampled = latency(10.0, previous=latency(11.0, previous=latency(10.5)))
    sampled = replace(sampled, earlier_spread={"median": Spread(0.031, 4)}, commit="0123abcd")
    parameters = BaselineEntry.from_measurement(
        Measurement.exact("parameters", 4_386_178, unit="count"), environment="env-1", recorded="2026-01-02"
    )
    return BaselineFile(
        hardware_key=HW,
        tests={
            "test_latency[bert-tiny]": {"latency[1x16]": sampled, "parameters": parameters},
            "test_accuracy[bert-tiny]": {
                "accuracy[topics/validation]": accuracy([0, 1, 2, 3, 0, 1]),
                "roc_auc[topics/validation]": accuracy([0, 1, 2, 3, 0, 1], scores=True),
            },
        },
        environments={"env-1": dict(ENVIRONMENT), "unused": {"python": "3.10"}},
        unknown_fields={"reviewed_by": "alice ✓"},
    )


def parsed(baseline_file: BaselineFile) -> dict[str, Any]:
    return json.loads(json.dumps(baseline_file.to_dict()))


# -- the layout -------------------------------------------------------------------------------------------------------


def test_round_trip_gives_the_same_data() -> None:
    original = full_file()
    text = baseline_file_text(original, "f.json")
    assert json.loads(text) == parsed(original)
    again = parse_baseline(text, "f.json")
    assert again.to_dict() == original.to_dict()
    assert baseline_file_text(again, "f.json") == text


def test_the_older_indented_layout_reads_the_same() -> None:
    data = parsed(full_file())
    indented = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    compact = baseline_text(data)
    assert indented != compact
    assert parse_baseline(indented, "old.json").to_dict() == parse_baseline(compact, "new.json").to_dict()


def test_the_same_data_gives_the_same_bytes_whatever_the_order() -> None:
    data = parsed(full_file())
    shuffled = json.loads(json.dumps(data), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert list(shuffled) != list(data)
    assert baseline_text(shuffled) == baseline_text(data)
    assert baseline_text(json.loads(baseline_text(data))) == baseline_text(data)  # rewriting a file changes nothing


def test_keys_are_sorted_non_ascii_kept_and_one_newline_ends_the_file() -> None:
    text = baseline_file_text(full_file(), "f.json")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert '"reviewed_by": "alice ✓"' in text
    top_keys = [line.split('"')[1] for line in text.splitlines() if line.startswith('  "')]
    assert top_keys == sorted(top_keys) == ["environments", "hardware_key", "reviewed_by", "schema", "tests"]


def changed_lines(before: str, after: str) -> list[str]:
    """The lines a unified diff removes and adds."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("---", "+++"))]


def lines_with(text: str, key: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(f'"{key}"')]


def test_scalars_in_an_array_or_object_are_one_line_and_each_run_is_one_line() -> None:
    text = baseline_file_text(full_file(), "f.json")
    (quantiles,) = lines_with(text, "quantiles")
    assert len(json.loads(quantiles.partition(": ")[2].rstrip(","))) == 21
    (summary,) = [line for line in lines_with(text, "summary") if "median" in line]
    assert summary.startswith('"summary": {"iqr": ')
    lines = text.splitlines()
    runs_at = [i for i, line in enumerate(lines) if line == '        "runs": [']
    runs = [json.loads(line.strip().rstrip(",")) for at in runs_at for line in lines[at + 1 : lines.index("        ],", at)]]
    assert [run.get("median", run.get("value")) for run in runs] == [100, 50, 10.5, 11, 10]
    assert lines_with(text, "env-1") == [f'"env-1": {json.dumps(ENVIRONMENT, sort_keys=True, ensure_ascii=False)}']
    assert lines_with(text, "median") == ['"median": {"degrees_of_freedom": 4, "relative": 0.031}']


def test_each_per_example_array_is_one_line_class_scores_too() -> None:
    text = baseline_file_text(full_file(), "f.json")
    assert len(lines_with(text, "ids")) == 2
    assert len(lines_with(text, "predictions")) == 2
    (scores,) = lines_with(text, "scores")
    assert json.loads(scores.partition(": ")[2].rstrip(",")) == [[0.1, 0.2, 0.3, 0.4]] * 6


def test_a_new_model_changing_many_predictions_changes_few_lines() -> None:
    def text(predictions: list[int], median: float) -> str:
        baseline_file = BaselineFile(
            hardware_key=HW,
            tests={"test_model": {"accuracy": accuracy(predictions), "latency[1x16]": latency(median)}},
            environments={"env-1": dict(ENVIRONMENT)},
        )
        return baseline_file_text(baseline_file, "f.json")

    before = text([i % 4 for i in range(500)], 10.0)
    after = text([(i * 7) % 4 for i in range(500)], 20.0)  # three quarters of the predictions change
    changed = changed_lines(before, after)
    # the predictions, run and summary of the accuracy; the quantiles, run and summary of the latency
    assert [line.split('"')[1] if '"' in line else line.strip(" {") for line in changed if line[0] == "+"] == [
        "predictions",
        "value",
        "summary",
        "quantiles",
        "iqr",
        "summary",
    ]
    assert len(changed) == 12


def test_nan_is_refused_naming_the_field() -> None:
    baseline_file = full_file()
    baseline_file.tests["test_latency[bert-tiny]"]["parameters"] = replace(
        baseline_file.tests["test_latency[bert-tiny]"]["parameters"], summary={"value": float("nan")}
    )
    with pytest.raises(StorageError, match=r"^f\.json: field tests\.test_latency\[bert-tiny\]\.parameters\.summary\.value: "):
        baseline_file_text(baseline_file, "f.json")
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        baseline_text({"value": float("inf")})


def test_a_broken_file_read_from_a_revision_is_named_as_given() -> None:
    with pytest.raises(BaselineError, match=r"^baseline file abc123:baselines/x\.json: not valid JSON \(line 1, column 2"):
        parse_baseline("{]", "abc123:baselines/x.json")


# -- the commit, kept in the entry --------------------------------------------------------------------------------------


def key(test: str = "test_a", measurement: str = "latency[1x16]") -> EntryKey:
    return EntryKey(HW, MODULE, test, measurement)


def test_an_update_keeps_the_commit_in_the_entry_and_the_environment_without_it(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    environment = {**ENVIRONMENT, "commit": "c0ffee"}
    identifier = environment_id(environment)
    store.apply({key(): replace(latency(10.0), environment=identifier)}, [], {identifier: environment})
    data = json.loads(store.path_for(HW, MODULE).read_text(encoding="utf-8"))
    assert data["environments"] == {identifier: ENVIRONMENT}
    assert data["tests"]["test_a"]["latency[1x16]"]["commit"] == "c0ffee"
    assert JsonBaselineStore(tmp_path).lookup(key()).commit == "c0ffee"  # type: ignore[union-attr]


def test_recording_at_another_commit_changes_only_the_entries_it_records(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    first, second = {**ENVIRONMENT, "commit": "1111"}, {**ENVIRONMENT, "commit": "2222"}
    identifier = environment_id(first)
    assert environment_id(second) == identifier
    store.apply(
        {
            key("test_a"): replace(latency(10.0), environment=identifier),
            key("test_b"): replace(latency(5.0), environment=identifier),
        },
        [],
        {identifier: first},
    )
    before = store.path_for(HW, MODULE).read_text(encoding="utf-8")
    JsonBaselineStore(tmp_path).apply({key("test_b"): replace(latency(5.0), environment=identifier)}, [], {identifier: second})
    after = store.path_for(HW, MODULE).read_text(encoding="utf-8")
    assert changed_lines(before, after) == ['-        "commit": "1111",', '+        "commit": "2222",']


def test_outside_a_git_checkout_no_commit_is_written(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    environment = {**ENVIRONMENT, "commit": ""}
    store.apply({key(): replace(latency(10.0), environment=environment_id(environment))}, [], {"x": environment})
    entry = json.loads(store.path_for(HW, MODULE).read_text(encoding="utf-8"))["tests"]["test_a"]["latency[1x16]"]
    assert "commit" not in entry


def test_a_commit_that_is_not_a_string_is_an_error_naming_the_field() -> None:
    data = parsed(full_file())
    data["tests"]["test_latency[bert-tiny]"]["parameters"]["commit"] = 12
    with pytest.raises(
        BaselineError, match=r"field tests\.test_latency\[bert-tiny\]\.parameters\.commit: expected a commit hash"
    ):
        parse_baseline(json.dumps(data), "f.json")


# -- the environment id -----------------------------------------------------------------------------------------------


def test_the_environment_id_ignores_the_commit_and_follows_everything_else() -> None:
    identifier = environment_id({**ENVIRONMENT, "commit": "1111"})
    assert identifier == environment_id({**ENVIRONMENT, "commit": "2222"}) == environment_id(ENVIRONMENT)
    for field, value in (("torch", "2.4.0"), ("transformers", "5.1.0"), ("python", "3.12.1"), ("cpu_cores", 4)):
        assert environment_id({**ENVIRONMENT, field: value}) != identifier, field
    assert environment_id({**ENVIRONMENT, "gpu": "NVIDIA H100"}) != identifier


LEGACY_ID = "85f1fc831c19"  # a hash of the environment with its commit, as files held it before


def legacy_file() -> dict[str, Any]:
    """A file as the indented layout held it, with the commit in the environment."""
    entry = {"deterministic": False, "direction": "lower_is_better", "environment": LEGACY_ID, "recorded": "2025-12-01"}
    return {
        "environments": {LEGACY_ID: {**ENVIRONMENT, "commit": "c3f073ca"}},
        "hardware_key": HW,
        "schema": 1,
        "tests": {
            "test_a": {
                "latency[1x16]": {
                    **entry,
                    "context": {"device": "cpu"},
                    "quantiles": [9.5, 10.0, 10.5],
                    "runs": [{"median": 10.0, "rounds": 5}, {"median": 10.4, "rounds": 5}],
                    "statistic": "median",
                    "summary": {"median": 10.4, "rounds": 5},
                    "unit": "ms",
                }
            },
            "test_b": {"latency[1x16]": {**entry, "statistic": "value", "summary": {"value": 3.0}, "unit": "ms"}},
        },
    }


def test_a_file_written_before_the_commit_left_the_environment_loads_and_keeps_its_records(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    path = store.path_for(HW, MODULE)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(legacy_file(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    entry = store.lookup(key())
    assert entry is not None and entry.environment == LEGACY_ID and entry.commit == ""
    assert entry.center("median") == pytest.approx(10.2)  # judged as before: the mean of its two runs
    # re-recording one entry points it at the commit-free id; the other keeps the record it points at
    environment = {**ENVIRONMENT, "commit": "d00d"}
    identifier = environment_id(environment)
    JsonBaselineStore(tmp_path).apply(
        {key("test_b"): replace(latency(3.0), environment=identifier)}, [], {identifier: environment}
    )
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["environments"] == {LEGACY_ID: legacy_file()["environments"][LEGACY_ID], identifier: ENVIRONMENT}
    assert data["tests"]["test_a"] == legacy_file()["tests"]["test_a"]
    assert data["tests"]["test_b"]["latency[1x16]"]["commit"] == "d00d"
