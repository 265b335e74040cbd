"""Whether a test's failure stands: a failure on sampled measurements only must reproduce on re-runs.

A machine-wide slow spell on a shared runner makes every timing in it slower at once, so a
sampled regression must reproduce on each of ``confirm`` fresh runs of the test body before it
fails the test. Exact measurements, exceptions and limits on exact values fail at once, and so
do measures that a re-run would not measure afresh (an accuracy on fixed data, a fine-tune read
from its record, a model's load time in a session that caches it): the catalogue says which.

Pure logic: ``Confirming`` is told the failing verdicts of each attempt and decides what happens
next; running the test again is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..core.measurement import Measurement
from ..core.verdict import Outcome, Verdict
from ..measure.catalogue import measure_named
from ..storage.run_export import test_with_worker


class Decision(Enum):
    PASS = "pass"  # nothing failed on the first attempt
    FAIL = "fail"  # the first attempt failed, and no re-run can change that
    RERUN = "re-run"  # every failure could be chance and a re-run is left: run the test again
    NOT_REPRODUCED = "not reproduced"  # a re-run passed: the first failure is taken for noise
    CONFIRMED = "confirmed"  # the failure reproduced on the re-runs: it stands

    @property
    def fails(self) -> bool:
        return self in (Decision.FAIL, Decision.CONFIRMED)


@dataclass(frozen=True)
class Confirmation:
    """A test re-run because its first attempt failed only on noisy measurements."""

    nodeid: str
    first_failures: tuple[Verdict, ...]
    reruns: int
    reproduced: bool  # every re-run failed too, so the failure stands
    worker: str = ""  # the pytest-xdist worker that re-ran it, named only where every worker runs every test

    @property
    def test(self) -> str:
        return test_with_worker(self.nodeid, self.worker)


def noise_sensitive(failing: Sequence[Verdict]) -> tuple[Verdict, ...]:
    """The failing verdicts when all of them could be chance that a re-run would not repeat; else none."""
    if failing and all(_could_be_chance(verdict) for verdict in failing):
        return tuple(failing)
    return ()


def _could_be_chance(verdict: Verdict) -> bool:
    return (
        verdict.outcome in (Outcome.REGRESSION, Outcome.OVER_LIMIT)
        and verdict.measurement.noisy
        and _measured_afresh(verdict.measurement)
    )


def _measured_afresh(measurement: Measurement) -> bool:
    """Whether running the test again measures it anew: the catalogue's measures say; a
    measurement of the test's own making (``modelperf.record``) is taken to be."""
    measure = measure_named(measurement.name)
    return measure is None or measure.rerunnable


@dataclass
class Confirming:
    """The attempts of one test: how many re-runs it may have, how many it had, what failed first."""

    nodeid: str
    allowed: int  # re-runs a noise-sensitive failure gets
    reruns: int = 0
    first_failures: tuple[Verdict, ...] = ()

    def after_attempt(self, failing: Sequence[Verdict]) -> Decision:
        """What follows an attempt whose failing verdicts are ``failing``."""
        chance = noise_sensitive(failing)
        if self.reruns == 0:
            self.first_failures = chance
        if chance and self.reruns < self.allowed:
            return Decision.RERUN
        return self.settle(failing)

    def settle(self, failing: Sequence[Verdict]) -> Decision:
        """The decision on the last attempt, with no further re-run (none left, or none possible)."""
        if self.reruns == 0:
            return Decision.FAIL if failing else Decision.PASS
        return Decision.CONFIRMED if failing else Decision.NOT_REPRODUCED

    def rerun_started(self) -> None:
        self.reruns += 1

    def confirmation(self, decision: Decision) -> Confirmation | None:
        """What the run reports of the re-runs; None when the test was not re-run."""
        if self.reruns == 0:
            return None
        return Confirmation(self.nodeid, self.first_failures, self.reruns, reproduced=decision is Decision.CONFIRMED)
