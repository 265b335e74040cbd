"""Masked language models fine-tuned here: pre-training on the text corpus from a classifier's
checkpoint, distilling a narrower student with DistilBERT's losses, what is saved and cached, and refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from safetensors import safe_open

from pytest_modelperf.models.checkpoints import build_checkpoint
from pytest_modelperf.models.fine_tune_record import FINETUNE_MARKER, DistillRecipe, FineTuneRecipe
from pytest_modelperf.quality.finetune import fine_tune
from pytest_modelperf.quality.masked_lm import MASKING

MASKED_LM = "masked-lm"
VOCABULARY = 30522  # bert-base-uncased's


def one_layer_classifier(directory: Path, hidden: int) -> Path:
    """A 1-layer BERT of ``hidden`` width saved as a topic classifier (as the registry's stand-ins are)."""
    config = transformers.BertConfig(
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
        num_labels=4,
    )
    checkpoint, _ = build_checkpoint(config, directory, task="sequence-classification", tokenizer="bert-base-uncased")
    return checkpoint


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bases")
    return {"wide": one_layer_classifier(root / "wide", 32), "narrow": one_layer_classifier(root / "narrow", 16)}


def recipe(**changes: Any) -> FineTuneRecipe:
    settings: dict[str, Any] = {"base": "wide", "dataset": "topics-text", "epochs": 10, "batch_size": 8, "max_length": 32}
    return FineTuneRecipe(**{**settings, "limit": 24, "learning_rate": 3e-3, "warmup_ratio": 0.0, "dropout": 0.0, **changes})


@pytest.fixture(scope="module")
def teacher(bases: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wide BERT pre-trained here on the first texts of the corpus."""
    return fine_tune(recipe(), str(bases["wide"]), tmp_path_factory.mktemp("teacher") / "teacher", task=MASKED_LM).path


def losses(lines: list[str]) -> list[float]:
    """The running mean losses that a fine-tune reports as it goes."""
    return [float(match.group(1)) for line in lines if (match := re.search(r"loss (\d+\.\d+)$", line))]


def test_pre_training_from_a_classifiers_checkpoint_makes_a_masked_lm_whose_loss_falls(
    bases: dict[str, Path], tmp_path: Path
) -> None:
    lines: list[str] = []
    tuned = fine_tune(recipe(seed=1), str(bases["wide"]), tmp_path / "mlm", task=MASKED_LM, report=lines.append)

    reported = losses(lines)
    assert tuned.stats.examples == 28, "24 texts in 28 windows: a longer text continues in the next"
    assert tuned.stats.steps == 40 and len(reported) == 10
    assert reported[0] > 9.5, "it starts from a uniform guess over the vocabulary, ln(30522) = 10.3"
    assert reported[-1] < reported[0] - 1.0
    model = transformers.AutoModelForMaskedLM.from_pretrained(tuned.path)
    assert isinstance(model, transformers.BertForMaskedLM)
    assert model.config.architectures == ["BertForMaskedLM"] and model.config.vocab_size == VOCABULARY
    assert model.get_output_embeddings().weight.shape == (VOCABULARY, 32)
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight, "the decoder stays tied"
    assert len(transformers.AutoTokenizer.from_pretrained(tuned.path)) == VOCABULARY
    record = json.loads((tuned.path / FINETUNE_MARKER).read_text())
    assert record["task"] == MASKED_LM and record["masking"] == MASKING


def test_a_classifiers_checkpoint_gives_the_masked_lm_all_but_its_head(bases: dict[str, Path]) -> None:
    """Loading the stand-in classifier as a masked LM initialises the prediction head alone: the
    embeddings and encoder come from the checkpoint, the decoder is the word embeddings."""
    _, report = transformers.AutoModelForMaskedLM.from_pretrained(bases["wide"], output_loading_info=True)

    assert report["missing_keys"] and all(key.startswith("cls.predictions.") for key in report["missing_keys"])
    assert "cls.predictions.decoder.weight" not in report["missing_keys"]
    assert set(report["unexpected_keys"]) <= {
        "bert.pooler.dense.weight",
        "bert.pooler.dense.bias",
        "classifier.weight",
        "classifier.bias",
    }


def test_a_narrower_student_is_distilled_with_a_projection_that_is_not_saved(
    bases: dict[str, Path], teacher: Path, tmp_path: Path
) -> None:
    lines: list[str] = []
    settings = DistillRecipe(teacher="teacher", temperature=2.0, alpha=0.25, cosine=0.125)
    student = fine_tune(
        recipe(base="narrow", distill=settings),
        str(bases["narrow"]),
        tmp_path / "student",
        task=MASKED_LM,
        teacher_checkpoint=str(teacher),
        report=lines.append,
    )

    reported = losses(lines)
    assert reported[-1] < reported[0]
    saved = transformers.AutoModelForMaskedLM.from_pretrained(student.path)
    assert isinstance(saved, transformers.BertForMaskedLM) and saved.config.hidden_size == 16
    with safe_open(student.path / "model.safetensors", framework="pt") as weights:
        stored = set(weights.keys())
    assert stored <= set(saved.state_dict()), f"more than the masked LM's own weights: {stored - set(saved.state_dict())}"
    assert sum(saved.state_dict()[key].numel() for key in stored) == sum(p.numel() for p in saved.parameters())
    record = json.loads((student.path / FINETUNE_MARKER).read_text())
    assert record["recipe"]["distill"] == {
        "teacher": "teacher",
        "temperature": 2.0,
        "alpha": 0.25,
        "cosine": 0.125,
        "cache_teacher_logits": False,
    }


def test_a_student_of_the_teachers_width_learns_without_a_projection(
    bases: dict[str, Path], teacher: Path, tmp_path: Path
) -> None:
    plain = fine_tune(recipe(epochs=1), str(bases["wide"]), tmp_path / "plain", task=MASKED_LM)
    distilled = fine_tune(
        recipe(epochs=1, distill=DistillRecipe(teacher="teacher", alpha=0.25, cosine=0.125)),
        str(bases["wide"]),
        tmp_path / "student",
        task=MASKED_LM,
        teacher_checkpoint=str(teacher),
    )

    before = transformers.AutoModelForMaskedLM.from_pretrained(plain.path).state_dict()
    after = transformers.AutoModelForMaskedLM.from_pretrained(distilled.path).state_dict()
    assert before.keys() == after.keys()
    assert not torch.equal(before["bert.encoder.layer.0.output.dense.weight"], after["bert.encoder.layer.0.output.dense.weight"])


def test_alpha_one_pre_trains_exactly_as_without_a_teacher(bases: dict[str, Path], teacher: Path, tmp_path: Path) -> None:
    plain = fine_tune(recipe(epochs=1), str(bases["wide"]), tmp_path / "plain", task=MASKED_LM)
    hard_only = fine_tune(
        recipe(epochs=1, distill=DistillRecipe(teacher="teacher", alpha=1.0)),
        str(bases["wide"]),
        tmp_path / "hard",
        task=MASKED_LM,
        teacher_checkpoint=str(teacher),
    )

    assert hard_only.stats.final_loss == plain.stats.final_loss
    plain_weights = transformers.AutoModelForMaskedLM.from_pretrained(plain.path).state_dict()
    hard_weights = transformers.AutoModelForMaskedLM.from_pretrained(hard_only.path).state_dict()
    assert all(torch.equal(plain_weights[name], hard_weights[name]) for name in plain_weights)


def test_a_changed_cosine_weight_distils_again(bases: dict[str, Path], teacher: Path, tmp_path: Path) -> None:
    def tuned(cosine: float) -> bool:
        settings = DistillRecipe(teacher="teacher", alpha=0.25, cosine=cosine)
        return fine_tune(
            recipe(epochs=0.5, distill=settings),
            str(bases["wide"]),
            tmp_path / "s",
            task=MASKED_LM,
            teacher_checkpoint=str(teacher),
        ).built

    assert tuned(0.125)
    assert not tuned(0.125)
    assert tuned(0.25)


@pytest.mark.parametrize(
    ("task", "settings", "message"),
    [
        (
            MASKED_LM,
            DistillRecipe(teacher="teacher", cache_teacher_logits=True),
            r"^distill\.cache_teacher_logits: a masked-lm student's tokens are masked at random on every step",
        ),
        (
            "sequence-classification",
            DistillRecipe(teacher="teacher", cosine=0.1),
            r"^distill\.cosine: the hidden-state cosine loss distils masked-lm models, not sequence-classification ones$",
        ),
    ],
)
def test_settings_that_do_not_apply_to_the_task_are_refused(
    bases: dict[str, Path], teacher: Path, tmp_path: Path, task: str, settings: DistillRecipe, message: str
) -> None:
    dataset = "topics-text" if task == MASKED_LM else "topics"
    with pytest.raises(ValueError, match=message):
        fine_tune(
            recipe(dataset=dataset, distill=settings),
            str(bases["wide"]),
            tmp_path / "s",
            task=task,
            teacher_checkpoint=str(teacher),
        )
    assert not (tmp_path / "s").exists()


def test_a_teacher_that_is_not_a_masked_lm_is_refused_by_name(bases: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"^distill\.teacher 'teacher': .* is a sequence-classification model; the student is for masked-lm$"
    ):
        fine_tune(
            recipe(distill=DistillRecipe(teacher="teacher")),
            str(bases["wide"]),
            tmp_path / "s",
            task=MASKED_LM,
            teacher_checkpoint=str(bases["narrow"]),
        )


def test_a_teacher_scoring_another_vocabulary_is_refused_by_name(bases: dict[str, Path], tmp_path: Path) -> None:
    config = transformers.BertConfig(
        vocab_size=VOCABULARY + 6, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    padded, _ = build_checkpoint(config, tmp_path / "padded", task=MASKED_LM, tokenizer="bert-base-uncased")

    with pytest.raises(ValueError, match=r"^distill\.teacher 'teacher': it predicts 30528 tokens and the student 30522"):
        fine_tune(
            recipe(distill=DistillRecipe(teacher="teacher")),
            str(bases["wide"]),
            tmp_path / "s",
            task=MASKED_LM,
            teacher_checkpoint=str(padded),
        )
