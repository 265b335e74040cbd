"""The transfer set of a distillation (``distill.unlabeled``): the texts, their tokenized rows,
the hard loss over labelled rows only, the registry key, and a fine-tune that takes as many steps
with it as without it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from pytest_modelperf.models.fine_tune_record import FINETUNE_MARKER, DistillRecipe, FineTuneRecipe, recipe_record
from pytest_modelperf.models.registry import RegistryError, parse_registry
from pytest_modelperf.quality.builtin_datasets import generate_rows, unlabeled_texts
from pytest_modelperf.quality.finetune import fine_tune
from pytest_modelperf.quality.transfer_set import NO_LABEL, labelled_cross_entropy, transfer_set_digest, with_transfer_set

TOPICS = "sequence-classification"


def test_unlabeled_texts_are_new_seeded_and_never_validation_texts() -> None:
    texts = unlabeled_texts("topics", 300)
    assert len(texts) == len(set(texts)) == 300
    assert not set(texts) & set(generate_rows("topics", "train")["text"])
    assert not set(texts) & set(generate_rows("topics", "validation")["text"])
    assert unlabeled_texts("topics", 300) == texts


def test_unlabeled_texts_come_from_classification_datasets_only() -> None:
    with pytest.raises(ValueError, match="built-in classification dataset, not 'facts-qa'"):
        unlabeled_texts("facts-qa", 5)


def test_the_transfer_set_follows_the_labelled_rows_without_labels(tiny_checkpoint: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    labelled = {"input_ids": [[101, 7, 102]], "token_type_ids": [[0, 0, 0]], "attention_mask": [[1, 1, 1]], "labels": [2]}
    extended = with_transfer_set(labelled, tokenizer, dataset="topics", count=3, max_length=8)
    assert extended["labels"] == [2, NO_LABEL, NO_LABEL, NO_LABEL]
    assert all(len(extended[key]) == 4 for key in extended)
    assert all(len(ids) <= 8 and ids[0] == tokenizer.cls_token_id for ids in extended["input_ids"][1:])
    assert extended["input_ids"][1] == tokenizer(unlabeled_texts("topics", 1)[0], truncation=True, max_length=8)["input_ids"]


def test_the_hard_loss_averages_the_labelled_rows_only() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [-3.0, 1.0, 4.0]])
    labels = torch.tensor([0, NO_LABEL, 1])

    def nll(row: list[float], label: int) -> float:  # -log softmax, written out
        return -(row[label] - math.log(sum(math.exp(value) for value in row)))

    expected = (nll([2.0, 0.0, -1.0], 0) + nll([-3.0, 1.0, 4.0], 1)) / 2
    assert float(labelled_cross_entropy(logits, labels)) == pytest.approx(expected, rel=1e-6)
    assert float(labelled_cross_entropy(logits, torch.full((3,), NO_LABEL))) == 0.0


def registry(distill: str, task: str = TOPICS, dataset: str = "topics") -> dict:
    import tomllib

    return tomllib.loads(f"""
[models.base]
checkpoint = "x/base"
task = "{task}"
offline = {{ architecture = "bert", tokenizer = "bert-base-uncased" }}
[models.teacher]
task = "{task}"
finetune = {{ from = "base", dataset = "{dataset}" }}
[models.student]
task = "{task}"
finetune = {{ from = "base", dataset = "{dataset}", distill = {{ teacher = "teacher", {distill} }} }}
""")


@pytest.mark.parametrize("value", ["-1", "2.5", "true", '"many"'])
def test_a_bad_unlabeled_count_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(RegistryError, match=r"models\.student\.finetune\.distill\.unlabeled: expected a count of texts"):
        parse_registry(registry(f"unlabeled = {value}"), Path("models.toml"))


def test_unlabeled_texts_are_for_classification_students() -> None:
    with pytest.raises(RegistryError, match=r"distill\.unlabeled: unlabelled texts are labelled by a sequence-classification"):
        parse_registry(registry("unlabeled = 10", task="question-answering", dataset="facts-qa"), Path("models.toml"))


def test_a_recipe_without_unlabeled_texts_is_recorded_as_before() -> None:
    recipe = FineTuneRecipe(base="b", dataset="topics", distill=DistillRecipe(teacher="t"))
    assert "unlabeled" not in recipe_record(recipe)["distill"]
    assert (
        recipe_record(FineTuneRecipe(base="b", dataset="topics", distill=DistillRecipe(teacher="t", unlabeled=8)))["distill"][
            "unlabeled"
        ]
        == 8
    )


def test_a_fine_tune_with_a_transfer_set_takes_as_many_steps(tiny_checkpoint: Path, tmp_path: Path) -> None:
    plain = FineTuneRecipe(base="tiny", dataset="topics", epochs=1, batch_size=8, max_length=32, limit=16, learning_rate=1e-3)
    teacher = fine_tune(plain, str(tiny_checkpoint), tmp_path / "teacher", task=TOPICS).path
    distilled = FineTuneRecipe(
        **{**plain.__dict__, "distill": DistillRecipe(teacher="teacher", unlabeled=16, cache_teacher_logits=True)}
    )
    student = fine_tune(distilled, str(tiny_checkpoint), tmp_path / "student", task=TOPICS, teacher_checkpoint=str(teacher))
    assert student.stats.steps == 2  # 16 labelled examples in batches of 8, one epoch, as without the 16 more
    assert student.stats.examples == 32
    assert math.isfinite(student.stats.final_loss) and student.stats.final_loss > 0
    # The texts are part of what the fine-tune is cached for: drawn otherwise, it trains again.
    record = json.loads((student.path / FINETUNE_MARKER).read_text())
    assert record["unlabeled_texts"] == transfer_set_digest("topics", 16) != transfer_set_digest("topics", 17)
