"""modelperf scaling tells of each launch as it starts and as it ends, with what it measured."""

from __future__ import annotations

import re

import pytest

import pytest_modelperf.training.scaling as scaling
from pytest_modelperf.training.scaling import ScalingRun, ScalingSettings, launch_outcome, run_scaling


def measured(workers: int, seconds: tuple[float, ...]) -> ScalingRun:
    return ScalingRun(
        model="tiny",
        task="sequence-classification",
        device="cpu",
        world_size=workers,
        nproc_per_node=workers,
        nnodes=1,
        batch_size=8,
        sequence_length=128,
        gradient_accumulation=1,
        global_batch=8 * workers,
        delay_sync=False,
        threads=1,
        step_seconds=seconds,
    )


def test_each_launch_gets_a_line_before_and_after(monkeypatch: pytest.MonkeyPatch) -> None:
    results = {1: measured(1, (0.5, 0.4, 0.6)), 2: measured(2, (0.8, 0.6, 1.0))}
    monkeypatch.setattr(scaling, "launch", lambda settings, nproc, variant, folder: results[nproc])
    lines: list[str] = []
    run_scaling(ScalingSettings(checkpoint="/models/tiny", nproc=(1, 2), threads=1), progress=lines.append)
    assert lines[0] == "running 1 worker, ddp, 1 thread each"
    assert re.fullmatch(r"1 worker, ddp, 1 thread each: 500\.0 ms per step, 16\.0 samples/s \(\d+\.\ds\)", lines[1])
    assert lines[2] == "running 2 workers, ddp, 1 thread each"
    assert re.fullmatch(r"2 workers, ddp, 1 thread each: 800\.0 ms per step, 20\.0 samples/s \(\d+\.\ds\)", lines[3])
    assert len(lines) == 4


def test_a_launch_without_a_rate_or_a_result_says_so() -> None:
    assert launch_outcome(measured(1, (0.5, 0.0))) == "250.0 ms per step, N/A samples/s (a step took no measurable time)"
    assert launch_outcome(None) == "done; rank 0 ran on another node, which holds the result"
