"""Runs distributed by pytest-xdist: each worker hands its session state to the controller, which
merges it and writes the baselines and reports once, as a single process would.

A worker puts its state into ``config.workeroutput`` at its session end (``hand_over``); the
controller merges each finished worker's state in ``pytest_testnodedown`` (``take_over``). A
worker that left none (it crashed) is lost: the controller then writes no baselines and no
export that would read as the whole run.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from ..options import Settings
from .confirmation import Confirmation
from .selection import Selection, TestKey

if TYPE_CHECKING:
    from .session import JudgedMeasurement, ModelPerfSession

OUTPUT_KEY = "modelperf"


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker: it sees only the tests sent to it."""
    return hasattr(config, "workerinput")


def worker_count(config: pytest.Config) -> int:
    """How many pytest-xdist workers run this session's tests: 1 outside a worker. Read from the
    worker's own input, not the environment, which a test's subprocess inherits."""
    workerinput = getattr(config, "workerinput", None)
    return int(workerinput.get("workercount", 1)) if isinstance(workerinput, dict) else 1


def runs_in_workers(config: pytest.Config) -> bool:
    """Whether pytest-xdist distributes this run (checked in the controller, before workers start,
    as xdist decides it: its pytest_cmdline_main has turned -n into --dist and --tx by now)."""
    if is_worker(config):
        return True
    return config.getoption("dist", "no") != "no" and not config.getoption("collectonly", False)


def every_worker_runs_every_test(config: pytest.Config) -> bool:
    """Whether pytest-xdist runs each test in every worker (``--dist each``), not once in one."""
    return config.getoption("dist", "no") == "each"


def refuse_whole_run_writers(config: pytest.Config, settings: Settings) -> None:
    """A usage error, in the controller before any worker starts, when a distributed run is asked to
    write a file from every test's checks and cannot: under ``--dist each`` every worker runs every
    test, so each check would be made once per worker, with the same baseline key."""
    writers = settings.whole_run_writers()
    if writers and not is_worker(config) and runs_in_workers(config) and every_worker_runs_every_test(config):
        raise pytest.UsageError(
            f"modelperf: {', '.join(writers)} cannot be used with --dist each (pytest-xdist): every worker runs "
            "every test, so each check would be made once per worker; run with -n N and the default --dist load, "
            "or without -n"
        )


@dataclass
class WorkerState:
    """What one worker judged and saw: all that the session end needs of it."""

    records: list[JudgedMeasurement]
    environments: dict[str, dict[str, Any]]
    confirmations: list[Confirmation]
    completed: set[TestKey]
    selection: Selection
    smoke_checks: list[str]

    @classmethod
    def of(cls, session: ModelPerfSession) -> WorkerState:
        return cls(
            session.records,
            session.environments,
            session.confirmations,
            session.completed,
            session.selection,
            session.smoke_checks,
        )


class WorkerNode(Protocol):
    """The parts of xdist's ``WorkerController`` that the controller reads."""

    @property
    def config(self) -> pytest.Config: ...  # the controller's

    @property
    def gateway(self) -> Any: ...  # execnet's gateway; its ``id`` names the worker, e.g. ``gw0``

    @property
    def workerinput(self) -> Mapping[str, Any]: ...  # what the worker was started with: its ``testrunuid``


def hand_over(config: pytest.Config, session: ModelPerfSession) -> None:
    """Put the worker's state into ``config.workeroutput`` for the controller; the worker writes no file.

    execnet carries only plain types, so the state travels pickled. Pickle is safe here: the bytes
    are made by this run's own worker processes, started by the same user for this run, and go
    straight to the controller that started them; nothing stored or received from elsewhere is
    unpickled. A state that cannot be pickled (say, an object in a measurement's context) travels
    as the reason, and the controller counts the worker as lost.
    """
    output: dict[str, object] = config.workeroutput  # type: ignore[attr-defined]
    try:
        output[OUTPUT_KEY] = pickle.dumps(WorkerState.of(session), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        output[OUTPUT_KEY] = f"could not hand over its checks ({error})"


def take_over(session: ModelPerfSession, node: WorkerNode, error: object) -> None:
    """Merge a finished worker's state into the controller's session; a worker that left none is lost.

    xdist may report a node down twice (finished, then interrupted): its state counts once.
    """
    name = str(getattr(node.gateway, "id", node))
    run = node.workerinput.get("testrunuid")
    if isinstance(run, str):
        session.worker_runs.add(run)
    if name in session.merged_workers:
        return
    output: Mapping[str, object] = getattr(node, "workeroutput", None) or {}
    payload = output.get(OUTPUT_KEY)
    if not isinstance(payload, bytes):
        cause = payload if isinstance(payload, str) else (f"crashed ({error})" if error else "left no results")
        session.lost_workers.append(f"worker {name} {cause}")
        return
    state = pickle.loads(payload)  # see hand_over: made by this run's own worker
    if every_worker_runs_every_test(node.config):  # say whose check is whose
        state.records = [replace(record, worker=name) for record in state.records]
        state.confirmations = [replace(confirmation, worker=name) for confirmation in state.confirmations]
    merge(session, state)
    session.merged_workers.add(name)


def merge(session: ModelPerfSession, state: WorkerState) -> None:
    """Add a worker's state to the session, keeping checks in the order the tests were collected,
    so that files written from the merged state match a single process's run."""
    session.selection.merge(state.selection)
    session.completed |= state.completed
    order = session.selection.position

    def in_run_order(item: JudgedMeasurement | Confirmation) -> tuple[tuple[int, str], int, str]:
        return (order(item.nodeid), len(item.worker), item.worker)  # gw2 before gw10

    session.records = sorted([*session.records, *state.records], key=in_run_order)
    session.confirmations = sorted([*session.confirmations, *state.confirmations], key=in_run_order)
    session.environments = in_order_of_use(session.records, {**session.environments, **state.environments})
    session.smoke_checks = sorted([*session.smoke_checks, *state.smoke_checks], key=order)


def in_order_of_use(
    records: Iterable[JudgedMeasurement], environments: Mapping[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The environments in the order the checks first used them, as one process records them."""
    used = list(dict.fromkeys(record.environment for record in records))
    return {identifier: environments[identifier] for identifier in [*used, *environments] if identifier in environments}


def lost_worker_line(lost: str, withheld: Sequence[str]) -> str:
    """One line for a worker whose checks are lost, and the files the run therefore did not write."""
    line = f"{lost} and its checks are lost"
    if withheld:
        listed = " and ".join(filter(None, (", ".join(withheld[:-1]), withheld[-1])))
        line += f", so this run did not write {listed}: a partial run changes nothing; run again"
    return line
