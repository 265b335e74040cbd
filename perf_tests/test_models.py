"""The perf suite: latency, throughput, host and GPU memory and model facts per model."""

from __future__ import annotations

import pytest

from .models import MODELS

models = pytest.mark.parametrize("name", list(MODELS))


@models
def test_model_facts(modelperf, checkpoint_for, name):
    facts = modelperf.model_facts(modelperf.load(checkpoint_for(name), task=MODELS[name].task))
    modelperf.check(facts.parameter_count)
    if facts.artefact_size is not None:
        modelperf.check(facts.artefact_size)


@models
def test_latency_single_query(modelperf, checkpoint_for, name):
    model = modelperf.load(checkpoint_for(name), task=MODELS[name].task)
    latency = modelperf.measure_latency(model, batch_size=1, sequence_length=128)
    modelperf.check(latency)
    modelperf.check(latency, statistic="p99", limit="1s")


@models
def test_throughput(modelperf, checkpoint_for, name):
    model = modelperf.load(checkpoint_for(name), task=MODELS[name].task)
    modelperf.check(modelperf.measure_throughput(model, batch_size=8, sequence_length=128).samples_per_second)


@models
def test_host_memory(modelperf, checkpoint_for, name):
    model = modelperf.load(checkpoint_for(name), task=MODELS[name].task)
    modelperf.check(modelperf.measure_host_memory(model, batch_size=8, sequence_length=128))


@models
def test_gpu_memory(modelperf, checkpoint_for, name):
    model = modelperf.load(checkpoint_for(name), task=MODELS[name].task)
    memory = modelperf.measure_gpu_memory(model, batch_size=8, sequence_length=128)
    modelperf.check(memory.peak_allocated)
    modelperf.check(memory.peak_reserved)
    if memory.nvml_process is not None:
        modelperf.check(memory.nvml_process)


def test_smaller_model_is_faster_side_by_side(modelperf, checkpoint_for):
    """A ratio measured in one run: stable on a noisy runner, unlike absolute times."""
    tiny = modelperf.load(checkpoint_for("bert-tiny"), task="sequence-classification")
    mini = modelperf.load(checkpoint_for("bert-mini"), task="sequence-classification")
    tiny_latency = modelperf.measure_latency(tiny, batch_size=1, sequence_length=128)
    mini_latency = modelperf.measure_latency(mini, batch_size=1, sequence_length=128)
    ratio = mini_latency.value / tiny_latency.value
    assert ratio >= 1.5, f"bert-mini should take at least 1.5x bert-tiny's latency, measured {ratio:.2f}x"
