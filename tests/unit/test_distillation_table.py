"""Unit tests for pytest_modelperf.render.distillation and run.tables: the teacher / student /
distilled-student table, its files, and tables shown in the run's summary."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.quality_gain import quality_gain
from pytest_modelperf.quality.distill_comparison import ComparedModel
from pytest_modelperf.render.distillation import (
    CSV_COLUMNS,
    DISTILLATION_FILES,
    comparison_csv,
    comparison_markdown,
    comparison_rows,
    write_distillation,
)
from pytest_modelperf.run.tables import TABLE_PROPERTY, shown_tables, table_of
from pytest_modelperf.storage.output_folder import OutputFolderError


def score(model: str, correct: list[bool]) -> Measurement:
    outcomes = ExampleOutcomes(
        "accuracy", tuple(f"e{i}" for i in range(len(correct))), tuple(0.0 if c else 1.0 for c in correct), (0.0,) * len(correct)
    )
    return Measurement(
        "accuracy", "points", Direction.HIGHER_IS_BETTER, outcomes.value(), context={"model": model}, examples=outcomes
    )


def model(role: str, name: str, latencies_ms: list[float], correct: list[bool], parameters: int) -> ComparedModel:
    return ComparedModel(
        role,
        name,
        Measurement.exact("parameters", parameters, unit="count", direction=Direction.LOWER_IS_BETTER),
        Measurement.exact("artefact_size", parameters * 4 / 1e6, unit="MB", direction=Direction.LOWER_IS_BETTER),
        Measurement.from_samples("latency", latencies_ms, unit="ms", direction=Direction.LOWER_IS_BETTER),
        {"accuracy": score(name, correct)},
    )


# Teacher: 10 of 10 right, 10 and 30 ms (mean 20). Student: 8 of 10, 2 and 4 ms (mean 3, sample
# std sqrt(2)). Distilled: 9 of 10, 1, 2 and 3 ms (mean 2, sample std 1).
TEACHER = model("teacher", "big", [10.0, 30.0], [True] * 10, 1_000)
STUDENT = model("student", "small", [2.0, 4.0], [True] * 8 + [False] * 2, 100)
DISTILLED = model("distilled", "small-distilled", [1.0, 2.0, 3.0], [True] * 9 + [False], 100)


def test_rows_hold_each_model_and_its_share_of_the_teacher() -> None:
    teacher, student, distilled = comparison_rows([TEACHER, STUDENT, DISTILLED])
    assert teacher["accuracy_kept"] == 1.0 and teacher["speedup"] == 1.0
    assert student["latency_mean_ms"] == 3.0 and student["latency_std_ms"] == pytest.approx(2**0.5)
    assert student["accuracy"] == pytest.approx(80.0) and student["accuracy_kept"] == pytest.approx(0.8)
    assert student["speedup"] == pytest.approx(20 / 3)
    assert distilled["latency_std_ms"] == pytest.approx(1.0)
    assert distilled["accuracy_kept"] == pytest.approx(0.9) and distilled["speedup"] == pytest.approx(10.0)
    assert distilled["parameters"] == 100 and distilled["size_mb"] == pytest.approx(0.0004)
    assert distilled["f1"] is None  # a score the model was not given


def test_the_csv_has_the_columns_in_order_and_empty_cells_for_missing_scores() -> None:
    rows = list(csv.reader(io.StringIO(comparison_csv(comparison_rows([TEACHER, STUDENT, DISTILLED])))))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_column = dict(zip(rows[0], rows[3], strict=True))
    assert by_column["model"] == "small-distilled" and by_column["f1"] == "" and by_column["speedup"] == "10.0"


def test_the_markdown_shows_the_table_and_the_paired_gain() -> None:
    gain = quality_gain(DISTILLED.scores["accuracy"], STUDENT.scores["accuracy"], name="gain")
    text = comparison_markdown(comparison_rows([TEACHER, STUDENT, DISTILLED]), gain, title="T")
    assert text.startswith("### T\n")
    assert "| distilled | small-distilled | 0.0 | 100 | 2.00 | 1.00 | 90.00 | N/A |" in text
    assert "| 90.0% | 10.00x |" in text
    assert "gain: +10.00 points, paired standard error" in text and "over 10 examples" in text


def test_the_files_are_written_together_and_an_earlier_report_is_kept(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rows = comparison_rows([TEACHER, STUDENT, DISTILLED])
    written = write_distillation(rows, None, tmp_path, title="T")
    assert sorted(file.path.name for file in written) == sorted(DISTILLATION_FILES)
    assert (tmp_path / "distillation.png").read_bytes().startswith(b"\x89PNG")
    before = (tmp_path / "distillation.csv").read_bytes()
    with pytest.raises(OutputFolderError, match=r"already holds a distillation report .*--force"):
        write_distillation(comparison_rows([TEACHER, STUDENT]), None, tmp_path, title="T")
    assert (tmp_path / "distillation.csv").read_bytes() == before


def test_a_shown_table_travels_as_a_report_property_and_comes_back() -> None:
    name, value = table_of("Models", ["a", "b"], [[1, None], ["x", 2.5]], notes=["note"]).to_property()
    assert name == TABLE_PROPERTY
    call = SimpleNamespace(when="call", user_properties=[("other", 1), (name, value)])
    setup = SimpleNamespace(when="setup", user_properties=[(name, value)])
    (table,) = shown_tables([setup, call])
    assert table.rows == (("1", ""), ("x", "2.5"))
    assert table.markdown() == ["Models", "", "| a | b |", "|---|---|", "| 1 |  |", "| x | 2.5 |", "", "note"]


def test_a_row_of_another_width_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 cells for 2 headers"):
        table_of("Models", ["a", "b"], [[1, 2], [3]])
