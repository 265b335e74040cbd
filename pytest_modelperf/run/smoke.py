"""Smoke runs (``--modelperf-disable``): test bodies run for correctness, not for numbers.

Each measurement is one round without warm-up, and ``modelperf.check`` validates its arguments
but judges nothing: it returns a passing verdict that says it was not judged, records no check
for the baselines or the exports, and so nothing fails, is re-run or is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.counts import counted
from ..core.measurement import Measurement
from ..core.timing import TimingOptions
from ..core.verdict import Check, Outcome, Verdict

FLAG = "--modelperf-disable"
NOT_JUDGED = f"not judged ({FLAG})"

# The fewest steps a training measurement allows: one warm-up step creates the optimizer's
# state, which the timed step needs to be a step like any other.
TRAINING_WARMUP_STEPS = 1
SCALING_SMOKE_STEPS = 2  # the fewest timed steps a scaling measurement takes
MEMORY_ROUNDS = 1


@dataclass(frozen=True)
class SmokeTiming(TimingOptions):
    """One timed round and no warm-up.

    ``TimingOptions`` asks for two rounds at least, the fewest that show a spread; a smoke run
    judges no spread, so one round is enough and this subclass lifts that bound.
    """

    warmup_rounds: int = 0
    warmup_time: float = 0.0
    min_rounds: int = 1
    max_rounds: int = 1
    max_time: float = 0.0

    def __post_init__(self) -> None:
        pass  # fixed values, never judged: the bounds a judged timing needs do not apply


SMOKE_TIMING = SmokeTiming()


def unjudged_verdict(measurement: Measurement, check: Check) -> Verdict:
    """The verdict ``modelperf.check`` returns in a smoke run: a pass that says it was not judged."""
    current = measurement.value_of(check.statistic) if measurement.unavailable is None else math.nan
    return Verdict(measurement, check, Outcome.PASS, current, detail=NOT_JUDGED)


def smoke_summary(nodeids: Sequence[str]) -> str:
    """The summary's line on a smoke run's checks: how many, in how many tests, and that none was judged."""
    checks, tests = len(nodeids), len(set(nodeids))
    return (
        f"smoke run ({FLAG}): {counted(checks, 'check')} in {counted(tests, 'test')} measured once and not judged "
        "against baselines or limits; no baseline was written"
    )
