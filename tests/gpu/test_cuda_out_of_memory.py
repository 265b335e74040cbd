"""A cell that cannot fit in the GPU's memory is reported as N/A ("out of memory"), the study's
N/A, and the memory is given back so that the next cell measures as if it had not happened.

The cell's batch is sized from the GPU's own memory: its embedding output alone (batch x
sequence x hidden x 4 bytes in float32) is twice the GPU's memory, so it runs out on any GPU,
while its token ids (a 128th of that) fit. The same cell goes through each path that reports
N/A: the sweep's cell (``measure_cell``), the fixture's ``measure_gpu_memory``, and the
``modelperf sweep`` command's tables.
"""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest
import torch

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.cell import OK, Cell, measure_cell, measure_gpu_memory
from pytest_modelperf.measure.memory import OUT_OF_MEMORY
from pytest_modelperf.measure.workloads import Workload

SEQUENCE = 128
FITS = 8
FAST = TimingOptions(warmup_rounds=1, warmup_time=0.0, min_rounds=2, max_rounds=5, max_time=0.0)
# A cuBLAS workspace (at most 32 MiB on Hopper) may be created on a handle's first use; the failed
# cell's token ids alone are over a gigabyte, so anything of the cell left alive is far larger.
LEFT_ALIVE_AT_MOST = 32 << 20


@pytest.fixture
def too_large(gpu_model, cuda_device) -> int:
    """A batch whose embedding output is twice the GPU's memory."""
    total = torch.cuda.get_device_properties(cuda_device).total_memory
    per_sample = SEQUENCE * gpu_model.config.hidden_size * torch.finfo(torch.float32).bits // 8
    return 2 * total // per_sample + 1


def _cell(gpu_model, batch_size: int) -> Cell:
    return Cell(str(gpu_model.checkpoint), "gpu-bert", batch_size, SEQUENCE)


def test_a_cell_beyond_the_gpus_memory_is_na_and_the_next_cell_starts_clean(gpu_model, cuda_device, too_large):
    fits = _cell(gpu_model, FITS)
    before = measure_cell(gpu_model, fits, groups=("time", "memory"), timing=FAST, memory_rounds=1)
    assert before.status == OK
    resident = torch.cuda.memory_allocated(cuda_device)

    failed = measure_cell(gpu_model, _cell(gpu_model, too_large), groups=("time", "memory"), timing=FAST, memory_rounds=1)

    assert failed.status == OUT_OF_MEMORY
    assert set(failed.by_measure) == set(failed.measures)
    for measure in failed.measures:
        assert failed.by_measure[measure].unavailable == OUT_OF_MEMORY
        assert failed.status_of(measure) == OUT_OF_MEMORY
    left_alive = torch.cuda.memory_allocated(cuda_device) - resident
    assert left_alive <= LEFT_ALIVE_AT_MOST, f"{left_alive / 2**20:.0f} MiB of the failed cell is still allocated"

    after = measure_cell(gpu_model, fits, groups=("time", "memory"), timing=FAST, memory_rounds=1)
    assert after.status == OK
    assert after.gpu_memory_allocated is not None and before.gpu_memory_allocated is not None
    assert after.gpu_memory_allocated.value == before.gpu_memory_allocated.value


def test_the_fixtures_gpu_memory_of_a_cell_beyond_the_gpus_memory_is_na(gpu_model, too_large):
    memory = measure_gpu_memory(gpu_model, Workload(too_large, SEQUENCE))
    assert memory.out_of_memory
    assert memory.peak_allocated.unavailable == memory.peak_reserved.unavailable == OUT_OF_MEMORY
    assert memory.nvml_process is None and memory.nvml_device is None
    assert measure_gpu_memory(gpu_model, Workload(FITS, SEQUENCE)).peak_allocated.unavailable is None


def test_modelperf_sweep_writes_na_for_the_cell_that_ran_out_and_exits_0(gpu_model, cuda_device, too_large, tmp_path):
    output = tmp_path / "sweep"
    command = [sys.executable, "-m", "pytest_modelperf.cli", "sweep", "--models", str(gpu_model.checkpoint)]
    command += ["--batch-sizes", str(FITS), str(too_large), "--sequence-lengths", str(SEQUENCE), "--device", cuda_device]
    command += ["--measures", "time", "memory", "--output", str(output), "--no-progress"]
    command += ["--warmup-rounds", "1", "--warmup-time", "0", "--min-rounds", "2", "--max-rounds", "5", "--max-time", "0"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    with (output / "time.csv").open(newline="") as table:
        times = {int(row["batch_size"]): row["result"] for row in csv.DictReader(table)}
    assert times[too_large] == "N/A"
    assert float(times[FITS]) > 0
    with (output / "sweep.csv").open(newline="") as table:
        statuses = {(int(row["batch_size"]), row["measure"]): row["status"] for row in csv.DictReader(table)}
    assert {status for (batch, _), status in statuses.items() if batch == too_large} == {OUT_OF_MEMORY}
    assert statuses[(FITS, "gpu_memory_allocated")] == OK
