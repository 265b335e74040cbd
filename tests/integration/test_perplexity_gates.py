"""The pseudo-perplexity gate passes an unchanged masked language model and catches real damage.

The model is a 2-layer BERT (hidden 64) trained here for a few hundred steps as a masked
language model on the built-in topics text, with a word-level tokenizer over that text: its
pseudo-perplexity on the validation sentences is about 50, against 844 for a model that has
learned nothing. Each injected regression is a change a pull request could make: noise in the
encoder's weights, a tokenizer of another vocabulary, texts cut far below their length.
"""

from __future__ import annotations

import json

import pytest
from language_models import shuffled_word_tokenizer, topic_words, trained_masked_lm, word_tokenizer

GATED = """
import dataclasses, os
import torch
from transformers import AutoTokenizer

def test_pseudo_perplexity(modelperf):
    inject = os.environ.get("INJECT", "none")
    model = modelperf.load(os.environ["MODEL"], device="cpu")
    max_length = 128
    if inject == "perturbed-weights":  # noise as large as each weight matrix's spread, in every encoder layer
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for weight in model.model.bert.encoder.parameters():
                if weight.dim() == 2:
                    weight.add_(torch.randn(weight.shape, generator=generator) * weight.std())
    elif inject == "wrong-tokenizer":
        model = dataclasses.replace(model, tokenizer=AutoTokenizer.from_pretrained(os.environ["WRONG_TOKENIZER"]))
    elif inject == "truncation":  # six words of sentences of about 25
        max_length = 8
    quality = modelperf.measure_perplexity(model, limit=100, max_length=max_length)
    modelperf.check(quality["pseudo_perplexity"], threshold="10%")
"""


@pytest.fixture(scope="session")
def masked_lm_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The trained masked LM with its tokenizer, and a tokenizer over the same words shuffled."""
    tokenizer = word_tokenizer(topic_words())
    model = trained_masked_lm(tokenizer)
    folder = tmp_path_factory.mktemp("topics-mlm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    wrong = tmp_path_factory.mktemp("shuffled-tokenizer")
    shuffled_word_tokenizer().save_pretrained(wrong)
    return {"MODEL": str(folder), "WRONG_TOKENIZER": str(wrong)}


@pytest.fixture
def gated(pytester, run, monkeypatch, masked_lm_checkpoints):
    pytester.makepyfile(test_gate=GATED)
    for variable, path in masked_lm_checkpoints.items():
        monkeypatch.setenv(variable, path)
    monkeypatch.setenv("INJECT", "none")
    run("--modelperf-update").assert_outcomes(passed=1)

    def with_injection(inject: str) -> tuple[pytest.RunResult, dict]:
        monkeypatch.setenv("INJECT", inject)
        result = run("--modelperf-json=run.json", "--modelperf-confirm=0")
        (verdict,) = json.loads((pytester.path / "run.json").read_text())["results"]
        return result, verdict

    return with_injection


def test_the_trained_model_has_learned_the_text(gated):
    result, verdict = gated("none")
    result.assert_outcomes(passed=1)
    measurement = verdict["measurement"]
    assert measurement["name"] == "pseudo_perplexity[topics/validation]"
    assert measurement["value"] < 100  # of a vocabulary of 844 words and specials
    assert verdict["outcome"] == "pass"
    assert verdict["change"] == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("inject", ["perturbed-weights", "wrong-tokenizer", "truncation"])
def test_a_damaging_change_fails_the_gate(gated, inject):
    result, verdict = gated(inject)
    result.assert_outcomes(failed=1)
    assert verdict["outcome"] == "regression"
    assert verdict["change"] > 0.1
    assert "paired over 100 examples" in verdict["detail"]
