"""Several models' latencies timed side by side, in alternating rounds, as one measurement each.

Ratios of such latencies (a speed-up of one model over another) stay steady on a noisy
machine: drift during the run falls on every model alike (see ``latency.time_interleaved``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ..core.measurement import Measurement
from ..core.timing import TimingOptions
from ..models.loading import LoadedModel, model_notes
from .catalogue import LATENCY
from .latency import latency_from_seconds, time_interleaved
from .workloads import Workload, forward, synthetic_inputs, workload_context


def side_by_side_latencies(
    models: Sequence[LoadedModel], workload: Workload, timing: TimingOptions, *, statistic: str = "median"
) -> list[Measurement]:
    """One latency (ms, per-round samples) per model, named ``latency[BxS] of <model>``, in order."""
    devices = {model.device for model in models}
    if len(devices) != 1:
        raise ValueError(f"side-by-side timing needs the models on one device, got {', '.join(sorted(devices))}")
    batches = [synthetic_inputs(model, workload) for model in models]
    works = [partial(forward, model, inputs) for model, inputs in zip(models, batches, strict=True)]
    rounds = time_interleaved(works, devices.pop(), timing)
    return [
        latency_from_seconds(
            f"{LATENCY.named(workload.label)} of {model.name}",
            seconds,
            statistic=statistic,
            context={**workload_context(model, workload), "side_by_side": [m.name for m in models]},
            notes=model_notes(model),
        )
        for model, seconds in zip(models, rounds, strict=True)
    ]
