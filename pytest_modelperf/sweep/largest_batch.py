"""The largest batch that fits, per model and sequence length.

The batch doubles from a start until the first failure, then the search bisects between the
last batch that fitted and the first that failed, never beyond ``max_batch``. A batch fails
when it runs out of memory for real or, with a memory budget, when its measured peak (the
device's: the allocator's peak on CUDA, the host's peak increase on the CPU) exceeds the
budget, so that a user on an 80 GB card can ask what fits in 16 GB, and the CPU can be
searched without exhausting the host. Nothing raised by a probe escapes the search.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..measure.cell import error_status
from ..measure.memory import OUT_OF_MEMORY, run_unless_out_of_memory

FITS = "fits"
OVER_BUDGET = "over budget"

CSV_COLUMNS: tuple[str, ...] = ("model", "sequence_length", "largest_batch", "first_failing_batch", "limit", "reason")


@dataclass(frozen=True)
class Probe:
    """One batch tried: whether it fitted, its peak (MB) when measured, and what happened."""

    batch_size: int
    outcome: str  # fits, out of memory, over budget, or "error: <Type>: <message>"
    peak_mb: float | None = None

    @property
    def fits(self) -> bool:
        return self.outcome == FITS

    @property
    def failed_with_error(self) -> bool:
        return self.outcome.startswith("error:")


@dataclass(frozen=True)
class LargestBatch:
    model: str
    label: str
    sequence_length: int
    largest_batch: int | None  # 0: not even batch 1 fits; None: not searched (skipped or error)
    first_failing_batch: int | None  # None: everything up to max_batch fitted
    limit: str  # what a batch had to fit in
    reason: str  # why the search stopped where it did
    probes: tuple[Probe, ...] = field(default_factory=tuple)

    @property
    def error(self) -> bool:
        return self.reason.startswith("error:")

    def csv_row(self) -> list[Any]:
        largest, failing = _blank(self.largest_batch), _blank(self.first_failing_batch)
        return [self.model, self.sequence_length, largest, failing, self.limit, self.reason]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "label": self.label,
            "sequence_length": self.sequence_length,
            "largest_batch": self.largest_batch,
            "first_failing_batch": self.first_failing_batch,
            "limit": self.limit,
            "reason": self.reason,
            "probes": [{"batch_size": p.batch_size, "outcome": p.outcome, "peak_mb": p.peak_mb} for p in self.probes],
        }


@dataclass(frozen=True)
class SearchSettings:
    max_batch: int = 4096
    budget_mb: float | None = None
    start: int = 1
    budget_note: str = ""  # e.g. "half the available host memory", when the budget was not given

    def __post_init__(self) -> None:
        for name in ("max_batch", "start"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.start > self.max_batch:
            raise ValueError(f"start ({self.start}) must not exceed max_batch ({self.max_batch})")
        if self.budget_mb is not None and not self.budget_mb > 0:
            raise ValueError(f"the memory budget must be a positive number of MB, got {self.budget_mb!r}")

    def limit(self, device: str) -> str:
        if self.budget_mb is None:
            return "GPU memory" if device.startswith("cuda") else "host memory"
        note = f" ({self.budget_note})" if self.budget_note else ""
        return f"{self.budget_mb:g} MB budget{note}"


def find_largest_batch(
    probe: Callable[[int], float], settings: SearchSettings, *, device: str
) -> tuple[int | None, int | None, str, tuple[Probe, ...]]:
    """``(largest, first_failing, reason, probes)``; ``probe(batch)`` runs the batch and returns
    its peak memory (MB), raising the device's out-of-memory error when it does not fit. A probe
    that fails with another error ends the search with that error as the reason (and no largest
    batch when none fitted before it)."""
    probes: list[Probe] = []

    def attempt(batch: int) -> Probe:
        tried = _try(probe, batch, settings.budget_mb, device)
        probes.append(tried)
        return tried

    last_fit, failing = 0, None
    batch = settings.start
    while True:
        tried = attempt(batch)
        if tried.failed_with_error:
            return last_fit or None, None, tried.outcome, tuple(probes)
        if not tried.fits:
            failing = tried
            break
        last_fit = batch
        if batch >= settings.max_batch:
            return last_fit, None, f"every batch up to --max-batch {settings.max_batch} fits", tuple(probes)
        batch = min(batch * 2, settings.max_batch)
    while failing.batch_size - last_fit > 1:
        tried = attempt((last_fit + failing.batch_size) // 2)
        if tried.failed_with_error:
            return last_fit, failing.batch_size, tried.outcome, tuple(probes)
        if tried.fits:
            last_fit = tried.batch_size
        else:
            failing = tried
    return last_fit, failing.batch_size, _failure(failing, settings.budget_mb), tuple(probes)


def _try(probe: Callable[[int], float], batch: int, budget_mb: float | None, device: str) -> Probe:
    try:
        peak, unavailable = run_unless_out_of_memory(lambda: probe(batch), device)
    except Exception as error:
        return Probe(batch, error_status(error))
    if unavailable is not None:
        return Probe(batch, OUT_OF_MEMORY)
    if budget_mb is not None and peak > budget_mb:
        return Probe(batch, OVER_BUDGET, float(peak))
    return Probe(batch, FITS, float(peak))


def _failure(probe: Probe, budget_mb: float | None) -> str:
    if probe.outcome == OVER_BUDGET:
        return f"batch {probe.batch_size} peaked at {probe.peak_mb:.0f} MB, over the {budget_mb:g} MB budget"
    return f"batch {probe.batch_size} ran out of memory"


def _blank(value: int | None) -> Any:
    return "" if value is None else value
