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
    result.stdout.fnmatch_lines(["*dataset topics (train): column 'label' holds labels from 0 to 3; tiny-bert has 2 class(es)*"])


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
