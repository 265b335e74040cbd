"""Throughput derived from per-round latencies: samples/s and tokens/s per round."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..results import Direction, Measurement
from ..workloads import Workload


@dataclass(frozen=True)
class Throughput:
    samples_per_second: Measurement
    tokens_per_second: Measurement


def throughput_from_seconds(
    round_seconds: Sequence[float], workload: Workload, *, context: Mapping[str, Any], notes: Sequence[str] = ()
) -> Throughput:
    if any(s <= 0 for s in round_seconds):
        raise ValueError("a round took no measurable time; throughput is undefined")
    label = workload.label
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
