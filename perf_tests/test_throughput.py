"""Throughput (samples/s) at batch 32, sequence 128."""

from __future__ import annotations

import pytest


@pytest.mark.modelperf(warmup_rounds=1, min_rounds=3, max_time=5.0)
def test_throughput(modelperf, model_name):
    """Samples/s at 32x128 against this hardware's baseline (10% plus the noise band): catches a
    large-batch forward that got slower, the case batch inference in production cares about."""
    throughput = modelperf.measure_throughput(modelperf.load_registered(model_name), batch_size=32, sequence_length=128)
    modelperf.check(throughput.samples_per_second)
