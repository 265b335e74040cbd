"""modelperf.measure_training in a test: measured now, checked, recorded and checked again."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def training_test(pytester, tiny_checkpoint):
    def write(body: str) -> None:
        pytester.makepyfile(test_training=f"CHECKPOINT = {str(tiny_checkpoint)!r}\n" + body)

    return write


def test_a_training_step_is_measured_checked_and_recorded(training_test, run, pytester):
    training_test("""
def test_train(modelperf):
    model = modelperf.load(CHECKPOINT, device="cpu")
    before = [p.detach().clone() for p in model.model.parameters()]
    training = modelperf.measure_training(model, batch_size=4, sequence_length=16, steps=3, memory_rounds=2)
    assert all((a == b).all() for a, b in zip(before, model.model.parameters())), "the session's model is untouched"
    assert len(training.step_latency.samples) == 3 and training.loss is not None
    modelperf.check(training)
""")
    result = run("--modelperf-update", "--modelperf-json", "out.json")
    result.assert_outcomes(passed=1)
    results = json.loads((pytester.path / "out.json").read_text())["results"]
    assert {r["measurement"]["name"] for r in results} == {
        "train_step_latency[4x16]",
        "train_throughput[4x16]",
        "train_token_throughput[4x16]",
        "train_host_memory[4x16]",
    }
    assert {r["measurement"]["context"]["mode"] for r in results} == {"training"}
    baseline = next(pytester.path.joinpath("baselines").rglob("test_training.json"))
    assert "train_step_latency[4x16]" in baseline.read_text()
    # Against what was just recorded: every measurement finds its baseline and its band.
    run("--modelperf-json", "again.json")
    again = json.loads((pytester.path / "again.json").read_text())["results"]
    assert len(again) == 4 and all(r["baseline"] is not None and r["noise_band"] is not None for r in again)


def test_a_limit_on_training_throughput_fails_the_test(training_test, run):
    training_test("""
def test_train(modelperf):
    training = modelperf.measure_training(modelperf.load(CHECKPOINT, device="cpu"), batch_size=2, sequence_length=8, steps=2)
    modelperf.check(training.samples_per_second, limit="1000000samples/s")
""")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*train_throughput[[]2x8[]]*"])


def test_training_on_a_dataset_file_with_accumulation_and_bf16(training_test, run, pytester):
    pytester.path.joinpath("reviews.csv").write_text(
        "text,label\n" + "".join(f"review number {i} says it was {'good' if i % 2 else 'bad'},{i % 2}\n" for i in range(12))
    )
    training_test("""
def test_train(modelperf):
    model = modelperf.load(CHECKPOINT, device="cpu")
    training = modelperf.measure_training(
        model, batch_size=4, sequence_length=32, steps=2, gradient_accumulation=2, dtype="bf16", dataset="reviews.csv",
        memory_rounds=1,
    )
    assert training.step_latency.name == "train_step_latency[4x32, accumulate 2]"
    assert training.step_latency.context["dtype"] == "bfloat16"
    modelperf.check(training.step_latency)
""")
    result = run("--modelperf-update")
    result.assert_outcomes(passed=1)
    assert list(pytester.path.joinpath("baselines").glob("*-bfloat16"))


def test_a_bad_argument_fails_the_test_naming_it(training_test, run):
    training_test("""
def test_train(modelperf):
    modelperf.measure_training(modelperf.load(CHECKPOINT, device="cpu"), gradient_accumulation=0)
""")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*gradient_accumulation must be a positive integer, got 0*"])


def test_a_dataset_whose_labels_the_model_cannot_take_is_refused_by_name(training_test, run):
    training_test("""
def test_train(modelperf):
    modelperf.measure_training(modelperf.load(CHECKPOINT, device="cpu"), batch_size=4, sequence_length=16, dataset="topics")
""")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*dataset topics (train): column 'label' holds labels from 0 to 3; tiny-bert has 2 classes*"])


def test_scaling_is_measured_on_torchrun_from_a_test(training_test, run, pytester):
    training_test("""
def test_scaling(modelperf):
    model = modelperf.load(CHECKPOINT, device="cpu")
    scaling = modelperf.measure_scaling(model, nproc=(1, 2), batch_size=2, sequence_length=16, steps=2, warmup_steps=1)
    assert scaling.speedup_at(2).context["model"] == "tiny-bert"
    modelperf.check(scaling.throughput_at(2))
    modelperf.check(scaling.speedup_at(2), limit="0.01x")
""")
    result = run("--modelperf-json", "out.json")
    result.assert_outcomes(passed=1)
    names = {r["measurement"]["name"] for r in json.loads((pytester.path / "out.json").read_text())["results"]}
    assert names == {"scaling_throughput[2 workers, 2x16]", "scaling_speedup[2 workers, 2x16]"}


def test_a_distillation_step_is_measured_apart_from_a_plain_one(training_test, run, pytester):
    training_test("""
def test_distil(modelperf):
    student = modelperf.load(CHECKPOINT, device="cpu")
    teacher = modelperf.load(CHECKPOINT, device="cpu", dtype="float32", task="sequence-classification")
    plain = modelperf.measure_training(student, batch_size=2, sequence_length=8, steps=2, memory_rounds=1)
    distilled = modelperf.measure_training(
        student, batch_size=2, sequence_length=8, steps=2, memory_rounds=1, teacher=teacher, temperature=3.0, alpha=0.2
    )
    modelperf.check(plain.step_latency)
    modelperf.check(distilled.step_latency)
""")
    result = run("--modelperf-update", "--modelperf-json", "out.json")
    result.assert_outcomes(passed=1)
    names = {r["measurement"]["name"] for r in json.loads((pytester.path / "out.json").read_text())["results"]}
    teacher = next(iter(names - {"train_step_latency[2x8]"})).split("distilled from ", 1)[1].rstrip("]")
    assert names == {"train_step_latency[2x8]", f"train_step_latency[2x8, distilled from {teacher}]"}


def test_a_teacher_of_other_classes_or_a_bad_alpha_is_refused(training_test, run, tmp_path_factory):
    from transformers import BertConfig

    from pytest_modelperf.models.checkpoints import build_checkpoint

    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_labels=3)
    three, _ = build_checkpoint(
        config, tmp_path_factory.mktemp("teacher") / "three", task="sequence-classification", tokenizer="bert-base-uncased"
    )
    training_test(f"""
import pytest

def test_bad_alpha(modelperf):
    student = modelperf.load(CHECKPOINT, device="cpu")
    with pytest.raises(ValueError, match=r"alpha must be a number in \\[0, 1\\].*got 1.5"):
        modelperf.measure_training(student, steps=2, teacher=student, alpha=1.5)

def test_other_classes(modelperf):
    teacher = modelperf.load({str(three)!r}, device="cpu")
    with pytest.raises(ValueError, match=r"teacher .*three: its classes .* are not the student's"):
        modelperf.measure_training(modelperf.load(CHECKPOINT, device="cpu"), steps=2, teacher=teacher)
""")
    run().assert_outcomes(passed=2)
