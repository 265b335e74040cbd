"""CUDA-event latency agrees with a synchronised host timer on the same GPU-bound workload.

``measure.latency.time_rounds`` times each round between two CUDA events recorded on the
stream and synchronises once, at the end. The reference here is the plain way: synchronise,
read ``time.perf_counter``, run the round, synchronise, read it again. Blocks of each are
interleaved, so that a change of the GPU's clocks during the test falls on both.

Tolerance: the medians agree within 5% of the host's. What separates the two is small and
one-sided: the host timer also counts launching the round's first kernel onto an idle GPU and
the synchronise's wake-up, tens of microseconds against a round of several milliseconds (under
1%), and medians of interleaved blocks on an idle GPU differ by a percent or two. 5% leaves room
for those while still failing a timer that measures the launches instead of the work: for this
workload the launches take under half of the GPU's time, which the test checks first, so such a
timer would be off by more than 50%.
"""

from __future__ import annotations

import statistics
import time
from functools import partial

import torch

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.latency import time_rounds
from pytest_modelperf.measure.workloads import Workload, forward, synthetic_inputs

WORKLOAD = Workload(64, 256)
BLOCKS = 5
ROUNDS = 20
TOLERANCE = 0.05
LAUNCH_BOUND = 0.5  # the launches must take under half the GPU's time, or both timers see the host


def synchronised_host_rounds(work, device: str, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        torch.cuda.synchronize(device)
        started = time.perf_counter()
        work()
        torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - started)
    return seconds


def launch_rounds(work, device: str, rounds: int) -> list[float]:
    """Host time to launch a round onto an idle GPU, without waiting for it to finish."""
    seconds = []
    for _ in range(rounds):
        torch.cuda.synchronize(device)
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    torch.cuda.synchronize(device)
    return seconds


def test_cuda_event_latency_agrees_with_a_synchronised_host_timer(gpu_model, cuda_device):
    work = partial(forward, gpu_model, synthetic_inputs(gpu_model, WORKLOAD))
    timing = TimingOptions(warmup_rounds=3, warmup_time=0.0, min_rounds=ROUNDS, max_rounds=ROUNDS, max_time=0.0)
    events: list[float] = []
    host: list[float] = []
    launches: list[float] = []
    for _ in range(BLOCKS):
        events += time_rounds(work, cuda_device, timing)
        host += synchronised_host_rounds(work, cuda_device, ROUNDS)
        launches += launch_rounds(work, cuda_device, ROUNDS)

    assert len(events) == BLOCKS * ROUNDS
    assert all(seconds > 0 for seconds in events)
    event_ms, host_ms, launch_ms = (statistics.median(samples) * 1e3 for samples in (events, host, launches))
    figures = f"median per round: CUDA events {event_ms:.3f} ms, synchronised host {host_ms:.3f} ms, launch {launch_ms:.3f} ms"
    assert launch_ms < LAUNCH_BOUND * event_ms, f"the workload is launch-bound, so the comparison proves nothing; {figures}"
    assert abs(event_ms - host_ms) <= TOLERANCE * host_ms, f"CUDA events and the host timer disagree by more than 5%; {figures}"
