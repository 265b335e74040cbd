"""The caching allocator's peak of a cell is identical, to the byte, every time the cell is measured.

That is why ``gpu_memory.peak_allocated`` is compared exactly with its baseline. The fixture's
``measure_gpu_memory`` and the sweep's ``measure_cell`` share one path (``measure.cell``), so
they must give the same peak for the same cell too.
"""

from __future__ import annotations

import pytest
import torch

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.cell import OK, Cell, measure_cell, measure_gpu_memory
from pytest_modelperf.measure.memory import MB, module_bytes
from pytest_modelperf.measure.workloads import Workload

REPEATS = 3
WORKLOADS = [Workload(8, 128), Workload(32, 512)]


@pytest.mark.parametrize("workload", WORKLOADS, ids=[workload.label for workload in WORKLOADS])
def test_the_allocator_peak_of_a_cell_is_identical_across_repeats(gpu_model, cuda_device, workload):
    fixture_peaks = [measure_gpu_memory(gpu_model, workload).peak_allocated for _ in range(REPEATS)]
    cell = Cell(str(gpu_model.checkpoint), "gpu-bert", workload.batch_size, workload.sequence_length)
    cells = [measure_cell(gpu_model, cell, groups=("memory",), timing=TimingOptions(), memory_rounds=1) for _ in range(REPEATS)]

    assert [measured.status for measured in cells] == [OK] * REPEATS
    cell_peaks = [measured.gpu_memory_allocated for measured in cells]
    values = {peak.value for peak in fixture_peaks + cell_peaks if peak is not None}
    assert len(values) == 1, f"{workload.label}: peaks differ between repeats: {sorted(values)} MB"
    assert all(peak is not None and peak.deterministic and peak.unavailable is None for peak in fixture_peaks + cell_peaks)
    assert values.pop() * MB > module_bytes(gpu_model.model), "the peak holds the model's weights and the pass's activations"


def test_the_allocator_peak_ignores_what_else_the_session_keeps_on_the_gpu(gpu_model, cuda_device):
    """Another model's weights on the device (a 512 MiB ballast here) leave a model's peak as it
    was: a peak is the same measured alone, after the whole registry or on any xdist worker."""
    workload = WORKLOADS[0]
    alone = measure_gpu_memory(gpu_model, workload).peak_allocated.value
    ballast = torch.empty(512 * 2**20, dtype=torch.uint8, device=cuda_device)
    try:
        beside = measure_gpu_memory(gpu_model, workload).peak_allocated.value
    finally:
        del ballast
    assert beside == alone, f"{workload.label}: {alone} MB alone, {beside} MB beside 512 MiB of other tensors"


def test_the_peak_is_reset_before_each_cell(gpu_model):
    """The larger cell first: without the reset before the smaller one, it would read the larger's peak."""
    small, large = WORKLOADS
    large_peak = measure_gpu_memory(gpu_model, large).peak_allocated.value
    small_peak = measure_gpu_memory(gpu_model, small).peak_allocated.value
    assert small_peak < large_peak
