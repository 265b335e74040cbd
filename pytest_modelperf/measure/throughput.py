"""Throughput derived from per-round latencies: samples/s and tokens/s per round."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.measurement import DIVISION_BY_ZERO, Measurement
from .catalogue import THROUGHPUT, TOKEN_THROUGHPUT, Measure
from .workloads import Workload


@dataclass(frozen=True)
class Throughput:
    """A workload's rates per round: samples/s and tokens/s."""

    samples_per_second: Measurement
    tokens_per_second: Measurement

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Both rates, for ``modelperf.check`` one by one."""
        return (self.samples_per_second, self.tokens_per_second)


def throughput_from_seconds(
    round_seconds: Sequence[float], workload: Workload, *, context: Mapping[str, Any], notes: Sequence[str] = ()
) -> Throughput:
    label = workload.label
    instant = next((index for index, seconds in enumerate(round_seconds, start=1) if seconds <= 0), None)
    if instant is not None:
        reason = f"{DIVISION_BY_ZERO}: round {instant} of {len(round_seconds)} took no measurable time"

        def unavailable(measure: Measure) -> Measurement:
            return Measurement.not_available(
                measure.named(label), reason, unit=measure.unit, direction=measure.direction, context=context, notes=notes
            )

        return Throughput(unavailable(THROUGHPUT), unavailable(TOKEN_THROUGHPUT))
    return Throughput(
        samples_per_second=Measurement.from_samples(
            THROUGHPUT.named(label),
            [workload.batch_size / s for s in round_seconds],
            unit=THROUGHPUT.unit,
            direction=THROUGHPUT.direction,
            context=context,
            notes=notes,
        ),
        tokens_per_second=Measurement.from_samples(
            TOKEN_THROUGHPUT.named(label),
            [workload.tokens / s for s in round_seconds],
            unit=TOKEN_THROUGHPUT.unit,
            direction=TOKEN_THROUGHPUT.direction,
            context=context,
            notes=notes,
        ),
    )
