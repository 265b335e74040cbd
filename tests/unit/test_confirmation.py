"""The re-run decision: a failure on sampled measurements only must reproduce before it stands."""

from __future__ import annotations

import pytest

from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.verdict import Check, Outcome, Verdict
from pytest_modelperf.run.confirmation import Confirmation, Confirming, Decision, noise_sensitive


def verdict(
    outcome: Outcome,
    *,
    deterministic: bool = False,
    unavailable: str | None = None,
    name: str = "latency[1x128]",
    unit: str = "ms",
) -> Verdict:
    measurement = Measurement(name, unit, Direction.LOWER_IS_BETTER, 20.0, deterministic=deterministic, unavailable=unavailable)
    return Verdict(measurement, Check("value", None, None), outcome, current=20.0, baseline=10.0)


SLOW = verdict(Outcome.REGRESSION)
OVER = verdict(Outcome.OVER_LIMIT)
EXACT = verdict(Outcome.REGRESSION, deterministic=True)
MISSING = verdict(Outcome.NO_BASELINE)


@pytest.mark.parametrize(
    ("failing", "chance"),
    [
        ([], ()),
        ([SLOW], (SLOW,)),
        ([SLOW, OVER], (SLOW, OVER)),
        ([SLOW, EXACT], ()),  # an exact measurement failing is no chance
        ([MISSING], ()),  # a missing baseline under missing=fail does not go away on a re-run
        ([verdict(Outcome.REGRESSION, unavailable="out of memory")], ()),
        ([verdict(Outcome.REGRESSION, name="step", unit="ms")], None),  # the test's own: measured afresh
        ([verdict(Outcome.REGRESSION, name="accuracy[topics/validation]", unit="points")], ()),  # fixed data
        ([verdict(Outcome.REGRESSION, name="fine_tune.time", unit="s")], ()),  # read from the fine-tune's record
        ([SLOW, verdict(Outcome.REGRESSION, name="load_time", unit="s")], ()),  # loaded once per session
    ],
    ids=[
        "nothing",
        "sampled",
        "sampled-and-limit",
        "with-exact",
        "missing",
        "unavailable",
        "own",
        "accuracy",
        "fine-tune",
        "load",
    ],
)
def test_only_failures_that_could_all_be_chance_are_noise_sensitive(failing, chance):
    assert noise_sensitive(failing) == (tuple(failing) if chance is None else chance)


def test_a_passing_first_attempt_passes():
    confirming = Confirming("t.py::test", allowed=2)
    assert confirming.after_attempt([]) is Decision.PASS
    assert confirming.confirmation(Decision.PASS) is None


def test_an_exact_failure_fails_at_once():
    confirming = Confirming("t.py::test", allowed=3)
    assert confirming.after_attempt([EXACT]) is Decision.FAIL
    assert confirming.confirmation(Decision.FAIL) is None


def test_without_reruns_allowed_the_first_attempt_decides():
    assert Confirming("t.py::test", allowed=0).after_attempt([SLOW]) is Decision.FAIL


def test_a_sampled_failure_that_does_not_reproduce_passes_and_is_reported():
    confirming = Confirming("t.py::test", allowed=2)
    assert confirming.after_attempt([SLOW]) is Decision.RERUN
    confirming.rerun_started()
    decision = confirming.after_attempt([])
    assert decision is Decision.NOT_REPRODUCED and not decision.fails
    assert confirming.confirmation(decision) == Confirmation("t.py::test", (SLOW,), 1, reproduced=False)


def test_a_failure_that_reproduces_on_every_rerun_is_confirmed():
    confirming = Confirming("t.py::test", allowed=2)
    decisions = [confirming.after_attempt([SLOW])]
    for _ in range(2):
        confirming.rerun_started()
        decisions.append(confirming.after_attempt([OVER]))
    assert decisions == [Decision.RERUN, Decision.RERUN, Decision.CONFIRMED]
    assert decisions[-1].fails
    assert confirming.confirmation(decisions[-1]) == Confirmation("t.py::test", (SLOW,), 2, reproduced=True)


def test_a_rerun_failing_on_an_exact_measurement_stops_the_reruns_and_stands():
    confirming = Confirming("t.py::test", allowed=3)
    assert confirming.after_attempt([SLOW]) is Decision.RERUN
    confirming.rerun_started()
    assert confirming.after_attempt([EXACT]) is Decision.CONFIRMED
    assert confirming.reruns == 1


def test_when_no_rerun_is_possible_the_attempt_so_far_decides():
    confirming = Confirming("t.py::test", allowed=2)
    assert confirming.after_attempt([SLOW]) is Decision.RERUN
    assert confirming.settle([SLOW]) is Decision.FAIL
    assert confirming.confirmation(Decision.FAIL) is None
