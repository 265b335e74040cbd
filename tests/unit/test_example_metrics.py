"""Unit tests for pytest_modelperf.core.example_metrics: quality metrics over chosen examples,
once (scikit-learn) and over every resample at once (numpy), against hand-counted values."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from pytest_modelperf.core.example_metrics import metric_once, metric_per_resample
from pytest_modelperf.core.example_outcomes import ExampleOutcomes, OutcomesError
from pytest_modelperf.core.extras import MissingExtra


def outcomes(metric: str, references, predictions, scores=(), **options) -> ExampleOutcomes:
    ids = tuple(f"e{i}" for i in range(len(references)))
    return ExampleOutcomes(
        metric, ids, tuple(map(float, predictions)), tuple(map(float, references)), tuple(map(tuple, scores)), options
    )


# Three labels, six examples:     reference 0 0 0 1 1 2
#                                 predicted 0 0 1 1 2 2
# label 0: tp 2, fp 0, fn 1 -> precision 1,   recall 2/3, F1 4/5   (support 3)
# label 1: tp 1, fp 1, fn 1 -> precision 1/2, recall 1/2, F1 1/2   (support 2)
# label 2: tp 1, fp 1, fn 0 -> precision 1/2, recall 1,   F1 2/3   (support 1)
THREE_REFERENCES = (0, 0, 0, 1, 1, 2)
THREE_PREDICTIONS = (0, 0, 1, 1, 2, 2)
HAND_COUNTED = {
    ("precision", "macro"): (1 + 1 / 2 + 1 / 2) / 3,
    ("recall", "macro"): (2 / 3 + 1 / 2 + 1) / 3,
    ("f1", "macro"): (4 / 5 + 1 / 2 + 2 / 3) / 3,
    ("precision", "weighted"): (3 * 1 + 2 * 1 / 2 + 1 * 1 / 2) / 6,
    ("recall", "weighted"): (3 * 2 / 3 + 2 * 1 / 2 + 1 * 1) / 6,
    ("f1", "weighted"): (3 * 4 / 5 + 2 * 1 / 2 + 1 * 2 / 3) / 6,
    ("precision", "micro"): 4 / 6,  # 4 true positives of 6 predictions
    ("recall", "micro"): 4 / 6,
    ("f1", "micro"): 4 / 6,
}


@pytest.mark.parametrize(("metric", "average"), sorted(HAND_COUNTED))
def test_label_metrics_match_the_hand_counted_confusion_matrix(metric: str, average: str) -> None:
    examples = outcomes(metric, THREE_REFERENCES, THREE_PREDICTIONS, average=average)
    expected = HAND_COUNTED[(metric, average)]
    assert metric_once(examples, range(6)) == pytest.approx(expected, abs=1e-12)
    assert metric_per_resample(examples, np.arange(6)[None, :])[0] == pytest.approx(expected, abs=1e-12)


def test_macro_average_over_given_labels_counts_an_absent_label_as_zero() -> None:
    # label 3 never occurs: its precision, recall and F1 are 0 (zero_division=0), and it is averaged in.
    examples = outcomes("f1", THREE_REFERENCES, THREE_PREDICTIONS, average="macro", labels=[0, 1, 2, 3])
    expected = (4 / 5 + 1 / 2 + 2 / 3 + 0) / 4
    assert metric_once(examples, range(6)) == pytest.approx(expected, abs=1e-12)
    assert metric_per_resample(examples, np.arange(6)[None, :])[0] == pytest.approx(expected, abs=1e-12)


# Binary, positive label 1:  reference 1 1 1 0 0 0 / predicted 1 0 0 1 0 0 -> tp 1, fp 1, fn 2.
@pytest.mark.parametrize(("metric", "expected"), [("precision", 1 / 2), ("recall", 1 / 3), ("f1", 2 * 1 / (2 * 1 + 1 + 2))])
def test_binary_label_metrics_match_hand_counts(metric: str, expected: float) -> None:
    examples = outcomes(metric, (1, 1, 1, 0, 0, 0), (1, 0, 0, 1, 0, 0), average="binary")
    assert metric_once(examples, range(6)) == pytest.approx(expected, abs=1e-12)
    assert metric_per_resample(examples, np.arange(6)[None, :])[0] == pytest.approx(expected, abs=1e-12)


def test_accuracy_on_repeated_positions_counts_each_repeat() -> None:
    examples = outcomes("accuracy", THREE_REFERENCES, THREE_PREDICTIONS)
    positions = [0, 0, 0, 2]  # three right, one wrong
    assert metric_once(examples, positions) == pytest.approx(3 / 4)
    assert metric_per_resample(examples, np.array([positions]))[0] == pytest.approx(3 / 4)


def test_binary_roc_auc_matches_the_hand_counted_pairs() -> None:
    # positives score 0.9, 0.4, 0.6; negatives 0.3, 0.4, 0.1: of the 9 pairs the positive ranks
    # higher in 8 and ties in 1 (0.4 against 0.4), so the area is 8.5 / 9.
    positive = (0.9, 0.4, 0.6, 0.3, 0.4, 0.1)
    examples = outcomes("roc_auc", (1, 1, 1, 0, 0, 0), (1, 0, 1, 0, 0, 0), [(1 - p, p) for p in positive])
    assert metric_once(examples, range(6)) == pytest.approx(8.5 / 9, abs=1e-12)
    assert metric_per_resample(examples, np.arange(6)[None, :])[0] == pytest.approx(8.5 / 9, abs=1e-12)


def test_roc_auc_of_one_class_is_undefined() -> None:
    examples = outcomes("roc_auc", (1, 1, 0), (1, 1, 0), [(0.2, 0.8), (0.3, 0.7), (0.9, 0.1)])
    assert np.isnan(metric_once(examples, [0, 1]))
    assert np.isnan(metric_per_resample(examples, np.array([[0, 1, 1]]))[0])


def random_outcomes(metric: str, classes: int, seed: int, **options) -> ExampleOutcomes:
    rng = random.Random(seed)
    references = [rng.randrange(classes) for _ in range(60)]
    predictions = [r if rng.random() < 0.6 else rng.randrange(classes) for r in references]
    scores = []
    for reference in references:
        raw = [rng.random() + (0.7 if k == reference else 0.0) for k in range(classes)]
        scores.append([round(v / sum(raw), 2) for v in raw])  # rounded, so that scores tie
    return outcomes(metric, references, predictions, scores if metric == "roc_auc" else (), **options)


CASES = [
    ("mean", 2, {}),
    ("accuracy", 4, {}),
    *[(metric, 4, {"average": avg}) for metric in ("precision", "recall", "f1") for avg in ("macro", "micro", "weighted")],
    *[(metric, 2, {"average": "binary"}) for metric in ("precision", "recall", "f1")],
    ("f1", 2, {"average": "binary", "pos_label": 0}),
    ("recall", 4, {"average": "macro", "labels": [0, 1, 2, 3, 4]}),
    ("roc_auc", 2, {}),
    ("roc_auc", 4, {"multi_class": "ovr"}),
]


@pytest.mark.parametrize(("metric", "classes", "options"), CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_every_resample_agrees_with_scikit_learn(metric: str, classes: int, options: dict) -> None:
    """The vectorised bootstrap computes each resample's metric as one scikit-learn call would,
    including small resamples that lack some labels (or, for ROC AUC, a whole class)."""
    examples = random_outcomes(metric, classes, seed=len(options) + classes, **options)
    rng = np.random.default_rng(7)
    for size in (60, 8, 3):
        drawn = rng.integers(0, 60, size=(40, size))
        expected = np.array([metric_once(examples, row.tolist()) for row in drawn])
        np.testing.assert_allclose(metric_per_resample(examples, drawn), expected, rtol=0, atol=1e-12)


def test_an_unknown_average_is_an_outcomes_error() -> None:
    examples = outcomes("f1", THREE_REFERENCES, THREE_PREDICTIONS, average="samples")
    with pytest.raises(OutcomesError, match="average='samples' is not one of binary, micro, macro, weighted"):
        examples.value()
    with pytest.raises(OutcomesError, match="average='samples'"):
        examples.on_each(np.arange(6)[None, :])


def test_without_scikit_learn_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)  # an import of it now fails
    with pytest.raises(MissingExtra, match=r"pip install 'pytest-modelperf\[quality\]'"):
        outcomes("accuracy", THREE_REFERENCES, THREE_PREDICTIONS).value()
