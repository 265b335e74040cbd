"""The timing lock: timed regions of xdist workers on the CPU take turns; nothing else is locked."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock, Timeout

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure import timing_lock
from pytest_modelperf.measure.calibration import time_with_reference
from pytest_modelperf.measure.latency import time_rounds
from pytest_modelperf.measure.timing_lock import exclusive_timing, holding_timing_lock, lock_path, locks_device

COUNTED = TimingOptions(warmup_rounds=2, warmup_time=0.0, min_rounds=3, max_rounds=3, max_time=0.0)
CHILD_SECONDS = 30  # generous: a child that has not finished by then has hung
HOLD_SECONDS = 0.2  # how long each child holds the lock: long enough for the other to be waiting


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """This process as an xdist worker of a run of its own, with the lock on."""
    env = {timing_lock.WORKER_VARIABLE: "gw0", timing_lock.RUN_VARIABLE: uuid.uuid4().hex}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(timing_lock.SWITCH_VARIABLE, raising=False)
    path = lock_path()
    assert path is not None
    yield env
    path.unlink(missing_ok=True)


def is_locked_elsewhere(path: Path) -> bool:
    """Whether another holder has the file lock (a second lock object never shares a hold)."""
    probe = FileLock(str(path))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


def finishes(work: Callable[[], Any], seconds: float = 10.0) -> bool:
    """Run ``work`` in a thread; whether it returned in time (a deadlock would not)."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_nothing_is_locked_outside_xdist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timing_lock.WORKER_VARIABLE, raising=False)
    assert lock_path() is None
    assert not locks_device("cpu")
    with exclusive_timing("cpu"):
        assert not holding_timing_lock()


def test_a_cuda_device_is_not_locked(worker_env: dict[str, str]) -> None:
    path = lock_path()
    assert path is not None
    assert not locks_device("cuda:0")
    assert locks_device("cpu")
    with exclusive_timing("cuda:0"):
        assert not holding_timing_lock()
        assert not is_locked_elsewhere(path)


def test_the_switch_turns_the_lock_off(worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(timing_lock.SWITCH_VARIABLE, "0")
    assert not locks_device("cpu")
    with exclusive_timing("cpu"):
        assert not holding_timing_lock()


def test_each_run_has_its_own_lock_file(worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    first = lock_path()
    monkeypatch.setenv(timing_lock.RUN_VARIABLE, "another/run")
    second = lock_path()
    assert first is not None and second is not None
    assert first != second
    assert worker_env[timing_lock.RUN_VARIABLE] in first.name
    assert second.name == "modelperf-timing-another_run.lock"


def test_the_lock_is_reentrant_and_released_by_the_outermost_region(worker_env: dict[str, str]) -> None:
    path = lock_path()
    assert path is not None
    seen: list[bool] = []

    def nested() -> None:
        with exclusive_timing("cpu"):
            with exclusive_timing("cpu:0"):
                seen.append(is_locked_elsewhere(path))
            seen.append(is_locked_elsewhere(path))

    assert finishes(nested)
    assert seen == [True, True]
    assert not holding_timing_lock()
    assert not is_locked_elsewhere(path)


def test_an_error_in_the_region_releases_the_lock(worker_env: dict[str, str]) -> None:
    path = lock_path()
    assert path is not None
    with pytest.raises(RuntimeError, match="boom"), exclusive_timing("cpu"):
        assert is_locked_elsewhere(path)
        raise RuntimeError("boom")
    assert not holding_timing_lock()
    assert not is_locked_elsewhere(path)
    with exclusive_timing("cpu"):  # and it can be taken again
        assert holding_timing_lock()


def test_warm_up_and_every_round_run_inside_one_hold(worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    acquisitions: list[str] = []

    class CountingLock(FileLock):
        def acquire(self, *args: Any, **kwargs: Any) -> Any:
            acquisitions.append(str(self.lock_file))
            return super().acquire(*args, **kwargs)

    monkeypatch.setattr(timing_lock, "FileLock", CountingLock)
    held: list[bool] = []
    seconds = time_rounds(lambda: held.append(holding_timing_lock()), "cpu", COUNTED)
    assert len(seconds) == 3
    assert held == [True] * 5  # two warm-up rounds, three timed
    seconds, reference = time_with_reference(lambda: held.append(holding_timing_lock()), "cpu", COUNTED)
    assert len(seconds) == len(reference) == 3
    assert held == [True] * 10
    assert len(acquisitions) == 2  # one per region, not per round
    assert not holding_timing_lock()


# -- two worker processes --------------------------------------------------------------------


def _worker(env: dict[str, str], barrier: Any, results: Any) -> None:
    """Both workers do untimed work at once (the barrier inside it proves the overlap), then
    each runs a timed region; reports (start, end) of both."""
    os.environ.update(env)
    barrier.wait(CHILD_SECONDS)
    outside_start = time.monotonic()
    barrier.wait(CHILD_SECONDS)  # passes only while both workers are inside their untimed work
    outside_end = time.monotonic()
    with exclusive_timing("cpu"):
        inside_start = time.monotonic()
        time.sleep(HOLD_SECONDS)
        inside_end = time.monotonic()
    results.put(((outside_start, outside_end), (inside_start, inside_end)))


def _holder(env: dict[str, str], held: Any, results: Any) -> None:
    """Holds the run's lock for a while; reports when it let go."""
    os.environ.update(env)
    with exclusive_timing("cpu"):
        held.set()
        time.sleep(HOLD_SECONDS)
        results.put(time.monotonic())


def _run_children(processes: list[Any]) -> None:
    for process in processes:
        process.start()
    for process in processes:
        process.join(CHILD_SECONDS)
    assert [process.exitcode for process in processes] == [0] * len(processes)


def test_timed_regions_of_two_workers_never_overlap_while_their_other_work_does(worker_env: dict[str, str]) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(worker_env, barrier, results)) for _ in range(2)]
    _run_children(workers)
    (outside_a, inside_a), (outside_b, inside_b) = results.get(timeout=1), results.get(timeout=1)
    assert max(outside_a[0], outside_b[0]) < min(outside_a[1], outside_b[1])  # untimed work overlapped
    first, second = sorted([inside_a, inside_b])
    assert first[1] <= second[0]  # timed regions took turns


def test_the_wait_for_the_lock_comes_before_the_warm_up(worker_env: dict[str, str]) -> None:
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    results = context.Queue()
    holder = context.Process(target=_holder, args=(worker_env, held, results))
    holder.start()
    try:
        assert held.wait(CHILD_SECONDS)
        calls: list[float] = []
        time_rounds(lambda: calls.append(time.monotonic()), "cpu", COUNTED)
    finally:
        holder.join(CHILD_SECONDS)
    assert holder.exitcode == 0
    released = results.get(timeout=1)
    assert len(calls) == 5
    assert min(calls) > released  # no warm-up or timed round ran while the other process held the lock
