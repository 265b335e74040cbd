"""The catalogue of measures: one declaration per measure, found by a measurement's name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_modelperf.core.units import dimension
from pytest_modelperf.measure.catalogue import (
    BY_NAME,
    GPU_PEAK_ALLOCATED,
    HOST_MEMORY,
    LATENCY,
    MEASURES,
    SWEEP_MEASURES,
    measure_named,
    sweep_measure,
)


def test_names_and_sweep_ids_are_declared_once() -> None:
    names = [measure.name for measure in MEASURES]
    sweep_ids = [measure.sweep_id for measure in MEASURES if measure.sweep_id is not None]
    assert len(names) == len(set(names)) == len(BY_NAME)
    assert len(sweep_ids) == len(set(sweep_ids)) == len(SWEEP_MEASURES)


@pytest.mark.parametrize("measure", MEASURES, ids=lambda measure: measure.name)
def test_every_unit_is_known_and_a_table_unit_measures_the_same_thing(measure) -> None:
    assert dimension(measure.table_unit) == dimension(measure.unit)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("latency[8x128]", LATENCY),
        ("time[8x128]", LATENCY),
        ("host_memory[1x16]", HOST_MEMORY),
        ("host_memory_peak", HOST_MEMORY),
        ("gpu_memory.peak_allocated[2x64]", GPU_PEAK_ALLOCATED),
        ("my_own_metric", None),
    ],
)
def test_a_measurement_name_finds_its_measure(name: str, expected) -> None:
    assert measure_named(name) is expected


def test_a_full_name_adds_the_detail_in_brackets() -> None:
    assert LATENCY.named("8x128") == "latency[8x128]"
    assert LATENCY.named() == "latency"


def test_deterministic_and_rerunnable_are_separate() -> None:
    assert GPU_PEAK_ALLOCATED.deterministic and GPU_PEAK_ALLOCATED.rerunnable
    assert not BY_NAME["accuracy"].deterministic and not BY_NAME["accuracy"].rerunnable
    assert BY_NAME["parameters"].deterministic and not BY_NAME["parameters"].rerunnable


def test_an_unknown_sweep_id_is_named_in_the_error() -> None:
    assert sweep_measure("time") is LATENCY
    with pytest.raises(ValueError, match="unknown sweep measure 'speed'"):
        sweep_measure("speed")


def test_the_catalogue_imports_no_torch() -> None:
    code = "import sys, pytest_modelperf.measure.catalogue; print('torch' in sys.modules, 'pytest' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
