"""pytest-xdist: what a worker hands over, how the controller merges it, and what a lost worker stops."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.core.measurement import Measurement
from pytest_modelperf.core.verdict import Check, Outcome, Verdict
from pytest_modelperf.options import Settings, UpdateMode, default_values
from pytest_modelperf.run.confirmation import Confirmation
from pytest_modelperf.run.selection import Selection, TestKey
from pytest_modelperf.run.session import JudgedMeasurement, ModelPerfSession
from pytest_modelperf.run.session_end import write_session_files
from pytest_modelperf.run.workers import hand_over, lost_worker_line, merge, take_over
from pytest_modelperf.storage.baseline_store import JsonBaselineStore

MODULE = "test_perf.py"
TESTS = ("test_a", "test_b", "TestBert::test_c[1]", "TestBert::test_c[2]")


def collected(selection: Selection, *, broken: bool = False, unexpanded: tuple[str, ...] = ()) -> Selection:
    """What one process collects of the module (every xdist worker collects the whole run)."""
    pairs = [(f"{MODULE}::{test}", TestKey(MODULE, test)) for test in TESTS]
    selection.found_in_module(MODULE, MODULE, succeeded=not broken, tests=pairs, collectors=unexpanded)
    return selection


def selected(selection: Selection, *tests: str) -> Selection:
    selection.select(f"{MODULE}::{test}" for test in tests)
    return selection


def merged(*workers: Selection) -> Selection:
    controller = Selection()
    for worker in workers:
        controller.merge(worker)
    return controller


def test_merged_selections_are_what_one_process_collected_and_selected():
    single = selected(collected(Selection()), *TESTS)
    assert merged(selected(collected(Selection()), *TESTS), selected(collected(Selection()), *TESTS)) == single
    assert single.why_not_covered(MODULE) is None


def test_a_partial_selection_stays_partial_when_merged():
    workers = [selected(collected(Selection()), "test_a") for _ in range(2)]
    assert merged(*workers).why_not_covered(MODULE) == "this run selected 1 of its 4 tests"


def test_a_module_any_worker_could_not_collect_in_full_is_not_covered():
    whole = selected(collected(Selection()), *TESTS)
    assert merged(whole, collected(Selection(), broken=True)).why_not_covered(MODULE) == "part of it failed to collect"
    unexpanded = selected(collected(Selection(), unexpanded=(f"{MODULE}::TestOther",)), *TESTS)
    assert merged(whole, unexpanded).why_not_covered(MODULE) == f"this run did not collect {MODULE}::TestOther"


def test_the_run_order_is_the_collection_order():
    selection = merged(selected(collected(Selection()), *TESTS))
    nodeids = [f"{MODULE}::{test}" for test in TESTS]
    assert sorted(["elsewhere::x", *reversed(nodeids)], key=selection.position) == [*nodeids, "elsewhere::x"]


def make_session(tmp_path: Path, **values: Any) -> ModelPerfSession:
    settings = Settings.from_values({**default_values(), **values}, tmp_path)
    return ModelPerfSession(settings=settings, store=JsonBaselineStore(settings.baseline_dir))


def judged(test: str, value: float, environment: str = "env-cpu") -> JudgedMeasurement:
    measurement = Measurement.exact("memory", value, unit="MB", context={"device": "cpu"})
    verdict = Verdict(measurement, Check("value", None, None), Outcome.NO_BASELINE, value)
    return JudgedMeasurement(f"{MODULE}::{test}", EntryKey("cpu-float32", MODULE, test, "memory"), verdict, environment, True)


def worker(tmp_path: Path, records: list[JudgedMeasurement], environments: dict[str, dict[str, Any]]) -> ModelPerfSession:
    state = make_session(tmp_path)
    state.selection = selected(collected(Selection()), *TESTS)
    state.records = records
    state.environments = environments
    state.completed = {TestKey(MODULE, record.key.test) for record in records}
    state.confirmations = [Confirmation(record.nodeid, (), 1, reproduced=False) for record in records]
    return state


def test_checks_are_merged_in_collection_order_whichever_worker_finishes_first(tmp_path):
    first = worker(tmp_path, [judged("TestBert::test_c[2]", 4), judged("test_b", 2)], {"env-gpu": {"gpu": "x"}})
    second = worker(tmp_path, [judged("TestBert::test_c[1]", 3, "env-gpu"), judged("test_a", 1)], {"env-cpu": {"cpu": "y"}})
    controller = make_session(tmp_path)
    for state in (first, second):
        merge(controller, hand_over_and_back(state))
    assert [record.verdict.current for record in controller.records] == [1, 2, 3, 4]
    assert [c.nodeid for c in controller.confirmations] == [f"{MODULE}::{test}" for test in TESTS]
    assert list(controller.environments) == ["env-cpu", "env-gpu"]  # in the order the checks first used them
    assert controller.completed == {TestKey(MODULE, test) for test in TESTS}
    assert controller.selection.why_not_covered(MODULE) is None


def hand_over_and_back(state: ModelPerfSession) -> Any:
    import pickle

    config = SimpleNamespace(workeroutput={})
    hand_over(config, state)  # type: ignore[arg-type]
    return pickle.loads(config.workeroutput["modelperf"])


def node(name: str, output: dict[str, object] | None = None, *, dist: str = "load") -> Any:
    """What the controller reads of xdist's WorkerController; ``workeroutput`` only when the worker left one."""
    options = {"dist": dist}
    config = SimpleNamespace(getoption=lambda option, default=None: options.get(option, default))
    fields: dict[str, object] = {"gateway": SimpleNamespace(id=name), "config": config}
    fields["workerinput"] = {"workerid": name, "testrunuid": "run-1"}
    return SimpleNamespace(**fields) if output is None else SimpleNamespace(**fields, workeroutput=output)


def test_a_verdict_crosses_to_the_controller_whole(tmp_path):
    state = worker(tmp_path, [judged("test_a", 1.5)], {"env-cpu": {"cpu": "y"}})
    config = SimpleNamespace(workeroutput={})
    hand_over(config, state)  # type: ignore[arg-type]
    assert isinstance(config.workeroutput["modelperf"], bytes)  # execnet carries bytes, not objects
    controller = make_session(tmp_path)
    take_over(controller, node("gw0", config.workeroutput), None)
    assert controller.records == state.records
    assert controller.environments == state.environments
    assert controller.lost_workers == []


def test_a_worker_reported_down_twice_is_merged_once(tmp_path):
    state = worker(tmp_path, [judged("test_a", 1.5)], {})
    config = SimpleNamespace(workeroutput={})
    hand_over(config, state)  # type: ignore[arg-type]
    controller = make_session(tmp_path)
    take_over(controller, node("gw0", config.workeroutput), None)
    take_over(controller, node("gw0", config.workeroutput), "keyboard-interrupt")  # xdist: finished, then interrupted
    assert len(controller.records) == 1 and controller.lost_workers == []


def test_a_crashed_worker_is_lost(tmp_path):
    controller = make_session(tmp_path)
    take_over(controller, node("gw1"), "Not properly terminated")
    assert controller.lost_workers == ["worker gw1 crashed (Not properly terminated)"]


def test_a_state_that_cannot_be_pickled_makes_the_worker_lost(tmp_path):
    state = worker(tmp_path, [], {})
    measurement = Measurement.exact("memory", 1.0, unit="MB", context={"device": "cpu", "callback": lambda: None})
    state.records = [
        JudgedMeasurement(
            "t::x",
            EntryKey("k", "t", "x", "memory"),
            Verdict(measurement, Check("value", None, None), Outcome.PASS, 1.0),
            "e",
            True,
        )
    ]
    config = SimpleNamespace(workeroutput={})
    hand_over(config, state)  # type: ignore[arg-type]
    controller = make_session(tmp_path)
    take_over(controller, node("gw0", config.workeroutput), None)
    (lost,) = controller.lost_workers
    assert lost.startswith("worker gw0 could not hand over its checks (") and controller.records == []


def test_a_lost_worker_line_names_what_was_not_written():
    lost = "worker gw1 crashed (Not properly terminated)"
    assert lost_worker_line(lost, []) == f"{lost} and its checks are lost"
    assert lost_worker_line(lost, ["the baselines"]) == (
        f"{lost} and its checks are lost, so this run did not write the baselines: a partial run changes nothing; run again"
    )
    assert lost_worker_line(lost, ["the baselines", "--modelperf-json", "--modelperf-csv"]) == (
        f"{lost} and its checks are lost, so this run did not write the baselines, --modelperf-json and "
        "--modelperf-csv: a partial run changes nothing; run again"
    )


def test_a_run_that_lost_a_worker_writes_no_baselines_and_no_export(tmp_path):
    state = make_session(
        tmp_path, update=True, prune=True, json=tmp_path / "run.json", csv=tmp_path / "run.csv", markdown=tmp_path / "summary.md"
    )
    assert state.settings.update is UpdateMode.ALL
    state.records = [judged("test_a", 1.0)]
    state.environments = {"env-cpu": {"cpu": "y"}}
    state.lost_workers = ["worker gw1 crashed (Not properly terminated)"]
    line = (
        "worker gw1 crashed (Not properly terminated) and its checks are lost, so this run did not write the baselines, "
        "--modelperf-json and --modelperf-csv: a partial run changes nothing; run again"
    )
    assert write_session_files(state) == [line]
    assert state.write_errors == [line]
    assert not (tmp_path / "baselines").exists()
    assert not (tmp_path / "run.json").exists() and not (tmp_path / "run.csv").exists()
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### modelperf: 1 check,") and summary.endswith(f"\n**error:** {line}\n")


def test_under_dist_each_every_check_names_its_worker_in_worker_order(tmp_path):
    controller = make_session(tmp_path)
    for name in ("gw10", "gw2"):
        config = SimpleNamespace(workeroutput={})
        hand_over(config, worker(tmp_path, [judged("test_a", 1.5)], {"env-cpu": {"cpu": "y"}}))  # type: ignore[arg-type]
        take_over(controller, node(name, config.workeroutput, dist="each"), None)
    assert [(record.nodeid, record.worker) for record in controller.records] == [
        ("test_perf.py::test_a", "gw2"),
        ("test_perf.py::test_a", "gw10"),
    ]
    assert [confirmation.test for confirmation in controller.confirmations] == [
        "test_perf.py::test_a [gw2]",
        "test_perf.py::test_a [gw10]",
    ]
    assert controller.worker_runs == {"run-1"}


def test_under_dist_load_checks_name_no_worker(tmp_path):
    controller = make_session(tmp_path)
    config = SimpleNamespace(workeroutput={})
    hand_over(config, worker(tmp_path, [judged("test_a", 1.5)], {"env-cpu": {"cpu": "y"}}))  # type: ignore[arg-type]
    take_over(controller, node("gw0", config.workeroutput), None)
    assert [record.worker for record in controller.records] == [""]
