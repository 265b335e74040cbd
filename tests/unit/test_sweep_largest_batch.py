"""The largest-batch search: doubling, then bisection; real out-of-memory errors and budgets."""

from __future__ import annotations

import pytest
import torch

from pytest_modelperf.measure.memory import is_out_of_memory
from pytest_modelperf.sweep.largest_batch import SearchSettings, find_largest_batch


class FakeWorkload:
    """Peak memory of 10 MB per sample; batches above ``fits_up_to`` raise ``error``."""

    def __init__(self, fits_up_to: int, error: type[BaseException] = torch.OutOfMemoryError) -> None:
        self.fits_up_to = fits_up_to
        self.error = error
        self.tried: list[int] = []

    def __call__(self, batch: int) -> float:
        self.tried.append(batch)
        if batch > self.fits_up_to:
            raise self.error(f"CUDA out of memory. Tried to allocate {batch * 10} MiB")
        return batch * 10.0


def test_doubles_until_the_first_failure_then_bisects() -> None:
    workload = FakeWorkload(fits_up_to=37)
    largest, failing, reason, probes = find_largest_batch(workload, SearchSettings(max_batch=4096), device="cpu")
    assert (largest, failing) == (37, 38)
    assert reason == "batch 38 ran out of memory"
    assert workload.tried == [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37]
    assert [p.outcome for p in probes][:7] == ["fits"] * 6 + ["out of memory"]
    assert probes[0].peak_mb == 10.0


def test_stops_at_max_batch_when_everything_fits() -> None:
    workload = FakeWorkload(fits_up_to=10_000)
    largest, failing, reason, _ = find_largest_batch(workload, SearchSettings(max_batch=100), device="cpu")
    assert (largest, failing) == (100, None)
    assert workload.tried == [1, 2, 4, 8, 16, 32, 64, 100]
    assert reason == "every batch up to --max-batch 100 fits"


def test_a_budget_makes_a_batch_fail_when_its_measured_peak_exceeds_it() -> None:
    workload = FakeWorkload(fits_up_to=10_000)  # never out of memory: only the budget limits it
    settings = SearchSettings(max_batch=4096, budget_mb=255)
    largest, failing, reason, probes = find_largest_batch(workload, settings, device="cpu")
    assert (largest, failing) == (25, 26)
    assert reason == "batch 26 peaked at 260 MB, over the 255 MB budget"
    assert any(p.outcome == "over budget" and p.peak_mb == 320.0 for p in probes)
    assert settings.limit("cuda:0") == "255 MB budget"
    assert SearchSettings(budget_mb=8000, budget_note="half the available host memory").limit("cpu") == (
        "8000 MB budget (half the available host memory)"
    )
    assert SearchSettings().limit("cuda:0") == "GPU memory"


def test_when_even_the_start_fails_the_search_bisects_below_it() -> None:
    found = find_largest_batch(FakeWorkload(fits_up_to=0), SearchSettings(), device="cpu")
    assert found[:3] == (0, 1, "batch 1 ran out of memory")
    workload = FakeWorkload(fits_up_to=5)
    largest, failing, _, _ = find_largest_batch(workload, SearchSettings(start=16), device="cpu")
    assert (largest, failing) == (5, 6)
    assert workload.tried == [16, 8, 4, 6, 5]


def test_the_cpu_allocators_real_error_is_out_of_memory() -> None:
    """torch 2.13's CPU allocator raises a plain RuntimeError, not torch.OutOfMemoryError."""
    with pytest.raises(RuntimeError) as caught:
        torch.empty(2**40)  # 4 TiB: refused by the allocator at once
    assert not isinstance(caught.value, torch.OutOfMemoryError)
    assert is_out_of_memory(caught.value)

    def probe(batch: int) -> float:
        if batch > 3:
            torch.empty(2**40)
        return float(batch)

    assert find_largest_batch(probe, SearchSettings(), device="cpu")[:3] == (3, 4, "batch 4 ran out of memory")


def test_another_error_ends_the_search_without_raising() -> None:
    workload = FakeWorkload(fits_up_to=3, error=ValueError)
    largest, failing, reason, probes = find_largest_batch(workload, SearchSettings(), device="cpu")
    assert (largest, failing) == (2, None)
    assert reason == "error: ValueError: CUDA out of memory. Tried to allocate 40 MiB"
    assert probes[-1].failed_with_error
    first = find_largest_batch(FakeWorkload(fits_up_to=0, error=KeyError), SearchSettings(), device="cpu")
    assert first[0] is None and first[2].startswith("error: KeyError")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_batch": 0}, "max_batch must be a positive integer, got 0"),
        ({"start": 8, "max_batch": 4}, r"start \(8\) must not exceed max_batch \(4\)"),
        ({"budget_mb": 0}, "the memory budget must be a positive number of MB, got 0"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchSettings(**settings)
