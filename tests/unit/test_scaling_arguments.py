"""``modelperf scaling``'s arguments: each bad one is a usage error (exit 2) naming it, before any
launch; the summary table; the registry the command looks a model name up in."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main
from pytest_modelperf.cli.scaling import summary_table
from pytest_modelperf.training.scaling import ScalingRun, scaling_rows

REGISTRY = """
checkpoint_dir = "ckpts"

[models.micro]
checkpoint = "example-org/micro"
task = "sequence-classification"

[models.micro.offline]
architecture = "bert"
tokenizer = "bert-base-uncased"
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A folder that passes for a checkpoint: the arguments are refused before anything loads it."""
    folder = tmp_path / "model"
    folder.mkdir()
    return folder


def scaling(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    try:
        code = main(["scaling", *arguments])
    except SystemExit as exit:  # argparse's own usage errors
        code = int(exit.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--nproc-per-node", "1", "1"], "modelperf scaling: error: --nproc-per-node: 1 given more than once"),
        (["--steps", "1"], "modelperf scaling: error: --steps: must be a whole number of at least 2, got 1"),
        (["--warmup-steps", "0"], "modelperf scaling: error: --warmup-steps: must be a whole number of at least 1, got 0"),
        (["--delay-sync"], "modelperf scaling: error: --delay-sync/--compare-delay-sync: skips the all-reduce"),
        (
            ["--compare-delay-sync", "--gradient-accumulation", "1"],
            "modelperf scaling: error: --delay-sync/--compare-delay-sync:",
        ),
        (["--rdzv-endpoint", "node0:29500"], "modelperf scaling: error: --rdzv-endpoint: only applies with nnodes of 2 or more"),
        (["--nnodes", "2"], "modelperf scaling: error: --rdzv-endpoint: 2 nodes need the rendezvous HOST:PORT"),
        (
            ["--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "node0:29500"],
            "modelperf scaling: error: --node-rank: must be below nnodes (2), got 2",
        ),
        (["--nnodes", "2", "--rdzv-endpoint", "node0"], "modelperf scaling: error: --rdzv-endpoint: expected HOST:PORT"),
        (
            ["--device", "cuda", "--nproc-per-node", "4096"],
            "modelperf scaling: error: --nproc-per-node: 4096 workers per node need",
        ),
    ],
)
def test_bad_settings_are_usage_errors_naming_the_flag(
    capsys: pytest.CaptureFixture[str], model: Path, tmp_path: Path, arguments: list[str], message: str
) -> None:
    code, err = scaling(capsys, "--model", str(model), "--output", str(tmp_path / "out"), *arguments)
    assert code == 2
    assert err.startswith(message), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--nproc-per-node", "0"], "argument --nproc-per-node: must be a positive integer, got '0'"),
        (["--nproc-per-node", "two"], "argument --nproc-per-node: expected a whole number, got 'two'"),
        (["--threads", "0"], "argument --threads: must be a positive integer, got '0'"),
        (["--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
        (["--delay-sync", "--compare-delay-sync"], "argument --compare-delay-sync: not allowed with argument --delay-sync"),
    ],
)
def test_unparsable_arguments_are_usage_errors(
    capsys: pytest.CaptureFixture[str], model: Path, arguments: list[str], message: str
) -> None:
    code, err = scaling(capsys, "--model", str(model), *arguments)
    assert code == 2
    assert message in err


def test_an_output_holding_scaling_files_needs_force(capsys: pytest.CaptureFixture[str], model: Path, tmp_path: Path) -> None:
    (tmp_path / "scaling.csv").write_text("earlier\n")
    code, err = scaling(capsys, "--model", str(model), "--output", str(tmp_path))
    assert code == 2
    assert f"--output: {tmp_path} already holds a scaling measurement's files (scaling.csv); pass --force" in err
    assert (tmp_path / "scaling.csv").read_text() == "earlier\n"


def test_a_model_that_names_nothing_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = scaling(capsys, "--model", str(tmp_path / "missing"), "--output", str(tmp_path / "out"))
    assert code == 2
    assert f"--model: '{tmp_path / 'missing'}' is not a directory holding a saved model" in err


def test_a_model_name_is_looked_up_in_the_registry_given_either_way(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml here names a registry
    registry = tmp_path / "models.toml"
    registry.write_text(REGISTRY)
    code, err = scaling(capsys, "--model", "nope", "--registry", str(registry))
    assert code == 2
    assert f"--model: 'nope' is not a model of the registry {registry} (it names micro)" in err
    code = main(["--registry", str(registry), "scaling", "--model", "nope"])
    assert code == 2
    assert "(it names micro)" in capsys.readouterr().err
    code, err = scaling(capsys, "--model", "nope")
    assert code == 2
    assert "--model: 'nope' is not a local directory, and there is no model registry to look it up in (no --registry" in err


def test_the_summary_table_shows_each_launch() -> None:
    def run(world_size: int, seconds: float) -> ScalingRun:
        return ScalingRun("m", "t", "cpu", world_size, world_size, 1, 8, 128, 1, 8 * world_size, False, 1, (seconds,))

    # 8 samples in 0.5 s (16/s), then 16 in 0.8 s (20/s): speed-up 1.25, efficiency 62.5%.
    assert summary_table(scaling_rows([run(1, 0.5), run(2, 0.8)])).splitlines() == [
        "variant  nproc  workers  global batch  samples/s  speed-up  efficiency  step (ms)",
        "ddp      1      1        8             16.0       1.00      100%        500.0",
        "ddp      2      2        16            20.0       1.25      62%         800.0",
    ]
