"""A loaded checkpoint's own facts as measurements: parameter count and artefact size (exact), load time."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.measurement import Measurement
from ..models.loading import LoadedModel, model_notes
from .catalogue import ARTEFACT_SIZE, LOAD_TIME, PARAMETERS, Measure
from .memory import MB


@dataclass(frozen=True)
class ModelFacts:
    parameter_count: Measurement
    artefact_size: Measurement | None
    load_time: Measurement


def model_facts(model: LoadedModel) -> ModelFacts:
    """Parameter count and artefact size (exact) and load time of a loaded checkpoint."""
    context = {"device": model.device, "dtype": model.dtype, "model": model.name, "task": model.task}
    notes = model_notes(model)

    def exact(measure: Measure, value: float) -> Measurement:
        return Measurement.exact(
            measure.name, value, unit=measure.unit, direction=measure.direction, context=context, notes=notes
        )

    return ModelFacts(
        parameter_count=exact(PARAMETERS, model.parameter_count),
        artefact_size=exact(ARTEFACT_SIZE, model.artefact_bytes / MB) if model.artefact_bytes is not None else None,
        load_time=Measurement(
            LOAD_TIME.name, LOAD_TIME.unit, LOAD_TIME.direction, model.load_seconds, context=context, notes=notes
        ),
    )
