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
    assert "modelperf: 1 plot of results/sweep.csv written to results/plots (PNG and SVG):" in out
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


def test_the_studys_own_time_csv_is_plotted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The study's shape: model, batch_size, sequence_length, result; its measure is in its name.
    rows = "".join(f"bert,256,{sequence_length},{sequence_length / 1000:.4f}\r\n" for sequence_length in (8, 32, 128, 512))
    (tmp_path / "time.csv").write_text("model,batch_size,sequence_length,result\r\n" + rows, newline="")
    assert main(["plot", "time.csv"]) == 0
    assert (
        "modelperf: 1 plot of time.csv written to plots (PNG and SVG):\n  time_vs_sequence_length_b256\n"
        in capsys.readouterr().out
    )
    assert (tmp_path / "plots" / "time_vs_sequence_length_b256.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_csv_that_is_neither_a_sweep_nor_a_study_table_is_an_error_naming_the_file_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scores.csv").write_text("model,f1\nbert,88.5\n")
    assert main(["plot", "scores.csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "modelperf: error: scores.csv: not a sweep's sweep.csv: 16 missing columns: label, batch_size, sequence_length, measure,"
    )
    assert "nor a study table, whose header is model,batch_size,sequence_length,result" in err


@pytest.mark.parametrize(
    ("setup", "argument", "message"),
    [
        (lambda root: (root / "empty").mkdir(), "empty", "modelperf: error: empty: holds no sweep.csv, no study table"),
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


STUDY_TABLES = {
    # gpu: (time at batch 256 over sequence 8/32/128/512; required memory at batch 32 over sequence 32/128/512/1024)
    "p100": ("Tesla P100-PCIE-16GB", ("0.0145", "0.0551", "0.2106", "1.0900"), ("1459", "1619", "2507", "N/A")),
    "k80": ("Tesla K80", ("0.0577", "0.2209", "0.8981", "4.6346"), ("937", "1097", "1985", "N/A")),
}


def write_study(root: Path) -> Path:
    """The study's seed-benchmark-results: p100/ and k80/, each with time.csv, required_memory.csv and env.csv."""
    model = "SupriyaArun/distilbert-base-uncased-finetuned-squad"
    for name, (gpu, times, memory) in STUDY_TABLES.items():
        folder = root / name
        folder.mkdir(parents=True)
        header = "model,batch_size,sequence_length,result\r\n"
        time_rows = "".join(f"{model},256,{s},{t}\r\n" for s, t in zip((8, 32, 128, 512), times, strict=True))
        memory_rows = "".join(f"{model},32,{s},{m}\r\n" for s, m in zip((32, 128, 512, 1024), memory, strict=True))
        (folder / "time.csv").write_text(header + time_rows, newline="")
        (folder / "required_memory.csv").write_text(header + memory_rows, newline="")
        (folder / "env.csv").write_text(f"framework,PyTorch\r\nfp16,False\r\nuse_gpu,True\r\ngpu,{gpu}\r\n", newline="")
    return root


def test_p100_against_k80_from_the_studys_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    assert main(["plot", str(study), "--output", "gpus"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "modelperf: 2 plots of k80, p100 written to gpus (PNG and SVG):\n"
        "  gpu_memory_nvml_vs_sequence_length_b32\n"
        "  time_vs_sequence_length_b256\n"
        "  overview (the main measures side by side)\n"
    )
    assert sorted(path.name for path in (tmp_path / "gpus").iterdir()) == [
        "gpu_memory_nvml_vs_sequence_length_b32.png",
        "gpu_memory_nvml_vs_sequence_length_b32.svg",
        "overview.png",
        "overview.svg",
        "time_vs_sequence_length_b256.png",
        "time_vs_sequence_length_b256.svg",
    ]


def test_ours_against_the_study_with_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sweep(tmp_path / "results")
    study = write_study(tmp_path / "seed-benchmark-results")
    arguments = ["plot", "results", str(study), "--label", "ours", "--label", "K80", "--label", "P100", "--output", "vs"]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert out.startswith("modelperf: 3 plots of ours, K80, P100 written to vs (PNG and SVG):\n")
    assert "  time_vs_sequence_length_b32\n" in out and "  time_vs_sequence_length_b256\n" in out


def test_several_result_sets_need_an_output_folder_and_a_label_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    assert main(["plot", str(study)]) == 2
    assert "modelperf: error: --output: 2 result sets (k80, p100) are drawn together; say where" in capsys.readouterr().err
    assert main(["plot", str(study), "--label", "K80", "--output", "out"]) == 2
    assert "--label: 1 label for 2 result sets (" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_plot_with_no_value_is_left_out_and_the_output_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_sweep(tmp_path / "results")
    frame = pd.read_csv(path)
    memory = frame.assign(measure="host_memory_peak", unit="MB", value=None, status="skipped: sequence length too long")
    pd.concat([frame, memory]).to_csv(path, index=False)
    assert main(["plot", "results"]) == 0
    out = capsys.readouterr().out
    assert "modelperf: left out host_memory_peak_vs_sequence_length_b32: no cell has a value (8 skipped)\n" in out
    assert not list((tmp_path / "results" / "plots").glob("host_memory_peak*"))


def test_nothing_but_skipped_cells_exits_1_naming_each_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_sweep(tmp_path / "results")
    pd.read_csv(path).assign(value=None, status="skipped: too long").to_csv(path, index=False)
    assert main(["plot", "results"]) == 1
    err = capsys.readouterr().err
    assert "nothing to plot in results/sweep.csv" in err
    assert "\n  time_vs_sequence_length_b32: no cell has a value (8 skipped)" in err


def test_a_scatter_of_fine_tune_time_sized_by_artefact_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = pd.DataFrame(
        {
            "label": ["bert", "distilbert", "bert-tiny"],
            "score": [88.5, 86.9, 70.1],
            "fine_tune.time": [3600.0, 1900.0, 120.0],
            "artefact_size": [438.0, 268.0, 17.6],
        }
    )
    table.to_csv(tmp_path / "models.csv", index=False)
    arguments = ["plot", "models.csv", "--scatter", "--x", "fine_tune.time", "--size", "artefact_size", "--score-name", "F1"]
    assert main(arguments) == 0
    assert capsys.readouterr().out == "modelperf: scatter of models.csv written to plots (PNG and SVG):\n  f1_vs_fine_tune_time\n"
    assert (tmp_path / "plots" / "f1_vs_fine_tune_time.png").read_bytes().startswith(PNG_SIGNATURE)
    assert main([*arguments[:4], "train_time"]) == 2
    assert "models.csv: 1 column needed: train_time;" in capsys.readouterr().err


def read_only(folder: Path) -> None:
    """Make ``folder`` read-only for the test, or skip it where that does not stop writes (root)."""
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        folder.chmod(0o755)
        pytest.skip("running as root (or with CAP_DAC_OVERRIDE): a read-only folder is still writable")


@pytest.mark.parametrize("given", ["results", "results/time.csv"], ids=["sweep folder", "study table"])
def test_the_default_folder_beside_a_read_only_input_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    write_sweep(tmp_path / "results")
    (tmp_path / "results" / "time.csv").write_text("model,batch_size,sequence_length,result\nbert,1,8,0.1\nbert,1,32,0.2\n")
    if given.endswith(".csv"):
        (tmp_path / "results" / "sweep.csv").unlink()
    read_only(tmp_path / "results")
    try:
        assert main(["plot", given]) == 2
        assert not (tmp_path / "results" / "plots").exists()
    finally:
        (tmp_path / "results").chmod(0o755)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "modelperf: error: cannot write the plots to their default folder results/plots: results is not writable; "
        "pass --output DIR to write them elsewhere\n"
    )
    assert main(["plot", given, "--output", "elsewhere"]) == 0
    assert (tmp_path / "elsewhere").is_dir()


def test_a_default_folder_that_is_a_file_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sweep(tmp_path / "results")
    (tmp_path / "results" / "plots").write_text("not a folder")
    assert main(["plot", "results"]) == 2
    assert capsys.readouterr().err == (
        "modelperf: error: cannot write the plots to their default folder results/plots: results/plots is not a "
        "folder; pass --output DIR to write them elsewhere\n"
    )


@pytest.mark.parametrize("scatter", [False, True], ids=["sweep", "scatter"])
def test_an_output_under_a_file_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scatter: bool
) -> None:
    write_sweep(tmp_path / "results")
    pd.DataFrame({"label": ["bert"], "score": [88.5], "latency_ms": [4.2]}).to_csv(tmp_path / "models.csv", index=False)
    arguments = ["plot", "models.csv", "--scatter"] if scatter else ["plot", "results"]
    assert main([*arguments, "--output", "results/sweep.csv/plots"]) == 2
    assert capsys.readouterr().err == (
        "modelperf: error: --output results/sweep.csv/plots: cannot write the plots there: results/sweep.csv is not a folder\n"
    )
