"""A value no device changes is kept once, one no machine changes per device kind and dtype;
everything else per hardware."""

from __future__ import annotations

import pytest

from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.policy import quality_reference_key
from pytest_modelperf.measure import catalogue
from pytest_modelperf.measure.baseline_keys import (
    DEVICE_INDEPENDENT_KEY,
    baseline_key,
    device_kind,
    is_portable_key,
    portable_key,
)
from pytest_modelperf.measure.environment import hardware_key


@pytest.mark.parametrize("name", ["accuracy[topics/validation]", "f1[topics/validation]", "exact_match[squad]", "roc_auc"])
def test_quality_scores_are_kept_per_device_kind_and_dtype(name):
    assert baseline_key("cpu", "float32", name) == "any-cpu-float32"
    assert baseline_key("cuda:3", "float16", name) == "any-cuda-float16"


@pytest.mark.parametrize("name", ["parameters", "artefact_size"])
@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:3"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_parameter_counts_and_weight_sizes_are_kept_once_for_every_device_and_dtype(name, device, dtype):
    assert baseline_key(device, dtype, name) == DEVICE_INDEPENDENT_KEY == "any-device"


@pytest.mark.parametrize(
    "name",
    [
        "latency[1x128]",
        "throughput[8x128]",
        "host_memory[8x128]",
        "load_time",
        "fine_tune.time",
        "my own figure",
        "speed-up of a over b",
    ],
)
def test_timings_memory_and_a_tests_own_measurements_stay_per_hardware(name):
    assert baseline_key("cpu", "float32", name) == hardware_key("cpu", "float32")


def test_the_catalogue_marks_exactly_the_machine_independent_measures_portable():
    portable = {measure.name for measure in catalogue.MEASURES if measure.portable}
    scores = {"accuracy", "f1", "precision", "recall", "roc_auc", "exact_match", "pseudo_perplexity", "perplexity"}
    assert portable == {"parameters", "artefact_size", *scores}
    assert {measure.name for measure in catalogue.MEASURES if measure.device_independent} == {"parameters", "artefact_size"}


def test_a_device_independent_measure_must_be_portable():
    with pytest.raises(ValueError, match="'count': a device-independent measure must also be portable"):
        catalogue.Measure("count", "", catalogue.LOWER, True, False, "count", device_independent=True)


def test_device_kind_reads_any_cuda_spelling():
    assert [device_kind(d) for d in ("cpu", "cuda", "cuda:0", " CUDA:7")] == ["cpu", "cuda", "cuda", "cuda"]


def test_a_portable_key_never_looks_like_a_hardware_key():
    assert is_portable_key(portable_key("cpu", "float32")) and is_portable_key(DEVICE_INDEPENDENT_KEY)
    assert not is_portable_key(hardware_key("cpu", "float32"))


def test_a_half_precision_quality_score_falls_back_to_the_full_precision_portable_baseline():
    examples = ExampleOutcomes("mean", ("a", "b", "c", "d"), (1.0, 1.0, 0.0, 1.0))
    score = Measurement("accuracy[topics/validation]", "points", Direction.HIGHER_IS_BETTER, examples.value(), examples=examples)
    key = EntryKey(baseline_key("cuda:0", "float16", score.name), "perf_tests/test_accuracy.py", "test_accuracy", score.name)
    reference = quality_reference_key(key, score)
    assert reference is not None and reference.hardware_key == "any-cuda-float32"
