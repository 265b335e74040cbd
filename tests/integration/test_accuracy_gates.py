"""The accuracy gate catches real regressions of a real fine-tuned model, and passes it unchanged.

The model is BERT-tiny fine-tuned here on the built-in topics set. Each injected regression
is a change a pull request could make: weights damaged in one layer, the wrong tokenizer,
inputs cut too short, a lower-precision dtype.
"""

from __future__ import annotations

import json

import pytest

GATED = """
import dataclasses, os
import torch
from pytest_modelperf.models.offline_tokenizers import offline_tokenizer

def test_topics(modelperf):
    inject = os.environ.get("INJECT", "none")
    dtype = {"float16": "float16", "bfloat16": "bfloat16", "large-values-float16": "float16"}.get(inject)
    model = modelperf.load(os.environ["MODEL"], device="cpu", dtype=dtype)
    max_length = 128
    if inject.startswith("large-values"):
        # The same function with values 2**16 times larger inside one attention layer, as some
        # checkpoints carry: exact in float32, beyond float16's range (65504).
        attention = model.model.bert.encoder.layer[0].attention
        with torch.no_grad():
            attention.self.value.weight.mul_(2.0 ** 16)
            attention.self.value.bias.mul_(2.0 ** 16)
            attention.output.dense.weight.mul_(2.0 ** -16)
    if inject == "perturbed-layer":  # noise 16x the weights' spread in one feed-forward layer: about -5 points
        dense = model.model.bert.encoder.layer[1].intermediate.dense
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            dense.weight.add_(torch.randn(dense.weight.shape, generator=generator) * dense.weight.std() * 16)
    elif inject == "wrong-tokenizer":
        model = dataclasses.replace(model, tokenizer=offline_tokenizer("albert-unigram"))
    elif inject == "short-inputs":
        max_length = 12
    quality = modelperf.measure_accuracy(model, "topics", max_length=max_length)
    for metric in ("accuracy", "f1"):
        modelperf.check(quality[metric], threshold="0.5points")
"""


@pytest.fixture
def gated(pytester, run, monkeypatch, topic_classifier):
    pytester.makepyfile(test_gate=GATED)
    monkeypatch.setenv("MODEL", str(topic_classifier))
    monkeypatch.setenv("INJECT", "none")
    run("--modelperf-update").assert_outcomes(passed=1)

    def with_injection(inject: str) -> tuple[pytest.RunResult, dict[str, dict]]:
        monkeypatch.setenv("INJECT", inject)
        return judged(pytester, run)

    return with_injection


def judged(pytester, run) -> tuple[pytest.RunResult, dict[str, dict]]:
    """Run the gate once, without confirming re-runs, and read its verdicts by metric."""
    result = run("--modelperf-json=run.json", "--modelperf-confirm=0")
    results = json.loads((pytester.path / "run.json").read_text())["results"]
    return result, {r["measurement"]["name"].split("[")[0]: r for r in results}


def test_an_unchanged_model_passes_every_time(gated):
    for _ in range(3):
        result, verdicts = gated("none")
        result.assert_outcomes(passed=1)
        assert {v["outcome"] for v in verdicts.values()} == {"pass"}
        assert all(v["change"] == pytest.approx(0, abs=1e-5) for v in verdicts.values())


@pytest.mark.parametrize("inject", ["perturbed-layer", "wrong-tokenizer", "short-inputs"])
def test_a_damaging_change_fails_the_gate(gated, inject):
    result, verdicts = gated(inject)
    result.assert_outcomes(failed=1)
    assert verdicts["accuracy"]["outcome"] == "regression"
    result.stdout.fnmatch_lines(["*accuracy*topics/validation*REGRESSION*", "*paired over 500 examples*"])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_that_keeps_the_answers_passes(gated, dtype):
    result, verdicts = gated(dtype)
    result.assert_outcomes(passed=1)
    assert all(abs(v["change"]) <= 0.005 for v in verdicts.values()), "within half a point of float32"
    assert all(v["hardware_key"].endswith(dtype) for v in verdicts.values())
    result.stdout.fnmatch_lines([f"*judged against the float32 baseline: there is no {dtype} one*"])


def test_half_precision_that_overflows_fails_the_gate_and_says_why(gated):
    result, verdicts = gated("large-values")
    result.assert_outcomes(passed=1)
    assert all(v["change"] == pytest.approx(0, abs=1e-5) for v in verdicts.values()), "exact in float32"

    result, verdicts = gated("large-values-float16")
    result.assert_outcomes(failed=1)
    assert verdicts["accuracy"]["outcome"] == "regression" and verdicts["accuracy"]["current"] < 50
    result.stdout.fnmatch_lines(["*500 of 500 examples gave non-finite logits (NaN or inf*count as wrong*"])


QA_GATED = """
import os

def test_answers(modelperf):
    model = modelperf.load(os.environ["MODEL"], device="cpu", dtype=os.environ.get("DTYPE") or None)
    max_length = int(os.environ["MAX_LENGTH"])
    quality = modelperf.measure_accuracy(model, "facts-qa", max_length=max_length, doc_stride=max_length // 4)
    for metric in ("exact_match", "f1"):
        modelperf.check(quality[metric], threshold="0.5points")
"""


@pytest.fixture
def qa_gated(pytester, run, monkeypatch, question_answerer):
    pytester.makepyfile(test_gate=QA_GATED)
    monkeypatch.setenv("MODEL", str(question_answerer))
    monkeypatch.setenv("MAX_LENGTH", "128")
    monkeypatch.setenv("DTYPE", "")
    run("--modelperf-update").assert_outcomes(passed=1)

    def with_settings(**environment: str) -> tuple[pytest.RunResult, dict[str, dict]]:
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        return judged(pytester, run)

    return with_settings


def test_qa_unchanged_passes_and_windows_cut_too_short_fail(qa_gated):
    result, verdicts = qa_gated()
    result.assert_outcomes(passed=1)
    assert verdicts["f1"]["change"] == pytest.approx(0, abs=1e-5)
    result, verdicts = qa_gated(MAX_LENGTH="40")
    result.assert_outcomes(failed=1)
    assert verdicts["f1"]["outcome"] == "regression" and verdicts["exact_match"]["outcome"] == "regression"
