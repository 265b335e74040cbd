"""Judging a measurement against its baseline entry and limits: the noise band, the machine's
speed, and the verdict.

A sampled metric counts as a regression only when its change towards worse exceeds both
the user's threshold and the noise band. The noise band is ``t * sqrt(s^2 (1 + 1/k) + s_w^2)``
of the baseline value (the mean of its ``k`` typical recorded runs), where ``s`` pools the
assumed spread, counted as ``n0`` degrees of freedom, with the relative spread between the
recorded runs (``k - 1`` more, plus any learned before the last update), ``s_w`` is the
bootstrap standard error of the statistic in this run, and ``t`` is Student's one-sided
quantile with ``n0 + k - 1`` degrees of freedom. The band therefore shrinks as runs are
recorded and never rests on a spread from two runs alone. Deterministic metrics have no band.

A quality score (accuracy, F1, a perplexity) carries its per-example outcomes instead: its band
is ``z`` times the bootstrap standard error of the change over the evaluated examples, in the
measurement's own unit, paired with the baseline's outcomes when both evaluated the same
examples (see ``core.example_outcomes``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from . import stats
from .baseline_entry import MAX_RECORDED_RUNS, BaselineEntry
from .example_outcomes import difference_error
from .measurement import NOT_FINITE, Direction, Measurement, is_fault
from .units import Quantity, UnitError, convert, format_value, is_score, speed_exponent
from .verdict import Check, Outcome, SpeedAdjustment, Verdict, recorded_runs


class ComparisonError(ValueError):
    """The measurement and its baseline cannot be compared (unit, direction or statistic differ)."""


@dataclass(frozen=True)
class NoisePolicy:
    enabled: bool = True
    confidence: float = 0.99
    assumed_spread: float = 0.05
    bootstrap_resamples: int = 400
    # The assumed spread counts as this many degrees of freedom (as many recorded runs, plus
    # one): the learned spread refines it, and Student's t never drops below this many.
    assumed_spread_weight: int = 6

    def __post_init__(self) -> None:
        stats.one_sided_z(self.confidence)  # validates the range
        if self.assumed_spread < 0:
            raise ValueError(f"assumed_spread must not be negative, got {self.assumed_spread}")
        if self.assumed_spread_weight < 1:
            raise ValueError(f"assumed_spread_weight must be at least 1, got {self.assumed_spread_weight}")


# A band this many times the threshold is flagged: the check cannot catch what it claims to.
WIDE_BAND_FACTOR = 3.0


@dataclass(frozen=True)
class NoiseBand:
    """The noise band of a sampled metric and what it was made of."""

    relative: float  # of the value judged against
    runs: int  # recorded runs the baseline value is the mean of
    spread: stats.Spread  # between-run spread: the assumed one pooled with the learned one
    within: float  # this run's own relative standard error
    confidence: float
    odd_runs: int = 0  # recorded runs set aside as taken in another machine state

    def with_more_runs(self, more: int) -> float:
        """The band if ``more`` runs were recorded and taught the same spread."""
        grown = stats.Spread(self.spread.relative, self.spread.degrees_of_freedom + more)
        return stats.prediction_band(self.confidence, grown, self.runs + more, self.within)

    def describe(self, relative_threshold: float) -> str:
        """Notes for the verdict: why the band is wide, and whether the check can still fail."""
        notes = []
        if self.odd_runs:
            notes.append(f"{self.odd_runs} odd recorded run{'s' if self.odd_runs > 1 else ''} set aside")
        if self.relative > relative_threshold:
            more = self._runs_to_narrow(relative_threshold)
            if more is not None:
                notes.append(
                    f"band ±{self.relative * 100:.0f}% from {recorded_runs(self.runs)}; "
                    f"{more} more would bring it near ±{self.with_more_runs(more) * 100:.0f}%"
                )
        if relative_threshold > 0 and self.relative > WIDE_BAND_FACTOR * relative_threshold:
            notes.append(
                f"warning: the noise band is {self.relative / relative_threshold:.0f}x the threshold, "
                f"so only a change beyond ±{self.relative * 100:.0f}% can fail"
            )
        return "; ".join(notes)

    def _runs_to_narrow(self, relative_threshold: float) -> int | None:
        """Fewest more runs that bring the band within the threshold, else up to the recorded-run cap;
        None when more runs would not narrow it by a tenth."""
        room = MAX_RECORDED_RUNS - self.runs
        if room < 1:
            return None
        for more in range(1, room + 1):
            if self.with_more_runs(more) <= relative_threshold:
                return more
        return room if self.with_more_runs(room) < 0.9 * self.relative else None


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
        detail = _limit_detail(measurement, current, check) if over_limit else ""
        return Verdict(measurement, check, outcome, current, detail=detail)

    base = _baseline_value(measurement, check.statistic, baseline, spread_floor=policy.assumed_spread)
    speed = _speed_adjustment(measurement, check.statistic, baseline, policy) if policy.enabled else None
    judged_against = speed.expected if speed is not None else base
    excess = signed_worsening(measurement.direction, judged_against, current)  # in the measurement's unit
    allowed = allowed_excess(check.threshold, judged_against, measurement.unit)
    band: NoiseBand | None = None
    if measurement.examples is not None:
        noise, note = _sampling_band(measurement, baseline, policy, base)
    else:
        band = _noise_band(measurement, check.statistic, baseline, policy, speed)
        noise = band.relative if band is not None else None
        relative_allowed = allowed / abs(judged_against) if judged_against else math.inf
        notes = [band.describe(relative_allowed)] if band is not None else []
        if speed is not None:
            notes.append(speed.describe(measurement.unit))
        elif policy.enabled:
            notes.append(_reference_mismatch(measurement, baseline))
        note = "; ".join(note for note in notes if note)
    noise_abs = noise * abs(judged_against) if noise is not None else 0.0

    if over_limit:
        outcome, detail = Outcome.OVER_LIMIT, _limit_detail(measurement, current, check)
    elif excess > allowed and excess > noise_abs:
        outcome, detail = Outcome.REGRESSION, _beyond("worse", check.threshold, noise)
    elif -excess > allowed and -excess > noise_abs:
        outcome, detail = Outcome.IMPROVEMENT, _beyond("better", check.threshold, noise)
    elif excess > allowed:
        outcome, detail = Outcome.PASS, "beyond the threshold but within the noise band"
    else:
        outcome, detail = Outcome.PASS, ""
    if speed is not None and outcome in (Outcome.REGRESSION, Outcome.IMPROVEMENT):
        outcome, detail = _as_measured_too(outcome, detail, measurement, check.threshold, base, current)
    if note and outcome is not Outcome.OVER_LIMIT:
        detail = f"{detail}; {note}" if detail else note
    runs = band.runs if band is not None else None
    return Verdict(measurement, check, outcome, current, base, noise, detail, speed, runs)


def _beyond(worse_or_better: str, threshold: Quantity, noise: float | None) -> str:
    """Why a change counts: beyond the threshold and the noise band, or, for a check without a
    band (an exact or deterministic check, or noise handling off), beyond the threshold alone."""
    if noise is not None:
        return f"{worse_or_better} than the baseline beyond the threshold and the noise band"
    if threshold.value == 0:
        allowed = "; an exact check allows no change towards worse" if worse_or_better == "worse" else ""
        return f"{worse_or_better} than the baseline{allowed}"
    return f"{worse_or_better} than the baseline beyond the threshold"


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
            measurement,
            check,
            Outcome.IMPROVEMENT,
            current,
            math.nan,
            detail=f"measured now; the baseline was N/A ({baseline.unavailable})",
        )

    current = math.nan
    if check.limit is not None:
        detail = f"N/A ({reason}), so not within the limit {check.limit}"
        return Verdict(measurement, check, Outcome.OVER_LIMIT, current, detail=detail)
    if check.threshold is None:
        return Verdict(measurement, check, Outcome.PASS, current, detail=f"N/A ({reason})")
    if baseline is None:
        return Verdict(measurement, check, Outcome.NO_BASELINE, current, detail=f"N/A ({reason})")
    if baseline.unavailable is not None and is_fault(reason):
        return Verdict(
            measurement,
            check,
            Outcome.REGRESSION,
            current,
            math.nan,
            detail=f"N/A ({reason}): a measuring fault fails against any baseline (it was N/A: {baseline.unavailable})",
        )
    if baseline.unavailable is not None:
        return Verdict(measurement, check, Outcome.PASS, current, math.nan, detail=f"N/A ({reason}), as in the baseline")
    base = _baseline_value(measurement, check.statistic, baseline)
    return Verdict(measurement, check, Outcome.REGRESSION, current, base, detail=f"N/A ({reason}); the baseline measured a value")


def _baseline_value(measurement: Measurement, statistic: str, baseline: BaselineEntry, *, spread_floor: float = 0.0) -> float:
    name = measurement.name
    if baseline.direction is not measurement.direction:
        raise ComparisonError(
            f"{name}: the baseline says {baseline.direction.value}, the measurement {measurement.direction.value}"
        )
    key = measurement.statistic if statistic == "value" else statistic
    if not baseline.has_statistic(key):
        raise ComparisonError(f"{name}: the baseline has no statistic {key!r} (it has: {', '.join(baseline.summary)})")
    value = baseline.center(key, spread_floor=spread_floor)
    if baseline.unit != measurement.unit:
        try:
            value = convert(value, baseline.unit, measurement.unit)
        except UnitError as error:
            mismatch = f"baseline unit {baseline.unit!r} does not match {measurement.unit!r}"
            raise ComparisonError(f"{name}: {mismatch}: {error}") from None
    return value


def signed_worsening(direction: Direction, base: float, current: float) -> float:
    """How much worse ``current`` is than ``base`` (negative: better), in their unit."""
    return current - base if direction is Direction.LOWER_IS_BETTER else base - current


def allowed_excess(threshold: Quantity, base: float, unit: str) -> float:
    """The change towards worse ``threshold`` allows from ``base``, in ``unit``."""
    if threshold.is_relative:
        return threshold.value / 100.0 * abs(base)
    return threshold.in_unit(unit)


def _noise_band(
    measurement: Measurement, statistic: str, baseline: BaselineEntry, policy: NoisePolicy, speed: SpeedAdjustment | None = None
) -> NoiseBand | None:
    """How far this run may stray from the baseline by chance, as a fraction of the value judged against.

    The between-run spread is the assumed one (``assumed_spread_weight`` degrees of freedom)
    pooled with what the recorded runs (and the runs before the last update) taught: a prior
    that the runs refine, so that neither few runs nor one odd run can make the band useless.
    """
    if measurement.deterministic or baseline.deterministic or not policy.enabled:
        return None
    key = measurement.statistic if statistic == "value" else statistic
    floor = policy.assumed_spread
    if speed is not None:
        learned, runs, odd_runs = speed.spread, speed.runs, speed.odd_runs
    else:
        current = baseline.between_run_spread(key, spread_floor=floor)
        learned = baseline.learned_spread(key, spread_floor=floor)
        odd_runs = current.odd_runs if current is not None else 0
        runs = len([run for run in baseline.runs if key in run]) - odd_runs
    spread = stats.Spread(policy.assumed_spread, policy.assumed_spread_weight).pooled_with(learned)
    within = stats.bootstrap_relative_std(measurement.samples, key, resamples=policy.bootstrap_resamples)
    if speed is not None:  # the reference's own median is an estimate too
        reference = stats.bootstrap_relative_std(measurement.reference, "median", resamples=policy.bootstrap_resamples)
        within = math.hypot(within, reference)
    runs = max(runs, 1)
    relative = stats.prediction_band(policy.confidence, spread, runs, within)
    return NoiseBand(relative, runs, spread, within, policy.confidence, odd_runs)


def _as_measured_too(
    outcome: Outcome, detail: str, measurement: Measurement, threshold: Quantity, base: float, current: float
) -> tuple[Outcome, str]:
    """A change judged at the machine's speed stands only where the time as measured also moved
    beyond the threshold the same way: the adjustment can excuse a slow machine, but it never
    fails a time that is within the threshold of the baseline or better (a fast reference beside
    a contended model read "-81.0% (+520.9% at this speed)"), nor flatters one that is worse."""
    measured = signed_worsening(measurement.direction, base, current)
    allowed = allowed_excess(threshold, base, measurement.unit)
    if outcome is Outcome.REGRESSION and measured <= allowed:
        return Outcome.PASS, "worse at this speed, but not beyond the threshold as measured"
    if outcome is Outcome.IMPROVEMENT and -measured <= allowed:
        return Outcome.PASS, "better at this speed, but not beyond the threshold as measured"
    return outcome, detail


def _speed_adjustment(
    measurement: Measurement, statistic: str, baseline: BaselineEntry, policy: NoisePolicy
) -> SpeedAdjustment | None:
    """The baseline at the machine's current speed, when both sides timed the same reference workload."""
    identity = measurement.context.get("speed_reference")
    if measurement.unit != baseline.unit or not measurement.reference or identity is None:
        return None
    if identity != baseline.context.get("speed_reference"):
        return None
    exponent = speed_exponent(measurement.unit)
    key = measurement.statistic if statistic == "value" else statistic
    recorded = baseline.runs_in_reference_units(key)
    if exponent is None or not recorded:
        return None
    normalised = stats.run_spread([value for value, _ in recorded], floor=policy.assumed_spread)
    assert normalised is not None
    now = stats.statistic(measurement.reference, "median")
    then = stats.statistic([reference for _, reference in recorded], "median")
    return SpeedAdjustment(
        slowdown=now / then,
        expected=normalised.center * now**exponent,
        spread=baseline.learned_spread_in_reference_units(key, spread_floor=policy.assumed_spread),
        runs=len(recorded) - normalised.odd_runs,
        odd_runs=normalised.odd_runs,
    )


def _reference_mismatch(measurement: Measurement, baseline: BaselineEntry) -> str:
    """Why a timing is compared as measured although both sides timed a speed reference: the two
    references differ (in thread count or torch version), so their times do not compare."""
    now = measurement.context.get("speed_reference")
    then = baseline.context.get("speed_reference")
    if not isinstance(now, str) or not isinstance(then, str) or now == then:
        return ""
    old, new = then.split("/"), now.split("/")
    changed = [f"{a} then, {b} now" for a, b in zip(old, new, strict=False) if a != b] if len(old) == len(new) else []
    what = "; ".join(changed) if changed else f"{then} then, {now} now"
    return f"compared as measured, not at this speed: the speed reference differs ({what})"


def _sampling_band(
    measurement: Measurement, baseline: BaselineEntry, policy: NoisePolicy, base: float
) -> tuple[float | None, str]:
    """The noise band of a quality score: its sampling error over the evaluated examples,
    paired example by example with the baseline's when both evaluated the same examples."""
    assert measurement.examples is not None
    if not policy.enabled or base == 0:
        return None, ""
    error, paired = difference_error(measurement.examples, baseline.examples)
    count = len(measurement.examples)
    how = f"paired over {count} examples" if paired else f"unpaired, {count} examples"
    band = stats.one_sided_z(policy.confidence) * error
    spread = f"{error:.2f} points" if is_score(measurement.unit) else format_value(error, measurement.unit)
    return band / abs(base), f"sampling error of the change ±{spread} ({how})"


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
