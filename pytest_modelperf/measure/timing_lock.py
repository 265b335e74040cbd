"""One timed region at a time on the CPU across the workers of a pytest-xdist run.

Two xdist workers that time on the same CPU at once slow each other down, and their timings
move with whatever the neighbour happens to run. Each timed region (warm-up and every round,
see ``measure.latency``) therefore holds a file lock named after the run
(``PYTEST_XDIST_TESTRUNUID``, which xdist gives every worker of one run), so that the workers'
timed regions take turns while loading, preparing and accuracy work still run side by side.
The lock is taken before any timer starts: the wait for it is never part of a measurement.
Host memory readings take no lock: the peak resident set of this process does not move with
what a neighbour runs.

Nothing is locked outside an xdist worker, or on a CUDA device (each worker has its own GPU).
The lock is re-entrant within a process (a timed region may call another), shared by the
process's threads, and released when the region ends, by an error too; the operating system
releases it if a worker dies holding it.

``MODELPERF_TIMING_LOCK=0`` turns the lock off. It is a diagnostic switch for
``benchmarks/xdist_steadiness.py``, which compares timings under xdist with and without the
lock; a run whose timings matter leaves it unset.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

WORKER_VARIABLE = "PYTEST_XDIST_WORKER"
RUN_VARIABLE = "PYTEST_XDIST_TESTRUNUID"
SWITCH_VARIABLE = "MODELPERF_TIMING_LOCK"
SWITCHED_OFF = frozenset({"0", "off", "false", "no"})
POLL_SECONDS = 0.005  # how often a waiting worker retries: a short wait between regions, no load worth the name

_guard = threading.RLock()  # serialises the process's own threads and makes the lock re-entrant
_depth = 0
_held: FileLock | None = None


def lock_path() -> Path | None:
    """The run's lock file when this process is an xdist worker and the lock is on; else None."""
    if not os.environ.get(WORKER_VARIABLE):
        return None
    if os.environ.get(SWITCH_VARIABLE, "").strip().lower() in SWITCHED_OFF:
        return None
    # xdist sets the run's id on every worker; the controller's process id stands in without it.
    return run_lock_path(os.environ.get(RUN_VARIABLE) or f"controller-{os.getppid()}")


def run_lock_path(run: str) -> Path:
    """The lock file of the xdist run with id ``run`` (its ``testrunuid``)."""
    return Path(tempfile.gettempdir()) / f"modelperf-timing-{re.sub(r'[^A-Za-z0-9_.-]', '_', run)}.lock"


def remove_run_lock(run: str) -> None:
    """Delete the run's lock file once every worker of the run is down (the controller's session end).

    Never earlier: a worker that opened the file and one that opens a new one at the same path
    would hold two different locks at once.
    """
    run_lock_path(run).unlink(missing_ok=True)


def locks_device(device: str) -> bool:
    """Whether timed regions on ``device`` take the run's lock in this process."""
    return _is_cpu(device) and lock_path() is not None


def holding_timing_lock() -> bool:
    """Whether this process is inside a timed region that holds the run's lock."""
    return _held is not None


@contextmanager
def exclusive_timing(device: str) -> Iterator[None]:
    """Hold the run's timing lock on the CPU under xdist for the block; elsewhere do nothing."""
    global _depth, _held
    path = lock_path() if _is_cpu(device) else None
    if path is None:
        yield
        return
    with _guard:
        if _depth == 0:
            lock = FileLock(str(path))
            lock.acquire(poll_interval=POLL_SECONDS)
            _held = lock
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if _depth == 0 and _held is not None:
                lock, _held = _held, None
                lock.release()


def _is_cpu(device: str) -> bool:
    return device.split(":", 1)[0] == "cpu"
