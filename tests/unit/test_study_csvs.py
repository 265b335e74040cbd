"""The study's CSV shape both ways: reading its tables (and ours) as tidy rows, writing N/A and env.csv as it did, one memory unit."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.measure.cell import CellMeasurements, measures_for
from pytest_modelperf.measure.tidy import TIDY_COLUMNS
from pytest_modelperf.render.plots import line_plot
from pytest_modelperf.sweep import build_grid, load_sweep
from pytest_modelperf.sweep.environment_info import environment_info
from pytest_modelperf.sweep.frame import SweepFileError, combine, load_result_sets, parse_renames
from pytest_modelperf.sweep.output import write_sweep
from pytest_modelperf.sweep.runner import SweepResult, SweepSettings

DISTILBERT = "SupriyaArun/distilbert-base-uncased-finetuned-squad"
BERT = "SupriyaArun/bert-base-uncased-finetuned-squad"
# Rows of the study's P100 and K80 tables, as published (\r\n line ends, N/A where a cell failed).
STUDY = {
    "p100": {
        "time.csv": [
            (DISTILBERT, 256, 8, "0.0145"),
            (DISTILBERT, 256, 512, "1.0900"),
            (BERT, 256, 8, "0.0446"),
            (BERT, 256, 512, "3.1927"),
        ],
        "required_memory.csv": [(DISTILBERT, 32, 32, "1459"), (DISTILBERT, 32, 512, "2507"), (DISTILBERT, 32, 1024, "N/A")],
        "required_memory_2.csv": [(DISTILBERT, 64, 512, "3611"), (DISTILBERT, 512, 512, "N/A"), (DISTILBERT, 32, 512, "9999")],
        "gpu": "Tesla P100-PCIE-16GB",
    },
    "k80": {
        "time.csv": [
            (DISTILBERT, 256, 8, "0.0577"),
            (DISTILBERT, 256, 512, "4.6346"),
            (BERT, 256, 8, "0.1692"),
            (BERT, 256, 512, "13.4019"),
        ],
        "required_memory.csv": [(DISTILBERT, 32, 32, "937"), (DISTILBERT, 32, 512, "1985"), (DISTILBERT, 32, 1024, "N/A")],
        "gpu": "Tesla K80",
    },
}


def write_study(root: Path, *, environment: bool = True) -> Path:
    """The study's seed-benchmark-results folder: one folder per GPU, its tables and env.csv."""
    for name, files in STUDY.items():
        folder = root / name
        folder.mkdir(parents=True)
        for table, rows in files.items():
            if table == "gpu":
                continue
            with (folder / table).open("w", newline="") as stream:
                writer = csv.writer(stream)  # \r\n, as the study's files
                writer.writerow(["model", "batch_size", "sequence_length", "result"])
                writer.writerows(rows)
        if environment:
            pairs = [("transformers_version", "4.14.0.dev0"), ("framework", "PyTorch"), ("fp16", "False")]
            pairs += [("use_gpu", "True"), ("gpu", str(files["gpu"])), ("use_tpu", "False")]
            with (folder / "env.csv").open("w", newline="") as stream:
                csv.writer(stream).writerows(pairs)
    return root


def test_a_study_table_loads_as_tidy_rows(tmp_path: Path) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    frame = load_sweep(study / "p100" / "time.csv")
    assert list(frame.columns) == list(TIDY_COLUMNS)
    assert list(frame["measure"].unique()) == ["time"] and set(frame["unit"]) == {"s"}
    assert list(frame["label"].unique()) == ["distilbert-base-uncased-finetuned-squad", "bert-base-uncased-finetuned-squad"]
    assert frame["value"].tolist() == pytest.approx([0.0145, 1.09, 0.0446, 3.1927])
    assert set(frame["status"]) == {"ok"} and set(frame["device"]) == {"cuda"} and set(frame["dtype"]) == {"float32"}
    assert frame["batch_size"].dtype.kind == "i" and frame["median"].isna().all(), "the rounds are not in the table"


def test_the_study_folder_reads_its_numbered_tables_and_its_memory_in_mb(tmp_path: Path) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    frame = load_sweep(study / "p100")
    memory = frame[frame["measure"] == "gpu_memory_nvml"]  # NVML's device-used: the study's required memory on a GPU
    cells = {(row.batch_size, row.sequence_length): (row.status, row.value) for row in memory.itertuples()}
    assert cells.keys() == {(32, 32), (32, 512), (32, 1024), (64, 512), (512, 512)}
    assert cells[(32, 32)] == ("ok", pytest.approx(1459 * 2**20 / 1e6)), "the study's MB are 2^20 bytes; tidy MB are 10^6"
    assert cells[(32, 512)][1] == pytest.approx(2507 * 2**20 / 1e6), "a cell in two tables counts once, the first table's"
    status, value = cells[(512, 512)]
    assert status == "N/A" and math.isnan(value)
    assert set(memory["unit"]) == {"MB"}


def test_without_env_csv_required_memory_stays_a_measure_of_its_own(tmp_path: Path) -> None:
    study = write_study(tmp_path / "results", environment=False)
    frame = load_sweep(study / "k80" / "required_memory.csv")
    assert set(frame["measure"]) == {"required_memory"} and set(frame["device"]) == {""}
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    (cpu / "required_memory.csv").write_text("model,batch_size,sequence_length,result\nm,1,32,12\n")
    (cpu / "env.csv").write_text("use_gpu,False\ndevice,cpu\n")
    assert set(load_sweep(cpu)["measure"]) == {"host_memory_peak"}, "on the CPU: the host's peak"


def test_a_folder_of_result_sets_loads_each_under_its_name(tmp_path: Path) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    frame = load_sweep(study)
    assert list(frame.columns) == [*TIDY_COLUMNS, "result_set"]
    assert list(frame["result_set"].unique()) == ["k80", "p100"]
    k80 = frame[(frame["result_set"] == "k80") & (frame["measure"] == "time")]
    assert k80["value"].max() == pytest.approx(13.4019)


def test_result_sets_take_labels_in_order_and_refuse_a_mismatch(tmp_path: Path) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    sets = load_result_sets([study / "p100", study / "k80"], ["P100", "K80"])
    assert [(found.label, found.source.name) for found in sets] == [("P100", "p100"), ("K80", "k80")]
    assert list(combine(sets)["result_set"].unique()) == ["P100", "K80"]
    with pytest.raises(SweepFileError, match=r"--label: 1 label for 2 result sets \("):
        load_result_sets([study], ["P100"])
    with pytest.raises(SweepFileError, match=r"time.csv are both named 'p100'; name each with --label"):
        load_result_sets([study / "p100", study / "p100" / "time.csv"])


def test_a_model_in_several_result_sets_keeps_one_label(tmp_path: Path) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    ours = tmp_path / "ours"
    (ours / "results").mkdir(parents=True)
    (ours / "results" / "time.csv").write_text(
        f"model,batch_size,sequence_length,result\n{DISTILBERT},256,8,0.0100\nother/{DISTILBERT.split('/')[1]},256,8,0.02\n"
    )
    frame = combine(load_result_sets([ours / "results", study / "p100"]))
    labels = frame.drop_duplicates("model").set_index("model")["label"].to_dict()
    assert labels[DISTILBERT] == DISTILBERT and labels[f"other/{DISTILBERT.split('/')[1]}"].startswith("other/"), (
        "two models of one short name keep their full ids, in every set"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "time.csv",
            "model,batch_size,sequence_length,result\nm,8,32,fast\n",
            "time.csv: line 2, column result: expected a number or N/A, got 'fast'",
        ),
        (
            "time.csv",
            "model,batch_size,sequence_length,result\nm,-8,32,1.0\n",
            "time.csv: line 2, column batch_size: expected a positive whole number, got '-8'",
        ),
        ("time.csv", "model,batch_size,sequence_length,result\nm,8,32\n", "time.csv: line 2: expected 4 fields, got 3"),
        (
            "results.csv",
            "model,batch_size,sequence_length,result\nm,8,32,1.0\n",
            "results.csv: has the study's header, but its name does not say its measure",
        ),
        ("notes.csv", "a,b\n1,2\n", "notes.csv: not a sweep's sweep.csv: 17 missing columns: model, label,"),
    ],
)
def test_a_bad_study_table_is_named_with_its_line_and_column(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(SweepFileError) as error:
        load_sweep(tmp_path / name)
    assert message in str(error.value)


def test_an_empty_folder_says_what_it_should_hold(tmp_path: Path) -> None:
    with pytest.raises(SweepFileError, match=r"holds no sweep.csv, no study table \(time.csv, required_memory.csv, ...\)"):
        load_sweep(tmp_path)


# -- writing: N/A for cells too long for the model, env.csv's switches, one memory unit --------


def _cells(device: str = "cpu") -> SweepResult:
    """bert-tiny at batch 2 over sequence 32 (measured), 64 (out of memory) and 1024 (too long)."""
    grid = build_grid(["org/bert-tiny"], [2], [32, 64, 1024])
    measured, oom, long = grid.cells()
    measures = measures_for(["time", "memory"], device)
    by_measure = {
        "time": Measurement.from_samples("latency", [4.0, 5.0, 6.0], unit="ms", direction=Direction.LOWER_IS_BETTER),
        "host_memory_peak": Measurement.from_samples("host_memory", [229.0], unit="MB", direction=Direction.LOWER_IS_BETTER),
    }
    missing = {name: Measurement.not_available(name, "out of memory", unit="MB") for name in measures}
    skipped = "skipped: sequence length 1024 exceeds bert-tiny's max_position_embeddings (512)"
    cells = (
        CellMeasurements(measured, "ok", device, "float32", measures, by_measure),
        CellMeasurements(oom, "out of memory", device, "float32", measures, missing),
        CellMeasurements(long, skipped, device, "float32", measures),
    )
    return SweepResult(grid, SweepSettings(device=device, dtype="float32", groups=("time", "memory")), cells)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as stream:
        return list(csv.reader(stream))


def test_a_cell_longer_than_the_model_allows_is_na_in_the_study_tables(tmp_path: Path) -> None:
    write_sweep(_cells(), tmp_path, {"framework": "PyTorch"})
    assert _rows(tmp_path / "time.csv") == [
        ["model", "batch_size", "sequence_length", "result"],
        ["org/bert-tiny", "2", "32", "0.0050"],
        ["org/bert-tiny", "2", "64", "N/A"],
        ["org/bert-tiny", "2", "1024", "N/A"],  # as the study's tables have it at 1024
    ]
    assert [row[3] for row in _rows(tmp_path / "required_memory.csv")[1:]] == ["218", "N/A", "N/A"]
    assert [row[3] for row in _rows(tmp_path / "memory_host_memory_peak.csv")[1:]] == ["218", "N/A", "N/A"]


def test_our_own_study_tables_read_back(tmp_path: Path) -> None:
    write_sweep(_cells(), tmp_path, environment_info("cpu", "float32", tmp_path))
    (tmp_path / "sweep.csv").unlink()  # the study's files alone, as a reader of the study would have them
    frame = load_sweep(tmp_path)
    time = frame[frame["measure"] == "time"].set_index("sequence_length")
    assert time.loc[32, "value"] == pytest.approx(0.005) and list(time["status"]) == ["ok", "N/A", "N/A"]
    assert set(frame["measure"]) == {"time", "host_memory_peak"} and set(frame["device"]) == {"cpu"}


def test_env_csv_records_the_studys_switches_in_its_order(tmp_path: Path) -> None:
    environment = environment_info("cpu", "float32", tmp_path)
    for key in ("use_torchscript", "use_multiprocessing", "only_pretrain_model", "use_tpu"):
        assert environment[key] is False, key
    keys = list(environment)
    study_order = ["transformers_version", "framework", "use_torchscript", "framework_version", "python_version", "system"]
    study_order += ["cpu", "architecture", "date", "time", "fp16", "use_multiprocessing", "only_pretrain_model", "cpu_ram_mb"]
    study_order += ["use_gpu", "use_tpu"]
    assert [key for key in keys if key in study_order] == study_order
    write_sweep(_cells(), tmp_path / "out", environment)
    written = dict(_rows(tmp_path / "out" / "env.csv"))
    assert written["use_torchscript"] == "False" and written["use_tpu"] == "False"


def test_a_memory_cell_reads_the_same_in_its_table_and_its_plot(tmp_path: Path) -> None:
    # 229 MB (10^6 bytes) peak: 218 of the study's MB (2^20 bytes) in the table, and in the plot.
    result = _cells()
    grid = build_grid(["org/bert-tiny"], [2, 4], [32])
    cells = [
        CellMeasurements(cell, "ok", "cpu", "float32", result.cells[0].measures, result.cells[0].by_measure)
        for cell in grid.cells()
    ]
    write_sweep(SweepResult(grid, result.settings, tuple(cells)), tmp_path, {"framework": "PyTorch"})
    table = int(_rows(tmp_path / "required_memory.csv")[1][3])
    (axes,) = line_plot(load_sweep(tmp_path), measure="host_memory_peak", against="batch_size", fixed=32).axes
    (line,) = [line for line in axes.lines if line.get_label() == "bert-tiny"]
    assert table == 218 and math.floor(float(line.get_ydata()[0])) == table
    assert axes.get_ylabel() == "host memory peak (MiB)"
    assert pd.notna(load_sweep(tmp_path)["value"]).all()


def test_a_model_renamed_is_drawn_as_the_other_sets_model(tmp_path: Path) -> None:
    study = write_study(tmp_path / "seed-benchmark-results")
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "time.csv").write_text("model,batch_size,sequence_length,result\ndistilbert,256,8,0.0100\ndistilbert,256,512,0.9\n")
    sets = load_result_sets([ours, study / "p100"], ["ours", "P100"])
    frame = combine(sets, parse_renames([f"{DISTILBERT}=distilbert"]))
    distilbert = frame[frame["model"] == "distilbert"]
    assert set(distilbert["result_set"]) == {"ours", "P100"} and set(distilbert["label"]) == {"distilbert"}
    with pytest.raises(SweepFileError, match=r"--rename: expected FROM=TO .*, got 'distilbert'"):
        parse_renames(["distilbert"])
