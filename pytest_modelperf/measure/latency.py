"""Latency: warm-up, then timed rounds bounded by count and time.

On CPU each round is timed with ``time.perf_counter``. On CUDA each round records a pair of
CUDA events on the current stream and the host synchronises once at the end before reading
them: a host timer around asynchronous work would measure the kernel launches, not the work.

On the CPU under pytest-xdist a timed region, warm-up and rounds together, holds the run's
timing lock (``measure.timing_lock``), taken before the warm-up so that the wait for it is
never timed: the workers' timed regions take turns instead of slowing each other down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from ..core.measurement import Direction, Measurement
from ..core.timing import TimingOptions
from .timing_lock import exclusive_timing


class LatencyTracker:
    """Times rounds on one device; ``with tracker: work()`` times one round.

    ``seconds()`` synchronises (on CUDA) and returns the per-round durations in seconds.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self._cuda = device.startswith("cuda")
        self._host: list[float] = []
        self._events: list[tuple[Any, Any]] = []
        self._started: float | Any = 0.0

    def __enter__(self) -> LatencyTracker:
        if self._cuda:
            import torch

            start = torch.cuda.Event(enable_timing=True)
            start.record()
            self._started = start
        else:
            self._started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._cuda:
            import torch

            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self._events.append((self._started, end))
        else:
            self._host.append(time.perf_counter() - self._started)

    def seconds(self) -> list[float]:
        if not self._cuda:
            return list(self._host)
        import torch

        torch.cuda.synchronize(self.device)
        return [start.elapsed_time(end) / 1000.0 for start, end in self._events]


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def time_rounds(work: Callable[[], Any], device: str, timing: TimingOptions) -> list[float]:
    """Warm up, then time rounds of ``work``; returns per-round seconds.

    Warm-up runs at least ``warmup_rounds`` rounds and until ``warmup_time`` has passed.
    Timing stops after ``max_rounds`` rounds, or once ``max_time`` has passed and at least
    ``min_rounds`` rounds were timed.
    """
    return time_interleaved([work], device, timing)[0]


def time_interleaved(works: Sequence[Callable[[], Any]], device: str, timing: TimingOptions) -> list[list[float]]:
    """Time several workloads side by side: each round times every workload once.

    The order alternates between rounds (A B, B A, ...), so that drift of the machine during
    the run (clock, neighbours, thermal state) falls on all of them alike and the ratio of
    their times stays stable even when the absolute times move. The round limits of
    ``timing`` count rounds of the whole set; warm-up is per workload. The whole of it is one
    timed region for the timing lock.
    """
    if not works:
        raise ValueError("time_interleaved needs at least one workload")
    with exclusive_timing(device):
        return _time_interleaved(works, device, timing)


def _time_interleaved(works: Sequence[Callable[[], Any]], device: str, timing: TimingOptions) -> list[list[float]]:
    for work in works:
        _warm_up(work, device, timing)
    trackers = [LatencyTracker(device) for _ in works]
    order = list(range(len(works)))
    started = time.perf_counter()
    rounds = 0
    while rounds < timing.max_rounds:
        for index in order:
            with trackers[index]:
                works[index]()
        rounds += 1
        order.reverse()
        if rounds >= timing.min_rounds and time.perf_counter() - started >= timing.max_time:
            break
    return [tracker.seconds() for tracker in trackers]


def latency_from_seconds(
    name: str, seconds: Sequence[float], *, statistic: str = "median", context: Mapping[str, Any], notes: Sequence[str] = ()
) -> Measurement:
    """Per-round seconds as a latency measurement in milliseconds."""
    return Measurement.from_samples(
        name,
        [s * 1e3 for s in seconds],
        unit="ms",
        direction=Direction.LOWER_IS_BETTER,
        statistic=statistic,
        context=context,
        notes=notes,
    )


def _warm_up(work: Callable[[], Any], device: str, timing: TimingOptions) -> None:
    started = time.perf_counter()
    warmed = 0
    while warmed < timing.warmup_rounds or (time.perf_counter() - started < timing.warmup_time and warmed < timing.max_rounds):
        work()
        warmed += 1
    synchronize(device)
