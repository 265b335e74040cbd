"""How much better one model scores than another on the same examples, and how sure that is.

"Distillation beats plain fine-tuning" is a claim about a difference of two quality scores
measured on the same evaluation set. Both scores carry their per-example outcomes, so the
difference has a **paired** sampling error: the bootstrap resamples the shared examples and
recomputes both metrics on each resample (:func:`.example_outcomes.paired_difference_error`).
Examples that both models get right, or both wrong, add no noise; only the ones on which they
disagree do.

The gain is reported by its one-sided lower confidence bound, ``difference - z * error``: a
limit of ``"0 points"`` on it asserts that the first model is better beyond what sampling the
examples could explain, at the run's confidence (``--modelperf-confidence``).
"""

from __future__ import annotations

from . import stats
from .example_outcomes import PAIRED_MIN_OVERLAP, paired_difference_error
from .measurement import Direction, Measurement
from .units import is_score


class QualityGainError(ValueError):
    """The two scores cannot be compared example by example; the message names which and why."""


def quality_gain(
    better: Measurement,
    worse: Measurement,
    *,
    name: str | None = None,
    confidence: float = 0.99,
    resamples: int = 400,
) -> Measurement:
    """The gain of ``better`` over ``worse`` in points, as its lower confidence bound.

    Both must be quality scores of the same metric with per-example outcomes over (nearly, at
    least 90%) the same examples. The measurement's context keeps the difference itself, its
    paired standard error, the confidence and the number of examples."""
    for side, score in (("first", better), ("second", worse)):
        if score.unavailable is not None:
            return Measurement.not_available(
                name or _default_name(better, worse, confidence),
                f"the {side} score is N/A ({score.unavailable})",
                unit="points",
                direction=Direction.HIGHER_IS_BETTER,
            )
        if not is_score(score.unit) or score.examples is None:
            raise QualityGainError(
                f"quality_gain: {score.name} is not a quality score with per-example outcomes "
                f"(unit {score.unit!r}); pass scores from measure_accuracy"
            )
    assert better.examples is not None and worse.examples is not None
    if better.examples.metric != worse.examples.metric:
        raise QualityGainError(
            f"quality_gain: {better.name} is a {better.examples.metric} and {worse.name} a {worse.examples.metric}"
        )
    error = paired_difference_error(better.examples, worse.examples, resamples=resamples)
    if error is None:
        shared = len(set(better.examples.ids) & set(worse.examples.ids))
        raise QualityGainError(
            f"quality_gain: {better.name} and {worse.name} share {shared} of their "
            f"{len(better.examples)} and {len(worse.examples)} examples; a paired comparison needs "
            f"at least {PAIRED_MIN_OVERLAP:.0%} of both: evaluate both on the same data"
        )
    difference = better.value - worse.value
    z = stats.one_sided_z(confidence)
    return Measurement(
        name or _default_name(better, worse, confidence),
        "points",
        Direction.HIGHER_IS_BETTER,
        difference - z * error,
        context={
            "model": f"{better.context.get('model', '?')} - {worse.context.get('model', '?')}",
            "first": better.name,
            "second": worse.name,
            "difference": round(difference, 6),
            "standard_error": round(error, 6),
            "confidence": confidence,
            "examples": len(better.examples),
        },
        notes=tuple(dict.fromkeys((*better.notes, *worse.notes))),
    )


def _default_name(better: Measurement, worse: Measurement, confidence: float) -> str:
    first, second = better.context.get("model", better.name), worse.context.get("model", worse.name)
    metric = better.name.split("[", 1)[0]
    return f"{metric} gain of {first} over {second} (lower {percent(confidence)} bound)"


def percent(confidence: float) -> str:
    """``0.99`` as ``99%``, ``0.999`` as ``99.9%``."""
    return f"{round(confidence * 100, 6):g}%"
