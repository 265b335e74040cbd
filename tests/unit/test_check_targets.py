"""Which results ``modelperf.check`` takes apart into measurements, and how it refuses the rest."""

from __future__ import annotations

import pytest

from pytest_modelperf.core.check_targets import measurements_to_check
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.measure.cell import Cell, CellMeasurements, GpuMemory
from pytest_modelperf.measure.throughput import Throughput
from pytest_modelperf.quality.evaluation import Quality
from pytest_modelperf.quality.finetune_facts import FineTuneFacts

HIGHER = Direction.HIGHER_IS_BETTER


def score(name: str) -> Measurement:
    return Measurement.exact(name, 90.0, unit="points", direction=HIGHER)


def peak(name: str) -> Measurement:
    return Measurement.exact(name, 64.0, unit="MB")


def test_a_measurement_is_checked_as_itself() -> None:
    measurement = peak("peak")
    assert measurements_to_check(measurement) == (measurement,)


def test_a_throughput_gives_both_rates() -> None:
    samples, tokens = score("throughput[1x8]"), score("token_throughput[1x8]")
    assert measurements_to_check(Throughput(samples, tokens)) == (samples, tokens)


def test_a_quality_evaluation_gives_every_score() -> None:
    accuracy, f1 = score("accuracy"), score("f1")
    quality = Quality(scores={"accuracy": accuracy, "f1": f1}, seconds=1.0, examples=10)
    assert measurements_to_check(quality) == (accuracy, f1)


def test_a_sweep_cell_gives_its_measurements() -> None:
    latency, memory = peak("latency[1x8]"), peak("host_memory[1x8]")
    cell = CellMeasurements(
        Cell("bert", "bert", 1, 8), "ok", "cpu", "float32", ("time", "host_memory"), {"time": latency, "host_memory": memory}
    )
    assert measurements_to_check(cell) == (latency, memory)


def test_gpu_memory_is_refused_naming_the_readings_it_holds() -> None:
    # NVML's readings include other processes and the CUDA context: checking every reading is not obvious.
    memory = GpuMemory(peak("allocated"), peak("reserved"), nvml_process=None, nvml_device=peak("device"), nvml_problem=None)
    with pytest.raises(TypeError) as caught:
        measurements_to_check(memory)
    assert str(caught.value) == (
        "modelperf.check(GpuMemory): expected a Measurement; a GpuMemory holds peak_allocated, peak_reserved, "
        "nvml_device: check the one you mean, e.g. modelperf.check(result.peak_allocated)"
    )


def test_fine_tune_facts_are_refused_naming_their_measurements() -> None:
    facts = FineTuneFacts(peak("time"), peak("throughput"), peak("host"), None, final_loss=0.1)
    with pytest.raises(TypeError, match=r"a FineTuneFacts holds seconds, samples_per_second, peak_host_memory: "):
        measurements_to_check(facts)


def test_a_list_of_measurements_gives_each_of_them() -> None:
    # measure_latency_side_by_side returns one latency per model
    latencies = [peak("latency of bert"), peak("latency of distilbert")]
    assert measurements_to_check(latencies) == tuple(latencies)


@pytest.mark.parametrize(
    ("value", "shown"), [(12.5, "12.5"), ("latency", "'latency'"), ({"f1": 0.9}, "{'f1': 0.9}"), ([1.0], "[1.0]")]
)
def test_anything_else_is_refused_naming_its_type(value: object, shown: str) -> None:
    with pytest.raises(TypeError) as caught:
        measurements_to_check(value)
    message = str(caught.value)
    assert message.startswith(f"modelperf.check({shown}")
    assert f"got {type(value).__name__};" in message


def test_a_sweep_cell_without_measurements_is_refused() -> None:
    empty = CellMeasurements(Cell("bert", "bert", 1, 8), "ok", "cpu", "float32", ())
    with pytest.raises(TypeError, match=r"this CellMeasurements holds no measurement to check"):
        measurements_to_check(empty)
