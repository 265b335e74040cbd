"""A fixed reference workload timed beside CPU measurements: the machine's speed right now.

A shared CPU runner is not one machine: the same virtual machine type runs 1.6x slower on one
day than on another, and for minutes at a time within a run, and every timing moves with it.
Timing a fixed workload in rounds interleaved with the measured ones (A B, B A, ...) says how
fast the machine was during exactly that measurement. A comparison with a baseline that was
recorded with the same reference can then judge the time in units of the reference, which a
slow machine does not move, while a slower model still does.

The reference is matrix products with torch on the measuring threads, the work a transformer
forward pass is made of, and it is measured exactly like the model: one run per round, in the
rounds' alternating order, summarised by the median. (It used to take the fastest of three
back-to-back runs: that tracked the uncontended speed while the model's median tracked the
contended one, so a contended model read as a regression and a quiet one as 21% too fast.)
Because a torch upgrade could change it, its identity names the torch version and thread
count; a baseline recorded with another reference is compared unadjusted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from ..core.measurement import Measurement
from ..core.timing import TimingOptions
from .latency import time_interleaved, time_rounds

SIZE = 384  # BERT-mini's hidden size times 1.5: small enough to stay in cache, big enough to thread
PRODUCTS = 4


def reference_identity() -> str:
    """What was timed, how, and on how many threads: baselines compare only with the same."""
    import torch

    return f"gemm{SIZE}x{PRODUCTS}-single/torch-{torch.__version__}/threads-{torch.get_num_threads()}"


class ReferenceClock:
    """Called once per round between the measured rounds; records the round's reference time.

    One run per round, like the model's rounds: an interruption that slows a round of the model
    slows the reference round beside it alike, and the median over rounds treats both the same.
    """

    def __init__(self, work: Callable[[], Any]) -> None:
        self._work = work
        self.seconds: list[float] = []

    def __call__(self) -> None:
        started = time.perf_counter()
        self._work()
        self.seconds.append(time.perf_counter() - started)


def reference_work() -> Callable[[], Any]:
    """A workload of a few milliseconds whose cost depends only on the machine and torch."""
    import torch

    generator = torch.Generator().manual_seed(0)
    left = torch.randn(SIZE, SIZE, generator=generator)
    right = torch.randn(SIZE, SIZE, generator=generator)

    def work() -> Any:
        with torch.inference_mode():
            product = left
            for _ in range(PRODUCTS):
                product = torch.mm(product, right) * (1.0 / SIZE)
            return product

    return work


@cache
def cached_reference_work() -> Callable[[], Any]:
    return reference_work()


def time_with_reference(
    work: Callable[[], Any], device: str, timing: TimingOptions, *, calibrate: bool = True
) -> tuple[list[float], list[float]]:
    """Per-round seconds of ``work`` and, on the CPU when calibrating, of the reference workload
    timed between its rounds (empty otherwise: CUDA event timings are not adjusted).

    Both are timed in one ``time_interleaved`` call: one hold of the timing lock under xdist
    for the warm-up and rounds of the workload and the reference together."""
    if device != "cpu" or not calibrate:
        return time_rounds(work, device, timing), []
    clock = ReferenceClock(cached_reference_work())
    seconds, _ = time_interleaved([work, clock], device, timing)
    return seconds, clock.seconds[-len(seconds) :]  # the calls before these were its warm-up


def with_reference(measurement: Measurement, reference_seconds: Sequence[float], *, identity: str | None = None) -> Measurement:
    """The measurement with the reference's per-round ms and identity, for judging at the speed
    the machine had: this process's reference unless ``identity`` names the one timed then."""
    if not reference_seconds:
        return measurement
    return replace(
        measurement,
        reference=tuple(s * 1e3 for s in reference_seconds),
        context={**measurement.context, "speed_reference": identity or reference_identity()},
    )
