"""How a checkpoint's fine-tune went when ``modelperf prepare`` made it, as measurements.

The fine-tune's time, samples/s and peak host (and GPU) memory, as recorded beside the
checkpoint, under the names, units and directions of ``measure.catalogue``. On the CPU the
time and rate carry the speed reference timed through the fine-tune, so that a check judges
them at the speed the machine had then.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.measurement import Measurement
from ..measure import catalogue
from ..measure.calibration import with_reference
from ..models.fine_tune_record import FineTuneStats, fine_tune_stats
from ..models.loading import LoadedModel


@dataclass(frozen=True)
class FineTuneFacts:
    seconds: Measurement
    samples_per_second: Measurement
    peak_host_memory: Measurement
    peak_gpu_memory: Measurement | None
    final_loss: float


def fine_tune_facts(model: LoadedModel, *, calibrate: bool) -> FineTuneFacts | None:
    """The facts of ``model``'s fine-tune; None for a checkpoint not fine-tuned by ``modelperf prepare``.

    With ``calibrate``, the time and the rate carry the speed reference recorded with them.
    """
    recorded = fine_tune_stats(model.checkpoint)
    if recorded is None:
        return None
    context = {
        "device": recorded.device,
        "dtype": "float32",
        "model": model.name,
        "task": model.task,
        "examples": recorded.examples,
    }

    def single(measure: catalogue.Measure, value: float) -> Measurement:
        return Measurement(measure.name, measure.unit, measure.direction, value, context=context)

    def timed(measurement: Measurement) -> Measurement:
        return _with_recorded_reference(measurement, recorded) if calibrate else measurement

    peak_gpu = recorded.peak_gpu_memory_mb
    return FineTuneFacts(
        seconds=timed(single(catalogue.FINE_TUNE_TIME, recorded.seconds)),
        samples_per_second=timed(single(catalogue.FINE_TUNE_THROUGHPUT, recorded.samples_per_second)),
        peak_host_memory=single(catalogue.FINE_TUNE_PEAK_HOST_MEMORY, recorded.peak_host_memory_mb),
        peak_gpu_memory=single(catalogue.FINE_TUNE_PEAK_GPU_MEMORY, peak_gpu) if peak_gpu is not None else None,
        final_loss=recorded.final_loss,
    )


def _with_recorded_reference(measurement: Measurement, recorded: FineTuneStats) -> Measurement:
    """With the speed reference timed through the fine-tune, where one was (on the CPU)."""
    if not recorded.speed_reference:
        return measurement
    return with_reference(measurement, [ms / 1e3 for ms in recorded.speed_reference_ms], identity=recorded.speed_reference)
