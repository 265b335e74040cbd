"""Unit tests for pytest_modelperf.storage.baseline_store: the JSON baseline store and atomic writes."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
from pytest_modelperf.core.file_format import SCHEMA_VERSION, FormatError, baseline_text
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.storage import baseline_store as baselines
from pytest_modelperf.storage.baseline_store import (
    BaselineError,
    BaselineFile,
    JsonBaselineStore,
    StorageError,
    WriteResult,
    atomic_write_json,
)

HW = "amd-epyc-2c-float32"
MODULE = "perf_tests/test_models.py"
ENVIRONMENTS = {"env-a": {"python": "3.11", "torch": "2.3"}, "env-b": {"python": "3.12", "torch": "2.4"}}


def sampled(median: float, *, environment: str = "env-a", previous: BaselineEntry | None = None) -> BaselineEntry:
    measurement = Measurement.from_samples(
        "latency",
        [median - 1.0, median, median + 1.0],
        unit="ms",
        direction=Direction.LOWER_IS_BETTER,
        context={"device": "cpu"},
    )
    return BaselineEntry.from_measurement(measurement, environment=environment, recorded="2024-05-01", previous=previous)


def exact(value: float, *, environment: str = "env-a") -> BaselineEntry:
    return BaselineEntry.from_measurement(
        Measurement.exact("parameters", value, unit="count"), environment=environment, recorded="2024-05-01"
    )


def non_finite_entry() -> BaselineEntry:
    """An entry holding NaN, built directly: measurements turn NaN into "unavailable" first."""
    return BaselineEntry(
        unit="count",
        direction=Direction.LOWER_IS_BETTER,
        deterministic=True,
        statistic="value",
        summary={"value": math.nan},
        environment="env-a",
        recorded="2024-05-01",
    )


def key(test: str = "test_bert[b1]", measurement: str = "latency", *, module: str = MODULE, hardware: str = HW) -> EntryKey:
    return EntryKey(hardware, module, test, measurement)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- layout -------------------------------------------------------------------------------------------------


def test_path_for_layout(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path / "baselines")
    assert store.path_for(HW, "perf_tests/test_models.py") == tmp_path / "baselines" / HW / "perf_tests" / "test_models.json"
    assert store.path_for("cuda-h100-bfloat16", "test_top.py") == tmp_path / "baselines" / "cuda-h100-bfloat16" / "test_top.json"
    assert store.path_for(HW, "a/b/c/test_deep.py") == tmp_path / "baselines" / HW / "a" / "b" / "c" / "test_deep.json"
    # only a trailing ".py" is taken off
    assert store.path_for(HW, "perf_tests/test_models") == tmp_path / "baselines" / HW / "perf_tests" / "test_models.json"
    assert store.path_for(HW, "perf_tests/test_py.pyx").name == "test_py.pyx.json"


def test_apply_writes_to_path_for(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    results = store.apply({key(): sampled(10.0)}, [], ENVIRONMENTS)
    expected = tmp_path / HW / "perf_tests" / "test_models.json"
    assert results == [WriteResult(expected, written=1, removed=0, moved_aside=None)]
    assert expected.is_file()


# -- reading missing files --------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    assert store.read(store.path_for(HW, MODULE)) is None
    assert store.lookup(key()) is None
    assert store.keys(HW, MODULE) == []
    assert list(tmp_path.iterdir()) == []  # reading creates nothing


# -- round trip -----------------------------------------------------------------------------------------------


def test_round_trip_in_a_fresh_store(tmp_path: Path) -> None:
    entries = {
        key("test_bert[b1]", "latency"): sampled(10.0, previous=sampled(11.0)),
        key("test_bert[b1]", "parameters"): exact(109482240),
        key("test_gpt2", "latency"): sampled(42.0, environment="env-b"),
    }
    results = JsonBaselineStore(tmp_path).apply(entries, [], ENVIRONMENTS)
    assert len(results) == 1
    assert results[0].written == 3
    assert results[0].removed == 0

    fresh = JsonBaselineStore(tmp_path)
    for entry_key, entry in entries.items():
        found = fresh.lookup(entry_key)
        assert found == entry, entry_key
    assert fresh.lookup(key("test_bert[b1]", "throughput")) is None
    assert fresh.lookup(key("test_missing", "latency")) is None
    assert fresh.lookup(key(hardware="other-hw")) is None
    assert fresh.lookup(key(module="perf_tests/test_other.py")) is None


def test_round_trip_of_unrounded_values(tmp_path: Path) -> None:
    entry = BaselineEntry.from_measurement(
        Measurement.from_samples("latency", [1.23456789, 2.3456789, 3.456789], unit="ms", direction=Direction.LOWER_IS_BETTER),
        environment="env-a",
        recorded="d",
    )
    size = exact(12.3456789123)
    JsonBaselineStore(tmp_path).apply({key(): entry, key(measurement="size"): size}, [], ENVIRONMENTS)
    fresh = JsonBaselineStore(tmp_path)
    found = fresh.lookup(key())
    assert found is not None
    assert found.summary["median"] == pytest.approx(2.3456789, rel=1e-5)
    assert found.summary["median"] == 2.34568  # stored with 6 significant digits
    assert fresh.lookup(key(measurement="size")) == size  # deterministic values are kept exactly


def test_lookup_in_the_same_store_after_apply(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    assert store.lookup(key()) is None  # caches the missing file
    store.apply({key(): sampled(10.0)}, [], ENVIRONMENTS)
    assert store.lookup(key()) == sampled(10.0)


def test_keys(tmp_path: Path) -> None:
    entries = {
        key("test_b", "latency"): sampled(1.0),
        key("test_a", "latency"): sampled(2.0),
        key("test_a", "parameters"): exact(5),
        key("test_c", "latency", module="perf_tests/test_other.py"): sampled(3.0),
        key("test_d", "latency", hardware="other-hw"): sampled(4.0),
    }
    JsonBaselineStore(tmp_path).apply(entries, [], ENVIRONMENTS)
    fresh = JsonBaselineStore(tmp_path)
    assert sorted(fresh.keys(HW, MODULE)) == sorted(
        [key("test_b", "latency"), key("test_a", "latency"), key("test_a", "parameters")]
    )
    assert fresh.keys(HW, "perf_tests/test_other.py") == [key("test_c", "latency", module="perf_tests/test_other.py")]
    assert fresh.keys("other-hw", MODULE) == [key("test_d", "latency", hardware="other-hw")]
    assert fresh.keys("third-hw", MODULE) == []


def test_apply_to_several_files(tmp_path: Path) -> None:
    entries = {
        key("t", "latency", module="perf_tests/test_z.py"): sampled(1.0),
        key("t", "latency", module="perf_tests/test_a.py"): sampled(2.0),
        key("t", "latency", module="perf_tests/test_a.py", hardware="cuda-a100-float16"): sampled(3.0),
    }
    results = JsonBaselineStore(tmp_path).apply(entries, [], ENVIRONMENTS)
    paths = [result.path for result in results]
    assert paths == sorted(paths)
    assert set(paths) == {
        tmp_path / HW / "perf_tests" / "test_z.json",
        tmp_path / HW / "perf_tests" / "test_a.json",
        tmp_path / "cuda-a100-float16" / "perf_tests" / "test_a.json",
    }
    assert all(result.written == 1 for result in results)
    data = json.loads((tmp_path / "cuda-a100-float16" / "perf_tests" / "test_a.json").read_text())
    assert data["hardware_key"] == "cuda-a100-float16"


def test_apply_merges_with_existing_file(tmp_path: Path) -> None:
    JsonBaselineStore(tmp_path).apply({key("test_a"): sampled(1.0)}, [], ENVIRONMENTS)
    JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(2.0)}, [], ENVIRONMENTS)
    fresh = JsonBaselineStore(tmp_path)
    assert fresh.lookup(key("test_a")) == sampled(1.0)
    assert fresh.lookup(key("test_b")) == sampled(2.0)


def test_apply_replaces_an_entry(tmp_path: Path) -> None:
    JsonBaselineStore(tmp_path).apply({key(): sampled(1.0)}, [], ENVIRONMENTS)
    results = JsonBaselineStore(tmp_path).apply({key(): sampled(7.0)}, [], ENVIRONMENTS)
    assert results[0].written == 1
    assert JsonBaselineStore(tmp_path).lookup(key()) == sampled(7.0)


# -- file format ------------------------------------------------------------------------------------------------


def test_file_is_sorted_compact_json_with_trailing_newline(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.apply({key("test_b"): sampled(1.0), key("test_a", "parameters"): exact(3)}, [], ENVIRONMENTS)
    text = store.path_for(HW, MODULE).read_text(encoding="utf-8")
    data = json.loads(text)
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert text == baseline_text(data)
    assert text.startswith('{\n  "environments": {')
    assert data["schema"] == SCHEMA_VERSION
    assert data["hardware_key"] == HW
    assert list(data["tests"]) == ["test_a", "test_b"]
    assert data["tests"]["test_a"]["parameters"]["summary"] == {"value": 3}


def test_writing_the_same_content_twice_gives_identical_bytes(tmp_path: Path) -> None:
    entries = {key("test_b"): sampled(1.0, previous=sampled(1.5)), key("test_a", "parameters"): exact(3)}
    store = JsonBaselineStore(tmp_path)
    store.apply(entries, [], ENVIRONMENTS)
    path = store.path_for(HW, MODULE)
    first = path.read_bytes()
    # the same content applied again (in another order, by another store) changes nothing
    JsonBaselineStore(tmp_path).apply(dict(reversed(list(entries.items()))), [], ENVIRONMENTS)
    assert path.read_bytes() == first
    store.apply(entries, [], ENVIRONMENTS)
    assert path.read_bytes() == first
    # and an independent store writing the same content elsewhere gives the same bytes
    other = JsonBaselineStore(tmp_path / "other")
    other.apply(dict(reversed(list(entries.items()))), [], ENVIRONMENTS)
    assert other.path_for(HW, MODULE).read_bytes() == first


def test_non_ascii_is_written_as_utf8(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.apply({key("test_ünïcode[µ]"): sampled(1.0)}, [], ENVIRONMENTS)
    raw = store.path_for(HW, MODULE).read_bytes()
    assert "test_ünïcode[µ]".encode() in raw
    assert JsonBaselineStore(tmp_path).lookup(key("test_ünïcode[µ]")) == sampled(1.0)


# -- environments ---------------------------------------------------------------------------------------------------


def test_only_used_environments_are_written(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.apply({key(): sampled(1.0, environment="env-a")}, [], ENVIRONMENTS)
    data = json.loads(store.path_for(HW, MODULE).read_text())
    assert data["environments"] == {"env-a": ENVIRONMENTS["env-a"]}


def test_environments_no_longer_used_are_pruned(tmp_path: Path) -> None:
    JsonBaselineStore(tmp_path).apply(
        {key("test_a"): sampled(1.0, environment="env-a"), key("test_b"): sampled(2.0, environment="env-b")}, [], ENVIRONMENTS
    )
    path = JsonBaselineStore(tmp_path).path_for(HW, MODULE)
    assert set(json.loads(path.read_text())["environments"]) == {"env-a", "env-b"}
    # re-recording test_a in env-b leaves env-a unused
    JsonBaselineStore(tmp_path).apply({key("test_a"): sampled(1.0, environment="env-b")}, [], ENVIRONMENTS)
    assert set(json.loads(path.read_text())["environments"]) == {"env-b"}
    # removing the last user of env-b leaves none
    JsonBaselineStore(tmp_path).apply({}, [key("test_a"), key("test_b")], ENVIRONMENTS)
    data = json.loads(path.read_text())
    assert data["environments"] == {}
    assert data["tests"] == {}


def test_environment_without_description_is_written_empty(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.apply({key(): sampled(1.0, environment="env-unknown")}, [], ENVIRONMENTS)
    assert json.loads(store.path_for(HW, MODULE).read_text())["environments"] == {"env-unknown": {}}


# -- removals ---------------------------------------------------------------------------------------------------------


def test_removals(tmp_path: Path) -> None:
    JsonBaselineStore(tmp_path).apply(
        {key("test_a", "latency"): sampled(1.0), key("test_a", "parameters"): exact(3), key("test_b", "latency"): sampled(2.0)},
        [],
        ENVIRONMENTS,
    )
    results = JsonBaselineStore(tmp_path).apply(
        {}, [key("test_a", "latency"), key("test_b", "latency"), key("test_c", "latency")], ENVIRONMENTS
    )
    assert len(results) == 1
    assert results[0].removed == 2  # test_c had no entry
    assert results[0].written == 0
    fresh = JsonBaselineStore(tmp_path)
    assert fresh.lookup(key("test_a", "latency")) is None
    assert fresh.lookup(key("test_b", "latency")) is None
    assert fresh.lookup(key("test_a", "parameters")) == exact(3)
    assert fresh.keys(HW, MODULE) == [key("test_a", "parameters")]
    data = json.loads(fresh.path_for(HW, MODULE).read_text())
    assert list(data["tests"]) == ["test_a"]  # a test left without measurements is dropped


def test_update_and_removal_together(tmp_path: Path) -> None:
    JsonBaselineStore(tmp_path).apply({key("test_a"): sampled(1.0)}, [], ENVIRONMENTS)
    results = JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(2.0)}, [key("test_a")], ENVIRONMENTS)
    assert (results[0].written, results[0].removed) == (1, 1)
    fresh = JsonBaselineStore(tmp_path)
    assert fresh.keys(HW, MODULE) == [key("test_b")]


# -- broken files ------------------------------------------------------------------------------------------------------


def write_raw(store: JsonBaselineStore, text: str | bytes) -> Path:
    path = store.path_for(HW, MODULE)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


CORRUPT = '{\n  "schema": 1,\n  oops\n}\n'  # the error is at line 3, column 3


def test_corrupt_json_names_file_line_and_column(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, CORRUPT)
    with pytest.raises(BaselineError) as info:
        store.lookup(key())
    message = str(info.value)
    assert str(path) in message
    assert "line 3, column 3" in message
    assert "not valid JSON" in message
    with pytest.raises(BaselineError):
        store.keys(HW, MODULE)


def test_corrupt_json_is_not_changed_by_reading(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, CORRUPT)
    with pytest.raises(BaselineError):
        store.read(path)
    assert path.read_text(encoding="utf-8") == CORRUPT
    assert files_in(path.parent) == ["test_models.json"]


def valid_file_data() -> dict[str, Any]:
    data = BaselineFile(hardware_key=HW, tests={"test_a": {"latency": sampled(1.0)}}, environments=dict(ENVIRONMENTS)).to_dict()
    return json.loads(json.dumps(data))  # a deep copy: tests change it


def test_valid_file_data_parses(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    write_raw(store, json.dumps(valid_file_data()))
    assert store.lookup(key("test_a")) == sampled(1.0)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda d: d["tests"]["test_a"]["latency"]["summary"].__setitem__("median", "fast"),
            "tests.test_a.latency.summary.median",
        ),
        (lambda d: d["tests"]["test_a"]["latency"].__setitem__("direction", "up"), "tests.test_a.latency.direction"),
        (lambda d: d["tests"]["test_a"]["latency"].pop("unit"), "tests.test_a.latency.unit"),
        (lambda d: d["tests"]["test_a"]["latency"]["runs"].__setitem__(0, []), "tests.test_a.latency.runs[0]"),
        (lambda d: d["tests"].__setitem__("test_a", [1]), "tests.test_a"),
        (lambda d: d.__setitem__("tests", []), "tests"),
        (lambda d: d.__setitem__("environments", []), "environments"),
        (lambda d: d.__setitem__("schema", 99), "schema"),
        (lambda d: d.pop("schema"), "schema"),
        (lambda d: d.__setitem__("hardware_key", 3), "hardware_key"),
    ],
)
def test_malformed_field_names_file_and_field(tmp_path: Path, mutate: Any, field: str) -> None:
    data = valid_file_data()
    mutate(data)
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, json.dumps(data, indent=2))
    with pytest.raises(BaselineError) as info:
        store.lookup(key("test_a"))
    message = str(info.value)
    assert str(path) in message
    assert f"field {field}:" in message
    assert isinstance(info.value.__cause__, FormatError)
    assert info.value.__cause__.path == field


def test_top_level_not_an_object(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, "[1, 2, 3]\n")
    with pytest.raises(BaselineError) as info:
        store.lookup(key())
    assert str(path) in str(info.value)
    assert "(top level)" in str(info.value)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, b'{"schema": 1, "hardware_key": "\xff\xfe"}')
    with pytest.raises(BaselineError) as info:
        store.lookup(key())
    assert str(path) in str(info.value)
    assert "cannot be read" in str(info.value)


def test_apply_moves_a_corrupt_file_aside(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, CORRUPT)
    original = path.read_bytes()
    results = store.apply({key("test_new"): sampled(5.0)}, [], ENVIRONMENTS)
    aside = path.with_name("test_models.json.corrupt")
    assert results == [WriteResult(path, written=1, removed=0, moved_aside=aside)]
    assert aside.read_bytes() == original
    assert files_in(path.parent) == ["test_models.json", "test_models.json.corrupt"]
    fresh = JsonBaselineStore(tmp_path)
    assert fresh.keys(HW, MODULE) == [key("test_new")]
    assert fresh.lookup(key("test_new")) == sampled(5.0)


def test_apply_moves_a_malformed_file_aside(tmp_path: Path) -> None:
    data = valid_file_data()
    data["tests"]["test_a"]["latency"]["summary"]["median"] = "fast"
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, json.dumps(data))
    original = path.read_bytes()
    results = store.apply({key("test_b"): sampled(5.0)}, [], ENVIRONMENTS)
    assert results[0].moved_aside == path.with_name("test_models.json.corrupt")
    assert path.with_name("test_models.json.corrupt").read_bytes() == original
    assert JsonBaselineStore(tmp_path).keys(HW, MODULE) == [key("test_b")]


def test_apply_keeps_earlier_corrupt_copies(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, CORRUPT)
    store.apply({key(): sampled(1.0)}, [], ENVIRONMENTS)
    write_raw(store, "second corrupt version")
    store = JsonBaselineStore(tmp_path)
    results = store.apply({key(): sampled(2.0)}, [], ENVIRONMENTS)
    assert results[0].moved_aside == path.with_name("test_models.json.corrupt1")
    assert path.with_name("test_models.json.corrupt").read_text() == CORRUPT
    assert path.with_name("test_models.json.corrupt1").read_text() == "second corrupt version"
    assert JsonBaselineStore(tmp_path).lookup(key()) == sampled(2.0)


def test_valid_file_is_not_moved_aside(tmp_path: Path) -> None:
    JsonBaselineStore(tmp_path).apply({key("test_a"): sampled(1.0)}, [], ENVIRONMENTS)
    results = JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(1.0)}, [], ENVIRONMENTS)
    assert results[0].moved_aside is None
    assert files_in(results[0].path.parent) == ["test_models.json"]


# -- BaselineFile and EntryKey -------------------------------------------------------------------------------------------------


def test_baseline_file_round_trip() -> None:
    original = BaselineFile(
        hardware_key=HW, tests={"test_a": {"latency": sampled(1.0), "parameters": exact(3)}}, environments=dict(ENVIRONMENTS)
    )
    data = json.loads(json.dumps(original.to_dict()))
    restored = BaselineFile.from_dict(data)
    assert restored.hardware_key == HW
    assert restored.tests == original.tests
    assert restored.environments == {"env-a": ENVIRONMENTS["env-a"]}  # env-b is unused


def test_baseline_file_to_dict_drops_empty_tests() -> None:
    data = BaselineFile(hardware_key=HW, tests={"test_a": {}, "test_b": {"latency": sampled(1.0)}}).to_dict()
    assert list(data["tests"]) == ["test_b"]


def test_baseline_file_from_dict_of_non_object() -> None:
    with pytest.raises(FormatError) as info:
        BaselineFile.from_dict([])
    assert info.value.path == "(top level)"


def test_entry_key_describe_and_order() -> None:
    assert key("test_x", "latency").describe() == f"{MODULE}::test_x latency [{HW}]"
    assert sorted([key("b"), key("a"), key("a", module="a.py")]) == [key("a", module="a.py"), key("a"), key("b")]
    assert key("a") == EntryKey(HW, MODULE, "a", "latency")
    assert len({key("a"), key("a")}) == 1


# -- atomic_write_json ----------------------------------------------------------------------------------------------------------------


def test_atomic_write_json_creates_folders_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "file.json"
    atomic_write_json(path, {"b": [1, 2], "a": {"z": 1, "y": "é"}})
    assert path.read_text(encoding="utf-8") == '{\n  "a": {\n    "y": "é",\n    "z": 1\n  },\n  "b": [\n    1,\n    2\n  ]\n}\n'
    assert files_in(path.parent) == ["file.json"]


def test_atomic_write_json_is_stable(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    atomic_write_json(path, {"x": 1.5, "y": [3, 2, 1], "a": None})
    first = path.read_bytes()
    atomic_write_json(path, {"a": None, "y": [3, 2, 1], "x": 1.5})
    assert path.read_bytes() == first
    assert files_in(tmp_path) == ["file.json"]


@pytest.mark.parametrize(("bad", "spelling"), [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")])
def test_atomic_write_json_refuses_non_finite_naming_file_and_field_and_keeps_the_old_file(
    tmp_path: Path, bad: float, spelling: str
) -> None:
    path = tmp_path / "file.json"
    atomic_write_json(path, {"value": 1})
    before = path.read_bytes()
    with pytest.raises(StorageError) as info:
        atomic_write_json(path, {"results": [{"current": 1.0}, {"current": bad}]})
    assert str(info.value) == f"{path}: field results[1].current: not a finite number ({spelling}); the file was left as it was"
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["file.json"]


def test_atomic_write_json_unserialisable_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    atomic_write_json(path, {"value": 1})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        atomic_write_json(path, {"value": object()})
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["file.json"]


def test_atomic_write_json_removes_its_temporary_file_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.json"
    atomic_write_json(path, {"value": 1})
    before = path.read_bytes()
    seen: list[str] = []

    def failing_replace(source: Any, target: Any) -> None:
        seen.append(os.path.basename(source))
        assert os.path.exists(source)  # the new content was written beside the file first
        raise OSError("disk on fire")

    monkeypatch.setattr(baselines.os, "replace", failing_replace)
    with pytest.raises(
        StorageError, match=f"^{re.escape(str(path))}: cannot be written: disk on fire; the file was left as it was$"
    ):
        atomic_write_json(path, {"value": 2})
    monkeypatch.undo()
    assert len(seen) == 1
    assert seen[0].startswith(".file.json.") and seen[0].endswith(".tmp")
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["file.json"]


def test_apply_with_unwritable_entry_keeps_the_old_file(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.apply({key("test_a"): sampled(1.0)}, [], ENVIRONMENTS)
    path = store.path_for(HW, MODULE)
    before = path.read_bytes()
    with pytest.raises(StorageError) as info:
        JsonBaselineStore(tmp_path).apply({key("test_b", "parameters"): non_finite_entry()}, [], ENVIRONMENTS)
    assert str(info.value) == (
        f"baseline file {path}: field tests.test_b.parameters.summary.value: not a finite number (NaN); "
        "no baseline file was changed"
    )
    assert path.read_bytes() == before
    assert files_in(path.parent) == ["test_models.json"]
    assert JsonBaselineStore(tmp_path).keys(HW, MODULE) == [key("test_a")]


def test_failed_apply_does_not_change_what_the_store_reports(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.apply({key("test_a"): sampled(1.0)}, [], ENVIRONMENTS)
    with pytest.raises(StorageError):
        store.apply({key("test_b", "parameters"): non_finite_entry()}, [key("test_a")], ENVIRONMENTS)
    assert store.lookup(key("test_b", "parameters")) is None
    assert store.lookup(key("test_a")) == sampled(1.0)


# -- module paths that cannot name a file of their own ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "problem"),
    [
        ("", "the module path is empty"),
        (".py", "its file name is only '.py'"),
        ("/home/me/test_x.py", "the path is absolute"),
        ("C:/work/test_x.py", "the path is absolute"),
        ("../test_x.py", "the path has a '..' part"),
        ("perf_tests/../../test_x.py", "the path has a '..' part"),
        ("./test_x.py", "the path has a '.' part"),
        ("perf_tests//test_x.py", "the path has an empty part"),
    ],
)
def test_path_for_refuses_a_module_that_cannot_name_its_own_file(tmp_path: Path, module: str, problem: str) -> None:
    store = JsonBaselineStore(tmp_path / "baselines")
    with pytest.raises(BaselineError) as info:
        store.path_for(HW, module)
    assert str(info.value).startswith(f"test module {module!r}: cannot name a baseline file: {problem}")


@pytest.mark.parametrize("hardware", ["", ".", "..", "a/b", "a\\b"])
def test_path_for_refuses_a_hardware_key_that_is_not_one_folder_name(tmp_path: Path, hardware: str) -> None:
    with pytest.raises(BaselineError, match=f"hardware key {re.escape(repr(hardware))}: cannot name a baseline folder"):
        JsonBaselineStore(tmp_path).path_for(hardware, MODULE)


def test_apply_with_an_escaping_module_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "baselines"
    with pytest.raises(BaselineError, match=re.escape("'../../outside.py'")):
        JsonBaselineStore(root).apply(
            {key(module=MODULE): sampled(1.0), key(module="../../outside.py"): sampled(2.0)}, [], ENVIRONMENTS
        )
    assert list(tmp_path.rglob("*")) == []


# -- fields this version does not know ------------------------------------------------------------------------------------


def test_unknown_fields_survive_a_rewrite_for_another_test(tmp_path: Path) -> None:
    data = valid_file_data()
    data["reviewed_by"] = {"name": "alice", "on": "2026-01-02"}
    data["tests"]["test_a"]["latency"]["learned_spread"] = 0.031
    data["tests"]["test_a"]["latency"]["note"] = "re-recorded after the driver update"
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, json.dumps(data, indent=2))

    JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(2.0)}, [], ENVIRONMENTS)

    rewritten = json.loads(path.read_text(encoding="utf-8"))
    assert rewritten["reviewed_by"] == {"name": "alice", "on": "2026-01-02"}
    assert rewritten["tests"]["test_a"]["latency"]["learned_spread"] == 0.031
    assert rewritten["tests"]["test_a"]["latency"]["note"] == "re-recorded after the driver update"
    assert rewritten["tests"]["test_a"]["latency"] == data["tests"]["test_a"]["latency"]
    assert "note" not in rewritten["tests"]["test_b"]["latency"]


def test_unknown_fields_nested_in_an_entry_survive_a_rewrite_for_another_test(tmp_path: Path) -> None:
    from pytest_modelperf.core.example_outcomes import ExampleOutcomes

    quality = BaselineEntry.from_measurement(
        Measurement(
            "accuracy",
            "points",
            Direction.HIGHER_IS_BETTER,
            50.0,
            examples=ExampleOutcomes("accuracy", ("a", "b"), (1.0, 0.0), (1.0, 1.0)),
        ),
        environment="env-a",
        recorded="2024-05-01",
    )
    store = JsonBaselineStore(tmp_path)
    store.apply({key("test_q", "accuracy"): quality}, [], ENVIRONMENTS)
    path = store.path_for(HW, MODULE)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["tests"]["test_q"]["accuracy"]["examples"]["dataset_revision"] = "2026-01"
    path.write_text(json.dumps(data), encoding="utf-8")

    JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(2.0)}, [], ENVIRONMENTS)

    rewritten = json.loads(path.read_text(encoding="utf-8"))
    assert rewritten["tests"]["test_q"]["accuracy"]["examples"]["dataset_revision"] == "2026-01"
    assert JsonBaselineStore(tmp_path).lookup(key("test_q", "accuracy")) == quality


def test_a_file_with_unknown_fields_is_rewritten_byte_for_byte_when_nothing_changes(tmp_path: Path) -> None:
    data = valid_file_data()
    data["reviewed_by"] = "alice"
    data["tests"]["test_a"]["latency"]["note"] = "x"
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, baseline_text(data))
    before = path.read_bytes()
    JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(2.0)}, [key("test_b")], ENVIRONMENTS)
    JsonBaselineStore(tmp_path).apply({}, [key("test_b")], ENVIRONMENTS)
    assert path.read_bytes() == before


def test_a_re_recorded_entry_is_written_as_this_version_knows_it(tmp_path: Path) -> None:
    data = valid_file_data()
    data["tests"]["test_a"]["latency"]["learned_spread"] = 0.031
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, json.dumps(data))
    JsonBaselineStore(tmp_path).apply({key("test_a"): sampled(3.0)}, [], ENVIRONMENTS)
    rewritten = json.loads(path.read_text(encoding="utf-8"))
    assert "learned_spread" not in rewritten["tests"]["test_a"]["latency"]
    assert JsonBaselineStore(tmp_path).lookup(key("test_a")) == sampled(3.0)


# -- NaN and infinity in a file ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "spelling"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("1e999", "Infinity")]
)
def test_a_non_finite_number_in_a_file_is_an_error_naming_file_and_field(tmp_path: Path, raw: str, spelling: str) -> None:
    data = valid_file_data()
    data["tests"]["test_a"]["latency"]["summary"]["median"] = "PLACEHOLDER"
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, json.dumps(data, indent=2).replace('"PLACEHOLDER"', raw))
    with pytest.raises(BaselineError) as info:
        store.lookup(key("test_a"))
    assert str(info.value).startswith(
        f"baseline file {path}: field tests.test_a.latency.summary.median: not a finite number ({spelling});"
    )


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (lambda d: d["tests"]["test_a"]["latency"]["runs"][0], "tests.test_a.latency.runs[0].median"),
        (lambda d: d["tests"]["test_a"]["latency"]["context"], "tests.test_a.latency.context.median"),
        (lambda d: d["environments"]["env-a"], "environments.env-a.median"),
    ],
)
def test_a_non_finite_number_anywhere_in_a_file_is_refused(tmp_path: Path, where: Any, field: str) -> None:
    data = valid_file_data()
    where(data)["median"] = math.nan
    store = JsonBaselineStore(tmp_path)
    write_raw(store, json.dumps(data))
    with pytest.raises(BaselineError, match=f"field {re.escape(field)}: not a finite number \\(NaN\\)"):
        store.lookup(key("test_a"))


# -- all or nothing, and write failures -------------------------------------------------------------------------------------

TWO_FILES = (key("test_a", module="perf_tests/test_a.py"), key("test_b", module="perf_tests/test_b.py", hardware="other-hw"))


def write_two_files(tmp_path: Path) -> tuple[Path, Path]:
    store = JsonBaselineStore(tmp_path)
    store.apply({TWO_FILES[0]: sampled(1.0), TWO_FILES[1]: sampled(2.0)}, [], ENVIRONMENTS)
    first, second = (store.path_for(k.hardware_key, k.module) for k in TWO_FILES)
    assert first < second  # files are written in path order
    return first, second


def fail_the_nth_fsync(monkeypatch: pytest.MonkeyPatch, n: int, error: OSError) -> list[int]:
    real_fsync = os.fsync
    calls: list[int] = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == n:
            raise error
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def test_a_full_disk_while_writing_the_second_file_leaves_the_first_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = write_two_files(tmp_path)
    before = first.read_bytes(), second.read_bytes()
    fail_the_nth_fsync(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))
    store = JsonBaselineStore(tmp_path)
    with pytest.raises(StorageError) as info:
        store.apply({TWO_FILES[0]: sampled(10.0), TWO_FILES[1]: sampled(20.0)}, [], ENVIRONMENTS)
    monkeypatch.undo()
    assert str(info.value) == f"baseline file {second}: cannot be written: No space left on device; no baseline file was changed"
    assert (first.read_bytes(), second.read_bytes()) == before
    assert files_in(first.parent) == ["test_a.json"] and files_in(second.parent) == ["test_b.json"]
    assert store.lookup(TWO_FILES[0]) == sampled(1.0)  # what the store reports still matches the disk


def test_a_folder_in_the_way_of_the_second_file_leaves_the_first_unchanged(tmp_path: Path) -> None:
    first, second = write_two_files(tmp_path)
    before = first.read_bytes()
    second.unlink()
    second.mkdir()
    with pytest.raises(StorageError) as info:
        JsonBaselineStore(tmp_path).apply({TWO_FILES[0]: sampled(10.0), TWO_FILES[1]: sampled(20.0)}, [], ENVIRONMENTS)
    assert str(info.value) == f"baseline file {second}: cannot be written: it is a folder; no baseline file was changed"
    assert first.read_bytes() == before
    assert files_in(first.parent) == ["test_a.json"]


def test_a_rename_failing_after_another_succeeded_names_the_file_already_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = write_two_files(tmp_path)
    store = JsonBaselineStore(tmp_path)
    assert store.lookup(TWO_FILES[0]) == sampled(1.0)
    real_replace = os.replace

    def replace(source: Any, target: Any) -> None:
        if Path(target) == second:
            raise OSError(errno.EIO, "Input/output error")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StorageError) as info:
        store.apply({TWO_FILES[0]: sampled(10.0), TWO_FILES[1]: sampled(20.0)}, [], ENVIRONMENTS)
    monkeypatch.undo()
    assert str(info.value) == f"baseline file {second}: cannot be written: Input/output error (already replaced: {first})"
    assert files_in(second.parent) == ["test_b.json"]  # its temporary is gone
    assert store.lookup(TWO_FILES[0]) == sampled(10.0)  # the store reports what is on disk
    assert store.lookup(TWO_FILES[1]) == sampled(2.0)


def test_a_file_in_the_way_of_a_new_folder_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    first, _ = write_two_files(tmp_path)
    before = first.read_bytes()
    blocked = key("test_c", module="deeper/test_c.py", hardware="third-hw")
    (tmp_path / "third-hw").write_text("not a folder")
    store = JsonBaselineStore(tmp_path)
    with pytest.raises(StorageError) as info:
        store.apply({TWO_FILES[0]: sampled(10.0), blocked: sampled(3.0)}, [], ENVIRONMENTS)
    assert str(info.value) == (
        f"baseline file {store.path_for('third-hw', 'deeper/test_c.py')}: cannot be written: "
        f"it is a file, not a folder: {tmp_path / 'third-hw'}; no baseline file was changed"
    )
    assert "\n" not in str(info.value)
    assert first.read_bytes() == before


def test_new_folders_made_for_a_failed_update_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_the_nth_fsync(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(StorageError):
        JsonBaselineStore(tmp_path).apply({TWO_FILES[0]: sampled(1.0), TWO_FILES[1]: sampled(2.0)}, [], ENVIRONMENTS)
    monkeypatch.undo()
    assert files_in(tmp_path) == [".modelperf"]
    assert files_in(tmp_path / ".modelperf") == ["update.lock"]


def test_a_corrupt_file_stays_in_place_when_its_replacement_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, CORRUPT)
    fail_the_nth_fsync(monkeypatch, 1, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(StorageError, match="No space left on device"):
        store.apply({key("test_new"): sampled(5.0)}, [], ENVIRONMENTS)
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == CORRUPT
    assert files_in(path.parent) == ["test_models.json"]


def test_a_corrupt_file_is_never_missing_while_it_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JsonBaselineStore(tmp_path)
    path = write_raw(store, CORRUPT)
    real_replace = os.replace
    seen: list[str] = []

    def replace(source: Any, target: Any) -> None:
        seen.append(Path(target).read_text(encoding="utf-8"))  # the corrupt file is still there, copy beside it
        assert path.with_name("test_models.json.corrupt").read_text(encoding="utf-8") == CORRUPT
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    results = store.apply({key("test_new"): sampled(5.0)}, [], ENVIRONMENTS)
    monkeypatch.undo()
    assert seen == [CORRUPT]
    assert results[0].moved_aside == path.with_name("test_models.json.corrupt")
    assert JsonBaselineStore(tmp_path).keys(HW, MODULE) == [key("test_new")]


# -- the lock -----------------------------------------------------------------------------------------------------------------


def test_apply_waits_for_the_lock_and_says_who_holds_it(tmp_path: Path) -> None:
    from filelock import FileLock

    store = JsonBaselineStore(tmp_path, lock_timeout=0.2)
    with FileLock(store.lock_path), pytest.raises(StorageError) as info:
        store.apply({key(): sampled(1.0)}, [], ENVIRONMENTS)
    assert str(info.value) == (
        f"baseline file {store.path_for(HW, MODULE)}: cannot be written: another process has held the lock "
        f"{store.lock_path} for over 0.2 s; no baseline file was changed"
    )
    assert not store.path_for(HW, MODULE).exists()
    store.apply({key(): sampled(1.0)}, [], ENVIRONMENTS)  # released: the next update goes through
    assert JsonBaselineStore(tmp_path).lookup(key()) == sampled(1.0)


def test_a_lock_that_cannot_be_made_is_a_storage_error(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.lock_path.mkdir(parents=True)
    with pytest.raises(
        StorageError, match=f"^baseline file .*: cannot be written: cannot take the lock {re.escape(str(store.lock_path))}: "
    ):
        store.apply({key(): sampled(1.0)}, [], ENVIRONMENTS)
    assert not store.path_for(HW, MODULE).exists()


def test_apply_reads_the_file_again_so_another_writers_entries_are_kept(tmp_path: Path) -> None:
    mine = JsonBaselineStore(tmp_path)
    assert mine.lookup(key("test_a")) is None  # this store has read the file (there was none)
    JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(2.0)}, [], ENVIRONMENTS)  # another writer
    mine.apply({key("test_a"): sampled(1.0)}, [key("test_gone")], ENVIRONMENTS)
    fresh = JsonBaselineStore(tmp_path)
    assert sorted(fresh.keys(HW, MODULE)) == [key("test_a"), key("test_b")]
    assert mine.lookup(key("test_b")) == sampled(2.0)


WRITER = """
import sys, time
from pathlib import Path
from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.storage.baseline_store import JsonBaselineStore
from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.measurement import Measurement

root, name, mine, theirs = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
store = JsonBaselineStore(root)
store.keys("hw", "perf_tests/test_models.py")  # read the file before the other process writes, as a session does
mine.touch()
deadline = time.monotonic() + 60
while not theirs.exists():
    if time.monotonic() > deadline:
        sys.exit("the other writer never started")
    time.sleep(0.005)
for batch in range(4):  # several updates in a row, interleaved with the other process's
    store.apply(
        {
            EntryKey("hw", "perf_tests/test_models.py", f"test_{name}_{batch}_{i}", "parameters"):
            BaselineEntry.from_measurement(Measurement.exact("parameters", i, unit="count"), environment=name, recorded="d")
            for i in range(5)
        },
        [],
        {name: {"writer": name}},
    )
"""


def test_two_processes_updating_one_file_at_once_keep_every_entry_of_both(tmp_path: Path) -> None:
    root = tmp_path / "baselines"
    ready = {name: tmp_path / f"{name}.ready" for name in ("a", "b")}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), name, str(ready[name]), str(ready[other])],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, other in (("a", "b"), ("b", "a"))
    ]
    for writer in writers:
        output, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0, output
    stored = json.loads((root / "hw" / "perf_tests" / "test_models.json").read_text(encoding="utf-8"))
    expected = {f"test_{name}_{batch}_{i}" for name in "ab" for batch in range(4) for i in range(5)}
    assert set(stored["tests"]) == expected
    assert stored["environments"] == {"a": {"writer": "a"}, "b": {"writer": "b"}}
    assert files_in(root / "hw" / "perf_tests") == ["test_models.json"]


# -- SIGTERM and temporaries --------------------------------------------------------------------------------------------------

TERMINATED_WRITER = """
import os, signal, sys
from pathlib import Path
from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.storage.baseline_store import JsonBaselineStore
from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.measurement import Measurement

real_fsync = os.fsync
def fsync_then_terminate(fd):
    real_fsync(fd)
    os.fsync = real_fsync
    os.kill(os.getpid(), signal.SIGTERM)  # CI cancels the job while the first file is being written
os.fsync = fsync_then_terminate
entry = BaselineEntry.from_measurement(Measurement.exact("parameters", 7, unit="count"), environment="e", recorded="d")
JsonBaselineStore(Path(sys.argv[1])).apply(
    {EntryKey("hw", "test_a.py", "test_x", "parameters"): entry, EntryKey("hw", "test_b.py", "test_x", "parameters"): entry},
    [], {"e": {}},
)
print("the process outlived its SIGTERM")
"""


def test_sigterm_during_an_update_lets_it_finish_then_ends_the_process(tmp_path: Path) -> None:
    root = tmp_path / "baselines"
    done = subprocess.run([sys.executable, "-c", TERMINATED_WRITER, str(root)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGTERM, done.stdout + done.stderr
    assert done.stdout == ""
    assert files_in(root / "hw") == ["test_a.json", "test_b.json"]
    store = JsonBaselineStore(root)
    assert store.keys("hw", "test_a.py") == [EntryKey("hw", "test_a.py", "test_x", "parameters")]
    assert store.keys("hw", "test_b.py") == [EntryKey("hw", "test_b.py", "test_x", "parameters")]


def test_the_temporary_of_a_killed_writer_is_removed_by_the_next_update(tmp_path: Path) -> None:
    store = JsonBaselineStore(tmp_path)
    store.apply({key("test_a"): sampled(1.0)}, [], ENVIRONMENTS)
    path = store.path_for(HW, MODULE)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    stale = path.with_name(f".{path.name}.{int(gone.stdout)}.k1ll3d.modelperf.tmp")
    stale.write_text('{"half": ')
    JsonBaselineStore(tmp_path).apply({key("test_b"): sampled(2.0)}, [], ENVIRONMENTS)
    assert files_in(path.parent) == ["test_models.json"]
