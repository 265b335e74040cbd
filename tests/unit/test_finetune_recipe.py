"""Fine-tune recipe options that change what is trained: frozen parameters and dropout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

from pytest_modelperf.models.fine_tune_record import FineTuneRecipe
from pytest_modelperf.quality.finetune import dropout_settings, fine_tune, freeze_parameters


def tiny_recipe(**changes: object) -> FineTuneRecipe:
    return FineTuneRecipe(
        **{
            "base": "tiny",
            "dataset": "topics",
            "epochs": 1,
            "batch_size": 8,
            "max_length": 32,
            "limit": 16,
            "learning_rate": 1e-3,
            **changes,
        }
    )


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    model = transformers.AutoModelForSequenceClassification.from_pretrained(checkpoint)
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def small_classifier() -> transformers.BertForSequenceClassification:
    return transformers.BertForSequenceClassification(
        transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    )


def test_frozen_parameters_keep_their_pretrained_values_and_the_rest_are_trained(tiny_checkpoint: Path, tmp_path: Path) -> None:
    recipe = tiny_recipe(freeze=("embeddings", "encoder.layer.0"))
    tuned = fine_tune(recipe, str(tiny_checkpoint), tmp_path / "tuned", task="sequence-classification")

    before, after = weights(tiny_checkpoint), weights(tuned.path)
    frozen = [name for name in before if name.startswith(("bert.embeddings.", "bert.encoder.layer.0."))]
    trained = [name for name in before if name.startswith(("bert.encoder.layer.1.", "bert.pooler."))]
    assert frozen and trained
    assert all(torch.equal(before[name], after[name]) for name in frozen)
    assert all(not torch.equal(before[name], after[name]) for name in trained if name.endswith("weight"))


def test_a_frozen_prefix_may_name_the_whole_model_path() -> None:
    model = small_classifier()
    embeddings = sum(parameter.numel() for parameter in model.bert.embeddings.parameters())

    assert freeze_parameters(model, ["bert.embeddings"]) == embeddings
    assert not any(parameter.requires_grad for parameter in model.bert.embeddings.parameters())
    assert all(parameter.requires_grad for parameter in model.classifier.parameters())


@pytest.mark.parametrize(
    ("prefixes", "message"),
    [
        (
            ["embedding"],
            "finetune.freeze: 'embedding' names no parameters of BertForSequenceClassification "
            "(its modules: classifier, embeddings, encoder, pooler)",
        ),
        (["encoder.layer.7"], "'encoder.layer.7' names no parameters"),
        (["embeddings", "encoder", "pooler", "classifier"], "finetune.freeze leaves no parameter to train"),
    ],
)
def test_a_freeze_that_cannot_be_done_is_refused_by_name(prefixes: list[str], message: str) -> None:
    model = small_classifier()

    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        freeze_parameters(model, prefixes)


def test_dropout_sets_every_dropout_probability_the_architecture_has() -> None:
    assert dropout_settings(transformers.BertConfig(), 0.0) == {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    assert dropout_settings(transformers.DistilBertConfig(), 0.05) == {
        "dropout": 0.05,
        "attention_dropout": 0.05,
        "qa_dropout": 0.05,
        "seq_classif_dropout": 0.05,
    }


def test_a_fine_tune_without_dropout_saves_that_in_its_config(tiny_checkpoint: Path, tmp_path: Path) -> None:
    tuned = fine_tune(tiny_recipe(dropout=0.0), str(tiny_checkpoint), tmp_path / "tuned", task="sequence-classification")

    config = transformers.AutoConfig.from_pretrained(tuned.path)
    assert (config.hidden_dropout_prob, config.attention_probs_dropout_prob) == (0.0, 0.0)


def test_freeze_and_dropout_are_part_of_the_cached_recipe(tiny_checkpoint: Path, tmp_path: Path) -> None:
    destination = tmp_path / "tuned"
    assert fine_tune(tiny_recipe(), str(tiny_checkpoint), destination, task="sequence-classification").built
    assert not fine_tune(tiny_recipe(), str(tiny_checkpoint), destination, task="sequence-classification").built
    assert fine_tune(tiny_recipe(freeze=("embeddings",)), str(tiny_checkpoint), destination, task="sequence-classification").built
    assert fine_tune(
        tiny_recipe(freeze=("embeddings",), dropout=0.0), str(tiny_checkpoint), destination, task="sequence-classification"
    ).built
