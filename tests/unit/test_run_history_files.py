"""The run history: runs numbered per hardware key, never overwritten, split by hardware key, and
run ids (``latest``, ``0003``, ``0003_abc1234``, a path) resolved to their files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_modelperf.storage import run_history
from pytest_modelperf.storage.run_history import (
    RunHistoryError,
    is_run_id,
    resolve_run,
    save_one,
    save_run,
    saved_runs,
    short_commit,
    split_by_hardware,
    summarize,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def result(nodeid: str, hardware_key: str, environment: str = "env1") -> dict:
    return {"nodeid": nodeid, "hardware_key": hardware_key, "environment": environment, "outcome": "pass"}


def payload(*results: dict, commit: str = COMMIT) -> dict:
    return {
        "schema": 1,
        "started": "2025-01-02T03:04:05+00:00",
        "environments": {"env1": {"commit": commit}, "env2": {"commit": commit}},
        "results": list(results),
        "reruns": [],
    }


def make_runs(directory: Path, key: str, *names: str) -> None:
    (directory / key).mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / key / f"{name}.json").write_text(json.dumps(payload(result("t.py::a", key))))


def test_runs_are_numbered_per_hardware_key_and_named_by_the_short_commit(tmp_path):
    first = save_run(tmp_path, payload(result("t.py::a", "cpu-a")))
    second = save_run(tmp_path, payload(result("t.py::a", "cpu-a"), commit=""))
    other = save_run(tmp_path, payload(result("t.py::a", "gpu-b")))
    assert [run.id for run in first + second + other] == ["0001_0123456", "0002_nocommit", "0001_0123456"]
    assert sorted(path.name for path in (tmp_path / "cpu-a").glob("*.json")) == ["0001_0123456.json", "0002_nocommit.json"]
    assert json.loads(first[0].path.read_text())["results"] == [result("t.py::a", "cpu-a")]


def test_the_next_number_follows_the_highest_whatever_the_commit(tmp_path):
    make_runs(tmp_path, "cpu-a", "0001_abcdef0", "0005_nocommit")
    assert save_one(tmp_path, "cpu-a", payload(), "1234567").id == "0006_1234567"


def test_a_saved_run_is_never_overwritten(tmp_path, monkeypatch):
    make_runs(tmp_path, "cpu-a", "0001_nocommit")
    before = (tmp_path / "cpu-a" / "0001_nocommit.json").read_bytes()
    monkeypatch.setattr(run_history, "next_number", lambda folder: 1)  # as if another process saved 0001 meanwhile
    saved = save_one(tmp_path, "cpu-a", payload(result("t.py::new", "cpu-a")), "nocommit")
    assert saved.id == "0002_nocommit"
    assert (tmp_path / "cpu-a" / "0001_nocommit.json").read_bytes() == before
    assert not [path for path in (tmp_path / "cpu-a").iterdir() if path.name.endswith(".tmp")]


def test_a_run_on_two_hardware_keys_is_saved_once_under_each_with_its_own_checks(tmp_path):
    data = payload(result("t.py::a", "cpu-a", "env1"), result("t.py::b", "gpu-b", "env2"))
    data["reruns"] = [{"nodeid": "t.py::b", "reruns": 1, "reproduced": False, "first_failures": []}]
    parts = split_by_hardware(data)
    assert list(parts) == ["cpu-a", "gpu-b"]
    assert [r["nodeid"] for r in parts["gpu-b"]["results"]] == ["t.py::b"]
    assert list(parts["gpu-b"]["environments"]) == ["env2"] and parts["cpu-a"]["reruns"] == []
    assert [run.label for run in save_run(tmp_path, data)] == ["cpu-a/0001_0123456", "gpu-b/0001_0123456"]


def test_a_run_without_results_saves_nothing(tmp_path):
    assert save_run(tmp_path, payload()) == []
    assert not tmp_path.joinpath("cpu-a").exists()


@pytest.mark.parametrize(
    ("environments", "expected"),
    [({"e": {"commit": COMMIT}}, "0123456"), ({"e": {"commit": ""}}, "nocommit"), ({}, "nocommit"), ({"e": {}}, "nocommit")],
)
def test_the_short_commit_comes_from_the_recorded_environment(environments, expected):
    assert short_commit(environments) == expected


def test_a_hardware_key_that_cannot_name_a_folder_is_refused(tmp_path):
    with pytest.raises(RunHistoryError, match=r"hardware key '\.\./x' cannot name a folder"):
        save_one(tmp_path, "../x", payload(), "nocommit")


def test_a_value_json_cannot_hold_is_named_and_nothing_is_saved(tmp_path):
    data = payload(result("t.py::a", "cpu-a"))
    data["results"][0]["current"] = float("nan")
    with pytest.raises(RunHistoryError, match=r"field results\[0\]\.current: not a finite number"):
        save_run(tmp_path, data)
    assert not list((tmp_path).rglob("*.json"))


# -- run ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["latest", "3", "0003", "0003_abc1234", "0012_nocommit"])
def test_run_ids(text):
    assert is_run_id(text)


@pytest.mark.parametrize("text", ["run.json", "0003_abc1234.json", "reports/0003", "0003_XYZ", "Latest"])
def test_anything_else_is_a_path(text, tmp_path):
    assert not is_run_id(text)
    assert resolve_run(tmp_path, text) == Path(text)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    make_runs(tmp_path, "cpu-a", "0001_aaaaaaa", "0002_bbbbbbb", "0003_nocommit")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "name"),
    [("latest", "0003_nocommit"), ("1", "0001_aaaaaaa"), ("0002", "0002_bbbbbbb"), ("0002_bbbbbbb", "0002_bbbbbbb")],
)
def test_a_run_id_names_its_file(history, text, name):
    assert resolve_run(history, text) == history / "cpu-a" / f"{name}.json"


def test_an_id_with_another_commit_says_which_commit_the_run_was_made_at(history):
    with pytest.raises(RunHistoryError, match=r"run 0002_ccccccc: run 0002 in .* was made at commit bbbbbbb, not ccccccc"):
        resolve_run(history, "0002_ccccccc")


def test_an_unknown_number_lists_the_saved_runs(history):
    with pytest.raises(RunHistoryError, match=r"no saved run numbered 0009 .*; saved: cpu-a/0001_aaaaaaa, .*cpu-a/0003_nocommit"):
        resolve_run(history, "9")


def test_an_empty_history_says_how_runs_are_saved(tmp_path):
    with pytest.raises(RunHistoryError, match=r"run latest: no saved runs in .* \(save runs with pytest --modelperf-autosave\)"):
        resolve_run(tmp_path / "none", "latest")


def test_an_id_under_several_hardware_keys_asks_for_one(history):
    make_runs(history, "gpu-b", "0001_ddddddd", "0002_eeeeeee")
    for text in ("latest", "0001"):
        with pytest.raises(
            RunHistoryError, match=r"saved under several hardware keys \(cpu-a, gpu-b\); choose one with --hardware"
        ):
            resolve_run(history, text)
    assert resolve_run(history, "latest", "gpu-b") == history / "gpu-b" / "0002_eeeeeee.json"
    assert resolve_run(history, "0003") == history / "cpu-a" / "0003_nocommit.json"  # only cpu-a has a third


def test_listing_ignores_temporaries_and_lock_files(history):
    (history / "cpu-a" / ".lock").write_text("")
    (history / "cpu-a" / ".0004_nocommit.json.123.x.modelperf.tmp").write_text("")
    (history / "cpu-a" / "notes.json").write_text("{}")
    assert [run.id for run in saved_runs(history)] == ["0001_aaaaaaa", "0002_bbbbbbb", "0003_nocommit"]


def test_a_summary_reads_the_start_and_the_check_count_and_names_a_broken_file(history):
    runs = saved_runs(history)
    assert summarize(runs[0]).started == "2025-01-02T03:04:05+00:00" and summarize(runs[0]).checks == 1
    runs[1].path.write_text("{")
    assert summarize(runs[1]).problem.startswith("cannot be read: ")
