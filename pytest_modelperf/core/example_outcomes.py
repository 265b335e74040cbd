"""Per-example outcomes behind a quality metric, and the sampling noise of that metric.

An accuracy on 500 examples is an estimate: another 500 would give another number. Each
quality measurement therefore keeps, per example, what its metric needs (the reference and
the prediction, the class probabilities for ROC AUC, or the example's own score for SQuAD's
exact match and F1), so that the metric can be recomputed on any resample of the examples:

- against a baseline over the same examples (matched by id), a **paired** bootstrap gives the
  standard error of the *difference*: an unchanged model has a difference of exactly zero,
  and a change that flips a handful of examples is judged by how many it flips;
- otherwise each side's own bootstrap standard error is combined (unpaired).

The recomputation here is plain Python and must agree with the ``evaluate`` modules that
compute the reported value (a unit test holds them together); it runs in the comparison path
and needs no third-party import.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCALE = 100.0  # quality metrics are reported in points (0-100), as SQuAD's are
PAIRED_MIN_OVERLAP = 0.9  # pair when at least this share of either side's examples match by id


class OutcomesError(ValueError):
    """Per-example outcomes are malformed; the message names the field."""


@dataclass(frozen=True)
class ExampleOutcomes:
    """What one quality metric saw, example by example.

    ``metric`` names the recomputation: ``mean`` (of per-example ``predictions`` scores in
    0..1, for exact match and SQuAD F1), ``accuracy``, ``precision``, ``recall``, ``f1`` (over
    integer labels, with ``options["average"]`` of ``macro``, ``micro``, ``weighted`` or
    ``binary``) or ``roc_auc`` (over per-example class ``scores``).
    """

    metric: str
    ids: tuple[str, ...]
    predictions: tuple[float, ...]
    references: tuple[float, ...] = ()
    scores: tuple[tuple[float, ...], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metric not in RECOMPUTE:
            raise OutcomesError(f"unknown metric {self.metric!r}; known: {', '.join(RECOMPUTE)}")
        n = len(self.ids)
        if n == 0:
            raise OutcomesError("no examples")
        if len(set(self.ids)) != n:
            raise OutcomesError("example ids are not unique")
        if len(self.predictions) != n:
            raise OutcomesError(f"{len(self.predictions)} predictions for {n} examples")
        if self.metric != "mean" and len(self.references) != n:
            raise OutcomesError(f"{len(self.references)} references for {n} examples")
        if self.metric == "roc_auc" and len(self.scores) != n:
            raise OutcomesError(f"{len(self.scores)} score rows for {n} examples")

    def __len__(self) -> int:
        return len(self.ids)

    def value(self) -> float:
        """The metric over every example, in points."""
        return self.on(range(len(self.ids)))

    def on(self, indices: Sequence[int] | range) -> float:
        """The metric over the examples at these positions (repeats allowed), in points."""
        return SCALE * RECOMPUTE[self.metric](self, indices)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"metric": self.metric, "ids": list(self.ids), "predictions": [_compact(p) for p in self.predictions]}
        if self.references:
            data["references"] = [_compact(r) for r in self.references]
        if self.scores:
            data["scores"] = [[round(s, 5) for s in row] for row in self.scores]
        if self.options:
            data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: Any, path: str) -> ExampleOutcomes:
        if not isinstance(data, dict):
            raise OutcomesError(f"{path}: expected an object, got {type(data).__name__}")
        try:
            return cls(
                metric=str(data["metric"]),
                ids=tuple(str(i) for i in _list(data, "ids", path)),
                predictions=tuple(float(p) for p in _list(data, "predictions", path)),
                references=tuple(float(r) for r in data.get("references", [])),
                scores=tuple(tuple(float(s) for s in row) for row in data.get("scores", [])),
                options=dict(data.get("options", {})),
            )
        except KeyError as missing:
            raise OutcomesError(f"{path}.{missing.args[0]}: missing") from None
        except (TypeError, ValueError) as error:
            raise OutcomesError(f"{path}: {error}") from None


def bootstrap_error(outcomes: ExampleOutcomes, *, resamples: int = 400, seed: int = 0) -> float:
    """Standard error (points) of the metric over resamples of the examples."""
    rng = random.Random(seed)
    n = len(outcomes)
    values = _finite(outcomes.on([rng.randrange(n) for _ in range(n)]) for _ in range(resamples))
    return _std(values)


def paired_difference_error(
    current: ExampleOutcomes, baseline: ExampleOutcomes, *, resamples: int = 400, seed: int = 0
) -> float | None:
    """Standard error (points) of current minus baseline over shared resamples of the examples
    both evaluated; None when they did not evaluate (nearly) the same examples."""
    if current.metric != baseline.metric:
        return None
    position = {example: i for i, example in enumerate(baseline.ids)}
    pairs = [(i, position[example]) for i, example in enumerate(current.ids) if example in position]
    if len(pairs) < PAIRED_MIN_OVERLAP * max(len(current), len(baseline)):
        return None
    rng = random.Random(seed)
    n = len(pairs)
    differences = []
    for _ in range(resamples):
        chosen = [pairs[rng.randrange(n)] for _ in range(n)]
        differences.append(current.on([c for c, _ in chosen]) - baseline.on([b for _, b in chosen]))
    return _std(_finite(differences))


def difference_error(current: ExampleOutcomes, baseline: ExampleOutcomes | None) -> tuple[float, bool]:
    """(standard error of the change in points, whether it was paired by example)."""
    if baseline is not None:
        paired = paired_difference_error(current, baseline)
        if paired is not None:
            return paired, True
    mine = bootstrap_error(current)
    theirs = bootstrap_error(baseline) if baseline is not None else mine
    return math.sqrt(mine**2 + theirs**2), False


# -- recomputation, one function per metric ------------------------------------------------


def _mean(outcomes: ExampleOutcomes, indices: Sequence[int] | range) -> float:
    return math.fsum(outcomes.predictions[i] for i in indices) / len(indices)


def _accuracy(outcomes: ExampleOutcomes, indices: Sequence[int] | range) -> float:
    return sum(outcomes.predictions[i] == outcomes.references[i] for i in indices) / len(indices)


def _counts(outcomes: ExampleOutcomes, indices: Sequence[int] | range) -> dict[float, list[int]]:
    """label -> [true positives, false positives, false negatives, support]."""
    table: dict[float, list[int]] = {}
    for i in indices:
        predicted, actual = outcomes.predictions[i], outcomes.references[i]
        for label in (predicted, actual):
            table.setdefault(label, [0, 0, 0, 0])
        if predicted == actual:
            table[actual][0] += 1
        else:
            table[predicted][1] += 1
            table[actual][2] += 1
        table[actual][3] += 1
    return table


def _precision_recall_f1(kind: str) -> Callable[[ExampleOutcomes, Sequence[int] | range], float]:
    def per_label(tp: int, fp: int, fn: int) -> float:
        if kind == "precision":
            return tp / (tp + fp) if tp + fp else 0.0
        if kind == "recall":
            return tp / (tp + fn) if tp + fn else 0.0
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    def compute(outcomes: ExampleOutcomes, indices: Sequence[int] | range) -> float:
        table = _counts(outcomes, indices)
        average = outcomes.options.get("average", "binary")
        if average == "binary":
            positive = float(outcomes.options.get("pos_label", 1))
            tp, fp, fn, _ = table.get(positive, [0, 0, 0, 0])
            return per_label(tp, fp, fn)
        if average == "micro":
            tp, fp, fn = (sum(row[k] for row in table.values()) for k in range(3))
            return per_label(tp, fp, fn)
        labels = [float(label) for label in outcomes.options.get("labels", sorted(table))]
        rows = [table.get(label, [0, 0, 0, 0]) for label in labels]
        scores = [per_label(tp, fp, fn) for tp, fp, fn, _ in rows]
        if average == "macro":
            return math.fsum(scores) / len(scores)
        if average == "weighted":
            support = sum(row[3] for row in rows)
            return math.fsum(s * row[3] for s, row in zip(scores, rows)) / support if support else 0.0
        raise OutcomesError(f"average={average!r} is not one of binary, micro, macro, weighted")

    return compute


def _roc_auc(outcomes: ExampleOutcomes, indices: Sequence[int] | range) -> float:
    """One-vs-rest ROC AUC, macro-averaged over the classes present (binary: the positive class)."""
    classes = sorted({outcomes.references[i] for i in indices})
    if len(classes) < 2:
        return math.nan  # undefined on a resample with one class; such resamples are dropped
    width = len(outcomes.scores[indices[0]])
    if width == 1 or (width == 2 and outcomes.options.get("multi_class") is None and len(classes) == 2):
        column = 0 if width == 1 else 1
        return _binary_auc([(outcomes.scores[i][column], outcomes.references[i] == classes[-1]) for i in indices])
    areas = [_binary_auc([(outcomes.scores[i][int(label)], outcomes.references[i] == label) for i in indices]) for label in classes]
    return math.fsum(areas) / len(areas)


def _binary_auc(scored: list[tuple[float, bool]]) -> float:
    """Mann-Whitney U / (positives * negatives), ties counted half."""
    ordered = sorted(scored, key=lambda pair: pair[0])
    positives = sum(1 for _, positive in ordered if positive)
    negatives = len(ordered) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    rank_sum, i = 0.0, 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1][0] == ordered[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1
        rank_sum += average_rank * sum(1 for k in range(i, j + 1) if ordered[k][1])
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


RECOMPUTE: dict[str, Callable[[ExampleOutcomes, Sequence[int] | range], float]] = {
    "mean": _mean,
    "accuracy": _accuracy,
    "precision": _precision_recall_f1("precision"),
    "recall": _precision_recall_f1("recall"),
    "f1": _precision_recall_f1("f1"),
    "roc_auc": _roc_auc,
}


def _std(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _finite(values: Any) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _compact(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 5)


def _list(data: dict[str, Any], key: str, path: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise OutcomesError(f"{path}.{key}: expected a list, got {type(value).__name__}")
    return value
