"""Verdicts: what a check asks (:class:`Check`), what became of it (:class:`Outcome`), and the
:class:`Verdict` that says so, with the values, the noise band and the speed adjustment behind it
and their descriptions for reports.

A quality score (unit ``points``) reads its change and noise band in points, as its threshold
is given: 85.0 -> 84.2 is ``-0.80 points``, never ``-0.9%``. Every other measurement reads
them in percent of the baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from . import stats
from .measurement import Direction, Measurement
from .units import Quantity, format_value, is_score, signed_number


class Outcome(str, Enum):
    PASS = "pass"
    IMPROVEMENT = "improvement"
    REGRESSION = "regression"
    OVER_LIMIT = "over limit"
    NO_BASELINE = "no baseline"

    @property
    def failed(self) -> bool:
        return self in (Outcome.REGRESSION, Outcome.OVER_LIMIT)

    def counted(self, count: int) -> str:
        """``count`` checks of this outcome, in words: "1 regression", "2 improvements", "3 passed"."""
        singular, plural = _OUTCOME_WORDS[self]
        return f"{count} {singular if count == 1 else plural}"


_OUTCOME_WORDS: dict[Outcome, tuple[str, str]] = {
    Outcome.PASS: ("passed", "passed"),
    Outcome.IMPROVEMENT: ("improvement", "improvements"),
    Outcome.REGRESSION: ("regression", "regressions"),
    Outcome.OVER_LIMIT: ("over limit", "over limit"),
    Outcome.NO_BASELINE: ("without a baseline", "without a baseline"),
}


@dataclass(frozen=True)
class Check:
    """What one assertion asks: a statistic, a threshold against the baseline and/or a limit."""

    statistic: str
    threshold: Quantity | None
    limit: Quantity | None


@dataclass(frozen=True)
class SpeedAdjustment:
    """The machine's speed now against when the baseline was recorded, from the reference workload."""

    slowdown: float  # current reference time / the baseline's (above 1: the machine is slower now)
    expected: float  # the baseline value at the machine's current speed
    spread: stats.Spread | None  # learned between-run spread of the value in reference units
    runs: int  # recorded runs that timed the reference, odd ones set aside
    odd_runs: int = 0

    def describe(self, unit: str) -> str:
        expected = format_value(self.expected, unit)
        return f"machine {self.pace()} (reference workload); judged against {expected} at this speed"

    def pace(self) -> str:
        """How the machine's speed compares with when the baseline was recorded, to two decimals."""
        slower = self.slowdown >= 1
        ratio = f"{self.slowdown if slower else 1 / self.slowdown:.2f}"
        if ratio == "1.00":
            return "as fast as when recorded"
        return f"{ratio}x {'slower' if slower else 'faster'} than when recorded"


def recorded_runs(count: int) -> str:
    """How many recorded runs a baseline value rests on, in words: "1 recorded run", "3 recorded runs"."""
    return f"{count} recorded run{'s' if count != 1 else ''}"


@dataclass(frozen=True)
class Verdict:
    """What became of one check: the outcome, the values compared and why, for reports."""

    measurement: Measurement
    check: Check
    outcome: Outcome
    current: float
    baseline: float | None = None
    noise_band: float | None = None  # relative to the value judged against
    detail: str = ""
    speed: SpeedAdjustment | None = None
    recorded_runs: int | None = None  # recorded runs behind the noise band's baseline value

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    @property
    def in_points(self) -> bool:
        """Whether this is a quality score, whose change and noise band read in points."""
        return is_score(self.measurement.unit)

    @property
    def difference(self) -> float | None:
        """Signed change of the current value against the baseline value, in the measurement's unit."""
        if self.baseline is None:
            return None
        return self.current - self.baseline

    @property
    def noise_band_in_unit(self) -> float | None:
        """The noise band in the measurement's unit: of the value judged against (the baseline, or
        its value at the machine's current speed)."""
        if self.noise_band is None or self.baseline is None:
            return None
        judged_against = self.speed.expected if self.speed is not None else self.baseline
        return self.noise_band * abs(judged_against)

    @property
    def change(self) -> float | None:
        """Signed relative change of the current value against the baseline value."""
        if self.baseline is None:
            return None
        if self.baseline == 0:
            return 0.0 if self.current == 0 else math.copysign(math.inf, self.current)
        return (self.current - self.baseline) / abs(self.baseline)

    @property
    def metric(self) -> str:
        if self.check.statistic in ("value", self.measurement.statistic):
            if not self.measurement.samples:
                return self.measurement.name
            return f"{self.measurement.name} ({self.measurement.statistic})"
        return f"{self.measurement.name} ({self.check.statistic})"

    def describe_threshold(self) -> str:
        parts = []
        if self.check.threshold is not None:
            parts.append(f"{_worse_sign(self.measurement.direction)}{self.check.threshold}")
        if self.noise_band is not None:
            runs = f" ({recorded_runs(self.recorded_runs)})" if self.recorded_runs is not None else ""
            band = self.noise_band_in_unit if self.in_points else None
            width = f"{band:.2f} points" if band is not None and math.isfinite(band) else f"{self.noise_band * 100:.1f}%"
            parts.append(f"noise ±{width}{runs}")
        if self.check.limit is not None:
            comparator = "≤" if self.measurement.direction is Direction.LOWER_IS_BETTER else "≥"
            parts.append(f"limit {comparator} {self.check.limit}")
        return ", ".join(parts) if parts else "-"

    @property
    def adjusted_change(self) -> float | None:
        """Relative change against the baseline at the machine's current speed (None unadjusted)."""
        if self.speed is None or self.speed.expected == 0:
            return None
        return (self.current - self.speed.expected) / abs(self.speed.expected)

    def describe_change(self) -> str:
        """The change as the reports print it: ``+12.0%``, ``-0.80 points`` for a quality score."""
        if self.in_points:
            difference = self.difference
            return "-" if difference is None or math.isnan(difference) else f"{signed_number(difference, 2)} points"
        change = self.change
        if change is None or math.isnan(change):
            return "-"
        if math.isinf(change):
            return "+inf%" if change > 0 else "-inf%"
        adjusted = self.adjusted_change
        if adjusted is not None and abs(self.speed.slowdown - 1) >= 0.02:  # type: ignore[union-attr]
            return f"{signed_number(change * 100, 1)}% ({signed_number(adjusted * 100, 1)}% at this speed)"
        return f"{signed_number(change * 100, 1)}%"

    def describe_value(self, value: float | None) -> str:
        if value is None:
            return "-"
        return "N/A" if math.isnan(value) else format_value(value, self.measurement.unit)


def _worse_sign(direction: Direction) -> str:
    return "+" if direction is Direction.LOWER_IS_BETTER else "-"
