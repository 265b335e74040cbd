"""Statistics over samples: summaries, quantiles, bootstrap dispersion, run spreads and quantiles
of the normal and Student's t distributions.

Deterministic (the bootstrap takes an explicit seed). The t distribution is scipy's, imported
when first needed, so that importing this module stays light.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

SUMMARY_STATISTICS: tuple[str, ...] = ("mean", "std", "min", "max", "median", "p90", "p95", "p99", "iqr")
QUANTILE_LEVELS: tuple[float, ...] = tuple(i / 20 for i in range(21))  # 0%, 5%, ..., 100%


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between order statistics."""
    if not samples:
        raise ValueError("percentile of an empty sample")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile level must be within 0..100, got {q}")
    ordered = sorted(samples)
    return _interpolate(ordered, q / 100.0)


def _interpolate(ordered: Sequence[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    weight = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * weight


def statistic(samples: Sequence[float], name: str) -> float:
    """One named statistic of a sample: mean, std, min, max, median, pNN or iqr."""
    if not samples:
        raise ValueError(f"statistic {name!r} of an empty sample")
    if name == "mean":
        return math.fsum(samples) / len(samples)
    if name == "std":
        if len(samples) < 2:
            return 0.0
        mean = math.fsum(samples) / len(samples)
        return math.sqrt(math.fsum((x - mean) ** 2 for x in samples) / (len(samples) - 1))
    if name == "min":
        return min(samples)
    if name == "max":
        return max(samples)
    if name == "median":
        return percentile(samples, 50)
    if name == "iqr":
        return percentile(samples, 75) - percentile(samples, 25)
    if name.startswith("p") and name[1:].replace(".", "", 1).isdigit():
        return percentile(samples, float(name[1:]))
    raise ValueError(f"unknown statistic {name!r}; use one of {', '.join(SUMMARY_STATISTICS)} or pNN")


def is_known_statistic(name: str) -> bool:
    if name in SUMMARY_STATISTICS:
        return True
    return name.startswith("p") and name[1:].replace(".", "", 1).isdigit() and 0 <= float(name[1:]) <= 100


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """All summary statistics plus the number of rounds."""
    summary = {name: statistic(samples, name) for name in SUMMARY_STATISTICS}
    summary["rounds"] = float(len(samples))
    return summary


def quantile_sketch(samples: Sequence[float]) -> list[float]:
    """The sample's quantiles at 5% steps: a compact picture of the whole distribution."""
    ordered = sorted(samples)
    return [_interpolate(ordered, level) for level in QUANTILE_LEVELS]


def bootstrap_relative_std(samples: Sequence[float], name: str, *, resamples: int = 400, seed: int = 0) -> float:
    """Relative standard error of a statistic, estimated by bootstrap resampling.

    The relative form (standard error divided by the statistic) is what a comparison
    against a baseline needs: it says how far this run's value could move by chance alone.
    """
    if len(samples) < 2:
        return 0.0
    point = statistic(samples, name)
    if point == 0:
        return 0.0
    rng = random.Random(seed)
    n = len(samples)
    estimates = [statistic([samples[rng.randrange(n)] for _ in range(n)], name) for _ in range(resamples)]
    return statistic(estimates, "std") / abs(point)


# Hampel's identifier: a run further from the runs' median than this many robust standard
# deviations was taken in another machine state and says nothing about the usual spread.
ODD_RUN_CUTOFF = 3.5
MAD_TO_STANDARD_DEVIATION = 1.4826  # 1 / the normal's 75% quantile: MAD * 1.4826 estimates sigma


@dataclass(frozen=True)
class Spread:
    """A relative standard deviation and the degrees of freedom it was estimated with."""

    relative: float
    degrees_of_freedom: int

    def __post_init__(self) -> None:
        if self.relative < 0 or not math.isfinite(self.relative):
            raise ValueError(f"a spread must be a finite non-negative number, got {self.relative}")
        if self.degrees_of_freedom < 1:
            raise ValueError(f"a spread needs at least one degree of freedom, got {self.degrees_of_freedom}")

    def pooled_with(self, *others: Spread | None) -> Spread:
        """The pooled estimate: variances weighted by their degrees of freedom, which add up."""
        parts = [self, *(other for other in others if other is not None)]
        freedom = sum(part.degrees_of_freedom for part in parts)
        variance = math.fsum(part.degrees_of_freedom * part.relative**2 for part in parts) / freedom
        return Spread(math.sqrt(variance), freedom)

    def capped(self, degrees_of_freedom: int) -> Spread:
        """The same spread counted as at most ``degrees_of_freedom``: old evidence weighs less."""
        return Spread(self.relative, min(self.degrees_of_freedom, degrees_of_freedom))


@dataclass(frozen=True)
class RunSpread:
    """The spread of run-level values once odd runs are set aside."""

    center: float  # the mean of the typical runs
    spread: Spread | None  # None below two typical runs
    odd_runs: int


def typical_values(values: Sequence[float], *, floor: float = 0.0) -> list[float]:
    """The values within 3.5 robust standard deviations of their median (Hampel's identifier).

    The robust standard deviation is 1.4826 times the median absolute deviation, but never less
    than ``floor`` times the median: with three runs the median absolute deviation is the smaller
    of two gaps and can be tiny by chance, and a spread the user assumed is not odd. Two runs
    cannot say which of them is odd, so they are both kept.
    """
    if len(values) < 3:
        return list(values)
    center = statistic(values, "median")
    deviation = statistic([abs(value - center) for value in values], "median")
    scale = max(MAD_TO_STANDARD_DEVIATION * deviation, floor * abs(center))
    return [value for value in values if abs(value - center) <= ODD_RUN_CUTOFF * scale]


def run_spread(values: Sequence[float], *, floor: float = 0.0) -> RunSpread | None:
    """Mean and relative sample standard deviation of the typical values (None when empty)."""
    if not values:
        return None
    typical = typical_values(values, floor=floor)
    center = math.fsum(typical) / len(typical)
    spread = None
    if len(typical) >= 2:
        relative = statistic(typical, "std") / abs(center) if center != 0 else 0.0
        spread = Spread(relative, len(typical) - 1)
    return RunSpread(center, spread, len(values) - len(typical))


def one_sided_z(confidence: float) -> float:
    """The normal quantile for a one-sided test at the given confidence (0.99 -> 2.33), by the
    standard library's ``NormalDist``: exact to double precision, with no import to wait for."""
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0.5, 1), got {confidence}")
    return NormalDist().inv_cdf(confidence)


@cache  # every check asks for the same few
def one_sided_t(confidence: float, degrees_of_freedom: int) -> float:
    """Student's t quantile (0.99 with 6 degrees of freedom -> 3.14).

    A spread estimated from k recorded runs is itself uncertain; the prediction interval for
    one more run uses t with k - 1 degrees of freedom, which is wider than the normal quantile
    for few runs and tends to it as runs accumulate.
    """
    one_sided_z(confidence)  # validates the range
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom must be at least 1, got {degrees_of_freedom}")
    from scipy.special import stdtrit  # the inverse of Student's t CDF; imported here to keep start-up light

    return float(stdtrit(degrees_of_freedom, confidence))


def prediction_band(confidence: float, spread: Spread, runs: int, within: float = 0.0) -> float:
    """The one-sided relative bound that one more run stays within against the mean of ``runs``.

    ``t * sqrt(s^2 (1 + 1/runs) + within^2)``: the new run and the mean of the recorded runs
    both scatter by the between-run spread ``s``, this run's statistic by its own standard
    error ``within``; ``t`` is Student's quantile with the degrees of freedom ``s`` was
    estimated with, since ``s`` is itself an estimate.
    """
    if runs < 1:
        raise ValueError(f"a prediction needs at least one recorded run, got {runs}")
    quantile = one_sided_t(confidence, spread.degrees_of_freedom)
    return quantile * math.sqrt(spread.relative**2 * (1 + 1 / runs) + within**2)
