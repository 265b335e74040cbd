"""Pure statistics over samples: summaries, quantiles and bootstrap dispersion.

No third-party imports: these functions run in the comparison path of every test and in
the unit tests, and must be deterministic (the bootstrap takes an explicit seed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
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


def bootstrap_relative_std(
    samples: Sequence[float], name: str, *, resamples: int = 400, seed: int = 0
) -> float:
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


def relative_spread(values: Sequence[float]) -> float | None:
    """Sample standard deviation of run-level values relative to their median; None below 2."""
    if len(values) < 2:
        return None
    center = statistic(values, "median")
    if center == 0:
        return 0.0
    return statistic(values, "std") / abs(center)


def one_sided_z(confidence: float) -> float:
    """The normal quantile for a one-sided test at the given confidence (0.99 -> 2.33)."""
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0.5, 1), got {confidence}")
    return NormalDist().inv_cdf(confidence)


def one_sided_t(confidence: float, degrees_of_freedom: int) -> float:
    """Student's t quantile (0.99 with 6 degrees of freedom -> 3.14).

    A spread estimated from k recorded runs is itself uncertain; the prediction interval for
    one more run uses t with k - 1 degrees of freedom, which is wider than the normal quantile
    for few runs and tends to it as runs accumulate.
    """
    normal = one_sided_z(confidence)
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom must be at least 1, got {degrees_of_freedom}")
    low, high = normal, normal
    while student_t_cdf(high, degrees_of_freedom) < confidence:
        high *= 2.0
    for _ in range(200):  # bisection: the CDF is monotonic, so this converges to float precision
        middle = (low + high) / 2.0
        if student_t_cdf(middle, degrees_of_freedom) < confidence:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return (low + high) / 2.0


def student_t_cdf(t: float, degrees_of_freedom: int) -> float:
    x = degrees_of_freedom / (degrees_of_freedom + t * t)
    tail = 0.5 * _regularized_incomplete_beta(x, degrees_of_freedom / 2.0, 0.5)
    return 1.0 - tail if t >= 0 else tail


def _regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) by its continued fraction (Lentz's method), mirrored where it converges slowly."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _regularized_incomplete_beta(1.0 - x, b, a)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * fraction / a
