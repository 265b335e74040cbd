"""The session's end and the run history: a run that lost a pytest-xdist worker is not saved and
says so, and the smoke checks of the workers are merged in the run's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.core.measurement import Measurement
from pytest_modelperf.core.verdict import Check, Outcome, Verdict
from pytest_modelperf.options import Settings, default_values
from pytest_modelperf.run.selection import Selection
from pytest_modelperf.run.session import JudgedMeasurement, ModelPerfSession
from pytest_modelperf.run.session_end import write_session_files
from pytest_modelperf.run.workers import WorkerState, merge
from pytest_modelperf.storage.baseline_store import JsonBaselineStore


def make_session(tmp_path: Path, **values: Any) -> ModelPerfSession:
    settings = Settings.from_values({**default_values(), **values}, tmp_path)
    return ModelPerfSession(settings=settings, store=JsonBaselineStore(settings.baseline_dir))


def judged(test: str) -> JudgedMeasurement:
    measurement = Measurement.exact("memory", 1.0, unit="MB", context={"device": "cpu"})
    verdict = Verdict(measurement, Check("value", None, None), Outcome.NO_BASELINE, 1.0)
    return JudgedMeasurement(f"t.py::{test}", EntryKey("cpu-float32", "t.py", test, "memory"), verdict, "env", True)


def test_a_run_that_lost_a_worker_is_not_saved_and_says_so(tmp_path):
    state = make_session(tmp_path, autosave=True)
    state.records = [judged("test_a")]
    state.lost_workers = ["worker gw1 crashed"]
    assert write_session_files(state) == [
        "worker gw1 crashed and its checks are lost, so this run did not write the run history (--modelperf-autosave): "
        "a partial run changes nothing; run again"
    ]
    assert not (tmp_path / ".modelperf").exists() and state.saved_runs == []


def test_a_whole_run_is_saved(tmp_path):
    state = make_session(tmp_path, autosave=True)
    state.records = [judged("test_a"), judged("test_b")]
    assert write_session_files(state) == []
    assert [run.label for run in state.saved_runs] == ["cpu-float32/0001_nocommit"]


def test_the_workers_smoke_checks_are_merged_in_the_run_s_order(tmp_path):
    controller = make_session(tmp_path, disable=True)
    controller.selection.select(["t.py::a", "t.py::b", "t.py::c"])
    for checks in (["t.py::c"], ["t.py::a", "t.py::b", "t.py::b"]):
        merge(controller, WorkerState([], {}, [], set(), Selection(), checks))
    assert controller.smoke_checks == ["t.py::a", "t.py::b", "t.py::b", "t.py::c"]
