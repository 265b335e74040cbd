"""Sweeps as pytest parameters: ``sweep_cells`` ids, ``modelperf.measure_cell``, baselines per cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = """
import pytest
from pytest_modelperf.sweep import sweep_cells

@pytest.mark.parametrize("cell", sweep_cells(models=[{checkpoint!r}], batch_sizes=[1, 2], sequence_lengths=[8, 256]))
def test_cell(modelperf, cell):
    measured = modelperf.measure_cell(cell, measures=["time", "memory"], memory_rounds=2)
    assert [m.name for m in measured.measurements] == [
        f"latency[{{cell.batch_size}}x{{cell.sequence_length}}]", f"host_memory[{{cell.batch_size}}x{{cell.sequence_length}}]",
    ]
    assert measured.latency.context["batch_size"] == cell.batch_size
    modelperf.check(measured.latency, threshold="10s")          # behaviour, not speed: any time passes
    modelperf.check(measured.host_memory, threshold="1000MB")
"""


def test_cells_run_as_parameters_and_their_baselines_are_recorded_then_compared(
    pytester: pytest.Pytester, run, tiny_checkpoint: Path
) -> None:
    pytester.makepyfile(test_sweep=TESTS.format(checkpoint=str(tiny_checkpoint)))
    recorded = run("--modelperf-update", "-v")
    recorded.assert_outcomes(passed=2, skipped=2)
    recorded.stdout.fnmatch_lines(
        [
            "*test_sweep.py::test_cell?tiny-bert-b1-s8? PASSED*",
            "*test_sweep.py::test_cell?tiny-bert-b1-s256? SKIPPED*",
        ]
    )
    (baseline,) = (pytester.path / "baselines").rglob("test_sweep.json")
    tests = json.loads(baseline.read_text())["tests"]
    assert set(tests) == {"test_cell[tiny-bert-b1-s8]", "test_cell[tiny-bert-b2-s8]"}
    assert set(tests["test_cell[tiny-bert-b2-s8]"]) == {"latency[2x8]", "host_memory[2x8]"}
    assert tests["test_cell[tiny-bert-b2-s8]"]["latency[2x8]"]["context"]["sequence_length"] == 8

    compared = run("--modelperf-json=report.json", "-rs")
    compared.assert_outcomes(passed=2, skipped=2)
    compared.stdout.fnmatch_lines(
        [
            "*tiny-bert-b1-s256: skipped: sequence length 256 exceeds tiny-bert's max_position_embeddings (128)*",
        ]
    )
    results = json.loads((pytester.path / "report.json").read_text())["results"]
    assert len(results) == 4
    assert {result["outcome"] for result in results} <= {"pass", "improvement"}, "every check found its cell's baseline"
    assert all(result["baseline"] is not None for result in results)
