"""Counts in messages agree with their nouns: "1 check", "2 checks", never "check(s)"."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import pytest

from pytest_modelperf.cli.compare import list_runs
from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.measure.cell import measures_for
from pytest_modelperf.measure.tidy import TIDY_COLUMNS
from pytest_modelperf.render.trend import Trend, TrendPoint, trends_section
from pytest_modelperf.run.smoke import smoke_summary
from pytest_modelperf.sweep.frame import SweepFileError, load_result_sets, load_sweep
from pytest_modelperf.sweep.study_tables import StudyTableError, read_environment
from pytest_modelperf.training.cell import training_measures_for

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _benchmark_script(name: str) -> ModuleType:
    """A script of benchmarks/, which is not a package, loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("nodeids", "counts"),
    [(["t.py::test_a"], "1 check in 1 test"), (["t.py::test_a", "t.py::test_a", "t.py::test_b"], "3 checks in 2 tests")],
)
def test_a_smoke_runs_summary_counts_checks_and_tests(nodeids: list[str], counts: str) -> None:
    assert smoke_summary(nodeids).startswith(f"smoke run (--modelperf-disable): {counts} measured once")


def test_the_trends_summary_counts_one_check_over_one_run() -> None:
    trend = Trend(EntryKey("cpu-key", "t.py", "test_a", "latency"), "ms", (TrendPoint("0001", 10.0),))
    assert "1 check over up to 1 run each: the median of each run" in trends_section([trend], runs=1)


@pytest.mark.parametrize(
    ("groups", "message"),
    [(["speed"], "1 unknown measure: speed; choose from"), (["speed", "power"], "2 unknown measures: power, speed; choose from")],
)
@pytest.mark.parametrize("measures", [training_measures_for, measures_for], ids=["training", "inference"])
def test_unknown_measures_are_counted(
    measures: Callable[[Sequence[str], str], tuple[str, ...]], groups: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        measures(groups, "cpu")


def test_the_saved_runs_list_counts_each_runs_checks(tmp_path: Path) -> None:
    folder = tmp_path / "amd-epyc-2c-float32"
    folder.mkdir()
    for number, checks in ((1, 1), (2, 3)):
        run = {"started": f"2026-01-0{number}T10:00:00+00:00", "results": [{}] * checks}
        (folder / f"000{number}_nocommit.json").write_text(json.dumps(run))
    assert list_runs(tmp_path).splitlines()[2:] == [
        "  0001_nocommit  started 2026-01-01T10:00:00+00:00, 1 check",
        "  0002_nocommit  started 2026-01-02T10:00:00+00:00, 3 checks",
    ]


def _study_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / "time.csv").write_text("model,batch_size,sequence_length,result\nbert,8,32,0.01\n")
    return folder


def test_labels_and_result_sets_are_counted(tmp_path: Path) -> None:
    study = _study_folder(tmp_path / "k80")
    with pytest.raises(SweepFileError, match=re.escape(f"--label: 2 labels for 1 result set ({study})")):
        load_result_sets([study], labels=["K80", "P100"])


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (TIDY_COLUMNS[:-1], "not a sweep's sweep.csv: 1 missing column: dtype; nor a study table"),
        (TIDY_COLUMNS[:-2], "not a sweep's sweep.csv: 2 missing columns: device, dtype; nor a study table"),
    ],
)
def test_a_sweep_csvs_missing_columns_are_counted(tmp_path: Path, columns: tuple[str, ...], message: str) -> None:
    (tmp_path / "sweep.csv").write_text(",".join(columns) + "\n")
    with pytest.raises(SweepFileError, match=re.escape(message)):
        load_sweep(tmp_path / "sweep.csv")


@pytest.mark.parametrize(("row", "fields"), [("gpu", "1 field"), ("gpu,Tesla K80,extra", "3 fields")])
def test_an_env_csv_rows_fields_are_counted(tmp_path: Path, row: str, fields: str) -> None:
    (tmp_path / "env.csv").write_text(f"framework,PyTorch\n{row}\n")
    with pytest.raises(StudyTableError, match=re.escape(f"env.csv: row 2: expected key,value, got {fields}")):
        read_environment(tmp_path)


def test_the_benchmark_scripts_count_in_words() -> None:
    detection = _benchmark_script("detection")
    assert detection.busy_neighbours(1) == "busy = 1 spinning process"
    assert detection.busy_neighbours(2) == "busy = 2 spinning processes"
    layers = _benchmark_script("import_layers")
    assert (
        layers.summary_line(1, [], 0, 1)
        == "1 module; 0 imports of the package (0 top, 0 lazy, 0 typing); 0 cycles; 1 breach of the layering"
    )
    assert layers.summary_line(2, [], 1, 2).endswith("; 1 cycle; 2 breaches of the layering")
    steadiness = _benchmark_script("xdist_steadiness")
    assert (
        steadiness.settings_line("bert-mini", 1, 2, 1, 0)
        == "bert-mini forward at 1x128, 1 run of 2 tests per mode, threads 1, 0 busy"
    )
    assert steadiness.settings_line("bert-mini", 3, 4, "auto", 1).startswith("bert-mini forward at 1x128, 3 runs of 4 tests")
    harness = _benchmark_script("training_harness")
    assert harness.settings_line("8x128", 1, "2.5.1") == "BERT-tiny shape, 8x128, 1 thread, torch 2.5.1"
    assert harness.settings_line("8x128", 2, "2.5.1") == "BERT-tiny shape, 8x128, 2 threads, torch 2.5.1"


@pytest.fixture(scope="module")
def two_class_model(tiny_checkpoint: Path):
    from pytest_modelperf.models.loading import load_model

    return load_model(tiny_checkpoint, task="sequence-classification")


@pytest.mark.parametrize(
    ("labels", "metrics", "message"),
    [
        ([0, 1], ("bleu",), "1 unknown metric for sequence classification: 'bleu'; use accuracy"),
        ([0, 1], ("bleu", "rouge"), "2 unknown metrics for sequence classification: 'bleu', 'rouge'; use accuracy"),
        ([0, 2], ("accuracy",), "dataset rows: column 'label' has 1 label outside the model's 2 classes (0..1): 2"),
        ([0, 2, 3], ("accuracy",), "column 'label' has 2 labels outside the model's 2 classes (0..1): 2, 3"),
        (["LABEL_0", "pos"], ("accuracy",), "dataset rows: 1 label not among the model's labels (label_0, label_1): 'pos'"),
        (["neg", "pos"], ("accuracy",), "2 labels not among the model's labels (label_0, label_1): 'neg', 'pos'"),
    ],
)
def test_classification_errors_count_the_metrics_and_labels_they_name(two_class_model, labels, metrics, message) -> None:
    import datasets

    from pytest_modelperf.quality.evaluation import evaluate_classification

    rows = datasets.Dataset.from_list([{"text": f"sentence {i}", "label": label} for i, label in enumerate(labels)])
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_classification(two_class_model, rows, source="rows", split="validation", metrics=metrics)
