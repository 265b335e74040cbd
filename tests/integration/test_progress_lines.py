"""Commands tell of their progress in a log (stderr not a terminal): one line per cell as it ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main

FAST = ["--min-rounds", "2", "--max-rounds", "3", "--max-time", "0", "--warmup-rounds", "1", "--warmup-time", "0"]


def sweep(checkpoint: Path, output: Path, *extra: str) -> int:
    grid = ["--models", str(checkpoint), "--batch-sizes", "1", "2", "--sequence-lengths", "16", "--measures", "time"]
    return main(["sweep", *FAST, *grid, "--device", "cpu", "--output", str(output), *extra])


def test_a_sweep_in_a_log_prints_a_line_per_cell_and_model(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert sweep(tiny_checkpoint, tmp_path / "results") == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("modelperf sweep: ")]
    assert lines[0] == "modelperf sweep: tiny-bert: loading"
    assert lines[1].startswith("modelperf sweep: [1/2] tiny-bert b1 s16: ") and lines[1].endswith("s)")
    assert lines[2].startswith("modelperf sweep: [2/2] tiny-bert b2 s16: ") and " ms (" in lines[2]
    assert lines[3].startswith("modelperf sweep: tiny-bert: 2 steps in ")


def test_no_progress_prints_none(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert sweep(tiny_checkpoint, tmp_path / "results", "--no-progress") == 0
    assert "modelperf sweep: [" not in capsys.readouterr().err
