"""Counts in messages agree with their nouns: "1 check", "2 checks", never "check(s)"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_modelperf.core.baseline_entry import EntryKey
from pytest_modelperf.render.trend import Trend, TrendPoint, trends_section
from pytest_modelperf.run.smoke import smoke_summary
from pytest_modelperf.training.cell import training_measures_for


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
def test_unknown_training_measures_are_counted(groups: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        training_measures_for(groups, "cpu")


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
