"""Study tables compared cell by cell (``sweep.table_comparison``): the verdict of each cell, the
cells one side lacks or has as N/A, the measures matched by name, and how the report reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_modelperf.core.measurement import Direction
from pytest_modelperf.core.units import Quantity
from pytest_modelperf.core.verdict import Outcome
from pytest_modelperf.options import DEFAULTS
from pytest_modelperf.sweep.table_comparison import (
    DEFAULT_THRESHOLD,
    CellState,
    ComparedCell,
    TableCompareError,
    compare_cells,
    compare_table_sets,
    judge_cell,
    read_table_set,
)
from pytest_modelperf.sweep.table_comparison_report import cell_row, markdown_report, status, text_report

LOWER, HIGHER = Direction.LOWER_IS_BETTER, Direction.HIGHER_IS_BETTER
TEN = Quantity(10.0, "%")
REGRESSIONS = frozenset({Outcome.REGRESSION, Outcome.OVER_LIMIT})
HEADER = "model,batch_size,sequence_length,result"
GPU_ENV = "use_gpu,True\nfp16,False\n"


def table(folder: Path, name: str, rows: Sequence[str], env: str | None = GPU_ENV) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")
    if env is not None:
        (folder / "env.csv").write_text(env, encoding="utf-8")
    return folder / name


def test_the_default_threshold_is_the_plugins() -> None:
    assert str(DEFAULT_THRESHOLD) == DEFAULTS["threshold"] == "10%"


@pytest.mark.parametrize(
    ("a", "b", "direction", "expected"),
    [
        (2.0, 2.4, LOWER, Outcome.REGRESSION),  # 20% slower
        (2.0, 2.1, LOWER, Outcome.PASS),  # 5% slower, within 10%
        (2.0, 1.6, LOWER, Outcome.IMPROVEMENT),  # 20% faster
        (100.0, 80.0, HIGHER, Outcome.REGRESSION),  # throughput 20% down
        (100.0, 125.0, HIGHER, Outcome.IMPROVEMENT),
        (100.0, 95.0, HIGHER, Outcome.PASS),
        (0.0, 0.0, LOWER, Outcome.PASS),
        (0.0, 1.0, LOWER, Outcome.REGRESSION),  # any growth from nothing is beyond a share of nothing
    ],
)
def test_a_cell_is_judged_by_the_relative_threshold_in_the_measures_direction(
    a: float, b: float, direction: Direction, expected: Outcome
) -> None:
    assert judge_cell(a, b, direction, TEN) is expected


def test_a_change_of_exactly_the_threshold_passes() -> None:
    # 4.0 -> 4.5 is 12.5%, exact in binary: worse by as much as allowed is not beyond it
    assert judge_cell(4.0, 4.5, LOWER, Quantity(12.5, "%")) is Outcome.PASS
    assert judge_cell(4.0, 3.5, LOWER, Quantity(12.5, "%")) is Outcome.PASS


def test_every_cell_of_either_side_is_listed_with_where_it_has_a_number() -> None:
    a = {("m", 1, 8): 2.0, ("m", 1, 16): 4.0, ("m", 1, 32): None, ("m", 1, 64): 8.0, ("m", 2, 8): 1.0, ("m", 1, 128): None}
    b = {("m", 1, 8): 3.0, ("m", 1, 16): None, ("m", 1, 32): 5.0, ("m", 1, 64): 8.4, ("m", 4, 8): 1.0, ("m", 1, 128): None}
    cells = {(c.batch_size, c.sequence_length): c for c in compare_cells(a, b, LOWER, TEN)}
    assert [(c.batch_size, c.sequence_length) for c in compare_cells(a, b, LOWER, TEN)] == [
        (1, 8), (1, 16), (1, 32), (1, 64), (1, 128), (2, 8), (4, 8),
    ]  # fmt: skip
    assert (cells[1, 8].state, cells[1, 8].outcome, cells[1, 8].ratio) == (CellState.BOTH, Outcome.REGRESSION, 1.5)
    assert (cells[1, 64].outcome, cells[1, 64].ratio) == (Outcome.PASS, pytest.approx(1.05))
    assert (cells[1, 16].state, cells[1, 16].outcome) == (CellState.NA_IN_B, Outcome.REGRESSION)  # measured, then not
    assert (cells[1, 32].state, cells[1, 32].outcome) == (CellState.NA_IN_A, Outcome.IMPROVEMENT)
    assert (cells[1, 128].state, cells[1, 128].outcome) == (CellState.NA_IN_BOTH, None)
    assert (cells[2, 8].state, cells[2, 8].outcome, cells[2, 8].b) == (CellState.ONLY_IN_A, None, None)
    assert (cells[4, 8].state, cells[4, 8].outcome, cells[4, 8].a) == (CellState.ONLY_IN_B, None, None)
    assert all(cells[key].ratio is None for key in ((1, 16), (1, 32), (1, 128), (2, 8), (4, 8)))


def test_a_row_says_na_where_the_table_does_and_a_dash_where_it_has_no_such_cell() -> None:
    only_a = ComparedCell("m", 2, 8, 1.0, None, CellState.ONLY_IN_A, None)
    na_b = ComparedCell("m", 1, 16, 4.0, None, CellState.NA_IN_B, Outcome.REGRESSION)
    judged = ComparedCell("m", 1, 8, 0.0145, 0.0577, CellState.BOTH, Outcome.REGRESSION)
    assert cell_row(only_a) == ("m", "2", "8", "1", "-", "-", "only in A")
    assert cell_row(na_b) == ("m", "1", "16", "4", "N/A", "-", "REGRESSION (N/A in B)")
    assert cell_row(judged) == ("m", "1", "8", "0.0145", "0.0577", "3.979", "REGRESSION")


def test_study_folders_are_compared_measure_by_measure_in_the_tables_units(tmp_path: Path) -> None:
    table(tmp_path / "a", "time.csv", ["m,8,128,0.0200", "m,8,512,0.0800", "m,8,1024,N/A"])
    table(tmp_path / "a", "required_memory.csv", ["m,8,128,1000", "m,8,512,2000"])
    table(tmp_path / "a", "required_memory_2.csv", ["m,16,512,3000"])
    table(tmp_path / "a", "throughput.csv", ["m,8,128,400"])
    table(tmp_path / "b", "time.csv", ["m,8,128,0.0210", "m,8,512,0.1000", "m,8,1024,N/A"])
    table(tmp_path / "b", "required_memory.csv", ["m,8,128,800", "m,16,512,3300", "m,32,512,N/A"])

    comparison = compare_table_sets(read_table_set(tmp_path / "a"), read_table_set(tmp_path / "b"))

    time, memory = comparison.measures  # time first, as the catalogue orders the measures
    assert (time.measure, time.unit, time.direction) == ("time", "s", LOWER)
    assert [(c.a, c.b, c.outcome) for c in time.cells] == [
        (0.02, 0.021, Outcome.PASS),  # 1.05
        (0.08, 0.1, Outcome.REGRESSION),  # 1.25
        (None, None, None),  # N/A in both
    ]
    assert time.cells[1].ratio == pytest.approx(1.25)
    assert (memory.measure, memory.unit, memory.tables_a, memory.tables_b) == (
        "gpu_memory_nvml",
        "MiB",
        ("required_memory.csv", "required_memory_2.csv"),
        ("required_memory.csv",),
    )
    by_size = {(c.batch_size, c.sequence_length): c for c in memory.cells}
    assert by_size[8, 128].a == pytest.approx(1000) and by_size[8, 128].b == pytest.approx(800)  # MiB, as in the files
    assert (by_size[8, 128].ratio, by_size[8, 128].outcome) == (pytest.approx(0.8), Outcome.IMPROVEMENT)
    assert (by_size[16, 512].ratio, by_size[16, 512].outcome) == (pytest.approx(1.1), Outcome.PASS)
    assert by_size[8, 512].state is CellState.ONLY_IN_A
    assert by_size[32, 512].state is CellState.ONLY_IN_B
    assert comparison.only_in_a == ("throughput.csv",) and comparison.only_in_b == ()
    assert comparison.summary() == (
        "4 cells judged in 2 measures: 1 regression, 1 improvement, 2 passed; 1 N/A in both, 1 only in A, 1 only in B; "
        "tables only in A: throughput.csv"
    )
    assert status(comparison, REGRESSIONS) == "FAILED (1 regression)"
    assert status(comparison, {Outcome.IMPROVEMENT}) == "FAILED (1 improvement)"


def test_throughput_is_higher_is_better(tmp_path: Path) -> None:
    a = table(tmp_path / "a", "throughput.csv", ["m,8,128,400", "m,8,512,100"])
    b = table(tmp_path / "b", "throughput.csv", ["m,8,128,300", "m,8,512,130"])
    (measure,) = compare_table_sets(read_table_set(a), read_table_set(b)).measures
    assert (measure.unit, measure.direction) == ("samples/s", HIGHER)
    assert [(c.ratio, c.outcome) for c in measure.cells] == [(0.75, Outcome.REGRESSION), (1.3, Outcome.IMPROVEMENT)]


def test_a_required_memory_table_of_unknown_device_is_compared_with_the_other_sides_form(tmp_path: Path) -> None:
    a = table(tmp_path / "a", "required_memory.csv", ["m,8,128,1000"], env=None)  # no env.csv: device unknown
    b = table(tmp_path / "b", "required_memory.csv", ["m,8,128,1200"], env="use_gpu,False\n")  # the host's
    (measure,) = compare_table_sets(read_table_set(a), read_table_set(b)).measures
    assert (measure.measure, measure.title) == ("host_memory_peak", "host memory peak")
    assert [(c.ratio, c.outcome) for c in measure.cells] == [(pytest.approx(1.2), Outcome.REGRESSION)]


def test_gpu_memory_is_not_compared_with_host_memory(tmp_path: Path) -> None:
    a = table(tmp_path / "a", "required_memory.csv", ["m,8,128,1000"])
    b = table(tmp_path / "b", "required_memory.csv", ["m,8,128,1200"], env="use_gpu,False\n")
    with pytest.raises(TableCompareError) as error:
        compare_table_sets(read_table_set(a), read_table_set(b))
    assert str(error.value) == (
        f"{a} and {b} share no measure: A holds gpu_memory_nvml (required_memory.csv), "
        "B holds host_memory_peak (required_memory.csv)"
    )


def test_renames_match_a_model_of_one_side_with_the_other_sides(tmp_path: Path) -> None:
    a = table(tmp_path / "a", "time.csv", ["org/distilbert-squad,8,128,0.0200"])
    b = table(tmp_path / "b", "time.csv", ["distilbert,8,128,0.0300", "bert,8,128,0.0500"])
    plain = compare_table_sets(read_table_set(a), read_table_set(b))
    assert [c.state for c in plain.measures[0].cells] == [CellState.ONLY_IN_A, CellState.ONLY_IN_B, CellState.ONLY_IN_B]
    renamed = compare_table_sets(read_table_set(a), read_table_set(b), renames={"org/distilbert-squad": "distilbert"})
    first, second = renamed.measures[0].cells
    assert (first.model, first.ratio, first.outcome) == ("distilbert", pytest.approx(1.5), Outcome.REGRESSION)
    assert (second.model, second.state) == ("bert", CellState.ONLY_IN_B)
    with pytest.raises(TableCompareError, match=r"--rename: .* holds bert and distilbert, both renamed to one \(time\)"):
        compare_table_sets(read_table_set(a), read_table_set(b), renames={"bert": "one", "distilbert": "one"})


def test_an_absolute_threshold_is_refused(tmp_path: Path) -> None:
    a = table(tmp_path / "a", "time.csv", ["m,8,128,0.0200"])
    with pytest.raises(TableCompareError, match=r"^--threshold 2ms: study tables are compared with a relative threshold"):
        compare_table_sets(read_table_set(a), read_table_set(a), threshold=Quantity(2.0, "ms"))


def test_inputs_that_are_not_study_tables_are_named(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.csv"
    sweep.write_text("model,label,batch_size\n", encoding="utf-8")
    with pytest.raises(TableCompareError) as error:
        read_table_set(sweep)
    assert str(error.value) == (
        f"{sweep}: not a study table: its header is 'model,label,batch_size', "
        "a study table's is model,batch_size,sequence_length,result"
    )
    with pytest.raises(TableCompareError, match=r"missing\.csv: no such file or folder$"):
        read_table_set(tmp_path / "missing.csv")
    table(tmp_path / "sets" / "p100", "time.csv", ["m,8,128,0.02"])
    with pytest.raises(TableCompareError, match=r"sets: holds no study table \(time\.csv, .*; its folders p100 do: pass one"):
        read_table_set(tmp_path / "sets")
    bad = table(tmp_path / "bad", "time.csv", ["m,8,128,fast"])
    with pytest.raises(TableCompareError) as error:
        read_table_set(bad)
    assert str(error.value) == f"{bad}: line 2, column result: expected a number or N/A, got 'fast'"


def test_the_reports_list_every_cell_and_say_there_is_no_noise_band(tmp_path: Path) -> None:
    a = table(tmp_path / "a", "time.csv", ["m,8,128,0.0200", "m,8,512,0.0800", "m,8,1024,N/A"])
    b = table(tmp_path / "b", "time.csv", ["m,8,128,0.0210", "m,8,512,0.1000", "m,8,1024,N/A"])
    comparison = compare_table_sets(read_table_set(a), read_table_set(b))

    lines = text_report(comparison, REGRESSIONS).splitlines()
    assert lines[:3] == [f"A: {a}", f"B: {b}", "threshold 10% of A; " + lines[2].split("; ", 1)[1]]
    assert "no samples, so no noise band" in lines[2]
    assert lines[4] == "inference time (s), lower is better (A: time.csv; B: time.csv)"
    assert lines[5].split() == ["model", "batch", "size", "sequence", "length", "A", "(s)", "B", "(s)", "ratio", "B/A", "verdict"]
    assert [line.split() for line in lines[7:10]] == [
        ["m", "8", "128", "0.02", "0.021", "1.050", "pass"],
        ["m", "8", "512", "0.08", "0.1", "1.250", "REGRESSION"],
        ["m", "8", "1024", "N/A", "N/A", "-", "N/A", "in", "both"],
    ]
    assert lines[-1] == (
        "modelperf compare: FAILED (1 regression); 2 cells judged in 1 measure: 1 regression, 0 improvements, "
        "1 passed; 1 N/A in both, 0 only in A, 0 only in B"
    )

    markdown = markdown_report(comparison, REGRESSIONS)
    assert markdown.startswith("### modelperf compare: FAILED (1 regression)\n")
    assert "#### inference time (s), lower is better (A: time.csv; B: time.csv)" in markdown
    assert "| m | 8 | 512 | 0.08 | 0.1 | 1.250 | **REGRESSION** |" in markdown
    assert "<details><summary>2 other cells</summary>" in markdown
    assert "| m | 8 | 1024 | N/A | N/A | - | N/A in both |" in markdown
    assert "no noise band" in markdown
