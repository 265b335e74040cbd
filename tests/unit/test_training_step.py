"""One training step: what it trains, on which labels, with accumulation, autocast and clipping;
and how its time, rates and memory become measurements."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure import catalogue
from pytest_modelperf.measure.memory import CPU_ALLOCATOR_FAILURE
from pytest_modelperf.measure.workloads import Workload
from pytest_modelperf.models.loading import load_model
from pytest_modelperf.quality.data import DataError
from pytest_modelperf.training.data import dataset_batches, device_batches, given_batches
from pytest_modelperf.training.measurement import TrainingPlan, measure_training
from pytest_modelperf.training.step import (
    StepSettings,
    TrainingStep,
    autocast_dtype,
    loss_of,
    synthetic_batch,
    training_copy,
)

FAST = TimingOptions(warmup_rounds=1, warmup_time=0.0, min_rounds=3, max_rounds=3, max_time=0.0)


def tiny_bert(tmp_path: Path, task: str, **config: Any) -> Any:
    from transformers import BertConfig

    from pytest_modelperf.models.checkpoints import build_checkpoint

    settings = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=3,
    )
    settings.update(config)
    directory, _ = build_checkpoint(BertConfig(**settings), tmp_path / task, task=task, tokenizer="bert-base-uncased")
    return load_model(directory, device="cpu")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # No dropout: two runs of one step compute the same gradients, so updates can be compared.
    return tiny_bert(
        tmp_path_factory.mktemp("cls"), "sequence-classification", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )


def parameters_of(model: Any) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def test_a_step_trains_a_copy_and_leaves_the_sessions_model_as_it_was(classifier: Any) -> None:
    before = parameters_of(classifier.model)
    settings = StepSettings(Workload(4, 16))
    trained = training_copy(classifier)
    step = TrainingStep(trained, [synthetic_batch(classifier, settings.workload)], settings, device="cpu")
    step()
    after = parameters_of(classifier.model)
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert not classifier.model.training, "the session's model stays in evaluation mode"
    moved = parameters_of(trained)
    assert any(not torch.equal(before[name], moved[name]) for name in before)


def test_accumulating_two_half_batches_updates_as_one_step_on_the_whole_batch(classifier: Any) -> None:
    """The reference is written out by hand: mean loss over the whole batch, backward, AdamW."""
    whole = synthetic_batch(classifier, Workload(8, 16))
    halves = [{name: tensor[:4] for name, tensor in whole.items()}, {name: tensor[4:] for name, tensor in whole.items()}]

    reference = copy.deepcopy(classifier.model).train()
    optimizer = torch.optim.AdamW(reference.parameters(), lr=5e-5, weight_decay=0.01)
    reference(**whole).loss.backward()
    optimizer.step()

    settings = StepSettings(Workload(4, 16), gradient_accumulation=2)
    step = TrainingStep(training_copy(classifier), halves, settings, device="cpu")
    step()

    expected, got = parameters_of(reference), parameters_of(step.model)
    # Adam divides by sqrt(v)+eps: a gradient summed in another order moves a weight by ~lr.
    assert all(torch.allclose(expected[name], got[name], atol=1e-6, rtol=0) for name in expected)
    assert settings.samples == 8 and settings.label == "4x16, accumulate 2"


def test_clipping_bounds_the_gradient_norm_the_optimizer_sees(classifier: Any) -> None:
    seen: list[float] = []

    class Recording(torch.optim.SGD):
        def step(self, closure: Any = None) -> Any:
            grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
            seen.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
            return super().step(closure)

    settings = StepSettings(Workload(4, 16), max_grad_norm=1e-3)
    step = TrainingStep(
        training_copy(classifier),
        [synthetic_batch(classifier, settings.workload)],
        settings,
        device="cpu",
        optimizer=lambda parameters: Recording(parameters, lr=0.1),
    )
    step()
    assert seen and seen[0] == pytest.approx(1e-3, rel=1e-3)


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_mixed_precision_steps_train_float32_weights(classifier: Any, dtype: str) -> None:
    settings = StepSettings(Workload(4, 16), autocast=autocast_dtype(dtype))
    step = TrainingStep(training_copy(classifier), [synthetic_batch(classifier, settings.workload)], settings, device="cpu")
    before = parameters_of(step.model)
    step()
    assert all(parameter.dtype == torch.float32 for parameter in step.model.parameters())
    assert any(not torch.equal(before[name], parameter) for name, parameter in parameters_of(step.model).items())
    loss = step.last_loss()
    assert loss is not None and torch.isfinite(torch.tensor(loss))
    assert (step._scaler is not None) == (dtype == "fp16"), "float16 needs a gradient scaler, bfloat16 does not"


@pytest.mark.parametrize(
    ("given", "expected"), [(None, None), ("fp32", None), ("float32", None), ("bf16", "bfloat16"), ("half", "float16")]
)
def test_autocast_dtype_names(given: str | None, expected: str | None) -> None:
    assert autocast_dtype(given) == expected


def test_an_autocast_dtype_it_cannot_train_in_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown dtype 'int8'; use one of bf16, bfloat16"):
        autocast_dtype("int8")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"gradient_accumulation": 0}, "gradient_accumulation must be a positive integer, got 0"),
        ({"autocast": "float64"}, "autocast dtype must be one of bfloat16, float16 or None"),
        ({"max_grad_norm": 0.0}, "max_grad_norm must be a positive number"),
    ],
)
def test_step_settings_name_the_field_that_is_wrong(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StepSettings(Workload(1, 8), **fields)


def test_labels_fit_each_task(tmp_path: Path) -> None:
    workload = Workload(64, 12)
    classes = synthetic_batch(tiny_bert(tmp_path, "sequence-classification", num_labels=5), workload)["labels"]
    assert classes.shape == (64,) and int(classes.min()) >= 0 and int(classes.max()) <= 4 and len(set(classes.tolist())) > 1

    spans = synthetic_batch(tiny_bert(tmp_path, "question-answering"), workload)
    start, end = spans["start_positions"], spans["end_positions"]
    assert bool(((start >= 0) & (start <= end) & (end < 12)).all())

    masked = synthetic_batch(tiny_bert(tmp_path, "masked-lm"), workload)
    targets, predicted = masked["labels"], masked["labels"] != -100
    assert 0.05 < float(predicted.float().mean()) < 0.30
    assert torch.equal(targets[predicted], masked["input_ids"][predicted])


def test_a_model_without_a_head_trains_on_the_mean_square_of_its_output(tmp_path: Path) -> None:
    encoder = tiny_bert(tmp_path, "feature-extraction")
    batch = synthetic_batch(encoder, Workload(2, 8))
    assert "labels" not in batch
    with torch.no_grad():
        hidden = encoder.model(**batch).last_hidden_state
        assert float(loss_of(encoder.model, batch)) == pytest.approx(float((hidden**2).sum() / hidden.numel()), rel=1e-6)


def test_restart_begins_from_an_optimizer_without_state(classifier: Any) -> None:
    settings = StepSettings(Workload(2, 8))
    step = TrainingStep(training_copy(classifier), [synthetic_batch(classifier, settings.workload)], settings, device="cpu")
    step()
    assert step.optimizer.state
    step.restart()
    assert not step.optimizer.state and all(parameter.grad is None for parameter in step.model.parameters())
    step.release()
    assert step.optimizer is None
    step()  # a released step makes its optimizer again
    assert step.optimizer.state


# -- measuring ------------------------------------------------------------------------------


class CountingStep(TrainingStep):
    calls = 0

    def __call__(self) -> None:
        type(self).calls += 1
        super().__call__()


def test_measure_training_times_steps_after_warm_up_and_derives_the_rates(classifier: Any) -> None:
    settings = StepSettings(Workload(4, 16), gradient_accumulation=2)
    batches = [synthetic_batch(classifier, settings.workload, seed=seed) for seed in range(2)]
    step = CountingStep(training_copy(classifier), batches, settings, device="cpu")
    plan = TrainingPlan(FAST, steps=4, warmup_steps=2, memory_rounds=2)
    result = measure_training(classifier, step, plan)

    assert CountingStep.calls == 2 + 4 + 2  # warm-up, timed, one per memory round
    latency, samples, tokens = result.step_latency, result.samples_per_second, result.tokens_per_second
    assert latency is not None and samples is not None and tokens is not None
    assert latency.name == "train_step_latency[4x16, accumulate 2]" and latency.unit == "ms"
    assert len(latency.samples) == 4
    for ms, rate, token_rate in zip(latency.samples, samples.samples, tokens.samples, strict=True):
        assert rate == pytest.approx(8 / (ms / 1e3)) and token_rate == pytest.approx(8 * 16 / (ms / 1e3))
    assert samples.name == "train_throughput[4x16, accumulate 2]" and samples.unit == "samples/s"
    memory = result.host_memory
    assert memory is not None and memory.name == "train_host_memory[4x16, accumulate 2]" and len(memory.samples) == 2
    assert all(value > 0 for value in memory.samples), "gradients and AdamW's state are part of the peak"
    assert latency.context["mode"] == "training" and latency.context["optimizer"] == "AdamW"
    assert latency.context["gradient_accumulation"] == 2 and latency.context["dtype"] == "float32"
    assert result.gpu_memory_allocated is None and result.measurements == (latency, samples, tokens, memory)
    assert result.loss is not None and not result.out_of_memory
    assert {m.name for m in result.measurements} <= {
        measure.named("4x16, accumulate 2")
        for measure in (
            catalogue.TRAIN_STEP_LATENCY,
            catalogue.TRAIN_THROUGHPUT,
            catalogue.TRAIN_TOKEN_THROUGHPUT,
            catalogue.TRAIN_HOST_MEMORY,
        )
    }


def test_under_autocast_the_measurement_is_kept_under_the_autocast_dtype(classifier: Any) -> None:
    settings = StepSettings(Workload(2, 8), autocast="bfloat16")
    step = TrainingStep(training_copy(classifier), [synthetic_batch(classifier, settings.workload)], settings, device="cpu")
    result = measure_training(classifier, step, TrainingPlan(FAST, steps=2, warmup_steps=1, memory_rounds=1))
    assert result.step_latency is not None
    assert result.step_latency.context["dtype"] == "bfloat16" and result.step_latency.context["weights_dtype"] == "float32"


def test_a_step_that_runs_out_of_memory_gives_not_available_measurements(classifier: Any) -> None:
    class Exhausted(TrainingStep):
        def __call__(self) -> None:
            raise RuntimeError(f"{CPU_ALLOCATOR_FAILURE}: you tried to allocate 1 TB")

    settings = StepSettings(Workload(2, 8))
    step = Exhausted(training_copy(classifier), [synthetic_batch(classifier, settings.workload)], settings, device="cpu")
    result = measure_training(classifier, step, TrainingPlan(FAST, steps=2))
    assert result.out_of_memory
    assert [m.unavailable for m in result.measurements] == ["out of memory"] * 4


def test_other_errors_of_a_step_propagate(classifier: Any) -> None:
    class Broken(TrainingStep):
        def __call__(self) -> None:
            raise ValueError("a bug in the user's loss")

    settings = StepSettings(Workload(2, 8))
    step = Broken(training_copy(classifier), [synthetic_batch(classifier, settings.workload)], settings, device="cpu")
    with pytest.raises(ValueError, match="a bug in the user's loss"):
        measure_training(classifier, step, TrainingPlan(FAST, steps=2))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"steps": 1}, "steps must be an integer of at least 2"),
        ({"warmup_steps": 0}, "warmup_steps must be an integer of at least 1"),
    ],
)
def test_a_plan_names_the_argument_that_is_wrong(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingPlan(FAST, **fields)


def test_a_plan_without_steps_follows_the_timing_options_after_its_own_warm_up() -> None:
    timing = TimingOptions(warmup_rounds=5, warmup_time=1.0, min_rounds=10, max_rounds=50, max_time=3.0)
    assert TrainingPlan(timing, warmup_steps=2).step_timing() == TimingOptions(2, 0.0, 10, 50, 3.0)
    assert TrainingPlan(timing, steps=4, warmup_steps=1).step_timing() == TimingOptions(1, 0.0, 4, 4, 3.0)


# -- batches from data ----------------------------------------------------------------------


def test_a_classification_dataset_becomes_full_batches_of_the_workloads_shape(classifier: Any) -> None:
    from datasets import Dataset

    rows = Dataset.from_dict({"text": [f"example number {i} of the set" for i in range(10)], "label": [i % 3 for i in range(10)]})
    batches = dataset_batches(classifier, rows, Workload(4, 12))
    assert len(batches) == 2  # the last two examples do not fill a batch
    assert all(
        batch["input_ids"].shape == (4, 12) and batch["labels"].tolist() == [i % 3 for i in range(k * 4, k * 4 + 4)]
        for k, batch in enumerate(batches)
    )


def test_data_errors_name_what_is_wrong(classifier: Any, tmp_path: Path) -> None:
    from datasets import Dataset

    few = Dataset.from_dict({"text": ["one", "two"], "label": [0, 1]})
    with pytest.raises(DataError, match="has 2 examples, fewer than one batch of 4"):
        dataset_batches(classifier, few, Workload(4, 8))
    with pytest.raises(DataError, match="no column 'stars'"):
        dataset_batches(classifier, few, Workload(1, 8), label_column="stars")
    with pytest.raises(DataError, match="needs a sequence-classification model, question-answering is question-answering"):
        dataset_batches(tiny_bert(tmp_path, "question-answering"), few, Workload(1, 8))
    with pytest.raises(DataError, match="batch 1 holds 'pixels', which"):
        device_batches(classifier, [{"pixels": torch.zeros(1)}])


def test_given_batches_are_told_from_datasets() -> None:
    assert given_batches([{"input_ids": torch.zeros(1)}])
    assert not given_batches("topics") and not given_batches(Path("train.csv"))
