"""Perplexities of tiny language models against values derived independently: one masked
position and one forward pass at a time, a hand loop over a causal model's tokens, a model
whose every prediction is uniform; the bootstrap's perplexity against its reference; the judge
in the measurement's own unit."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from language_models import CLS, random_causal_lm, random_masked_lm, topic_texts, topic_words, word_tokenizer

from pytest_modelperf.core.baseline_entry import BaselineEntry
from pytest_modelperf.core.example_metrics import metric_once, metric_per_resample
from pytest_modelperf.core.example_outcomes import ExampleOutcomes, OutcomesError, difference_error
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check, Outcome
from pytest_modelperf.models.loading import load_model
from pytest_modelperf.quality.lm_likelihood import causal_lm_nlls, masked_lm_nlls
from pytest_modelperf.quality.metrics import load_metric
from pytest_modelperf.quality.perplexity import measure_perplexity

# Lengths 1 to 40 words, and one text with no word at all.
TEXTS = ["Markets.", "", *topic_texts("validation")[:5], " ".join(["the storm"] * 20)]


@pytest.fixture(scope="module")
def tokenizer():
    return word_tokenizer(topic_words())


@pytest.fixture(scope="module")
def masked_lm(tokenizer):
    model = random_masked_lm(len(tokenizer), seed=1)
    with torch.no_grad():  # larger weights than the initialisation's, so that predictions differ by token
        model.cls.predictions.decoder.weight.mul_(20.0)
    return model


@pytest.fixture(scope="module")
def causal_lm(tokenizer):
    model = random_causal_lm(len(tokenizer), seed=2)
    with torch.no_grad():
        model.lm_head.weight.mul_(20.0)
    return model


def slow_pseudo_log_likelihoods(model, tokenizer, texts, max_length=128):
    """Per text, the sum over its real tokens of log P(token | the text with that token masked):
    one copy, one forward pass and the logits of every position at a time."""
    totals, counts = [], []
    for text in texts:
        encoded = tokenizer(text, truncation=True, max_length=max_length, return_special_tokens_mask=True)
        ids, special = encoded["input_ids"], encoded["special_tokens_mask"]
        total = 0.0
        for position, flag in enumerate(special):
            if flag:
                continue
            masked = list(ids)
            masked[position] = tokenizer.mask_token_id
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([masked])).logits[0, position]
            total += torch.log_softmax(logits.double(), dim=-1)[ids[position]].item()
        totals.append(total)
        counts.append(sum(1 for flag in special if not flag))
    return totals, counts


def slow_log_likelihoods(model, tokenizer, texts, max_length=128):
    """Per text, the sum of log P(token t | tokens before t) after a start token, by hand."""
    totals, counts = [], []
    for text in texts:
        ids = [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"][: max_length - 1]]
        total = 0.0
        for t in range(1, len(ids)):
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids[:t]])).logits[0, -1]
            total += torch.log_softmax(logits.double(), dim=-1)[ids[t]].item()
        totals.append(total)
        counts.append(len(ids) - 1)
    return totals, counts


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_batched_pseudo_log_likelihood_is_the_one_mask_at_a_time_sum(masked_lm, tokenizer, batch_size):
    expected, counts = slow_pseudo_log_likelihoods(masked_lm, tokenizer, TEXTS)
    scored = masked_lm_nlls(masked_lm, tokenizer, TEXTS, batch_size=batch_size)
    assert scored.tokens == tuple(counts)
    np.testing.assert_allclose([-nll for nll in scored.nlls], expected, rtol=1e-5, atol=1e-4)
    assert scored.perplexity == pytest.approx(math.exp(-sum(expected) / sum(counts)), rel=1e-5)
    assert len(set(scored.nlls)) > 5  # the model tells tokens apart, so the comparison means something


def test_truncation_scores_the_tokens_left(masked_lm, tokenizer):
    expected, counts = slow_pseudo_log_likelihoods(masked_lm, tokenizer, TEXTS, max_length=6)
    scored = masked_lm_nlls(masked_lm, tokenizer, TEXTS, batch_size=16, max_length=6)
    assert max(scored.tokens) == 4  # six positions, two of them [CLS] and [SEP]
    assert scored.tokens == tuple(counts)
    np.testing.assert_allclose([-nll for nll in scored.nlls], expected, rtol=1e-5, atol=1e-4)


def test_a_head_without_output_embeddings_gives_the_same_scores(masked_lm, tokenizer, monkeypatch):
    with_head = masked_lm_nlls(masked_lm, tokenizer, TEXTS, batch_size=9)
    monkeypatch.setattr(masked_lm, "get_output_embeddings", lambda: None)  # the logits of every position come back
    without = masked_lm_nlls(masked_lm, tokenizer, TEXTS, batch_size=9)
    np.testing.assert_allclose(without.nlls, with_head.nlls, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_causal_perplexity_is_the_hand_loop_over_shifted_logits(causal_lm, tokenizer, batch_size):
    expected, counts = slow_log_likelihoods(causal_lm, tokenizer, TEXTS)
    scored = causal_lm_nlls(causal_lm, tokenizer, TEXTS, batch_size=batch_size)
    assert scored.tokens == tuple(counts)
    np.testing.assert_allclose([-nll for nll in scored.nlls], expected, rtol=1e-5, atol=1e-4)
    assert scored.perplexity == pytest.approx(math.exp(-sum(expected) / sum(counts)), rel=1e-5)


def test_without_a_start_token_the_first_token_is_not_scored(causal_lm, tokenizer):
    scored = causal_lm_nlls(causal_lm, tokenizer, ["markets rose"], add_start_token=False)
    ids = tokenizer("markets rose", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = causal_lm(input_ids=torch.tensor([ids])).logits[0, 0]
    assert scored.tokens == (1,)
    assert scored.nlls[0] == pytest.approx(-torch.log_softmax(logits.double(), -1)[ids[1]].item(), rel=1e-5)


def test_a_model_that_predicts_uniformly_has_the_vocabulary_size_as_perplexity(tokenizer):
    masked = random_masked_lm(len(tokenizer))
    causal = random_causal_lm(len(tokenizer))
    with torch.no_grad():  # every logit 0: each of the vocabulary's tokens 1/V likely
        masked.cls.predictions.decoder.weight.zero_()
        masked.cls.predictions.bias.zero_()
        causal.lm_head.weight.zero_()
    assert masked_lm_nlls(masked, tokenizer, TEXTS, batch_size=5).perplexity == pytest.approx(len(tokenizer), rel=1e-7)
    assert causal_lm_nlls(causal, tokenizer, TEXTS, batch_size=5).perplexity == pytest.approx(len(tokenizer), rel=1e-7)


def test_scoring_leaves_the_model_in_its_mode(masked_lm, tokenizer):
    masked_lm.train()
    try:
        first = masked_lm_nlls(masked_lm, tokenizer, TEXTS[:3])
        assert masked_lm.training
    finally:
        masked_lm.eval()
    assert masked_lm_nlls(masked_lm, tokenizer, TEXTS[:3]) == first


# -- the evaluate modules ---------------------------------------------------------------------


def test_the_modules_report_the_corpus_value_and_each_sentence(masked_lm, causal_lm, tokenizer):
    for name, model, scorer in (("pseudo_perplexity", masked_lm, masked_lm_nlls), ("perplexity", causal_lm, causal_lm_nlls)):
        result = load_metric(name).compute(predictions=TEXTS, model=model, tokenizer=tokenizer, batch_size=4, max_length=32)
        scored = scorer(model, tokenizer, TEXTS, batch_size=4, max_length=32)
        assert result[name] == pytest.approx(scored.perplexity, rel=1e-9)
        assert result["token_counts"] == list(scored.tokens)
        assert result["negative_log_likelihoods"] == pytest.approx(list(scored.nlls))
        per_sentence = result["pseudo_perplexities" if name == "pseudo_perplexity" else "perplexities"]
        assert math.isnan(per_sentence[1])  # the empty text has no token
        assert per_sentence[0] == pytest.approx(math.exp(scored.nlls[0] / scored.tokens[0]))


def test_the_causal_module_takes_add_start_token_as_the_hubs_does(causal_lm, tokenizer):
    result = load_metric("perplexity").compute(predictions=TEXTS, model=causal_lm, tokenizer=tokenizer, add_start_token=False)
    scored = causal_lm_nlls(causal_lm, tokenizer, TEXTS, add_start_token=False)
    assert result["token_counts"] == list(scored.tokens)
    assert result["perplexity"] == pytest.approx(scored.perplexity, rel=1e-9)


def test_a_module_loads_a_checkpoint_given_as_model_id(masked_lm, tokenizer, tmp_path):
    masked_lm.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    by_id = load_metric("pseudo_perplexity").compute(predictions=TEXTS[:4], model_id=str(tmp_path), device="cpu")
    by_object = load_metric("pseudo_perplexity").compute(predictions=TEXTS[:4], model=masked_lm, tokenizer=tokenizer)
    assert by_id["pseudo_perplexity"] == pytest.approx(by_object["pseudo_perplexity"], rel=1e-6)


def test_a_module_without_a_model_or_tokenizer_says_which(masked_lm):
    with pytest.raises(ValueError, match="no model; pass model="):
        load_metric("pseudo_perplexity").compute(predictions=["a"])
    with pytest.raises(ValueError, match="without a tokenizer; pass tokenizer="):
        load_metric("pseudo_perplexity").compute(predictions=["a"], model=masked_lm)


# -- the measurement -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(masked_lm, causal_lm, tokenizer, tmp_path_factory):
    folders = {}
    for name, model in (("mlm", masked_lm), ("gpt", causal_lm)):
        folder = tmp_path_factory.mktemp(name)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders[name] = folder
    return folders


def test_tasks_are_detected_and_named_as_transformers_pipelines_name_them(checkpoints):
    assert load_model(checkpoints["mlm"]).task == "masked-lm"
    assert load_model(checkpoints["gpt"]).task == "causal-lm"
    assert load_model(checkpoints["mlm"], task="fill-mask").task == "masked-lm"
    assert load_model(checkpoints["gpt"], task="text-generation").task == "causal-lm"


def test_a_masked_model_is_measured_on_the_topics_sentences_by_default(checkpoints, masked_lm, tokenizer):
    quality = measure_perplexity(load_model(checkpoints["mlm"]), limit=12, batch_size=16)
    score = quality["pseudo_perplexity"]
    texts = topic_texts("validation")[:12]
    expected = masked_lm_nlls(masked_lm, tokenizer, texts)
    assert score.name == "pseudo_perplexity[topics/validation]"
    assert (score.unit, score.direction) == ("", Direction.LOWER_IS_BETTER)
    assert score.value == pytest.approx(expected.perplexity, rel=1e-6)
    assert score.examples is not None and score.examples.metric == "perplexity"
    assert score.examples.value() == pytest.approx(score.value, rel=1e-9)
    assert score.examples.references == tuple(float(count) for count in expected.tokens)
    assert score.context["tokens"] == sum(expected.tokens)
    assert quality.examples == 12


def test_a_causal_model_is_measured_on_given_texts_or_a_dataset(checkpoints):
    import datasets

    model = load_model(checkpoints["gpt"])
    given = measure_perplexity(model, TEXTS, limit=6)["perplexity"]
    assert given.name == "perplexity[texts]"
    assert given.examples is not None and given.examples.ids == tuple(str(i) for i in range(6))
    dataset = datasets.Dataset.from_dict({"id": [f"s{i}" for i in range(6)], "text": TEXTS[:6]})
    from_dataset = measure_perplexity(model, dataset)["perplexity"]
    assert from_dataset.value == pytest.approx(given.value, rel=1e-9)
    assert from_dataset.examples is not None and from_dataset.examples.ids[0] == "s0"


def test_a_model_of_another_task_or_texts_without_tokens_are_refused(checkpoints, tiny_checkpoint):
    with pytest.raises(ValueError, match="is a sequence-classification model; it scores masked-lm"):
        measure_perplexity(load_model(tiny_checkpoint), ["a"])
    model = load_model(checkpoints["mlm"])
    with pytest.raises(ValueError, match=r"no token of the 2 texts is left to score at max_length=2"):
        measure_perplexity(model, ["markets rose", "rain"], max_length=2)
    with pytest.raises(ValueError, match=r"texts\[1\] is a int, not a string"):
        measure_perplexity(model, ["markets rose", 3])
    with pytest.raises(ValueError, match="no column 'sentence'"):
        measure_perplexity(model, "topics", limit=2, text_column="sentence")


def test_the_tokenizer_must_have_a_mask_token(checkpoints):
    from dataclasses import replace

    model = load_model(checkpoints["mlm"])
    tokenizer = word_tokenizer(topic_words())
    tokenizer.mask_token = None
    with pytest.raises(ValueError, match="has no mask token"):
        measure_perplexity(replace(model, tokenizer=tokenizer), ["markets rose"])


# -- the per-sentence outcomes and their bootstrap ---------------------------------------------


def sentences(n=200, *, seed=0, worse=0.0, prefix="s"):
    """Per-sentence NLL sums of a model near 3 nats a token (perplexity about e^3 = 20); ``worse``
    adds that many nats to each token of every sentence."""
    rng = random.Random(seed)
    tokens = [rng.randint(8, 30) for _ in range(n)]
    nlls = [count * (3.0 + rng.gauss(0, 0.4) + worse) for count in tokens]
    return ExampleOutcomes("perplexity", tuple(f"{prefix}{i}" for i in range(n)), tuple(nlls), tuple(map(float, tokens)))


def test_the_perplexity_of_chosen_sentences_weights_them_by_their_tokens():
    outcomes = ExampleOutcomes("perplexity", ("a", "b", "c"), (2.0, 3.0, 7.0), (1.0, 2.0, 3.0))
    assert outcomes.value() == pytest.approx(math.exp(12 / 6))
    assert outcomes.on([0, 0, 2]) == pytest.approx(math.exp(11 / 5))  # repeats count each time
    assert outcomes.on_each(np.array([[0, 0, 2], [1, 2, 2]])) == pytest.approx([math.exp(11 / 5), math.exp(17 / 8)])
    empty = ExampleOutcomes("perplexity", ("a", "b"), (0.0, 4.0), (0.0, 2.0))
    assert math.isnan(empty.on([0, 0]))
    assert math.isnan(empty.on_each(np.array([[0, 0]]))[0])


def test_every_resample_agrees_with_the_reference():
    outcomes = sentences(60)
    rng = np.random.default_rng(3)
    for size in (60, 7, 1):
        drawn = rng.integers(0, 60, size=(50, size))
        expected = np.array([metric_once(outcomes, row.tolist()) for row in drawn])
        np.testing.assert_allclose(metric_per_resample(outcomes, drawn), expected, rtol=1e-12, atol=0)


def test_a_perplexity_is_not_scaled_to_points_and_round_trips():
    outcomes = sentences(20)
    tokens = sum(outcomes.references)
    assert outcomes.value() == pytest.approx(math.exp(sum(outcomes.predictions) / tokens))
    assert ExampleOutcomes.from_dict(outcomes.to_dict(), "x").value() == pytest.approx(outcomes.value(), rel=1e-6)
    with pytest.raises(OutcomesError, match="token counts; they must not be negative"):
        ExampleOutcomes("perplexity", ("a",), (1.0,), (-1.0,))


def measured(outcomes: ExampleOutcomes) -> Measurement:
    return Measurement("pseudo_perplexity[topics/validation]", "", Direction.LOWER_IS_BETTER, outcomes.value(), examples=outcomes)


def baseline(outcomes: ExampleOutcomes) -> BaselineEntry:
    return BaselineEntry.from_measurement(measured(outcomes), environment="e", recorded="2026-11-21")


GATE = Check("value", parse_quantity("10%"), None)


def test_an_unchanged_model_passes_with_no_band():
    verdict = judge(measured(sentences()), GATE, baseline(sentences()), NoisePolicy())
    assert verdict.outcome is Outcome.PASS
    assert verdict.noise_band == 0.0


def test_a_rise_beyond_a_relative_threshold_fails_and_one_within_it_passes():
    worse = judge(measured(sentences(worse=0.2)), GATE, baseline(sentences()), NoisePolicy())  # e^0.2: +22%
    assert worse.outcome is Outcome.REGRESSION
    assert worse.change == pytest.approx(math.exp(0.2) - 1, rel=1e-6)
    slightly = judge(measured(sentences(worse=0.05)), GATE, baseline(sentences()), NoisePolicy())  # +5%
    assert slightly.outcome is Outcome.PASS
    better = judge(measured(sentences(worse=-0.2)), GATE, baseline(sentences()), NoisePolicy())
    assert better.outcome is Outcome.IMPROVEMENT


def test_the_noise_band_is_in_the_perplexitys_own_unit():
    current, recorded = sentences(seed=1, prefix="a"), sentences(seed=2, prefix="b")  # other sentences: unpaired
    verdict = judge(measured(current), GATE, baseline(recorded), NoisePolicy(confidence=0.99))
    error, paired = difference_error(current, recorded)
    assert not paired
    assert verdict.noise_band_in_unit == pytest.approx(2.3263 * error, rel=1e-3)
    assert 0.1 < error < 2  # perplexity units, not points: about 20 +- a fraction of it
    assert f"sampling error of the change ±{error:.3g} (unpaired, 200 examples)" in verdict.detail
    assert "points" not in verdict.detail + verdict.describe_threshold()


def test_a_change_the_sentences_cannot_make_significant_passes():
    # Three of 200 sentences much worse, the rest unchanged: +12% in all, beyond the 10% threshold
    # but within what three sentences can move by chance.
    recorded = sentences()
    extra = math.log(1.12) * sum(recorded.references) / sum(recorded.references[:3])  # nats per token of the three
    nlls = [
        nll + (tokens * extra if i < 3 else 0.0)
        for i, (nll, tokens) in enumerate(zip(recorded.predictions, recorded.references, strict=True))
    ]
    current = ExampleOutcomes("perplexity", recorded.ids, tuple(nlls), recorded.references)
    verdict = judge(measured(current), GATE, baseline(recorded), NoisePolicy(confidence=0.999))
    assert verdict.change == pytest.approx(0.12, rel=1e-6)
    assert verdict.outcome is Outcome.PASS
    assert "within the noise band" in verdict.detail


def test_the_start_token_of_the_test_tokenizer_is_cls(tokenizer):
    assert tokenizer.bos_token_id == CLS  # what the hand loop above puts first
