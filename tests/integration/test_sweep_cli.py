"""``modelperf sweep`` end to end: files, exit codes, bad arguments, registry models, real out of memory."""

from __future__ import annotations

import csv
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main
from pytest_modelperf.sweep import load_sweep

FAST = [
    "--min-rounds",
    "2",
    "--max-rounds",
    "3",
    "--max-time",
    "0",
    "--warmup-rounds",
    "1",
    "--warmup-time",
    "0",
    "--no-progress",
]

REGISTRY = """
checkpoint_dir = "ckpts"

[models.micro]
checkpoint = "example-org/micro"
task = "sequence-classification"

[models.micro.offline]
architecture = "bert"
tokenizer = "bert-base-uncased"

[models.micro.offline.config]
num_hidden_layers = 1
hidden_size = 32
num_attention_heads = 2
intermediate_size = 64
max_position_embeddings = 64
"""


def sweep(*arguments: str) -> int:
    return main(["sweep", *FAST, *arguments])


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as stream:
        return list(csv.reader(stream))


def test_a_sweep_writes_the_study_tables_and_the_tidy_rows(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results"
    code = sweep(
        "--models",
        str(tiny_checkpoint),
        "--batch-sizes",
        "2",
        "1",
        "--sequence-lengths",
        "16",
        "256",
        "--output",
        str(output),
        "--device",
        "cpu",
        "--largest-batch",
        "--max-batch",
        "4",
        "--memory-budget",
        "100000",
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "1 model x 2 batch sizes x 2 sequence lengths = 4 cells on cpu in float32" in captured.out
    assert f"modelperf sweep: wrote {output / 'time.csv'} (seconds, median of the rounds)" in captured.out
    assert f"modelperf sweep: wrote {output / 'sweep.csv'}" in captured.out
    table = [line.split() for line in captured.out.splitlines() if line.startswith("tiny-bert-")]
    assert [line[:2] for line in table] == [
        ["tiny-bert-b1-s16", "ok"],
        ["tiny-bert-b1-s256", "skipped:"],
        ["tiny-bert-b2-s16", "ok"],
        ["tiny-bert-b2-s256", "skipped:"],
    ]
    largest = "4 (every batch up to --max-batch 4 fits; limit: 100000 MB budget)"
    assert f"largest batch of tiny-bert at sequence length 16: {largest}" in captured.out
    speed = [line for line in captured.out.splitlines() if line.startswith("  speed at batch 4: ")]
    assert len(speed) == 1 and speed[0].endswith(" samples/s") and " ms, " in speed[0]

    time = rows(output / "time.csv")
    assert time[0] == ["model", "batch_size", "sequence_length", "result"]
    assert [row[:3] for row in time[1:]] == [
        [str(tiny_checkpoint), "1", "16"],
        [str(tiny_checkpoint), "1", "256"],
        [str(tiny_checkpoint), "2", "16"],
        [str(tiny_checkpoint), "2", "256"],
    ]
    assert [row[3] for row in time[1:] if row[2] == "256"] == ["N/A", "N/A"], "longer than the model allows: N/A, as in the study"
    assert all(len(row[3].split(".")[1]) == 4 for row in time[1:] if row[2] == "16")
    assert rows(output / "required_memory.csv")[0] == ["model", "batch_size", "sequence_length", "result"]
    environment = dict(rows(output / "env.csv"))
    assert environment["framework"] == "PyTorch" and environment["use_gpu"] == "False" and environment["device"] == "cpu"
    study_keys = {"transformers_version", "framework_version", "python_version", "cpu_ram_mb", "torch_threads", "dtype"}
    study_keys |= {"use_torchscript", "use_multiprocessing", "only_pretrain_model", "use_tpu"}
    assert study_keys <= environment.keys()
    assert rows(output / "largest_batch.csv")[1:] == [
        [str(tiny_checkpoint), "16", "4", "", "100000 MB budget", "every batch up to --max-batch 4 fits"],
        [
            str(tiny_checkpoint),
            "256",
            "",
            "",
            "100000 MB budget",
            "skipped: sequence length 256 exceeds tiny-bert's max_position_embeddings (128)",
        ],
    ]
    at_largest = load_sweep(output / "largest_batch_speed.csv")
    assert at_largest[["batch_size", "sequence_length", "measure", "status"]].values.tolist() == [
        [4, 16, "time", "ok"],
        [4, 16, "throughput", "ok"],
    ]
    frame = load_sweep(output)
    assert len(frame) == 4 * 3 and set(frame.measure) == {"time", "throughput", "host_memory_peak"}
    measured = frame[frame.status == "ok"]
    assert len(measured) == 6 and measured["value"].notna().all() and (measured["label"] == "tiny-bert").all()
    assert frame[frame.sequence_length == 256]["value"].isna().all()


def test_an_existing_sweep_needs_force(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = [
        "--models",
        str(tiny_checkpoint),
        "--batch-sizes",
        "1",
        "--sequence-lengths",
        "8",
        "--output",
        str(tmp_path),
        "--measures",
        "time",
    ]
    assert sweep(*arguments) == 0
    capsys.readouterr()
    assert sweep(*arguments) == 2
    assert "already holds a sweep's files (time.csv, env.csv, sweep.csv, sweep.json); pass --force" in capsys.readouterr().err
    assert sweep(*arguments, "--force") == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--batch-sizes", "0"], "argument --batch-sizes: must be a positive integer, got '0'"),
        (["--sequence-lengths", "x"], "argument --sequence-lengths: expected a whole number, got 'x'"),
        (["--measures", "latency"], "argument --measures: invalid choice: 'latency'"),
        (["--memory-budget", "-5", "--largest-batch"], "argument --memory-budget: must be a positive number, got '-5'"),
        (["--mode", "train"], "argument --mode: invalid choice: 'train'"),
        (["--mode", "training", "--autocast", "int8"], "argument --autocast: expected bf16 or fp16 (or none), got 'int8'"),
        (
            ["--mode", "training", "--gradient-accumulation", "0"],
            "argument --gradient-accumulation: must be a positive integer, got '0'",
        ),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        sweep("--models", str(tiny_checkpoint), "--output", str(tmp_path / "out"), *arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--max-batch", "8"], "--max-batch: only apply with --largest-batch"),
        (["--gradient-accumulation", "2"], "--gradient-accumulation: only apply with --mode training"),
        (
            ["--mode", "inference", "--gradient-accumulation", "2", "--autocast", "bf16"],
            "--gradient-accumulation and --autocast: only apply with --mode training",
        ),
        (["--device", "tpu"], "--device: unknown device 'tpu'"),
        (["--dtype", "int4"], "--dtype: unknown dtype 'int4'"),
        (["--min-rounds", "1"], "--min-rounds: must be at least 2, got 1"),
        (["--models", "./missing-ckpt"], "--models: './missing-ckpt' is not a directory holding a saved model"),
    ],
)
def test_bad_values_exit_2_before_any_work(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    models = [] if "--models" in arguments else ["--models", str(tiny_checkpoint)]
    assert sweep(*models, "--output", str(tmp_path / "out"), *arguments) == 2
    captured = capsys.readouterr()
    assert f"modelperf sweep: error: {message}" in captured.err
    assert captured.out == "" and not (tmp_path / "out").exists()


def test_cuda_on_a_machine_without_one_is_a_bad_argument(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert sweep("--models", str(tiny_checkpoint), "--output", str(tmp_path), "--device", "cuda") == 2
    assert "modelperf sweep: error: --device: device 'cuda' requested but" in capsys.readouterr().err


def test_an_unknown_model_name_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml here: no registry
    assert sweep("--models", "nope", "--output", "out") == 2
    no_registry = "there is no model registry to look it up in (no --registry"
    assert f"--models: 'nope' is not a local directory, and {no_registry}" in capsys.readouterr().err
    (tmp_path / "models.toml").write_text(REGISTRY)
    assert main(["--registry", "models.toml", "sweep", "--models", "micro", "nope", "--output", "out", *FAST]) == 2
    assert "--models: 'nope' is not a model of the registry" in capsys.readouterr().err


def test_registry_models_paths_and_offline_hub_ids(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry name runs its offline stand-in; an uncached hub id offline fails its cells with
    the loader's clear error, the others are measured, and the exit code is 1."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "models.toml").write_text(REGISTRY)
    (tmp_path / "pyproject.toml").write_text('[tool.modelperf]\nregistry = "models.toml"\n')
    models = ["micro", "example-org/not-cached", str(tiny_checkpoint)]
    code = sweep("--models", *models, "--batch-sizes", "1", "--sequence-lengths", "8", "--output", "out")
    captured = capsys.readouterr()
    assert code == 1
    assert "modelperf sweep: 1 error:" in captured.err
    error = "CheckpointError: checkpoint 'example-org/not-cached': not a local directory, and not in the local hub cache"
    assert f"not-cached-b1-s8: error: {error}" in captured.err
    frame = load_sweep("out")
    status = frame.groupby("label")["status"].first().to_dict()
    assert status["micro"] == "ok" and status["tiny-bert"] == "ok" and status["not-cached"].startswith("error: CheckpointError")
    assert (tmp_path / "ckpts" / "micro").is_dir(), "the registry model ran on its offline checkpoint"


def test_a_real_out_of_memory_cell_is_na_under_a_memory_cap(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Under an address-space cap the large cell's forward pass hits the CPU allocator's real
    error (torch 2.13: a RuntimeError, not torch.OutOfMemoryError); it is N/A, the small cell is
    measured, and the sweep exits 0."""
    cap = 2_500_000_000  # a sweep of the tiny model peaks near 1.2 GB of address space

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    command = shutil.which("modelperf", path=str(Path(sys.executable).parent))
    assert command is not None
    completed = subprocess.run(
        [
            command,
            "sweep",
            "--models",
            str(tiny_checkpoint),
            "--batch-sizes",
            "1",
            "16384",
            "--sequence-lengths",
            "128",
            "--measures",
            "time",
            "--output",
            str(tmp_path),
            *FAST,
        ],
        preexec_fn=limit_memory,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert rows(tmp_path / "time.csv")[2] == [str(tiny_checkpoint), "16384", "128", "N/A"]
    assert rows(tmp_path / "time.csv")[1][:3] == [str(tiny_checkpoint), "1", "128"]
    assert float(rows(tmp_path / "time.csv")[1][3]) > 0
    assert "tiny-bert-b16384-s128  out of memory" in completed.stdout


def test_threads_are_pinned_for_the_whole_sweep_and_recorded(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """A subprocess, so that the pinned count never reaches this process's timings."""
    command = shutil.which("modelperf", path=str(Path(sys.executable).parent))
    assert command is not None
    arguments = ["--models", str(tiny_checkpoint), "--batch-sizes", "1", "--sequence-lengths", "16", "--measures", "time"]
    completed = subprocess.run(
        [command, "sweep", *arguments, "--threads", "1", "--output", str(tmp_path), *FAST],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    with (tmp_path / "env.csv").open() as handle:
        environment = {row[0]: row[1] for row in csv.reader(handle) if len(row) == 2}
    assert environment["torch_threads"] == "1"
