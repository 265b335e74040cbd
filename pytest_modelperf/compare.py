"""Comparison of a measurement with its baseline entry and limits, giving a verdict.

A sampled metric counts as a regression only when its change towards worse exceeds both
the user's threshold and the noise band. The noise band is ``z * sqrt(s_b^2 (1 + 1/k) + s_w^2)``
of the baseline value, where ``s_b`` is the relative spread of the statistic between the
baseline's ``k`` recorded runs (or the assumed spread when fewer than two runs are recorded),
``s_w`` the bootstrap standard error of the statistic in this run, and ``z`` the one-sided
normal quantile for the configured confidence. Deterministic metrics have no noise band.

A quality score (accuracy, F1) carries its per-example outcomes instead: its band is ``z``
times the bootstrap standard error of the change over the evaluated examples, paired with
the baseline's outcomes when both evaluated the same examples (see ``quality.outcomes``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

from . import stats
from .results import NOT_FINITE, BaselineEntry, Direction, Measurement, is_fault
from .units import Quantity, UnitError, convert, format_value


class Outcome(str, Enum):
    PASS = "pass"
    IMPROVEMENT = "improvement"
    REGRESSION = "regression"
    OVER_LIMIT = "over limit"
    NO_BASELINE = "no baseline"

    @property
    def failed(self) -> bool:
        return self in (Outcome.REGRESSION, Outcome.OVER_LIMIT)


class ComparisonError(ValueError):
    """The measurement and its baseline cannot be compared (unit, direction or statistic differ)."""


@dataclass(frozen=True)
class NoisePolicy:
    enabled: bool = True
    confidence: float = 0.99
    assumed_spread: float = 0.05
    bootstrap_resamples: int = 400

    def __post_init__(self) -> None:
        stats.one_sided_z(self.confidence)  # validates the range
        if self.assumed_spread < 0:
            raise ValueError(f"assumed_spread must not be negative, got {self.assumed_spread}")


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
    spread: float | None  # between-run relative spread of the value in reference units
    runs: int

    def describe(self, unit: str) -> str:
        pace = f"{self.slowdown:.2f}x slower" if self.slowdown >= 1 else f"{1 / self.slowdown:.2f}x faster"
        return f"machine {pace} than when recorded (reference workload); judged against {format_value(self.expected, unit)} at this speed"


@dataclass(frozen=True)
class Verdict:
    measurement: Measurement
    check: Check
    outcome: Outcome
    current: float
    baseline: float | None = None
    noise_band: float | None = None  # relative to the value judged against
    detail: str = ""
    speed: SpeedAdjustment | None = None

    @property
    def failed(self) -> bool:
        return self.outcome.failed

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
            return f"{self.measurement.name} ({self.measurement.statistic})" if self.measurement.samples else self.measurement.name
        return f"{self.measurement.name} ({self.check.statistic})"

    def describe_threshold(self) -> str:
        parts = []
        if self.check.threshold is not None:
            parts.append(f"{_worse_sign(self.measurement.direction)}{self.check.threshold}")
        if self.noise_band is not None:
            parts.append(f"noise ±{self.noise_band * 100:.1f}%")
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
        change = self.change
        if change is None or math.isnan(change):
            return "-"
        if math.isinf(change):
            return "+inf%" if change > 0 else "-inf%"
        adjusted = self.adjusted_change
        if adjusted is not None and abs(self.speed.slowdown - 1) >= 0.02:  # type: ignore[union-attr]
            return f"{change * 100:+.1f}% ({adjusted * 100:+.1f}% at this speed)"
        return f"{change * 100:+.1f}%"

    def describe_value(self, value: float | None) -> str:
        if value is None:
            return "-"
        return "N/A" if math.isnan(value) else format_value(value, self.measurement.unit)


def _worse_sign(direction: Direction) -> str:
    return "+" if direction is Direction.LOWER_IS_BETTER else "-"


def judge(measurement: Measurement, check: Check, baseline: BaselineEntry | None, policy: NoisePolicy) -> Verdict:
    """Compare one measurement with its baseline entry (or none) and its limit."""
    measurement = _unavailable_unless_finite(measurement, check.statistic)
    if measurement.unavailable is not None or (baseline is not None and baseline.unavailable is not None):
        return _judge_unavailable(measurement, check, baseline)
    current = measurement.value_of(check.statistic)
    over_limit = check.limit is not None and _beyond_limit(measurement, current, check.limit)
    if check.threshold is None or baseline is None:
        if over_limit:
            outcome = Outcome.OVER_LIMIT
        elif check.threshold is not None:
            outcome = Outcome.NO_BASELINE
        else:
            outcome = Outcome.PASS
        return Verdict(measurement, check, outcome, current, detail=_limit_detail(measurement, current, check) if over_limit else "")

    base = _baseline_value(measurement, check.statistic, baseline)
    speed = _speed_adjustment(measurement, check.statistic, baseline) if policy.enabled else None
    judged_against = speed.expected if speed is not None else base
    excess = _signed_worsening(measurement.direction, judged_against, current)  # in the measurement's unit
    allowed = _allowed_excess(check.threshold, judged_against, measurement.unit)
    if measurement.examples is not None:
        noise, note = _sampling_band(measurement, baseline, policy, base)
    else:
        noise, note = _noise_band(measurement, check.statistic, baseline, policy, speed), ""
        if speed is not None:
            note = speed.describe(measurement.unit)
    noise_abs = noise * abs(judged_against) if noise is not None else 0.0

    if over_limit:
        outcome, detail = Outcome.OVER_LIMIT, _limit_detail(measurement, current, check)
    elif excess > allowed and excess > noise_abs:
        outcome, detail = Outcome.REGRESSION, "worse than the baseline beyond the threshold and the noise band"
    elif -excess > allowed and -excess > noise_abs:
        outcome, detail = Outcome.IMPROVEMENT, "better than the baseline beyond the threshold and the noise band"
    elif excess > allowed:
        outcome, detail = Outcome.PASS, "beyond the threshold but within the noise band"
    else:
        outcome, detail = Outcome.PASS, ""
    if note and outcome is not Outcome.OVER_LIMIT:
        detail = f"{detail}; {note}" if detail else note
    return Verdict(measurement, check, outcome, current, base, noise, detail, speed)


def _unavailable_unless_finite(measurement: Measurement, statistic: str) -> Measurement:
    """The measurement, or, when the statistic judged is not a finite number, it as unavailable."""
    if measurement.unavailable is not None:
        return measurement
    try:
        current = measurement.value_of(statistic)
    except OverflowError:
        return replace(measurement, unavailable=f"{NOT_FINITE} (the {statistic} overflows)")
    if math.isfinite(current):
        return measurement
    return replace(measurement, unavailable=f"{NOT_FINITE} ({current} as the {statistic})")


def _judge_unavailable(measurement: Measurement, check: Check, baseline: BaselineEntry | None) -> Verdict:
    """Either side could not be measured (out of memory): equal when both could not, else a change."""
    reason = measurement.unavailable
    if reason is None:  # measured now, the baseline could not be
        current = measurement.value_of(check.statistic)
        assert baseline is not None and baseline.unavailable is not None
        if check.limit is not None and _beyond_limit(measurement, current, check.limit):
            return Verdict(measurement, check, Outcome.OVER_LIMIT, current, detail=_limit_detail(measurement, current, check))
        if check.threshold is None:
            return Verdict(measurement, check, Outcome.PASS, current)
        return Verdict(
            measurement, check, Outcome.IMPROVEMENT, current, math.nan,
            detail=f"measured now; the baseline was N/A ({baseline.unavailable})",
        )

    current = math.nan
    if check.limit is not None:
        return Verdict(measurement, check, Outcome.OVER_LIMIT, current, detail=f"N/A ({reason}), so not within the limit {check.limit}")
    if check.threshold is None:
        return Verdict(measurement, check, Outcome.PASS, current, detail=f"N/A ({reason})")
    if baseline is None:
        return Verdict(measurement, check, Outcome.NO_BASELINE, current, detail=f"N/A ({reason})")
    if baseline.unavailable is not None and is_fault(reason):
        return Verdict(
            measurement, check, Outcome.REGRESSION, current, math.nan,
            detail=f"N/A ({reason}): a measuring fault fails against any baseline (it was N/A: {baseline.unavailable})",
        )
    if baseline.unavailable is not None:
        return Verdict(measurement, check, Outcome.PASS, current, math.nan, detail=f"N/A ({reason}), as in the baseline")
    base = _baseline_value(measurement, check.statistic, baseline)
    return Verdict(measurement, check, Outcome.REGRESSION, current, base, detail=f"N/A ({reason}); the baseline measured a value")


def _baseline_value(measurement: Measurement, statistic: str, baseline: BaselineEntry) -> float:
    name = measurement.name
    if baseline.direction is not measurement.direction:
        raise ComparisonError(
            f"{name}: the baseline says {baseline.direction.value}, the measurement {measurement.direction.value}; "
            "re-record the baseline with --modelperf-update"
        )
    key = measurement.statistic if statistic == "value" else statistic
    if not baseline.has_statistic(key):
        raise ComparisonError(f"{name}: the baseline has no statistic {key!r} (it has: {', '.join(baseline.summary)})")
    value = baseline.center(key)
    if baseline.unit != measurement.unit:
        try:
            value = convert(value, baseline.unit, measurement.unit)
        except UnitError as error:
            raise ComparisonError(f"{name}: baseline unit {baseline.unit!r} does not match {measurement.unit!r}: {error}") from None
    return value


def _signed_worsening(direction: Direction, base: float, current: float) -> float:
    return current - base if direction is Direction.LOWER_IS_BETTER else base - current


def _allowed_excess(threshold: Quantity, base: float, unit: str) -> float:
    if threshold.is_relative:
        return threshold.value / 100.0 * abs(base)
    return threshold.in_unit(unit)


def _noise_band(
    measurement: Measurement, statistic: str, baseline: BaselineEntry, policy: NoisePolicy, speed: SpeedAdjustment | None = None
) -> float | None:
    if measurement.deterministic or baseline.deterministic or not policy.enabled:
        return None
    key = measurement.statistic if statistic == "value" else statistic
    if speed is not None:
        between, runs = speed.spread, speed.runs
    else:
        between, runs = baseline.between_run_spread(key), len([run for run in baseline.runs if key in run])
    estimated = between is not None
    if between is None:
        between = policy.assumed_spread
    within = stats.bootstrap_relative_std(measurement.samples, key, resamples=policy.bootstrap_resamples)
    if speed is not None:  # the reference's own median is an estimate too
        within = math.hypot(within, stats.bootstrap_relative_std(measurement.reference, "median", resamples=policy.bootstrap_resamples))
    runs = max(runs, 1)
    # A spread learned from k runs is an estimate: Student's t with k - 1 degrees of freedom.
    quantile = stats.one_sided_t(policy.confidence, runs - 1) if estimated else stats.one_sided_z(policy.confidence)
    return quantile * math.sqrt(between**2 * (1 + 1 / runs) + within**2)


# How a value scales with the machine's speed: times grow with the reference time, rates shrink.
_SPEED_EXPONENTS = {"time": 1, "samples_rate": -1, "tokens_rate": -1}


def _speed_adjustment(measurement: Measurement, statistic: str, baseline: BaselineEntry) -> SpeedAdjustment | None:
    """The baseline at the machine's current speed, when both sides timed the same reference workload."""
    from .results import REFERENCE_STATISTIC
    from .units import dimension

    exponent = _SPEED_EXPONENTS.get(dimension(measurement.unit)) if measurement.unit == baseline.unit else None
    identity = measurement.context.get("speed_reference")
    if exponent is None or not measurement.reference or identity is None or identity != baseline.context.get("speed_reference"):
        return None
    key = measurement.statistic if statistic == "value" else statistic
    recorded = [(run[key], run[REFERENCE_STATISTIC]) for run in baseline.runs if key in run and run.get(REFERENCE_STATISTIC)]
    if not recorded:
        return None
    normalised = [value / reference**exponent for value, reference in recorded]
    now = stats.statistic(measurement.reference, "median")
    then = stats.statistic([reference for _, reference in recorded], "median")
    return SpeedAdjustment(
        slowdown=now / then,
        expected=stats.statistic(normalised, "median") * now**exponent,
        spread=stats.relative_spread(normalised),
        runs=len(recorded),
    )


def _sampling_band(
    measurement: Measurement, baseline: BaselineEntry, policy: NoisePolicy, base: float
) -> tuple[float | None, str]:
    """The noise band of a quality score: its sampling error over the evaluated examples,
    paired example by example with the baseline's when both evaluated the same examples."""
    assert measurement.examples is not None
    if not policy.enabled or base == 0:
        return None, ""
    from .quality.outcomes import difference_error

    error, paired = difference_error(measurement.examples, baseline.examples)
    count = len(measurement.examples)
    how = f"paired over {count} examples" if paired else f"unpaired, {count} examples"
    band = stats.one_sided_z(policy.confidence) * error
    return band / abs(base), f"sampling error of the change ±{error:.2f} points ({how})"


def _beyond_limit(measurement: Measurement, current: float, limit: Quantity) -> bool:
    if limit.is_relative:
        raise UnitError(f"{measurement.name}: a limit must be absolute (e.g. '50ms'), got {limit}")
    bound = limit.in_unit(measurement.unit)
    if measurement.direction is Direction.LOWER_IS_BETTER:
        return current > bound
    return current < bound


def _limit_detail(measurement: Measurement, current: float, check: Check) -> str:
    assert check.limit is not None
    bound = check.limit.in_unit(measurement.unit)
    side = "above" if measurement.direction is Direction.LOWER_IS_BETTER else "below"
    return f"{format_value(current, measurement.unit)} is {side} the limit {format_value(bound, measurement.unit)}"
