"""Throughput derived from per-round latencies: samples/s and tokens/s per round."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.measurement import DIVISION_BY_ZERO, Direction, Measurement
from .workloads import Workload


@dataclass(frozen=True)
class Throughput:
    samples_per_second: Measurement
    tokens_per_second: Measurement


def throughput_from_seconds(
    round_seconds: Sequence[float], workload: Workload, *, context: Mapping[str, Any], notes: Sequence[str] = ()
) -> Throughput:
    label = workload.label
    instant = next((index for index, seconds in enumerate(round_seconds, start=1) if seconds <= 0), None)
    if instant is not None:
        reason = f"{DIVISION_BY_ZERO}: round {instant} of {len(round_seconds)} took no measurable time"

        def unavailable(name: str, unit: str) -> Measurement:
            return Measurement.not_available(name, reason, unit=unit, direction=Direction.HIGHER_IS_BETTER, context=context, notes=notes)

        return Throughput(unavailable(f"throughput[{label}]", "samples/s"), unavailable(f"token_throughput[{label}]", "tokens/s"))
    return Throughput(
        samples_per_second=Measurement.from_samples(
            f"throughput[{label}]",
            [workload.batch_size / s for s in round_seconds],
            unit="samples/s",
            direction=Direction.HIGHER_IS_BETTER,
            context=context,
            notes=notes,
        ),
        tokens_per_second=Measurement.from_samples(
            f"token_throughput[{label}]",
            [workload.tokens / s for s in round_seconds],
            unit="tokens/s",
            direction=Direction.HIGHER_IS_BETTER,
            context=context,
            notes=notes,
        ),
    )
