"""Quality metrics recomputed over chosen examples: once, by scikit-learn's definitions, or over
every resample of a bootstrap at once, with numpy.

A bootstrap asks for its metric hundreds of times (``NoisePolicy.bootstrap_resamples``), where
one scikit-learn call costs milliseconds; ``metric_per_resample`` therefore counts, per resample,
the true and false positives of every label with one ``bincount`` and ranks every resample's
scores with one ``rankdata``, and ``metric_once`` is the reference it must agree with (a unit
test holds them together). Scores are fractions in 0..1; NaN where a metric is undefined (ROC
AUC on examples of one class). ``perplexity`` is a language model's over a corpus: each example
is a sentence whose ``predictions`` entry is its summed negative log-likelihood (nats) and whose
``references`` entry is the number of tokens scored, and the metric over chosen sentences is
``exp(sum of their NLLs / sum of their tokens)``, the token-weighted corpus value (NaN where the
chosen sentences hold no token).

numpy, scipy and scikit-learn (the ``quality`` extra) are imported when a metric is first
computed, not with this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .extras import require

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]
    Positions = NDArray[np.intp]

METRICS = ("mean", "accuracy", "precision", "recall", "f1", "roc_auc", "perplexity")
LABEL_METRICS = ("precision", "recall", "f1")
AVERAGES = ("binary", "micro", "macro", "weighted")
PURPOSE = "the sampling error of a quality score"


class Outcomes(Protocol):
    """What a metric is recomputed from (``ExampleOutcomes``)."""

    @property
    def metric(self) -> str: ...

    @property
    def predictions(self) -> tuple[float, ...]: ...

    @property
    def references(self) -> tuple[float, ...]: ...

    @property
    def scores(self) -> tuple[tuple[float, ...], ...]: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


class MetricError(ValueError):
    """The outcomes ask for a form of their metric that does not exist (an unknown ``average``)."""


def metric_once(outcomes: Outcomes, positions: Sequence[int] | range) -> float:
    """The metric over the examples at ``positions`` (repeats allowed): a score as a fraction,
    a perplexity as itself."""
    import numpy as np

    chosen = np.asarray(positions, dtype=np.intp)
    if outcomes.metric == "mean":
        return math.fsum(outcomes.predictions[i] for i in chosen) / len(chosen)
    if outcomes.metric == "perplexity":
        tokens = math.fsum(outcomes.references[i] for i in chosen)
        if tokens == 0:
            return math.nan
        return math.exp(math.fsum(outcomes.predictions[i] for i in chosen) / tokens)
    metrics = require("sklearn.metrics", "quality", PURPOSE)
    predicted = np.asarray(outcomes.predictions, dtype=np.float64)[chosen]
    actual = np.asarray(outcomes.references, dtype=np.float64)[chosen]
    if outcomes.metric == "accuracy":
        return float(metrics.accuracy_score(actual, predicted))
    if outcomes.metric in LABEL_METRICS:
        score = getattr(metrics, f"{outcomes.metric}_score")
        return float(score(actual, predicted, zero_division=0.0, **_label_arguments(outcomes.options)))
    scores = np.asarray(outcomes.scores, dtype=np.float64)[chosen]
    classes = np.unique(actual)
    if len(classes) < 2:
        return math.nan  # undefined with one class; such resamples are dropped
    if _is_binary(scores.shape[1], outcomes.options, len(classes)):
        return float(metrics.roc_auc_score(actual == classes[-1], scores[:, _positive_column(scores.shape[1])]))
    areas = [metrics.roc_auc_score(actual == label, scores[:, int(label)]) for label in classes]
    return math.fsum(areas) / len(areas)


def metric_per_resample(outcomes: Outcomes, resamples: Positions) -> Floats:
    """The metric over each row of positions in ``resamples`` (resamples x examples), as
    ``metric_once`` gives it."""
    import numpy as np

    predicted = np.asarray(outcomes.predictions, dtype=np.float64)
    if outcomes.metric == "mean":
        means: Floats = predicted[resamples].mean(axis=1)
        return means
    actual = np.asarray(outcomes.references, dtype=np.float64)
    if outcomes.metric == "perplexity":
        return _perplexity_per_resample(predicted, actual, resamples)
    if outcomes.metric == "accuracy":
        accuracies: Floats = (predicted == actual).astype(np.float64)[resamples].mean(axis=1)
        return accuracies
    if outcomes.metric in LABEL_METRICS:
        return _label_metric_per_resample(outcomes.metric, predicted, actual, outcomes.options, resamples)
    return _roc_auc_per_resample(actual, np.asarray(outcomes.scores, dtype=np.float64), outcomes.options, resamples)


def _perplexity_per_resample(nlls: Floats, tokens: Floats, resamples: Positions) -> Floats:
    """exp(summed NLL / summed tokens) of every resample; NaN for a resample without a token."""
    import numpy as np

    counted = tokens[resamples].sum(axis=1)
    mean_nll = np.divide(nlls[resamples].sum(axis=1), counted, out=np.full(len(counted), math.nan), where=counted > 0)
    perplexities: Floats = np.exp(mean_nll)
    return perplexities


def _label_arguments(options: Mapping[str, Any]) -> dict[str, Any]:
    """scikit-learn's arguments for the outcomes' ``average`` (and its labels or positive label)."""
    average = options.get("average", "binary")
    if average not in AVERAGES:
        raise MetricError(f"average={average!r} is not one of {', '.join(AVERAGES)}")
    arguments: dict[str, Any] = {"average": average}
    if average == "binary":
        arguments["pos_label"] = float(options.get("pos_label", 1))
    elif average in ("macro", "weighted") and "labels" in options:
        arguments["labels"] = [float(label) for label in options["labels"]]
    return arguments


def _label_metric_per_resample(
    metric: str, predicted: Floats, actual: Floats, options: Mapping[str, Any], resamples: Positions
) -> Floats:
    """Precision, recall or F1 of every resample, from per-label counts made with one ``bincount``."""
    import numpy as np

    arguments = _label_arguments(options)
    fixed = np.asarray(arguments.get("labels", []), dtype=np.float64)
    pos_label = np.asarray([arguments.get("pos_label", math.nan)], dtype=np.float64)
    labels = np.unique(np.concatenate([predicted, actual, fixed]))
    width = len(labels)
    rows = resamples.shape[0]
    offsets = (np.arange(rows, dtype=np.intp) * width)[:, None]
    predicted_code = np.searchsorted(labels, predicted)[resamples] + offsets
    actual_code = np.searchsorted(labels, actual)[resamples] + offsets

    def per_label(codes: Positions) -> Floats:
        counts = np.bincount(codes.ravel(), minlength=rows * width)
        return counts.reshape(rows, width).astype(np.float64)

    true_positives = per_label(actual_code[predicted_code == actual_code])
    false_positives = per_label(predicted_code) - true_positives
    support = per_label(actual_code)
    false_negatives = support - true_positives
    average = arguments["average"]
    if average == "binary":
        column = np.searchsorted(labels, pos_label)
        if column[0] >= width or labels[column[0]] != pos_label[0]:
            return np.zeros(rows)
        counts = (true_positives[:, column[0]], false_positives[:, column[0]], false_negatives[:, column[0]])
        return _score(metric, *counts)
    if average == "micro":
        return _score(metric, true_positives.sum(axis=1), false_positives.sum(axis=1), false_negatives.sum(axis=1))
    scores = _score(metric, true_positives, false_positives, false_negatives)
    if len(fixed):
        counted = np.zeros(width, dtype=bool)
        counted[np.searchsorted(labels, fixed)] = True
        mask = np.broadcast_to(counted, scores.shape).astype(np.float64)
    else:  # the labels present in each resample, as scikit-learn takes them
        mask = (support + false_positives > 0).astype(np.float64)
    weights = mask * support if average == "weighted" else mask
    total = weights.sum(axis=1)
    weighted = (scores * weights).sum(axis=1)
    averaged: Floats = np.divide(weighted, total, out=np.zeros(rows), where=total > 0)
    return averaged


def _score(metric: str, true_positives: Floats, false_positives: Floats, false_negatives: Floats) -> Floats:
    """Per-label precision, recall or F1 from counts, 0 where the denominator is 0 (``zero_division=0``)."""
    import numpy as np

    if metric == "precision":
        denominator = true_positives + false_positives
    elif metric == "recall":
        denominator = true_positives + false_negatives
    else:
        denominator = 2 * true_positives + false_positives + false_negatives
    numerator = 2 * true_positives if metric == "f1" else true_positives
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _roc_auc_per_resample(actual: Floats, scores: Floats, options: Mapping[str, Any], resamples: Positions) -> Floats:
    """ROC AUC of every resample: of the positive class, or one-vs-rest macro-averaged over the
    classes present, as ``metric_once``; NaN for a resample with one class."""
    import numpy as np

    drawn = actual[resamples]
    classes = np.unique(actual)
    present = np.stack([(drawn == label).any(axis=1) for label in classes])  # classes x resamples
    count = present.sum(axis=0)
    width = scores.shape[1]
    binary = np.array([_is_binary(width, options, int(n)) for n in count])
    areas = np.full(len(drawn), math.nan)
    if binary.any():
        positive = drawn == drawn.max(axis=1, keepdims=True)
        areas[binary] = _rank_auc(scores[:, _positive_column(width)][resamples], positive)[binary]
    if not binary.all():
        per_class = np.stack([_rank_auc(scores[:, int(label)][resamples], drawn == label) for label in classes])
        total = np.where(present, per_class, 0.0).sum(axis=0)
        areas[~binary] = (total / np.maximum(count, 1))[~binary]
    areas[count < 2] = math.nan
    return areas


def _rank_auc(scores: Floats, positive: NDArray[np.bool_]) -> Floats:
    """Per row: the Mann-Whitney U of the positives over (positives x negatives), ties counted
    half; NaN where a row has no positive or no negative."""
    import numpy as np
    from scipy.stats import rankdata  # loaded with scikit-learn's metrics already

    ranks = rankdata(scores, axis=1)
    positives = positive.sum(axis=1).astype(np.float64)
    negatives = positive.shape[1] - positives
    rank_sum = (ranks * positive).sum(axis=1)
    pairs = positives * negatives
    u = rank_sum - positives * (positives + 1) / 2
    areas: Floats = np.divide(u, pairs, out=np.full(len(pairs), math.nan), where=pairs > 0)
    return areas


def _is_binary(width: int, options: Mapping[str, Any], classes: int) -> bool:
    """Whether ROC AUC is the positive class's alone (one score column, or two for two classes)."""
    return width == 1 or (width == 2 and options.get("multi_class") is None and classes == 2)


def _positive_column(width: int) -> int:
    return 0 if width == 1 else 1
