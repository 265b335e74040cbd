"""Per-example outcomes behind a quality metric, and the sampling noise of that metric.

An accuracy on 500 examples is an estimate: another 500 would give another number. Each
quality measurement therefore keeps, per example, what its metric needs (the reference and
the prediction, the class probabilities for ROC AUC, the example's own score for SQuAD's
exact match and F1, or a sentence's summed negative log-likelihood and token count for a
perplexity), so that the metric can be recomputed on any resample of the examples:

- against a baseline over the same examples (matched by id), a **paired** bootstrap gives the
  standard error of the *difference*: an unchanged model has a difference of exactly zero,
  and a change that flips a handful of examples is judged by how many it flips;
- otherwise each side's own bootstrap standard error is combined (unpaired).

The recomputation (``core.example_metrics``) follows scikit-learn's definitions, which the
``evaluate`` modules that compute the reported value use too (a unit test holds them together).
Every value and error here is in the measurement's own unit: a score's fraction times
``SCALE`` (points, 0-100), a perplexity as itself (``METRIC_SCALES``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .example_metrics import METRICS, MetricError, metric_once, metric_per_resample

if TYPE_CHECKING:
    from numpy.typing import NDArray

SCALE = 100.0  # quality scores are reported in points (0-100), as SQuAD's are
# Metrics that are no score in 0..1, by the factor from their recomputation to their unit.
METRIC_SCALES: Mapping[str, float] = {"perplexity": 1.0}
PAIRED_MIN_OVERLAP = 0.9  # pair when at least this share of either side's examples match by id


class OutcomesError(ValueError):
    """Per-example outcomes are malformed; the message names the field."""


@dataclass(frozen=True)
class ExampleOutcomes:
    """What one quality metric saw, example by example.

    ``metric`` names the recomputation: ``mean`` (of per-example ``predictions`` scores in
    0..1, for exact match and SQuAD F1), ``accuracy``, ``precision``, ``recall``, ``f1`` (over
    integer labels, with ``options["average"]`` of ``macro``, ``micro``, ``weighted`` or
    ``binary``), ``roc_auc`` (over per-example class ``scores``) or ``perplexity`` (per
    sentence: its summed negative log-likelihood as the prediction, its scored tokens as the
    reference).
    """

    metric: str
    ids: tuple[str, ...]
    predictions: tuple[float, ...]
    references: tuple[float, ...] = ()
    scores: tuple[tuple[float, ...], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise OutcomesError(f"unknown metric {self.metric!r}; known: {', '.join(METRICS)}")
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
        if self.metric == "perplexity" and any(not tokens >= 0 for tokens in self.references):
            raise OutcomesError("a perplexity's references are token counts; they must not be negative")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def scale(self) -> float:
        """The factor from the recomputed metric to the measurement's unit (see ``scale_of``)."""
        return scale_of(self.metric)

    def value(self) -> float:
        """The metric over every example, in the measurement's unit."""
        return self.on(range(len(self.ids)))

    def on(self, indices: Sequence[int] | range) -> float:
        """The metric over the examples at these positions (repeats allowed), in the measurement's unit."""
        try:
            return self.scale * metric_once(self, indices)
        except MetricError as error:
            raise OutcomesError(str(error)) from None

    def on_each(self, resamples: NDArray[Any]) -> NDArray[Any]:
        """The metric over each row of positions (resamples x examples) at once, in the measurement's unit."""
        try:
            return self.scale * metric_per_resample(self, resamples)
        except MetricError as error:
            raise OutcomesError(str(error)) from None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": self.metric,
            "ids": list(self.ids),
            "predictions": [_compact(p) for p in self.predictions],
        }
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


def scale_of(metric: str) -> float:
    """The factor from a recomputed metric to its measurement's unit: ``SCALE`` for a score in
    0..1 (points), 1 for a perplexity."""
    return METRIC_SCALES.get(metric, SCALE)


def bootstrap_error(outcomes: ExampleOutcomes, *, resamples: int = 400, seed: int = 0) -> float:
    """Standard error (in the measurement's unit) of the metric over resamples of the examples."""
    import numpy as np

    n = len(outcomes)
    drawn = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    return _std(outcomes.on_each(drawn))


def paired_difference_error(
    current: ExampleOutcomes, baseline: ExampleOutcomes, *, resamples: int = 400, seed: int = 0
) -> float | None:
    """Standard error (in the measurement's unit) of current minus baseline over shared resamples
    of the examples both evaluated; None when they did not evaluate (nearly) the same examples."""
    import numpy as np

    if current.metric != baseline.metric:
        return None
    position = {example: i for i, example in enumerate(baseline.ids)}
    pairs = [(i, position[example]) for i, example in enumerate(current.ids) if example in position]
    if len(pairs) < PAIRED_MIN_OVERLAP * max(len(current), len(baseline)):
        return None
    mine, theirs = (np.asarray(side, dtype=np.intp) for side in zip(*pairs, strict=True))
    chosen = np.random.default_rng(seed).integers(0, len(pairs), size=(resamples, len(pairs)))
    return _std(current.on_each(mine[chosen]) - baseline.on_each(theirs[chosen]))


def difference_error(current: ExampleOutcomes, baseline: ExampleOutcomes | None) -> tuple[float, bool]:
    """(standard error of the change in the measurement's unit, whether it was paired by example)."""
    if baseline is not None:
        paired = paired_difference_error(current, baseline)
        if paired is not None:
            return paired, True
    mine = bootstrap_error(current)
    theirs = bootstrap_error(baseline) if baseline is not None else mine
    return math.sqrt(mine**2 + theirs**2), False


def _std(values: NDArray[Any]) -> float:
    """The sample standard deviation of the finite values (resamples where the metric is undefined
    are dropped); 0 below two."""
    finite = values[(values == values) & (abs(values) != math.inf)]
    return float(finite.std(ddof=1)) if len(finite) >= 2 else 0.0


def _compact(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 5)


def _list(data: dict[str, Any], key: str, path: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise OutcomesError(f"{path}.{key}: expected a list, got {type(value).__name__}")
    return value
