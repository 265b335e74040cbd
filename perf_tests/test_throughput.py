"""Throughput (samples/s) at batch 32, sequence 128."""

from __future__ import annotations

import pytest


@pytest.mark.modelperf(warmup_rounds=1, min_rounds=3, max_time=5.0)
def test_throughput(modelperf, model_name):
    throughput = modelperf.measure_throughput(modelperf.load_registered(model_name), batch_size=32, sequence_length=128)
    modelperf.check(throughput.samples_per_second)
