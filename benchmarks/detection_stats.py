"""Wilson score intervals for the detection and false-alarm rates of benchmarks/detection.py.

Of ``n`` runs, ``k`` failed: the observed rate is ``p̂ = k / n``. The Wilson interval is every
true rate ``p`` that the score test at this confidence does not reject, i.e. where the observed
rate lies within ``z`` standard errors *computed at p itself*:

    (p̂ - p)^2 <= z^2 p (1 - p) / n

Expanded, this is the quadratic ``p^2 (1 + z^2/n) - p (2 p̂ + z^2/n) + p̂^2 <= 0``, whose roots
are the interval's ends:

    p = (p̂ + z^2 / (2n) ± z sqrt(p̂ (1 - p̂) / n + z^2 / (4 n^2))) / (1 + z^2 / n)

Unlike p̂ ± z sqrt(p̂ (1 - p̂) / n), it stays inside [0, 1] and does not collapse to a point at
0 of 30 or 30 of 30, the counts a detection benchmark is after.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_interval(failures: int, runs: int, confidence: float = 0.95) -> tuple[float, float]:
    """The two-sided Wilson score interval of a rate seen as ``failures`` of ``runs``; (0, 1) for no runs."""
    if runs < 0 or not 0 <= failures <= max(runs, 0):
        raise ValueError(f"need 0 <= failures <= runs, got {failures} of {runs}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    if runs == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rate = failures / runs
    scale = 1 + z * z / runs
    centre = (rate + z * z / (2 * runs)) / scale
    half_width = z * math.sqrt(rate * (1 - rate) / runs + z * z / (4 * runs * runs)) / scale
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def describe_rate(failures: int, runs: int, confidence: float = 0.95) -> str:
    """``"28/30 93% [79-98%]"``: the count, the rate and its Wilson interval, in whole percents."""
    if runs == 0:
        return "no runs"
    low, high = wilson_interval(failures, runs, confidence)
    return f"{failures}/{runs} {failures / runs:.0%} [{low * 100:.0f}-{high * 100:.0f}%]"
