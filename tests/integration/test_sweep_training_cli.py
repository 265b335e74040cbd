"""``modelperf sweep --mode training`` end to end: its tables, its recorded mode, the largest
batch of a training step and the speed there."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main
from pytest_modelperf.sweep import load_sweep

FAST = [
    "--min-rounds",
    "2",
    "--max-rounds",
    "2",
    "--max-time",
    "0",
    "--warmup-rounds",
    "1",
    "--warmup-time",
    "0",
    "--no-progress",
]


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as stream:
        return list(csv.reader(stream))


def test_a_training_sweep_writes_train_tables_and_records_its_mode(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results"
    code = main(
        [
            "sweep",
            *FAST,
            "--mode",
            "training",
            "--gradient-accumulation",
            "2",
            "--autocast",
            "bf16",
            "--models",
            str(tiny_checkpoint),
            "--batch-sizes",
            "1",
            "2",
            "--sequence-lengths",
            "8",
            "256",
            "--output",
            str(output),
            "--device",
            "cpu",
            "--largest-batch",
            "--max-batch",
            "2",
            "--memory-budget",
            "100000",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    header = "modelperf sweep: 1 model x 2 batch sizes x 2 sequence lengths = 4 cells on cpu in float32, training: "
    assert header + "one AdamW step per cell (gradient accumulation 2, autocast bfloat16)" in captured.out
    assert "cell  " in captured.out and "step time (ms)  samples/s  memory (MB, train_host_memory_peak)" in captured.out
    table = [line.split()[:2] for line in captured.out.splitlines() if line.startswith("tiny-bert-")]
    assert table == [
        ["tiny-bert-b1-s8", "ok"],
        ["tiny-bert-b1-s256", "skipped:"],
        ["tiny-bert-b2-s8", "ok"],
        ["tiny-bert-b2-s256", "skipped:"],
    ]
    largest = "largest batch of tiny-bert at sequence length 8: 2 (every batch up to --max-batch 2 fits; limit: 100000 MB budget)"
    assert largest in captured.out
    assert "  speed at batch 2: " in captured.out and " ms per step, " in captured.out
    assert f"modelperf sweep: wrote {output / 'train_time.csv'} (seconds per training step, median of the rounds)" in captured.out

    names = {path.name for path in output.iterdir()}
    assert names == {
        "train_time.csv",
        "train_throughput.csv",
        "train_required_memory.csv",
        "memory_train_host_memory_peak.csv",
        "env.csv",
        "sweep.csv",
        "sweep.json",
        "largest_batch.csv",
        "largest_batch_speed.csv",
    }, "nothing named as an inference sweep's tables"
    time = rows(output / "train_time.csv")
    assert time[0] == ["model", "batch_size", "sequence_length", "result"]
    assert [row[:3] for row in time[1:]] == [
        [str(tiny_checkpoint), "1", "8"],
        [str(tiny_checkpoint), "1", "256"],
        [str(tiny_checkpoint), "2", "8"],
        [str(tiny_checkpoint), "2", "256"],
    ]
    assert [row[3] for row in time[1:] if row[2] == "256"] == ["N/A", "N/A"], "longer than the model allows: N/A"
    environment = dict(rows(output / "env.csv"))
    assert (environment["mode"], environment["gradient_accumulation"], environment["autocast"]) == ("training", "2", "bfloat16")
    assert environment["dtype"] == "float32" and environment["fp16"] == "False"
    grid = json.loads((output / "sweep.json").read_text())["grid"]
    assert (grid["mode"], grid["gradient_accumulation"], grid["autocast"]) == ("training", 2, "bfloat16")
    assert grid["measures"] == ["train_time", "train_throughput", "train_host_memory_peak"]

    frame = load_sweep(output)
    assert set(frame.measure) == {"train_time", "train_throughput", "train_host_memory_peak"}
    assert set(frame.dtype) == {"bfloat16"} and frame[frame.status == "ok"]["value"].notna().all()
    at_largest = load_sweep(output / "largest_batch_speed.csv")
    assert at_largest[["batch_size", "sequence_length", "measure", "status"]].values.tolist() == [
        [2, 8, "train_time", "ok"],
        [2, 8, "train_throughput", "ok"],
    ]
    assert rows(output / "largest_batch.csv")[1][:4] == [str(tiny_checkpoint), "8", "2", ""]


def test_measures_keep_their_meaning_in_training(tiny_checkpoint: Path, tmp_path: Path) -> None:
    arguments = ["--models", str(tiny_checkpoint), "--batch-sizes", "1", "--sequence-lengths", "8", "--device", "cpu"]
    assert main(["sweep", *FAST, *arguments, "--mode", "training", "--measures", "memory", "--output", str(tmp_path)]) == 0
    assert {path.name for path in tmp_path.iterdir()} == {
        "train_required_memory.csv",
        "memory_train_host_memory_peak.csv",
        "env.csv",
        "sweep.csv",
        "sweep.json",
    }
    assert list(load_sweep(tmp_path).measure) == ["train_host_memory_peak"]
