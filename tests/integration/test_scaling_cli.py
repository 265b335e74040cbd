"""``modelperf scaling`` end to end: torchrun on one and two gloo workers with delayed gradient
sync (its last micro-batch all-reduced as plain DDP does), the files it writes, and the error of
a worker that fails.

No timing is judged: a 2-core runner says nothing steady about speed-up in a few steps.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main

# A few short steps of a tiny BERT: what is checked is the plumbing, not the figures.
SHORT = ["--batch-size", "2", "--sequence-length", "16", "--steps", "2", "--warmup-steps", "1", "--threads", "1"]


def test_one_and_two_workers_give_the_csv_the_plot_and_every_step(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "scaling"
    code = main(
        [
            "scaling",
            "--model",
            str(tiny_checkpoint),
            "--nproc-per-node",
            "1",
            "2",
            "--gradient-accumulation",
            "2",
            "--delay-sync",
            "--output",
            str(output),
            *SHORT,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err

    with (output / "scaling.csv").open(newline="") as stream:
        reader = csv.DictReader(stream)
        assert reader.fieldnames is not None
        assert reader.fieldnames[:5] == ["nproc", "global_batch", "samples_per_second", "speedup", "efficiency"]
        assert {"variant", "nnodes", "world_size", "step_ms_median"} <= set(reader.fieldnames)
        rows = list(reader)
    launches = [(row["variant"], row["world_size"], row["nproc"], row["nnodes"], row["global_batch"]) for row in rows]
    # global batch: workers x 2 examples x 2 micro-batches
    assert launches == [("delay_sync", "1", "1", "1", "4"), ("delay_sync", "2", "2", "1", "8")]
    for row in rows:
        assert float(row["samples_per_second"]) > 0
        assert float(row["speedup"]) > 0 and float(row["efficiency"]) > 0
    assert (rows[0]["speedup"], rows[0]["efficiency"]) == ("1.0000", "1.0000")

    assert (output / "scaling.png").read_bytes().startswith(b"\x89PNG")
    document = json.loads((output / "scaling.json").read_text())
    assert [len(run["step_seconds"]) for run in document["runs"]] == [2, 2]
    assert {run["backend"] for run in document["runs"]} == {"gloo"}
    assert {run["threads"] for run in document["runs"]} == {1}

    assert "modelperf scaling: running 2 workers, delay_sync, 1 thread each" in out
    assert "variant     nproc  workers  global batch  samples/s  speed-up  efficiency  step (ms)" in out
    assert f"modelperf scaling: wrote {output / 'scaling.csv'}" in out


def test_a_failing_worker_is_an_error_naming_the_command_and_the_cause(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The tiny model holds 128 positions: every rank refuses a batch of 512 tokens.
    arguments = [*SHORT[:2], "--sequence-length", "512", *SHORT[4:]]
    output = tmp_path / "scaling"
    code = main(["scaling", "--model", str(tiny_checkpoint), "--nproc-per-node", "1", "--output", str(output), *arguments])
    err = capsys.readouterr().err
    assert code == 1
    first, cause = err.splitlines()[:2]
    assert first.startswith("modelperf scaling: error: torchrun failed with exit status 1: ")
    assert "-m torch.distributed.run --nproc-per-node 1 --standalone" in first
    assert "-m pytest_modelperf.training.scaling_worker" in first
    assert cause == (
        "modelperf scaling worker, rank 0 of 1: ValueError: sequence_length 512 exceeds tiny-bert's max_position_embeddings (128)"
    )
    assert "--- the last" in err
    assert not output.exists()
