"""`modelperf plot SWEEP`: plots of a sweep.csv, without a model registry; exit codes and errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pytest_modelperf.cli.main import main
from pytest_modelperf.measure.tidy import TIDY_COLUMNS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_sweep(folder: Path) -> Path:
    """The study's grid for two models: sequence 32..1024 at batch 32, BERT out of memory at 1024."""
    rows = []
    for model, scale in (("bert", 1.0), ("distilbert", 0.6)):
        for sequence_length in (32, 128, 512, 1024):
            oom = model == "bert" and sequence_length == 1024
            value = None if oom else round(scale * sequence_length / 1000, 4)
            rows.append(
                {
                    "model": f"SupriyaArun/{model}-base-uncased-finetuned-squad",
                    "label": model,
                    "batch_size": 32,
                    "sequence_length": sequence_length,
                    "measure": "time",
                    "unit": "s",
                    "value": value,
                    "status": "out of memory" if oom else "ok",
                    "median": value,
                    "mean": value,
                    "min": value,
                    "max": value,
                    "stdev": None,
                    "iqr": None,
                    "rounds": None if oom else 10,
                    "device": "cuda",
                    "dtype": "float16",
                }
            )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.csv"
    pd.DataFrame(rows, columns=TIDY_COLUMNS).to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def no_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where no pyproject.toml names a registry: plot must not need one."""
    monkeypatch.chdir(tmp_path)


def test_plot_a_sweep_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sweep(tmp_path / "results")
    assert main(["plot", "results"]) == 0
    out = capsys.readouterr().out
    assert "modelperf: 1 plot(s) of results/sweep.csv written to results/plots (PNG and SVG):" in out
    assert "  time_vs_sequence_length_b32" in out
    png = tmp_path / "results" / "plots" / "time_vs_sequence_length_b32.png"
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    assert (tmp_path / "results" / "plots" / "time_vs_sequence_length_b32.svg").read_text().lstrip().startswith("<?xml")


def test_plot_a_sweep_file_to_an_output_folder_with_log_axes(tmp_path: Path) -> None:
    path = write_sweep(tmp_path / "results")
    assert main(["plot", str(path), "--log", "--output", str(tmp_path / "docs")]) == 0
    written = sorted(p.name for p in (tmp_path / "docs").iterdir())
    assert written == ["time_vs_sequence_length_b32.png", "time_vs_sequence_length_b32.svg"]
    linear = tmp_path / "results" / "plots"
    assert not linear.exists(), "--output replaces the default folder"


def test_a_csv_that_is_not_a_sweep_is_an_error_naming_the_file_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The study's own time.csv has model, batch_size, sequence_length and result: not a tidy sweep.
    (tmp_path / "time.csv").write_text("model,batch_size,sequence_length,result\nbert,32,128,0.0145\n")
    assert main(["plot", "time.csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "modelperf: error: time.csv: not a sweep's sweep.csv: missing column(s) label, measure, unit, value, status,"
    )


@pytest.mark.parametrize(
    ("setup", "argument", "message"),
    [
        (lambda root: (root / "empty").mkdir(), "empty", "modelperf: error: empty/sweep.csv: no such file"),
        (lambda root: None, "missing.csv", "modelperf: error: missing.csv: no such file"),
        (lambda root: (root / "blank.csv").write_text(""), "blank.csv", "modelperf: error: blank.csv: not a readable CSV"),
        (
            lambda root: (root / "binary.csv").write_bytes(b"\x00\xff\xfe" * 50),
            "binary.csv",
            "modelperf: error: binary.csv: not a readable CSV",
        ),
    ],
)
def test_unreadable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, argument: str, message: str) -> None:
    setup(tmp_path)
    assert main(["plot", argument]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_a_sweep_with_a_bad_cell_names_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_sweep(tmp_path)
    path.write_text(path.read_text().replace(",32,32,time,s,0.032,", ",-32,32,time,s,0.032,", 1))
    assert main(["plot", str(path)]) == 2
    assert f"{path}: row 1, column batch_size: expected a positive whole number, got '-32'" in capsys.readouterr().err


def test_the_plots_read_the_rows_the_sweep_writes() -> None:
    from pytest_modelperf.core.measurement import Direction, Measurement
    from pytest_modelperf.measure.tidy import context_row
    from pytest_modelperf.render.plots import check_sweep, planned_plots

    def latency(sequence_length: int) -> Measurement:
        context = {"model": "org/bert", "batch_size": 8, "sequence_length": sequence_length, "device": "cpu", "dtype": "float32"}
        return Measurement.from_samples(
            f"latency[8x{sequence_length}]",
            [sequence_length / 10] * 5,
            unit="ms",
            direction=Direction.LOWER_IS_BETTER,
            context=context,
        )

    frame = pd.DataFrame([context_row(latency(32)), context_row(latency(64))], columns=TIDY_COLUMNS)
    (plan,) = planned_plots(check_sweep(frame))
    assert (plan.measure, plan.against, plan.fixed) == ("time", "sequence_length", 8)


def test_nothing_to_plot_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_sweep(tmp_path)
    frame = pd.read_csv(path)
    frame[frame["sequence_length"] == 128].to_csv(path, index=False)
    assert main(["plot", str(path)]) == 1
    assert "nothing to plot" in capsys.readouterr().err
    assert not (tmp_path / "plots").exists()


def test_the_command_runs_headless_as_a_process(tmp_path: Path) -> None:
    write_sweep(tmp_path / "results")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_modelperf.cli.main", "plot", "results", "--output", "out"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "TkAgg"},  # a GUI backend it must never start
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "time_vs_sequence_length_b32.png").is_file()


def test_without_matplotlib_plot_says_which_extra_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_sweep(tmp_path / "results")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(["plot", "results"]) == 2
    error = capsys.readouterr().err.strip()
    assert (
        error == "modelperf: error: drawing plots needs matplotlib, which is not installed: pip install 'pytest-modelperf[plots]'"
    )
    assert not (tmp_path / "results" / "plots").exists()
