"""How verdicts read: a quality score's change and noise band in points, thresholds with their
unit apart, no noise wording for checks without a noise band, and counts of outcomes in words."""

from __future__ import annotations

import random

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import Quantity, parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome

HIGHER = Direction.HIGHER_IS_BETTER
GATE = Check("value", parse_quantity("0.5 points"), None)


def answers(wrong: int = 0, n: int = 400) -> ExampleOutcomes:
    """A classifier right on about 80% of ``n`` examples, ``wrong`` of its right answers turned wrong."""
    rng = random.Random(1)
    right = [1.0 if rng.random() < 0.8 else 0.0 for _ in range(n)]
    for index in [i for i, value in enumerate(right) if value][:wrong]:
        right[index] = 0.0
    return ExampleOutcomes("mean", tuple(f"e{i}" for i in range(n)), tuple(right))


def score(examples: ExampleOutcomes) -> Measurement:
    return Measurement("accuracy[topics/validation]", "points", HIGHER, examples.value(), examples=examples)


def score_verdict(wrong: int):
    base = BaselineEntry.from_measurement(score(answers()), environment="e", recorded="2026-01-01")
    return judge(score(answers(wrong)), GATE, base, NoisePolicy())


def test_a_quality_score_change_reads_in_points_not_percent():
    verdict = score_verdict(40)  # 40 of 400 examples: 10 points
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.difference == pytest.approx(-10.0)
    assert verdict.describe_change() == "-10.00 points"
    assert "%" not in verdict.describe_change()


def test_a_quality_score_noise_band_reads_in_points_beside_its_threshold():
    verdict = score_verdict(4)
    band = verdict.noise_band_in_unit
    assert band is not None and band > 0
    assert band == pytest.approx(verdict.noise_band * verdict.baseline)
    assert verdict.describe_threshold() == f"-0.5 points, noise ±{band:.2f} points"


def test_a_quality_score_without_a_baseline_has_no_change():
    verdict = judge(score(answers()), GATE, None, NoisePolicy())
    assert verdict.describe_change() == "-"
    assert verdict.describe_threshold() == "-0.5 points"


def test_other_measurements_keep_percent():
    measurement = Measurement.from_samples("latency", [11.0] * 9, unit="ms", direction=Direction.LOWER_IS_BETTER)
    base = BaselineEntry.from_measurement(
        Measurement.from_samples("latency", [10.0] * 9, unit="ms", direction=Direction.LOWER_IS_BETTER),
        environment="e",
        recorded="2026-01-01",
    )
    verdict = judge(measurement, Check("value", parse_quantity("5%"), None), base, NoisePolicy())
    assert verdict.describe_change() == "+10.0%"
    assert verdict.describe_threshold().startswith("+5%, noise ±") and verdict.describe_threshold().endswith("(1 recorded run)")
    assert "%" in verdict.describe_threshold().split("noise ±")[1]


@pytest.mark.parametrize(
    ("quantity", "text"),
    [
        (Quantity(0.5, "points"), "0.5 points"),
        (Quantity(3, "count"), "3 count"),
        (Quantity(80, "samples/s"), "80 samples/s"),
        (Quantity(10, "%"), "10%"),
        (Quantity(5, "ms"), "5ms"),
        (Quantity(64, "MB"), "64MB"),
    ],
)
def test_a_unit_that_is_a_word_prints_apart_from_its_number(quantity: Quantity, text: str):
    assert str(quantity) == text
    assert parse_quantity(text) == quantity
    assert parse_quantity(text.replace(" ", "")) == quantity


def exact_parameters(value: int, *, threshold: str = "0%") -> str:
    baseline = BaselineEntry.from_measurement(Measurement.exact("parameters", 1000, unit="count"), environment="e", recorded="d")
    measurement = Measurement.exact("parameters", value, unit="count")
    return judge(measurement, Check("value", parse_quantity(threshold), None), baseline, NoisePolicy()).detail


def test_an_exact_check_says_nothing_of_a_noise_band():
    assert exact_parameters(1001) == "worse than the baseline; an exact check allows no change towards worse"
    assert exact_parameters(999) == "better than the baseline"
    assert exact_parameters(1100, threshold="5%") == "worse than the baseline beyond the threshold"
    assert "noise" not in exact_parameters(1100, threshold="5%")


def test_a_check_with_noise_handling_off_says_nothing_of_a_noise_band():
    samples = Measurement.from_samples("latency", [20.0] * 9, unit="ms", direction=Direction.LOWER_IS_BETTER)
    base = BaselineEntry.from_measurement(
        Measurement.from_samples("latency", [10.0] * 9, unit="ms", direction=Direction.LOWER_IS_BETTER),
        environment="e",
        recorded="d",
    )
    verdict = judge(samples, Check("value", parse_quantity("10%"), None), base, NoisePolicy(enabled=False))
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.detail == "worse than the baseline beyond the threshold"


def test_a_sampled_check_names_its_noise_band():
    verdict = score_verdict(40)
    assert verdict.detail.startswith("worse than the baseline beyond the threshold and the noise band")


@pytest.mark.parametrize(
    ("outcome", "one", "two"),
    [
        (Outcome.REGRESSION, "1 regression", "2 regressions"),
        (Outcome.IMPROVEMENT, "1 improvement", "2 improvements"),
        (Outcome.PASS, "1 passed", "2 passed"),
        (Outcome.OVER_LIMIT, "1 over limit", "2 over limit"),
        (Outcome.NO_BASELINE, "1 without a baseline", "2 without a baseline"),
    ],
)
def test_outcome_counts_read_in_words(outcome: Outcome, one: str, two: str):
    assert outcome.counted(1) == one
    assert outcome.counted(2) == two
