"""The words every report uses for a check: the column headers, a verdict's cells, a re-run's outcome."""

from __future__ import annotations

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
    runs = f"{rerun.reruns} re-run{'s' if rerun.reruns != 1 else ''}"
    if rerun.reproduced:
        return f"confirmed: the failure reproduced on {runs} (first attempt: {first}); the table shows the last attempt"
    return f"not reproduced: the first attempt failed ({first}), {runs} passed; taken for noise, not a change"
