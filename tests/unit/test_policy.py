"""Unit tests for pytest_modelperf.core.policy: which baseline entry a check is judged against."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.policy import (
    QUALITY_REFERENCE_DTYPE,
    dtype_of,
    entry_as_stored,
    is_compared,
    quality_reference_key,
    resolve_baseline,
)
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check

FULL = "amd-epyc-2c-float32"
HALF = "amd-epyc-2c-float16"
GATE = Check("value", parse_quantity("1points"), None)
LIMIT_ONLY = Check("value", None, parse_quantity("50points"))


def score(dtype: str = "float16") -> Measurement:
    examples = ExampleOutcomes("mean", ("a", "b", "c", "d"), (1.0, 1.0, 0.0, 1.0))
    return Measurement(
        "accuracy", "points", Direction.HIGHER_IS_BETTER, examples.value(), examples=examples, context={"dtype": dtype}
    )


def latency() -> Measurement:
    return Measurement.from_samples("latency", [10.0, 11.0, 12.0], unit="ms", direction=Direction.LOWER_IS_BETTER)


def key(hardware: str, measurement: str = "accuracy") -> EntryKey:
    return EntryKey(hardware, "t.py", "test_a", measurement)


def entry(measurement: Measurement) -> BaselineEntry:
    return BaselineEntry.from_measurement(measurement, environment="e", recorded="2026-01-01")


class Lookups:
    """A store of entries that remembers which keys were looked up."""

    def __init__(self, entries: dict[EntryKey, BaselineEntry]) -> None:
        self.entries = entries
        self.asked: list[EntryKey] = []

    def __call__(self, wanted: EntryKey) -> BaselineEntry | None:
        self.asked.append(wanted)
        return self.entries.get(wanted)


def test_the_entry_of_the_check_own_key_applies_without_a_note() -> None:
    own = entry(score())
    resolution = resolve_baseline(key(HALF), score(), GATE, Lookups({key(HALF): own, key(FULL): entry(score("float32"))}))
    assert (resolution.entry, resolution.key, resolution.note) == (own, key(HALF), "")
    assert resolution.annotate(score()) == score()


def test_a_lower_precision_quality_score_without_its_own_entry_answers_to_float32() -> None:
    full = entry(score("float32"))
    lookups = Lookups({key(FULL): full})
    resolution = resolve_baseline(key(HALF), score(), GATE, lookups)
    assert lookups.asked == [key(HALF), key(FULL)]
    assert (resolution.entry, resolution.key) == (full, key(FULL))
    assert resolution.note == "judged against the float32 baseline: there is no float16 one"
    assert resolution.annotate(score()).notes == ("judged against the float32 baseline: there is no float16 one",)


def test_a_measurement_that_already_carries_the_note_gets_it_once() -> None:
    """An exported measurement carries the note the plugin gave it; judging it again adds none."""
    resolution = resolve_baseline(key(HALF), score(), GATE, Lookups({key(FULL): entry(score("float32"))}))
    once = resolution.annotate(score())
    assert resolution.annotate(once).notes == once.notes == (resolution.note,)


def test_a_float32_quality_score_has_nothing_to_fall_back_to() -> None:
    lookups = Lookups({})
    resolution = resolve_baseline(key(FULL), score("float32"), GATE, lookups)
    assert resolution.entry is None and resolution.key is None
    assert lookups.asked == [key(FULL)]


def test_a_lower_precision_timing_does_not_fall_back() -> None:
    lookups = Lookups({key(FULL, "latency"): entry(latency())})
    resolution = resolve_baseline(key(HALF, "latency"), latency(), Check("median", parse_quantity("10%"), None), lookups)
    assert resolution.entry is None and lookups.asked == [key(HALF, "latency")]


def test_a_check_with_only_a_limit_looks_up_nothing() -> None:
    lookups = Lookups({key(HALF): entry(score())})
    resolution = resolve_baseline(key(HALF), score(), LIMIT_ONLY, lookups)
    assert resolution.entry is None and lookups.asked == []
    assert not is_compared(LIMIT_ONLY) and is_compared(GATE)


@pytest.mark.parametrize(
    ("hardware", "expected"),
    [
        ("nvidia-h100-80gb-hbm3-bfloat16", "nvidia-h100-80gb-hbm3-float32"),
        ("amd-epyc-2c-fp16", "amd-epyc-2c-float32"),
        ("amd-epyc-2c-float32", None),
        ("portable", None),
    ],
)
def test_the_full_precision_key_replaces_the_dtype_at_the_end_of_the_hardware_key(hardware: str, expected: str | None) -> None:
    reference = quality_reference_key(key(hardware), score())
    assert (reference.hardware_key if reference is not None else None) == expected


def test_the_dtype_is_the_last_part_of_the_hardware_key() -> None:
    assert dtype_of("nvidia-h100-80gb-hbm3-bfloat16") == "bfloat16"
    assert dtype_of(FULL) == QUALITY_REFERENCE_DTYPE


def test_an_entry_as_stored_keeps_what_the_baseline_file_keeps() -> None:
    measurement = Measurement.from_samples("latency", [10.0000004] * 3, unit="ms", direction=Direction.LOWER_IS_BETTER)
    stored = entry_as_stored(measurement, environment="e", recorded="2026-01-01")
    assert stored.summary["median"] == 10.0
    assert stored.runs[0]["median"] == 10.0
    exact = entry_as_stored(Measurement.exact("size", 1.0000000004, unit="MB"), environment="e", recorded="")
    assert exact.summary["value"] == 1.0000000004, "exact values are stored unrounded"


def test_the_policy_and_the_compare_command_import_neither_pytest_nor_torch() -> None:
    code = (
        "import sys; sys.modules['pytest'] = sys.modules['_pytest'] = None; sys.modules['torch'] = None\n"
        "import pytest_modelperf.core.policy, pytest_modelperf.cli.comparison, pytest_modelperf.cli.compare\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
