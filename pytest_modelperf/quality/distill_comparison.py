"""A teacher, the plain fine-tuned student and the distilled student, measured in one run.

What the distillation table (``render.distillation``) and its gates are made of: each model's
parameters and artefact size, its latency timed side by side with the others (the same
workload, alternating rounds), its classification scores on the same evaluation examples, and
the paired gain of the distilled student's accuracy over the plain student's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.measurement import Measurement
from ..core.quality_gain import quality_gain
from ..core.timing import TimingOptions
from ..measure.model_facts import model_facts
from ..measure.side_by_side import side_by_side_latencies
from ..measure.workloads import Workload
from ..models.loading import LoadedModel
from .accuracy import measure_accuracy

ROLES = ("teacher", "student", "distilled")
DEFAULT_WORKLOAD = Workload(1, 128)  # one sequence of 128 tokens, as the benchmark timed them


@dataclass(frozen=True)
class ComparedModel:
    """One model of the comparison, measured in the same run as the others."""

    role: str  # teacher, student or distilled
    name: str
    parameters: Measurement
    size: Measurement | None
    latency: Measurement  # per-round samples in ms, timed side by side with the others
    scores: Mapping[str, Measurement]


@dataclass(frozen=True)
class DistillationComparison:
    models: tuple[ComparedModel, ...]  # teacher, student, distilled
    gain: Measurement  # distilled over student, accuracy, lower confidence bound (core.quality_gain)


def compared_model(role: str, model: LoadedModel, latency: Measurement, scores: Mapping[str, Measurement]) -> ComparedModel:
    facts = model_facts(model)
    return ComparedModel(role, model.name, facts.parameter_count, facts.artefact_size, latency, scores)


def measure_distillation(
    teacher: LoadedModel,
    student: LoadedModel,
    distilled: LoadedModel,
    *,
    timing: TimingOptions,
    workload: Workload = DEFAULT_WORKLOAD,
    dataset: Any = None,
    limit: int | None = None,
    confidence: float = 0.99,
) -> DistillationComparison:
    """Time the three side by side on ``workload`` and score them on ``dataset`` (the models'
    built-in classification set when None), every model on the same examples."""
    models = (teacher, student, distilled)
    for role, model in zip(ROLES, models, strict=True):
        if model.task != "sequence-classification":
            raise ValueError(f"the {role} {model.name} is a {model.task} model; the comparison scores sequence classifiers")
    latencies = side_by_side_latencies(models, workload, timing, statistic="mean")
    qualities = [measure_accuracy(model, dataset, limit=limit) for model in models]
    compared = tuple(
        compared_model(role, model, latency, quality)
        for role, model, latency, quality in zip(ROLES, models, latencies, qualities, strict=True)
    )
    gain = quality_gain(qualities[2]["accuracy"], qualities[1]["accuracy"], confidence=confidence)
    return DistillationComparison(compared, gain)


def by_role(models: Sequence[ComparedModel]) -> dict[str, ComparedModel]:
    return {model.role: model for model in models}
