"""A seeded Monte Carlo test of the decision rule: false alarms and power against analytic values.

Recorded runs and the new run are drawn as ``100 * (1 + sigma * e)`` with ``e`` standard normal
and ``sigma`` the assumed spread (the assumption holds), the baseline is built from ``k`` runs,
and ``judge`` decides with a 0% threshold so that only the noise band decides.

The expected rates are computed here, independently of the implementation, from the rule as
documented: with ``m`` the mean of the runs, ``r`` their relative sample standard deviation,
``s^2 = (n0 * sigma0^2 + (k - 1) r^2) / (n0 + k - 1)`` and ``b = t(c, n0 + k - 1) * s * sqrt(1 + 1/k)``,
a new run ``x`` is a regression when ``x - m > b * m``. For normal runs the run mean and the
sample variance are independent (``(k - 1) S^2 / sigma^2`` is chi-square with ``k - 1`` degrees
of freedom), so the rate is a two-dimensional integral of a normal tail, done here by quadrature
with scipy's t and chi-square quantiles, not the package's own.
"""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome

SIGMA = 0.10  # the true between-run spread, also the assumed one
CONFIDENCE = 0.95
POLICY = NoisePolicy(confidence=CONFIDENCE, assumed_spread=SIGMA)
PRIOR_DOF = POLICY.assumed_spread_weight
ZERO_THRESHOLD = Check("value", parse_quantity("0%"), None)
LOWER = Direction.LOWER_IS_BETTER
RUN_COUNTS = range(1, 11)


def analytic_rate(runs: int, slowdown: float) -> float:
    """P(regression) for ``runs`` recorded runs and a new run ``slowdown`` times slower."""
    hermite_nodes, hermite_weights = np.polynomial.hermite_e.hermegauss(60)
    mean_offsets = hermite_nodes / math.sqrt(runs)  # the run mean's e: N(0, 1/k)
    mean_weights = hermite_weights / math.sqrt(2 * math.pi)
    if runs == 1:
        variance_draws, variance_weights = np.zeros(1), np.ones(1)
    else:
        levels = (np.arange(2000) + 0.5) / 2000
        variance_draws = scipy_stats.chi2.ppf(levels, runs - 1) / (runs - 1)  # S^2 / sigma^2
        variance_weights = np.full(2000, 1 / 2000)
    mean = 1 + SIGMA * mean_offsets[:, None]  # relative to 100
    relative_spread = SIGMA * np.sqrt(variance_draws)[None, :] / mean
    freedom = PRIOR_DOF + runs - 1
    pooled = np.sqrt((PRIOR_DOF * SIGMA**2 + (runs - 1) * relative_spread**2) / freedom)
    band = scipy_stats.t.ppf(CONFIDENCE, freedom) * pooled * math.sqrt(1 + 1 / runs)
    # regression: slowdown * (1 + SIGMA * e_new) > mean * (1 + band)
    tail = scipy_stats.norm.sf((mean * (1 + band) / slowdown - 1) / SIGMA)
    return float(mean_weights @ tail @ variance_weights)


def simulated_rate(runs: int, slowdown: float, trials: int, rng: random.Random) -> float:
    failures = 0
    for _ in range(trials):
        values = [100.0 * (1 + SIGMA * rng.gauss(0.0, 1.0)) for _ in range(runs)]
        baseline = BaselineEntry(
            unit="ms",
            direction=LOWER,
            deterministic=False,
            statistic="value",
            summary={"value": values[-1]},
            runs=tuple({"value": value} for value in values),
        )
        new = Measurement("latency", "ms", LOWER, slowdown * 100.0 * (1 + SIGMA * rng.gauss(0.0, 1.0)))
        failures += judge(new, ZERO_THRESHOLD, baseline, POLICY).outcome is Outcome.REGRESSION
    return failures / trials


def test_the_analytic_rates_are_sane() -> None:
    # k = 1 by hand: b = t(0.95, 6) * sigma * sqrt(2) = 1.9432 * 0.1 * 1.41421 = 0.27481 (table t);
    # a regression is sigma * (e_new - (1 + b) e_1) > b, a normal of sd 0.1 * sqrt(1 + 1.27481^2)
    # = 0.16202, so the rate is P(Z > 0.27481 / 0.16202 = 1.6962) = 0.0449, below the nominal 0.05.
    assert analytic_rate(1, 1.0) == pytest.approx(0.0449, abs=0.0002)
    assert analytic_rate(10, 2.0) > 0.99


def test_false_alarms_stay_within_the_nominal_rate_and_match_the_analytic_rate() -> None:
    rng = random.Random(20261129)
    trials = 800
    simulated, expected = [], []
    for runs in RUN_COUNTS:
        rate, analytic = simulated_rate(runs, 1.0, trials, rng), analytic_rate(runs, 1.0)
        simulated.append(rate)
        expected.append(analytic)
        assert analytic <= 1 - CONFIDENCE
        error = math.sqrt(analytic * (1 - analytic) / trials)
        assert abs(rate - analytic) <= 4 * error + 0.002, (runs, rate, analytic)
    total_error = math.sqrt(sum(e * (1 - e) for e in expected) / trials) / len(expected)
    assert abs(sum(simulated) / len(simulated) - sum(expected) / len(expected)) <= 3 * total_error


@pytest.mark.parametrize("slowdown", [1.25, 2.0])
def test_power_matches_the_analytic_power_and_grows_with_runs(slowdown: float) -> None:
    rng = random.Random(int(slowdown * 1000))
    trials = 200
    powers = []
    for runs in RUN_COUNTS:
        rate, analytic = simulated_rate(runs, slowdown, trials, rng), analytic_rate(runs, slowdown)
        powers.append(analytic)
        error = math.sqrt(max(analytic * (1 - analytic), 0.0025) / trials)
        assert abs(rate - analytic) <= 4 * error, (runs, rate, analytic)
    assert all(later > earlier for earlier, later in itertools.pairwise(powers)) or min(powers) > 0.999
