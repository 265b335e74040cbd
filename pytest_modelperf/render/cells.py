"""The words every report uses for a check: the column headers, a verdict's cells, a re-run's outcome."""

from __future__ import annotations

from ..core.counts import counted
from ..core.measurement import is_fault
from ..core.verdict import Verdict
from ..storage.run_export import ConfirmingRerun

HEADERS = ("metric", "baseline", "current", "change", "threshold", "verdict")


def verdict_row(verdict: Verdict) -> tuple[str, ...]:
    """A verdict's cells under ``HEADERS``; a failing verdict's label is in capitals."""
    label = verdict.outcome.value.upper() if verdict.failed else verdict.outcome.value
    return (
        verdict.metric,
        verdict.describe_value(verdict.baseline),
        verdict.describe_value(verdict.current),
        verdict.describe_change(),
        verdict.describe_threshold(),
        label,
    )


def describe_rerun(rerun: ConfirmingRerun) -> str:
    """Whether a re-run test's failure reproduced, with what its first attempt measured."""
    first = ", ".join(f"{v.metric} {v.describe_change()}" for v in rerun.first_failures)
    runs = counted(rerun.reruns, "re-run")
    if rerun.reproduced:
        return f"confirmed: the failure reproduced on {runs} (first attempt: {first}); the table shows the last attempt"
    return f"not reproduced: the first attempt failed ({first}), {runs} passed; taken for noise, not a change"


def missing_baseline_advice(verdict: Verdict, update_flag: str | None) -> str:
    """What to do about a check with no baseline, under the flags in force (``update_flag``: the
    one that writes baselines in this run, if any): record one, or nothing, since this run does.
    A measuring fault (NaN, a zero divisor) is never recorded, whatever the flags."""
    if is_fault(verdict.measurement.unavailable):
        return "no baseline on this hardware, and a measuring fault is never recorded as one: fix the measurement"
    if update_flag is not None:
        return f"no baseline on this hardware; {update_flag} records one at the end of this run"
    return "no baseline on this hardware; record one with --modelperf-update-missing"
