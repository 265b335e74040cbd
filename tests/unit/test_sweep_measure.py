"""Measuring cells and running a sweep on the hidden-32 BERT: measurements, out of memory, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import pytest_modelperf.measure.cell as measure_module
from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.cell import measure_cell, measures_for
from pytest_modelperf.measure.tidy import tidy_rows
from pytest_modelperf.models.loading import load_model
from pytest_modelperf.sweep import build_grid
from pytest_modelperf.sweep.largest_batch import SearchSettings
from pytest_modelperf.sweep.runner import SweepSettings, largest_batch_of, run_sweep

FAST = TimingOptions(warmup_rounds=1, warmup_time=0.0, min_rounds=2, max_rounds=3, max_time=0.0)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint: Path):
    return load_model(tiny_checkpoint, device="cpu")


def test_a_cell_gives_the_fixtures_measurements(tiny, tiny_checkpoint: Path) -> None:
    (cell,) = build_grid([str(tiny_checkpoint)], [2], [16]).cells()
    result = measure_cell(tiny, cell, timing=FAST, memory_rounds=2)
    assert result.status == "ok" and result.measures == ("time", "throughput", "host_memory_peak")
    assert [m.name for m in result.measurements] == ["latency[2x16]", "throughput[2x16]", "host_memory[2x16]"]
    assert [m.unit for m in result.measurements] == ["ms", "samples/s", "MB"]
    assert len(result.latency.samples) == len(result.throughput.samples) >= 2 and len(result.host_memory.samples) == 2
    assert result.latency.context["batch_size"] == 2 and result.latency.context["sequence_length"] == 16
    assert not result.latency.reference, "the sweep times without the speed reference unless asked"
    calibrated = measure_cell(tiny, cell, groups=["time"], timing=FAST, calibrate=True)
    assert len(calibrated.latency.reference) == len(calibrated.latency.samples)
    assert calibrated.measures == ("time",) and calibrated.throughput is None


def test_gpu_measures_belong_to_cuda_only() -> None:
    assert measures_for(["memory"], "cpu") == ("host_memory_peak",)
    assert measures_for(["memory", "time"], "cuda:0") == (
        "time",
        "host_memory_peak",
        "gpu_memory_allocated",
        "gpu_memory_reserved",
        "gpu_memory_nvml",
    )
    with pytest.raises(ValueError, match="unknown measure"):
        measures_for(["latency"], "cpu")


def test_a_too_long_sequence_is_skipped_without_running(tiny, tiny_checkpoint: Path) -> None:
    (cell,) = build_grid([str(tiny_checkpoint)], [1], [256]).cells()
    result = measure_cell(tiny, cell, timing=FAST)
    assert result.status == "skipped: sequence length 256 exceeds tiny-bert's max_position_embeddings (128)"
    assert result.measurements == ()


@pytest.mark.parametrize("allocation", ["cpu allocator", "cuda error type"])
def test_a_cell_out_of_memory_is_recorded_as_not_available(
    tiny, tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch, allocation: str
) -> None:
    real_inputs = measure_module.synthetic_inputs

    def too_big(loaded, workload, **kwargs):
        if workload.batch_size > 1:
            if allocation == "cpu allocator":
                torch.empty(2**40)  # the CPU allocator's real error: 4 TiB
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 96.00 GiB")
        return real_inputs(loaded, workload, **kwargs)

    monkeypatch.setattr(measure_module, "synthetic_inputs", too_big)
    small, large = build_grid([str(tiny_checkpoint)], [1, 1024], [16]).cells()
    assert measure_cell(tiny, small, timing=FAST, memory_rounds=1).status == "ok"
    result = measure_cell(tiny, large, timing=FAST, memory_rounds=1)
    assert result.status == "out of memory"
    assert [m.name for m in result.measurements] == ["latency[1024x16]", "throughput[1024x16]", "host_memory[1024x16]"]
    assert all(m.unavailable == "out of memory" for m in result.measurements)
    assert {row["status"] for row in tidy_rows(result)} == {"out of memory"}


def test_a_sweep_goes_on_past_failing_models_and_cells(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_forward = measure_module.forward

    def fails_at_batch_two(loaded, inputs):
        if inputs["input_ids"].shape[0] == 2:
            raise ValueError("a broken kernel\non two lines")
        return real_forward(loaded, inputs)

    monkeypatch.setattr(measure_module, "forward", fails_at_batch_two)
    grid = build_grid(["./no/such/checkpoint", str(tiny_checkpoint)], [1, 2], [16])
    settings = SweepSettings(device="cpu", dtype="float32", timing=FAST, groups=("time",), memory_rounds=1)
    result = run_sweep(grid, settings, lambda model: (model, "auto"), progress=False)
    statuses = [(r.cell.id, r.status) for r in result.cells]
    assert statuses[0][1].startswith("error: CheckpointError: checkpoint './no/such/checkpoint'")
    assert statuses[1][1] == statuses[0][1]
    assert statuses[2:] == [("tiny-bert-b1-s16", "ok"), ("tiny-bert-b2-s16", "error: ValueError: a broken kernel on two lines")]
    assert len(result.errors) == 3


def test_the_largest_batch_of_a_real_model_within_a_budget(tiny) -> None:
    found = largest_batch_of(tiny, "tiny", "tiny", 128, SearchSettings(max_batch=8, budget_mb=100_000))
    assert (found.largest_batch, found.first_failing_batch) == (8, None)
    assert [p.batch_size for p in found.probes] == [1, 2, 4, 8] and all(p.peak_mb is not None for p in found.probes)
    skipped = largest_batch_of(tiny, "tiny", "tiny", 512, SearchSettings(max_batch=8))
    assert skipped.largest_batch is None and skipped.reason.startswith("skipped: sequence length 512")
