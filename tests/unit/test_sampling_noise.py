"""Quality scores against their baseline: paired by example, so a real drop fails and a reshuffle does not."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.example_outcomes import (
    ExampleOutcomes,
    bootstrap_error,
    difference_error,
    paired_difference_error,
)
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome

GATE = Check("value", parse_quantity("0.5points"), None)
N = 500


def answers(flips: int = 0, *, seed: int = 3, n: int = N, prefix: str = "q") -> ExampleOutcomes:
    """Per-example exact match of a model right on 85% of the examples; ``flips`` of its right answers turned wrong."""
    rng = random.Random(seed)
    right = [1.0 if rng.random() < 0.85 else 0.0 for _ in range(n)]
    for i in [i for i, r in enumerate(right) if r][:flips]:
        right[i] = 0.0
    return ExampleOutcomes("mean", tuple(f"{prefix}{i}" for i in range(n)), tuple(right))


def score(examples: ExampleOutcomes) -> Measurement:
    return Measurement(
        "exact_match[facts-qa/validation]", "points", Direction.HIGHER_IS_BETTER, examples.value(), examples=examples
    )


def baseline(examples: ExampleOutcomes) -> BaselineEntry:
    return BaselineEntry.from_measurement(score(examples), environment="e", recorded="2026-11-21")


def test_an_unchanged_model_has_no_noise_band_and_passes():
    verdict = judge(score(answers()), GATE, baseline(answers()), NoisePolicy())
    assert verdict.outcome is Outcome.PASS
    assert verdict.noise_band == 0.0
    assert "paired over 500 examples" in verdict.detail


def test_reshuffled_examples_are_paired_by_id():
    examples = answers()
    order = list(range(N))
    random.Random(0).shuffle(order)
    shuffled = ExampleOutcomes("mean", tuple(examples.ids[i] for i in order), tuple(examples.predictions[i] for i in order))
    assert paired_difference_error(shuffled, examples) == 0.0
    assert judge(score(shuffled), GATE, baseline(examples), NoisePolicy()).outcome is Outcome.PASS


def test_a_drop_of_three_points_fails():
    verdict = judge(score(answers(flips=15)), GATE, baseline(answers()), NoisePolicy())
    assert verdict.outcome is Outcome.REGRESSION
    assert verdict.current - verdict.baseline == pytest.approx(-3.0)


def test_a_drop_below_the_threshold_passes():
    verdict = judge(score(answers(flips=2)), GATE, baseline(answers()), NoisePolicy())
    assert verdict.outcome is Outcome.PASS  # -0.4 points, within the 0.5-point threshold


def test_a_drop_the_flipped_examples_cannot_make_significant_passes():
    # 3 flipped answers (-0.6 points) exceed the threshold, but three flips out of 500 could be chance.
    verdict = judge(score(answers(flips=3)), GATE, baseline(answers()), NoisePolicy())
    assert verdict.outcome is Outcome.PASS
    assert "within the noise band" in verdict.detail


def test_another_sample_of_examples_is_compared_unpaired_with_a_wider_band():
    other = answers(seed=4, prefix="r")
    error, paired = difference_error(other, answers())
    assert not paired
    assert error == pytest.approx((bootstrap_error(other) ** 2 + bootstrap_error(answers()) ** 2) ** 0.5)
    assert error > 1.5  # two independent 500-example samples of an 85% model differ by about 2.3 points
    assert judge(score(other), GATE, baseline(answers()), NoisePolicy()).outcome is Outcome.PASS


def test_a_baseline_without_examples_is_compared_unpaired():
    stored = replace(baseline(answers()), examples=None)
    verdict = judge(score(answers(flips=5)), GATE, stored, NoisePolicy())
    assert "unpaired" in verdict.detail
    assert verdict.outcome is Outcome.PASS  # -1 point cannot be told from sampling noise without pairing


def test_per_example_outcomes_survive_the_baseline_file():
    stored = BaselineEntry.from_dict(baseline(answers()).to_dict(), "tests.x")
    assert stored.examples == answers()
    assert judge(score(answers(flips=15)), GATE, stored, NoisePolicy()).outcome is Outcome.REGRESSION


def test_malformed_examples_in_a_baseline_file_name_the_field():
    data = baseline(answers()).to_dict()
    data["examples"]["predictions"] = data["examples"]["predictions"][:-1]
    with pytest.raises(ValueError, match=r"tests.x.examples: 499 predictions for 500 examples"):
        BaselineEntry.from_dict(data, "tests.x")
