"""Unit tests for pytest_modelperf.core.quality_gain: the paired gain of one score over another,
against the closed-form standard error of a mean of per-example differences."""

from __future__ import annotations

import math

import pytest

from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.quality_gain import QualityGainError, quality_gain


def accuracy(model: str, correct: list[bool], ids: list[str] | None = None) -> Measurement:
    ids = ids or [f"e{i}" for i in range(len(correct))]
    outcomes = ExampleOutcomes(
        "accuracy", tuple(ids), tuple(0.0 if right else 1.0 for right in correct), tuple(0.0 for _ in correct)
    )
    return Measurement(
        "accuracy[topics/validation]",
        "points",
        Direction.HIGHER_IS_BETTER,
        outcomes.value(),
        context={"model": model},
        examples=outcomes,
    )


def pair(only_first: int, only_second: int, both: int, neither: int) -> tuple[Measurement, Measurement]:
    first = [True] * only_first + [False] * only_second + [True] * both + [False] * neither
    second = [False] * only_first + [True] * only_second + [True] * both + [False] * neither
    return accuracy("distilled", first), accuracy("plain", second)


def test_the_gain_is_the_difference_less_z_paired_standard_errors() -> None:
    # Per-example differences d: +1 on 60 examples, -1 on 20, 0 on 320 (n = 400). The bootstrap
    # standard error of their mean tends to the population sd over sqrt(n):
    # mean 0.1, E[d^2] = 80/400, variance 0.2 - 0.01 = 0.19, error sqrt(0.19 / 400) = 2.18 points.
    distilled, plain = pair(only_first=60, only_second=20, both=300, neither=20)
    gain = quality_gain(distilled, plain, confidence=0.99)
    expected_error = 100 * math.sqrt(0.19 / 400)
    assert gain.context["difference"] == pytest.approx(10.0)
    assert gain.context["standard_error"] == pytest.approx(expected_error, rel=0.12)  # 400 resamples: ~4% sd
    z = 2.3263478740408408  # the normal quantile at 0.99, from tables
    assert gain.value == pytest.approx(10.0 - z * gain.context["standard_error"], abs=1e-4)
    assert gain.unit == "points" and gain.direction is Direction.HIGHER_IS_BETTER
    assert quality_gain(distilled, plain, confidence=0.999).name.endswith("(lower 99.9% bound)")
    assert gain.name == "accuracy gain of distilled over plain (lower 99% bound)"


def test_examples_both_models_agree_on_add_no_noise() -> None:
    # The same 40 disagreements among 400 or among 4,000 examples: the 3,600 more agreements
    # leave the summed differences' spread unchanged, so the error of the mean shrinks tenfold.
    small = quality_gain(*pair(30, 10, 300, 60))
    large = quality_gain(*pair(30, 10, 3_000, 960))
    assert large.context["standard_error"] == pytest.approx(small.context["standard_error"] / 10, rel=0.2)


def test_a_gain_sampling_could_explain_has_a_negative_lower_bound() -> None:
    distilled, plain = pair(only_first=12, only_second=8, both=400, neither=80)
    gain = quality_gain(distilled, plain)
    assert gain.context["difference"] == pytest.approx(0.8)
    assert gain.value < 0


def test_identical_answers_gain_exactly_nothing() -> None:
    distilled, plain = pair(0, 0, 90, 10)
    gain = quality_gain(distilled, plain)
    assert gain.value == 0.0 and gain.context["standard_error"] == 0.0


def test_scores_on_other_examples_are_refused_naming_the_overlap() -> None:
    first = accuracy("a", [True] * 10, [f"a{i}" for i in range(10)])
    second = accuracy("b", [True] * 10, [f"b{i}" for i in range(10)])
    with pytest.raises(QualityGainError, match="share 0 of their 10 and 10 examples"):
        quality_gain(first, second)


def test_a_measurement_without_outcomes_is_refused() -> None:
    latency = Measurement("latency[1x128]", "ms", Direction.LOWER_IS_BETTER, 3.0)
    with pytest.raises(QualityGainError, match=r"latency\[1x128\] is not a quality score"):
        quality_gain(latency, accuracy("b", [True]))


def test_an_unavailable_score_gives_an_unavailable_gain() -> None:
    missing = Measurement.not_available("accuracy", "out of memory", unit="points", direction=Direction.HIGHER_IS_BETTER)
    gain = quality_gain(missing, accuracy("b", [True]), name="gain")
    assert gain.unavailable == "the first score is N/A (out of memory)"
