"""Latency: the single-query case (1x128), a batch (8x128), and one sentence at a time on the CPU."""

from __future__ import annotations

import pytest


@pytest.mark.modelperf(min_rounds=10, max_time=2.0)
def test_latency_single_query(modelperf, model_name):
    latency = modelperf.measure_latency(modelperf.load_registered(model_name), batch_size=1, sequence_length=128)
    modelperf.check(latency)
    modelperf.check(latency, statistic="p99", limit="1s")


@pytest.mark.modelperf(warmup_rounds=1, min_rounds=5, max_time=3.0)
def test_latency_batch(modelperf, model_name):
    modelperf.check(modelperf.measure_latency(modelperf.load_registered(model_name), batch_size=8, sequence_length=128))


@pytest.mark.modelperf(min_rounds=5, max_time=2.0)
def test_sentence_latency_on_cpu(modelperf, model_name):
    """Tokenize and run one sentence after another on the CPU, as the compact-models study timed it."""
    model = modelperf.load_registered(model_name, device="cpu")
    modelperf.check(modelperf.measure_text_latency(model))
