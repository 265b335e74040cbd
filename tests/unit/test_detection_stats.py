"""The Wilson interval behind benchmarks/detection.py's rates, against scipy's and its definition; the trials' order."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from statistics import NormalDist
from types import ModuleType

import pytest
from scipy.stats import binomtest

REPOSITORY = Path(__file__).resolve().parents[2]


def _benchmark_module(name: str) -> ModuleType:
    """A script of benchmarks/, which is not a package, loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, REPOSITORY / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


detection_stats = _benchmark_module("detection_stats")

COUNTS = [(0, 30), (1, 30), (15, 30), (28, 30), (29, 30), (30, 30), (0, 1), (1, 1), (3, 7), (57, 60), (0, 240)]


@pytest.mark.parametrize(("failures", "runs"), COUNTS)
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_matches_scipy_wilson_interval(failures, runs, confidence):
    expected = binomtest(failures, runs).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = detection_stats.wilson_interval(failures, runs, confidence)
    assert low == pytest.approx(float(expected.low), abs=1e-12)
    assert high == pytest.approx(float(expected.high), abs=1e-12)


@pytest.mark.parametrize(("failures", "runs"), [(1, 30), (15, 30), (29, 30), (3, 7)])
def test_ends_are_where_the_score_test_is_on_its_edge(failures, runs):
    """By definition each end p satisfies |p̂ - p| = z sqrt(p (1 - p) / n)."""
    z = NormalDist().inv_cdf(0.975)
    rate = failures / runs
    for end in detection_stats.wilson_interval(failures, runs):
        assert abs(rate - end) == pytest.approx(z * math.sqrt(end * (1 - end) / runs), rel=1e-9)


def test_none_of_thirty_has_the_closed_form_upper_end():
    """At p̂ = 0 the quadratic's upper root is z^2 / (n + z^2): 0.1135 for 30 runs at 95%."""
    z = NormalDist().inv_cdf(0.975)
    assert detection_stats.wilson_interval(0, 30) == (0.0, pytest.approx(z * z / (30 + z * z)))
    assert detection_stats.wilson_interval(0, 30)[1] == pytest.approx(0.11351339, abs=1e-8)


def test_no_runs_know_nothing():
    assert detection_stats.wilson_interval(0, 0) == (0.0, 1.0)
    assert detection_stats.describe_rate(0, 0) == "no runs"


@pytest.mark.parametrize(("failures", "runs", "confidence"), [(31, 30, 0.95), (-1, 30, 0.95), (1, -1, 0.95), (1, 30, 1.0)])
def test_refuses_impossible_counts_and_confidences(failures, runs, confidence):
    with pytest.raises(ValueError):
        detection_stats.wilson_interval(failures, runs, confidence)


def test_describes_count_rate_and_interval():
    assert detection_stats.describe_rate(28, 30) == "28/30 93% [79-98%]"
    assert detection_stats.describe_rate(0, 30) == "0/30 0% [0-11%]"


def test_trials_take_turns_between_tools_and_slowdowns():
    """Each pair of trials alternates which tool goes first, and the slowdowns rotate from run to run."""
    order = _benchmark_module("detection").schedule(2, [0, 5, 10], ["modelperf", "pytest-benchmark"])
    assert order == [
        (0, 0, "modelperf"), (0, 0, "pytest-benchmark"),
        (0, 5, "pytest-benchmark"), (0, 5, "modelperf"),
        (0, 10, "modelperf"), (0, 10, "pytest-benchmark"),
        (1, 5, "pytest-benchmark"), (1, 5, "modelperf"),
        (1, 10, "modelperf"), (1, 10, "pytest-benchmark"),
        (1, 0, "pytest-benchmark"), (1, 0, "modelperf"),
    ]  # fmt: skip
