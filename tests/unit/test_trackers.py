"""Trackers: interleaved timing order and round limits; out-of-memory cells."""

from __future__ import annotations

import pytest
import torch

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.latency import time_interleaved, time_rounds
from pytest_modelperf.measure.memory import is_out_of_memory, run_unless_out_of_memory

COUNTED = TimingOptions(warmup_rounds=2, warmup_time=0.0, min_rounds=3, max_rounds=3, max_time=0.0)


def test_side_by_side_rounds_alternate_their_order() -> None:
    calls: list[str] = []
    rounds = time_interleaved([lambda: calls.append("a"), lambda: calls.append("b")], "cpu", COUNTED)
    assert calls[:4] == ["a", "a", "b", "b"]  # warm-up, per workload
    assert calls[4:] == ["a", "b", "b", "a", "a", "b"]
    assert [len(seconds) for seconds in rounds] == [3, 3]
    assert all(s >= 0 for seconds in rounds for s in seconds)


def test_round_limits_count_rounds_of_the_whole_set() -> None:
    timing = TimingOptions(warmup_rounds=0, warmup_time=0.0, min_rounds=2, max_rounds=50, max_time=0.0)
    assert [len(s) for s in time_interleaved([lambda: None] * 3, "cpu", timing)] == [2, 2, 2]
    assert len(time_rounds(lambda: None, "cpu", timing)) == 2


def test_side_by_side_needs_a_workload() -> None:
    with pytest.raises(ValueError, match="at least one workload"):
        time_interleaved([], "cpu", COUNTED)


def test_an_out_of_memory_cell_is_recorded_and_the_run_goes_on() -> None:
    def too_big() -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 96.00 GiB")

    assert run_unless_out_of_memory(too_big, "cpu") == (None, "out of memory")
    assert run_unless_out_of_memory(lambda: 42, "cpu") == (42, None)
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("x"))


def test_other_errors_are_not_mistaken_for_out_of_memory() -> None:
    def broken() -> None:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_unless_out_of_memory(broken, "cpu")
