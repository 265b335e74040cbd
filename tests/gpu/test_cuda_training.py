"""A training step on a GPU: timed with CUDA events, its allocator peak repeatable to the byte and
above the trained copy's weights, gradients and AdamW's state it must hold, and bf16 autocast
running; a distillation step's peak holds the teacher's weights too."""

from __future__ import annotations

import torch

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.memory import MB, module_bytes
from pytest_modelperf.measure.workloads import Workload
from pytest_modelperf.training.distill_step import distill_recipe, distilling_loss
from pytest_modelperf.training.measurement import TrainingPlan, measure_training
from pytest_modelperf.training.step import StepSettings, TrainingStep, synthetic_batch, training_copy

TIMING = TimingOptions(warmup_rounds=2, warmup_time=0.0, min_rounds=5, max_rounds=5, max_time=0.0)


def measured(gpu_model, settings: StepSettings, *, teacher=None):
    loss = None if teacher is None else distilling_loss(gpu_model, teacher, distill_recipe(teacher.name, 2.0, 0.5))
    step = TrainingStep(
        training_copy(gpu_model),
        [synthetic_batch(gpu_model, settings.workload)],
        settings,
        device=gpu_model.device,
        loss=loss,
        resident=() if teacher is None else (teacher.model,),
    )
    try:
        return measure_training(gpu_model, step, TrainingPlan(TIMING, steps=5, memory_rounds=1))
    finally:
        step.release()


def test_a_training_step_on_cuda_is_timed_and_its_peak_is_exact_and_repeatable(gpu_model):
    settings = StepSettings(Workload(16, 128))
    first, second = measured(gpu_model, settings), measured(gpu_model, settings)
    assert first.step_latency is not None and len(first.step_latency.samples) == 5
    assert all(ms > 0 for ms in first.step_latency.samples)
    peaks = [result.gpu_memory_allocated for result in (first, second)]
    assert all(peak is not None and peak.deterministic for peak in peaks)
    assert peaks[0].value == peaks[1].value, f"allocator peaks differ: {peaks[0].value} and {peaks[1].value} MB"
    weights = sum(parameter.numel() * parameter.element_size() for parameter in gpu_model.model.parameters())
    # The trained copy's weights, its gradients and AdamW's two moments: four times the weights (the
    # session's own copy of the model is not the step's).
    assert peaks[0].value * MB > 4 * weights
    assert first.gpu_memory_reserved is not None and first.gpu_memory_reserved.value >= peaks[0].value


def test_bf16_autocast_trains_on_cuda(gpu_model):
    result = measured(gpu_model, StepSettings(Workload(16, 128), autocast="bfloat16"))
    assert result.step_latency is not None and result.step_latency.context["dtype"] == "bfloat16"
    assert result.loss is not None and torch.isfinite(torch.tensor(result.loss))


def test_a_distillation_step_s_peak_holds_the_teacher_s_weights(gpu_model, gpu_checkpoint):
    from pytest_modelperf.models.loading import load_model

    teacher = load_model(gpu_checkpoint, device=gpu_model.device, dtype="float32")  # weights of its own
    settings = StepSettings(Workload(16, 128))
    plain = measured(gpu_model, settings).gpu_memory_allocated
    distilled = measured(gpu_model, StepSettings(Workload(16, 128), teacher=teacher.name), teacher=teacher).gpu_memory_allocated
    assert plain is not None and distilled is not None
    # The teacher's weights, and its activations on top: at least its weights more than a plain step.
    assert (distilled.value - plain.value) * MB >= module_bytes(teacher.model)
