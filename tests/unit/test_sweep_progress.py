"""A sweep's progress: a bar on a terminal, one plain line per cell and per model in a log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

import pytest_modelperf.measure.cell as measure_module
from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.sweep import build_grid
from pytest_modelperf.sweep.largest_batch import SearchSettings
from pytest_modelperf.sweep.modes import INFERENCE_MODE
from pytest_modelperf.sweep.progress import BarProgress, LineProgress, QuietProgress, sweep_progress
from pytest_modelperf.sweep.runner import SweepSettings, run_sweep

FAST = TimingOptions(warmup_rounds=1, warmup_time=0.0, min_rounds=2, max_rounds=3, max_time=0.0)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_a_log_gets_lines_and_no_progress_gets_nothing():
    assert isinstance(sweep_progress(3, INFERENCE_MODE, stream=Terminal()), BarProgress)
    assert isinstance(sweep_progress(3, INFERENCE_MODE, stream=io.StringIO()), LineProgress)
    assert type(sweep_progress(3, INFERENCE_MODE, enabled=False, stream=io.StringIO())) is QuietProgress


def test_each_cell_and_model_gets_a_line_as_it_finishes(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch):
    real_forward = measure_module.forward

    def out_of_memory_at_batch_two(loaded, inputs):
        if inputs["input_ids"].shape[0] == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(loaded, inputs)

    monkeypatch.setattr(measure_module, "forward", out_of_memory_at_batch_two)
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    grid = build_grid(["./no/such/checkpoint", str(tiny_checkpoint)], [1, 2], [16])
    settings = SweepSettings(device="cpu", dtype="float32", timing=FAST, groups=("time", "throughput"), memory_rounds=1)
    run_sweep(grid, settings, lambda model: (model, "auto"))
    lines = log.getvalue().splitlines()
    assert lines[0] == "modelperf sweep: checkpoint: loading"
    assert lines[1].startswith("modelperf sweep: checkpoint: error: CheckpointError: ")
    assert lines[1].endswith("; its 2 steps are recorded as such")
    assert lines[2] == "modelperf sweep: tiny-bert: loading"
    assert lines[3].startswith("modelperf sweep: [3/4] tiny-bert b1 s16: ")
    assert " ms, " in lines[3] and lines[3].split(" samples/s ")[1].startswith("(") and lines[3].endswith("s)")
    assert lines[4].startswith("modelperf sweep: [4/4] tiny-bert b2 s16: N/A (out of memory) (")
    assert lines[5].startswith("modelperf sweep: tiny-bert: 2 steps in ")
    assert len(lines) == 6
    assert "\r" not in log.getvalue(), "no bar in a log"


def test_a_largest_batch_search_gets_its_line(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    grid = build_grid([str(tiny_checkpoint)], [1], [16])
    search = SearchSettings(max_batch=2, budget_mb=100_000.0)
    settings = SweepSettings(device="cpu", dtype="float32", timing=FAST, groups=("time",), memory_rounds=1, largest_batch=search)
    run_sweep(grid, settings, lambda model: (model, "auto"))
    lines = log.getvalue().splitlines()
    assert lines[1].startswith("modelperf sweep: [1/2] tiny-bert b1 s16: ") and " ms (" in lines[1]
    assert lines[2].startswith("modelperf sweep: [2/2] tiny-bert s16: largest batch 2 (")
    assert lines[3].startswith("modelperf sweep: tiny-bert: 2 steps in ")
