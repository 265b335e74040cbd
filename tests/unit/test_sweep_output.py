"""A sweep's files: the study's CSV shapes, env.csv, the tidy schema, no overwriting, atomic writes."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.measure.cell import CellMeasurements, measures_for
from pytest_modelperf.measure.tidy import TIDY_COLUMNS, tidy_rows
from pytest_modelperf.sweep import build_grid, load_sweep
from pytest_modelperf.sweep.frame import SweepFileError
from pytest_modelperf.sweep.largest_batch import LargestBatch, Probe, SearchSettings
from pytest_modelperf.sweep.modes import training_mode
from pytest_modelperf.sweep.output import SWEEP_FILES, OutputError, check_output, write_sweep
from pytest_modelperf.sweep.runner import SweepResult, SweepSettings
from pytest_modelperf.training.cell import StepRecipe, training_measures_for

TIDY_HEADER = "model,label,batch_size,sequence_length,measure,unit,value,status,median,mean,min,max,stdev,iqr,rounds,device,dtype"
ENVIRONMENT = {
    "transformers_version": "5.0.0",
    "framework": "PyTorch",
    "fp16": False,
    "use_gpu": True,
    "gpu": "NVIDIA H100",
    "dtype": "float32",
}


def _ok(cell, device: str, *, nvml: bool = True) -> CellMeasurements:
    """A measured cell with known samples: times 10/20/30 ms, host peaks 1/2/3 MB, GPU 2^20 x 100 bytes."""
    batch = cell.batch_size
    measures = measures_for(["time", "throughput", "memory"], device)
    by_measure = {
        "time": Measurement.from_samples("latency", [10.0, 30.0, 20.0], unit="ms", direction=Direction.LOWER_IS_BETTER),
        "throughput": Measurement.from_samples(
            "throughput", [batch / 0.010, batch / 0.030, batch / 0.020], unit="samples/s", direction=Direction.HIGHER_IS_BETTER
        ),
        "host_memory_peak": Measurement.from_samples(
            "host_memory", [1.0, 3.0, 2.0], unit="MB", direction=Direction.LOWER_IS_BETTER
        ),
    }
    unavailable = {}
    if device.startswith("cuda"):
        by_measure["gpu_memory_allocated"] = Measurement.exact("a", 100 * 2**20 / 1e6, unit="MB")
        by_measure["gpu_memory_reserved"] = Measurement("r", "MB", Direction.LOWER_IS_BETTER, 200 * 2**20 / 1e6)
        if nvml:
            by_measure["gpu_memory_nvml"] = Measurement("n", "MB", Direction.LOWER_IS_BETTER, 1459.9 * 2**20 / 1e6)
        else:
            unavailable["gpu_memory_nvml"] = "unavailable: NVML lists no memory for process 1"
    return CellMeasurements(cell, "ok", device, "float32", measures, by_measure, unavailable)


def _result(device: str = "cuda:0", *, largest: bool = False) -> SweepResult:
    grid = build_grid(["org/distilbert"], [32], [32, 128, 512, 1024])
    cells = grid.cells()
    measures = measures_for(["time", "throughput", "memory"], device)
    results = (
        _ok(cells[0], device),
        _ok(cells[1], device, nvml=False),
        CellMeasurements(cells[2], "error: ValueError: broken", device, "float32", measures),
        CellMeasurements(
            cells[3],
            "out of memory",
            device,
            "float32",
            measures,
            {name: Measurement.not_available(name, "out of memory", unit="MB") for name in measures},
        ),
    )
    search = SearchSettings(max_batch=64, budget_mb=16000) if largest else None
    probes = (Probe(64, "out of memory"),)
    found = (LargestBatch("org/distilbert", "distilbert", 128, 48, 49, "16000 MB budget", "batch 49 ran out of memory", probes),)
    settings = SweepSettings(device=device, dtype="float32", largest_batch=search)
    if not largest:
        return SweepResult(grid, settings, results)
    (at_largest,) = build_grid(["org/distilbert"], [48], [128]).cells()
    speed = _ok(at_largest, device)
    speed = CellMeasurements(
        at_largest,
        "ok",
        device,
        "float32",
        ("time", "throughput"),
        {name: speed.by_measure[name] for name in ("time", "throughput")},
    )
    return SweepResult(grid, settings, results, found, (speed,))


def _trained(device: str = "cpu") -> SweepResult:
    """A training sweep of one cell measured and one out of memory, with a largest-batch search."""
    grid = build_grid(["org/distilbert"], [32], [32, 1024])
    measured, out_of_memory = grid.cells()
    measures = training_measures_for(["time", "throughput", "memory"], device)
    by_measure = {
        "train_time": Measurement.from_samples("t", [100.0, 300.0, 200.0], unit="ms", direction=Direction.LOWER_IS_BETTER),
        "train_throughput": Measurement.from_samples(
            "r", [64 / 0.1, 64 / 0.3, 64 / 0.2], unit="samples/s", direction=Direction.HIGHER_IS_BETTER
        ),
        "train_host_memory_peak": Measurement.from_samples("h", [300.0], unit="MB", direction=Direction.LOWER_IS_BETTER),
    }
    missing = {name: Measurement.not_available(name, "out of memory", unit="MB") for name in measures}
    cells = (
        CellMeasurements(measured, "ok", device, "bfloat16", measures, by_measure),
        CellMeasurements(out_of_memory, "out of memory", device, "bfloat16", measures, missing),
    )
    mode = training_mode(StepRecipe(gradient_accumulation=2, autocast="bfloat16"))
    settings = SweepSettings(device=device, dtype="float32", largest_batch=SearchSettings(max_batch=64), mode=mode)
    found = (LargestBatch("org/distilbert", "distilbert", 32, 0, 1, "host memory", "batch 1 ran out of memory"),)
    return SweepResult(grid, settings, cells, found)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_the_study_tables_have_its_exact_shape(tmp_path: Path) -> None:
    write_sweep(_result(), tmp_path, ENVIRONMENT)
    assert _lines(tmp_path / "time.csv") == [
        "model,batch_size,sequence_length,result",
        "org/distilbert,32,32,0.0200",
        "org/distilbert,32,128,0.0200",
        "org/distilbert,32,1024,N/A",  # the error cell is left out; the out-of-memory cell is N/A
    ]
    assert (tmp_path / "time.csv").read_bytes().endswith(b"N/A\r\n"), "the csv module's line ends, like the study's files"
    assert _lines(tmp_path / "required_memory.csv") == [
        "model,batch_size,sequence_length,result",
        "org/distilbert,32,32,1459",  # NVML device-used, in the study's MB (2^20 bytes), rounded down
        "org/distilbert,32,1024,N/A",  # NVML gave nothing at s128: no number to write
    ]
    assert _lines(tmp_path / "memory_gpu_memory_allocated.csv")[1:] == [
        "org/distilbert,32,32,100",
        "org/distilbert,32,128,100",
        "org/distilbert,32,1024,N/A",
    ]
    assert _lines(tmp_path / "throughput.csv")[1] == "org/distilbert,32,32,1600.00"
    assert {path.name for path in tmp_path.iterdir()} == {
        "time.csv",
        "throughput.csv",
        "required_memory.csv",
        "memory_host_memory_peak.csv",
        "memory_gpu_memory_allocated.csv",
        "memory_gpu_memory_reserved.csv",
        "memory_gpu_memory_nvml.csv",
        "env.csv",
        "sweep.csv",
        "sweep.json",
    }


def test_on_the_cpu_required_memory_is_the_host_peak(tmp_path: Path) -> None:
    write_sweep(_result("cpu"), tmp_path, ENVIRONMENT)
    assert _lines(tmp_path / "required_memory.csv")[1] == "org/distilbert,32,32,2"  # 3 MB = 2.86 MiB
    assert not (tmp_path / "memory_gpu_memory_allocated.csv").exists()


def test_env_csv_is_key_value_rows_without_a_header(tmp_path: Path) -> None:
    write_sweep(_result(), tmp_path, ENVIRONMENT)
    with (tmp_path / "env.csv").open(newline="") as stream:
        assert list(csv.reader(stream)) == [
            ["transformers_version", "5.0.0"],
            ["framework", "PyTorch"],
            ["fp16", "False"],
            ["use_gpu", "True"],
            ["gpu", "NVIDIA H100"],
            ["dtype", "float32"],
        ]


def test_tidy_rows_follow_the_schema(tmp_path: Path) -> None:
    write_sweep(_result(), tmp_path, ENVIRONMENT)
    assert _lines(tmp_path / "sweep.csv")[0] == TIDY_HEADER
    assert ",".join(TIDY_COLUMNS) == TIDY_HEADER
    with (tmp_path / "sweep.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 4 * 6
    time, throughput, host, allocated, _, nvml = rows[:6]
    assert [row["measure"] for row in rows[:6]] == [
        "time",
        "throughput",
        "host_memory_peak",
        "gpu_memory_allocated",
        "gpu_memory_reserved",
        "gpu_memory_nvml",
    ]
    assert [row["unit"] for row in rows[:6]] == ["s", "samples/s", "MB", "MB", "MB", "MB"]
    assert time["model"] == "org/distilbert" and time["label"] == "distilbert" and time["device"] == "cuda:0"
    assert float(time["value"]) == pytest.approx(0.02) and float(time["median"]) == pytest.approx(0.02)
    assert float(time["min"]) == pytest.approx(0.01) and float(time["max"]) == pytest.approx(0.03)
    assert float(time["stdev"]) == pytest.approx(0.01) and float(time["iqr"]) == pytest.approx(0.01) and time["rounds"] == "3"
    assert float(throughput["value"]) == pytest.approx(32 / 0.02)  # samples/s of the median time
    assert float(host["value"]) == 3.0 and float(host["median"]) == 2.0  # memory: the peak of the rounds
    assert float(allocated["value"]) == pytest.approx(104.8576) and allocated["median"] == "" and allocated["rounds"] == "1"
    assert nvml["status"] == "ok"
    s128 = rows[6:12]
    assert s128[5]["status"] == "unavailable: NVML lists no memory for process 1" and s128[5]["value"] == ""
    errors, out_of_memory = rows[12:18], rows[18:]
    assert {row["status"] for row in errors} == {"error: ValueError: broken"}
    assert {row["status"] for row in out_of_memory} == {"out of memory"}
    assert all(row["value"] == "" and row["median"] == "" and row["rounds"] == "" for row in errors + out_of_memory)


def test_sweep_json_holds_the_rows_environment_and_grid(tmp_path: Path) -> None:
    write_sweep(_result(largest=True), tmp_path, ENVIRONMENT)
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert set(data) == {"schema", "environment", "grid", "cells", "largest_batch", "largest_batch_speed"}
    assert data["schema"] == 1 and "mode" not in data["grid"], "an inference sweep records no mode, as it always did"
    assert data["environment"] == ENVIRONMENT
    assert data["grid"]["batch_sizes"] == [32] and data["grid"]["sequence_lengths"] == [32, 128, 512, 1024]
    assert data["grid"]["models"] == [{"model": "org/distilbert", "label": "distilbert"}]
    assert data["grid"]["largest_batch"]["max_batch"] == 64
    assert list(data["cells"][0]) == list(TIDY_COLUMNS)
    assert data["cells"][-1]["value"] is None and data["cells"][-1]["status"] == "out of memory"
    assert data["largest_batch"][0]["largest_batch"] == 48 and data["largest_batch"][0]["probes"][0]["batch_size"] == 64
    speed = data["largest_batch_speed"]
    assert [(row["batch_size"], row["sequence_length"], row["measure"]) for row in speed] == [
        (48, 128, "time"),
        (48, 128, "throughput"),
    ]
    assert "largest_batch_speed" not in json.loads(write_sweep_json(_result(), tmp_path / "no-search"))


def write_sweep_json(result: SweepResult, directory: Path) -> str:
    write_sweep(result, directory, ENVIRONMENT)
    return (directory / "sweep.json").read_text()


def test_largest_batch_csv_and_the_speed_at_the_largest_batch(tmp_path: Path) -> None:
    write_sweep(_result(largest=True), tmp_path, ENVIRONMENT)
    assert _lines(tmp_path / "largest_batch.csv") == [
        "model,sequence_length,largest_batch,first_failing_batch,limit,reason",
        "org/distilbert,128,48,49,16000 MB budget,batch 49 ran out of memory",
    ]
    speed = _lines(tmp_path / "largest_batch_speed.csv")
    assert speed[0] == TIDY_HEADER
    assert [line.split(",")[:8] for line in speed[1:]] == [
        ["org/distilbert", "distilbert", "48", "128", "time", "s", "0.02", "ok"],
        ["org/distilbert", "distilbert", "48", "128", "throughput", "samples/s", "2400.0", "ok"],
    ]
    assert len(load_sweep(tmp_path / "largest_batch_speed.csv")) == 2, "the speed rows load as a sweep's rows"
    assert len(load_sweep(tmp_path)) == 24, "and stay out of the grid's sweep.csv"


def test_an_existing_sweep_is_not_overwritten_without_force(tmp_path: Path) -> None:
    write_sweep(_result(largest=True), tmp_path, ENVIRONMENT)
    before = (tmp_path / "sweep.csv").read_bytes()
    with pytest.raises(OutputError, match=rf"--output: {tmp_path} already holds a sweep's files \(time.csv, .*\); pass --force"):
        write_sweep(_result("cpu"), tmp_path, ENVIRONMENT)
    assert (tmp_path / "sweep.csv").read_bytes() == before
    write_sweep(_result("cpu"), tmp_path, ENVIRONMENT, force=True)
    assert (tmp_path / "sweep.csv").read_bytes() != before
    assert not (tmp_path / "memory_gpu_memory_nvml.csv").exists(), "a file of the earlier sweep is not left to mix with this one"
    assert not (tmp_path / "largest_batch.csv").exists()


def test_other_files_in_the_folder_do_not_block_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    check_output(tmp_path, force=False)
    write_sweep(_result(), tmp_path, ENVIRONMENT)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output(tmp_path / "file", force=False)


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest_modelperf.storage.atomic_files as atomic_files

    write_sweep(_result(), tmp_path, ENVIRONMENT)
    before = {name: (tmp_path / name).read_bytes() for name in SWEEP_FILES if (tmp_path / name).exists()}

    def interrupted(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic_files.os, "replace", interrupted)
    with pytest.raises(OSError, match="disk full"):
        write_sweep(_result("cpu"), tmp_path, ENVIRONMENT, force=True)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_load_sweep_reads_the_tidy_rows_into_a_frame(tmp_path: Path) -> None:
    write_sweep(_result(), tmp_path, ENVIRONMENT)
    frame = load_sweep(tmp_path)
    assert list(frame.columns) == list(TIDY_COLUMNS) and len(frame) == 24
    assert frame["batch_size"].dtype.kind == "i" and frame["value"].dtype.kind == "f"
    time = frame[(frame.measure == "time") & (frame.status == "ok")]
    assert time["value"].tolist() == pytest.approx([0.02, 0.02])
    assert math.isnan(frame[frame.status == "out of memory"]["value"].iloc[0])
    assert load_sweep(tmp_path / "sweep.csv").equals(frame)


def test_load_sweep_names_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(SweepFileError, match=r"holds no sweep\.csv, no study table"):
        load_sweep(tmp_path)
    (tmp_path / "sweep.csv").write_text("model,batch_size\nx,1\n")
    with pytest.raises(SweepFileError, match=r"sweep.csv: not a sweep's sweep.csv: 15 missing columns: label, sequence_length"):
        load_sweep(tmp_path)
    (tmp_path / "sweep.csv").write_text(TIDY_HEADER + "\nm,m,eight,8,time,s,1,ok,,,,,,,,cpu,float32\n")
    with pytest.raises(SweepFileError, match="column batch_size holds a value that is not a number"):
        load_sweep(tmp_path)


def test_a_cell_with_no_measurements_still_has_a_row_per_measure() -> None:
    grid = build_grid(["bert-tiny"], [1], [512])
    skipped = CellMeasurements(grid.cells()[0], "skipped: too long", "cpu", "float32", ("time", "host_memory_peak"))
    rows = tidy_rows(skipped)
    assert [(row["measure"], row["status"], row["value"]) for row in rows] == [
        ("time", "skipped: too long", None),
        ("host_memory_peak", "skipped: too long", None),
    ]


def test_a_training_sweep_names_its_tables_and_records_its_mode(tmp_path: Path) -> None:
    written = write_sweep(_trained(), tmp_path, ENVIRONMENT)
    assert [file.path.name for file in written] == [
        "train_time.csv",
        "train_throughput.csv",
        "train_required_memory.csv",
        "memory_train_host_memory_peak.csv",
        "env.csv",
        "sweep.csv",
        "sweep.json",
        "largest_batch.csv",
        "largest_batch_speed.csv",
    ]
    assert written[0].what == "seconds per training step, median of the rounds"
    assert _lines(tmp_path / "train_time.csv") == [
        "model,batch_size,sequence_length,result",
        "org/distilbert,32,32,0.2000",
        "org/distilbert,32,1024,N/A",
    ]
    assert _lines(tmp_path / "train_throughput.csv")[1] == "org/distilbert,32,32,320.00"  # 64 samples / 0.2 s
    assert _lines(tmp_path / "train_required_memory.csv")[1:] == ["org/distilbert,32,32,286", "org/distilbert,32,1024,N/A"]
    frame = load_sweep(tmp_path)
    assert list(frame.measure.unique()) == ["train_time", "train_throughput", "train_host_memory_peak"]
    assert set(frame.dtype) == {"bfloat16"}
    grid = json.loads((tmp_path / "sweep.json").read_text())["grid"]
    assert (grid["mode"], grid["gradient_accumulation"], grid["autocast"]) == ("training", 2, "bfloat16")
    assert _lines(tmp_path / "largest_batch_speed.csv") == [TIDY_HEADER], "no batch fitted: no speed to measure"


def test_a_training_sweep_over_an_inference_sweep_needs_force_and_replaces_it(tmp_path: Path) -> None:
    write_sweep(_result("cpu"), tmp_path, ENVIRONMENT)
    with pytest.raises(OutputError, match="already holds a sweep's files"):
        write_sweep(_trained(), tmp_path, ENVIRONMENT)
    write_sweep(_trained(), tmp_path, ENVIRONMENT, force=True)
    assert not (tmp_path / "time.csv").exists() and not (tmp_path / "memory_host_memory_peak.csv").exists()
    with pytest.raises(OutputError, match=r"\(train_time.csv, .*memory_train_host_memory_peak.csv"):
        check_output(tmp_path, force=False)


def test_force_never_deletes_files_of_sweep_names_that_no_sweep_wrote(tmp_path: Path) -> None:
    (tmp_path / "time.csv").write_text("my own timings")
    (tmp_path / "largest_batch.csv").write_text("my own notes")
    write_sweep(_result("cpu"), tmp_path, ENVIRONMENT, force=True)
    assert (tmp_path / "largest_batch.csv").read_text() == "my own notes"
