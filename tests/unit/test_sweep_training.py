"""Training sweeps on the hidden-32 BERT: a cell as one optimizer step, its out of memory, the
training probe of the largest-batch search, and the speed measured at the largest batch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import pytest_modelperf.training.cell as training_cell
import pytest_modelperf.training.step as step_module
from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.tidy import tidy_rows
from pytest_modelperf.measure.workloads import Workload
from pytest_modelperf.models.loading import load_model
from pytest_modelperf.sweep import build_grid
from pytest_modelperf.sweep.largest_batch import SearchSettings
from pytest_modelperf.sweep.modes import INFERENCE_MODE, training_mode
from pytest_modelperf.sweep.runner import SweepSettings, largest_batch_of, run_sweep
from pytest_modelperf.training.cell import StepRecipe, measure_training_cell, training_measures_for, training_peak_memory_mb

FAST = TimingOptions(warmup_rounds=1, warmup_time=0.0, min_rounds=2, max_rounds=2, max_time=0.0)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint: Path):
    return load_model(tiny_checkpoint, device="cpu")


def test_a_training_cell_gives_the_training_measures(tiny, tiny_checkpoint: Path) -> None:
    (cell,) = build_grid([str(tiny_checkpoint)], [2], [16]).cells()
    result = measure_training_cell(tiny, cell, timing=FAST, memory_rounds=2)
    assert result.status == "ok" and result.measures == ("train_time", "train_throughput", "train_host_memory_peak")
    assert [m.name for m in result.measurements] == [
        "train_step_latency[2x16]",
        "train_throughput[2x16]",
        "train_host_memory[2x16]",
    ]
    assert [m.unit for m in result.measurements] == ["ms", "samples/s", "MB"]
    time, throughput, memory = result.measurements
    assert len(time.samples) == len(throughput.samples) == 2 and len(memory.samples) == 2
    assert time.context["mode"] == "training" and time.context["batch_size"] == 2
    assert result.latency is None, "the inference measures stay empty in a training cell"
    rows = tidy_rows(result)
    assert [(row["measure"], row["unit"], row["status"]) for row in rows] == [
        ("train_time", "s", "ok"),
        ("train_throughput", "samples/s", "ok"),
        ("train_host_memory_peak", "MB", "ok"),
    ]
    assert all(row["value"] is not None and row["value"] > 0 for row in rows[:2])


def test_accumulation_and_autocast_shape_the_step(tiny, tiny_checkpoint: Path) -> None:
    (cell,) = build_grid([str(tiny_checkpoint)], [2], [8]).cells()
    recipe = StepRecipe(gradient_accumulation=3, autocast="bfloat16")
    result = measure_training_cell(tiny, cell, recipe=recipe, groups=["throughput"], timing=FAST)
    assert result.measures == ("train_throughput",) and result.dtype == "bfloat16"
    (throughput,) = result.measurements
    assert throughput.name == "train_throughput[2x8, accumulate 3]"
    assert throughput.context["autocast"] == "bfloat16" and throughput.context["weights_dtype"] == "float32"
    (row,) = tidy_rows(result)
    seconds = [6 / rate for rate in throughput.samples]  # every micro-batch counted: 3 x 2 samples a step
    assert len(seconds) == 2 and row["value"] == pytest.approx(6 / (sum(seconds) / 2))  # the rate of the median step


def test_the_measure_groups_mean_the_same_in_training() -> None:
    assert training_measures_for(["memory"], "cpu") == ("train_host_memory_peak",)
    assert training_measures_for(["time", "memory"], "cuda:0") == (
        "train_time",
        "train_host_memory_peak",
        "train_gpu_memory_allocated",
        "train_gpu_memory_reserved",
        "train_gpu_memory_nvml",
    )
    with pytest.raises(ValueError, match="unknown measure"):
        training_measures_for(["latency"], "cpu")
    with pytest.raises(ValueError, match="gradient_accumulation must be a positive integer, got 0"):
        StepRecipe(gradient_accumulation=0)
    with pytest.raises(ValueError, match="autocast dtype must be one of bfloat16, float16"):
        StepRecipe(autocast="int8")


def test_a_too_long_sequence_is_skipped_without_training(tiny, tiny_checkpoint: Path) -> None:
    (cell,) = build_grid([str(tiny_checkpoint)], [1], [256]).cells()
    result = measure_training_cell(tiny, cell, timing=FAST)
    assert result.status == "skipped: sequence length 256 exceeds tiny-bert's max_position_embeddings (128)"
    assert result.measurements == ()


@pytest.mark.parametrize("where", ["making the batches", "in the step"])
def test_a_training_cell_out_of_memory_is_not_available(
    tiny, tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Out of memory before the step (the CPU allocator's real error) or inside it (CUDA's error
    type): every measure is N/A, named as measured, and the tidy rows say out of memory."""
    if where == "making the batches":
        real_batch = training_cell.synthetic_batch

        def too_big(loaded, workload, **kwargs):
            if workload.batch_size > 1:
                torch.empty(2**40)  # 4 TiB: the CPU allocator's real error
            return real_batch(loaded, workload, **kwargs)

        monkeypatch.setattr(training_cell, "synthetic_batch", too_big)
    else:
        real_loss = step_module.loss_of

        def too_big_loss(model, batch):
            if batch["input_ids"].shape[0] > 1:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 96.00 GiB")
            return real_loss(model, batch)

        monkeypatch.setattr(step_module, "loss_of", too_big_loss)
    small, large = build_grid([str(tiny_checkpoint)], [1, 1024], [8]).cells()
    assert measure_training_cell(tiny, small, timing=FAST, memory_rounds=1).status == "ok"
    result = measure_training_cell(tiny, large, timing=FAST, memory_rounds=1)
    assert result.status == "out of memory"
    assert [m.name for m in result.measurements] == [
        "train_step_latency[1024x8]",
        "train_throughput[1024x8]",
        "train_host_memory[1024x8]",
    ]
    assert all(m.unavailable == "out of memory" for m in result.measurements)
    assert {row["status"] for row in tidy_rows(result)} == {"out of memory"}


def test_the_training_probe_measures_a_step_from_a_fresh_optimizer(tiny) -> None:
    peak = training_peak_memory_mb(tiny, Workload(2, 8))
    assert isinstance(peak, float) and peak >= 0
    found = largest_batch_of(
        tiny, "tiny", "tiny", 8, SearchSettings(max_batch=4, budget_mb=100_000), probe=training_mode().peak_memory_mb
    )
    assert (found.largest_batch, found.first_failing_batch) == (4, None)
    assert [p.batch_size for p in found.probes] == [1, 2, 4] and all(p.peak_mb is not None for p in found.probes)


def test_the_search_runs_the_probe_it_is_given(tiny) -> None:
    tried: list[tuple[int, int]] = []

    def probe(loaded, workload: Workload) -> float:
        tried.append((workload.batch_size, workload.sequence_length))
        if workload.batch_size > 5:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return float(workload.batch_size)

    found = largest_batch_of(tiny, "tiny", "tiny", 16, SearchSettings(max_batch=64), probe=probe)
    assert (found.largest_batch, found.first_failing_batch, found.reason) == (5, 6, "batch 6 ran out of memory")
    assert tried == [(1, 16), (2, 16), (4, 16), (8, 16), (6, 16), (5, 16)]


@pytest.mark.parametrize("mode", ["inference", "training"])
def test_a_sweep_measures_the_speed_at_each_largest_batch(tiny_checkpoint: Path, mode: str) -> None:
    sweep_mode = training_mode() if mode == "training" else INFERENCE_MODE
    prefix = "train_" if mode == "training" else ""
    grid = build_grid([str(tiny_checkpoint)], [1], [8, 256])
    search = SearchSettings(max_batch=2, budget_mb=100_000)
    settings = SweepSettings(
        device="cpu", dtype="float32", timing=FAST, groups=("memory",), memory_rounds=1, largest_batch=search, mode=sweep_mode
    )
    result = run_sweep(grid, settings, lambda model: (model, "auto"), progress=False)
    assert [(r.cell.id, r.status, r.measures) for r in result.cells] == [
        ("tiny-bert-b1-s8", "ok", (f"{prefix}host_memory_peak",)),
        (
            "tiny-bert-b1-s256",
            "skipped: sequence length 256 exceeds tiny-bert's max_position_embeddings (128)",
            (f"{prefix}host_memory_peak",),
        ),
    ]
    assert [(found.sequence_length, found.largest_batch) for found in result.largest] == [(8, 2), (256, None)]
    (speed,) = result.largest_speed
    assert (speed.cell.batch_size, speed.cell.sequence_length, speed.status) == (2, 8, "ok")
    assert speed.measures == (f"{prefix}time", f"{prefix}throughput"), "time and throughput whatever --measures says"
    assert result.speed_at(result.largest[0]) is speed and result.speed_at(result.largest[1]) is None
    assert result.errors == []


def test_a_failing_speed_at_the_largest_batch_is_an_error_of_the_sweep(tiny_checkpoint: Path) -> None:
    real_measure = training_mode().measure_cell

    def fails_at_batch_two(loaded, cell, **kwargs):
        if cell.batch_size == 2:
            raise ValueError("a broken kernel")
        return real_measure(loaded, cell, **kwargs)

    mode = dataclasses.replace(training_mode(), measure_cell=fails_at_batch_two)
    grid = build_grid([str(tiny_checkpoint)], [1], [8])
    search = SearchSettings(max_batch=2, budget_mb=100_000)
    settings = SweepSettings(
        device="cpu", dtype="float32", timing=FAST, groups=("time",), memory_rounds=1, largest_batch=search, mode=mode
    )
    result = run_sweep(grid, settings, lambda model: (model, "auto"), progress=False)
    assert [r.status for r in result.cells] == ["ok"]
    (speed,) = result.largest_speed
    assert speed.status == "error: ValueError: a broken kernel" and speed.measures == ("train_time", "train_throughput")
    assert result.errors == ["tiny-bert-b2-s8 (speed at the largest batch): error: ValueError: a broken kernel"]
