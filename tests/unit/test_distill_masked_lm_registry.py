"""Masked-language-model recipes in the registry: pre-training on the text corpus, and distillation
with the cosine weight; each error names file, model and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_errors import registry_error

from pytest_modelperf.models.fine_tune_record import DistillRecipe, FineTuneRecipe, recipe_record
from pytest_modelperf.models.registry import load_registry

MODELS = """
[models.tiny]
checkpoint = "x"
task = "sequence-classification"

[models.teacher]
task = "masked-lm"
finetune = { from = "tiny", dataset = "topics-text", epochs = 1, max_length = 64 }

[models.topics]
task = "sequence-classification"
finetune = { from = "tiny", dataset = "topics" }
"""


def registry_with(tmp_path: Path, student: str, task: str = "masked-lm") -> Path:
    path = tmp_path / "models.toml"
    path.write_text(f'{MODELS}\n[models.student]\ntask = "{task}"\n{student}\n')
    return path


def distilled(distill: str, dataset: str = "topics-text") -> str:
    return f'finetune = {{ from = "tiny", dataset = "{dataset}", distill = {distill} }}'


def test_a_masked_lm_pre_trains_on_the_text_corpus_from_a_classifiers_checkpoint(tmp_path: Path) -> None:
    registry = load_registry(registry_with(tmp_path, distilled('{ teacher = "teacher", alpha = 0.25, cosine = 0.125 }')))

    assert registry.model("teacher").finetune == FineTuneRecipe(base="tiny", dataset="topics-text", epochs=1.0, max_length=64)
    assert registry.model("student").finetune.distill == DistillRecipe(teacher="teacher", alpha=0.25, cosine=0.125)
    assert isinstance(registry.model("student").finetune.distill.cosine, float)
    assert registry.names(fine_tuned=True) == ["teacher", "topics", "student"]


def test_a_cosine_weight_is_recorded_and_a_recipe_without_one_as_before() -> None:
    plain = FineTuneRecipe(base="tiny", dataset="topics", distill=DistillRecipe(teacher="t", alpha=0.5))
    weighted = FineTuneRecipe(base="tiny", dataset="topics-text", distill=DistillRecipe(teacher="t", alpha=0.25, cosine=0.125))

    assert recipe_record(plain)["distill"] == {"teacher": "t", "temperature": 2.0, "alpha": 0.5, "cache_teacher_logits": False}
    assert recipe_record(weighted)["distill"]["cosine"] == 0.125


@pytest.mark.parametrize(
    ("distill", "message"),
    [
        (
            '{ teacher = "teacher", cosine = 1.5 }',
            "models.student.finetune.distill.cosine: expected a weight in [0, 1] (of the hidden-state cosine loss), got 1.5",
        ),
        (
            '{ teacher = "teacher", cosine = -0.125 }',
            "models.student.finetune.distill.cosine: expected a weight in [0, 1] (of the hidden-state cosine loss), got -0.125",
        ),
        (
            '{ teacher = "teacher", cosine = "some" }',
            "models.student.finetune.distill.cosine: expected a weight in [0, 1] (of the hidden-state cosine loss), got 'some'",
        ),
        (
            '{ teacher = "teacher", cosine = nan }',
            "models.student.finetune.distill.cosine: expected a weight in [0, 1] (of the hidden-state cosine loss), got nan",
        ),
        (
            '{ teacher = "teacher", alpha = 0.75, cosine = 0.5 }',
            "models.student.finetune.distill.cosine: alpha (0.75) and cosine (0.5) add up to more than 1; "
            "the teacher's soft loss weighs 1 - alpha - cosine",
        ),
        (
            '{ teacher = "teacher", cosine = 0.6 }',
            "models.student.finetune.distill.cosine: alpha (0.5) and cosine (0.6) add up to more than 1; "
            "the teacher's soft loss weighs 1 - alpha - cosine",
        ),
        (
            '{ teacher = "teacher", cache_teacher_logits = true }',
            "models.student.finetune.distill.cache_teacher_logits: a masked-lm student's tokens are masked at random "
            "on every step, so the teacher's logits cannot be computed ahead; remove it (the teacher runs on each batch)",
        ),
        (
            '{ teacher = "topics" }',
            "models.student.finetune.distill.teacher: 'topics' is a sequence-classification model; the student's task is masked-lm",
        ),
    ],
)
def test_a_bad_masked_lm_distill_recipe_is_refused_naming_the_field(tmp_path: Path, distill: str, message: str) -> None:
    assert registry_error(registry_with(tmp_path, distilled(distill))) == message


def test_the_cosine_loss_is_refused_for_a_classifier(tmp_path: Path) -> None:
    path = registry_with(tmp_path, distilled('{ teacher = "topics", cosine = 0.1 }', "topics"), task="sequence-classification")

    assert registry_error(path) == (
        "models.student.finetune.distill.cosine: the hidden-state cosine loss distils masked-lm models; "
        "this model's task is sequence-classification"
    )


def test_the_text_corpus_is_refused_for_a_classifier_and_a_classification_set_for_a_masked_lm(tmp_path: Path) -> None:
    classifier = registry_with(tmp_path, 'finetune = { from = "tiny", dataset = "topics-text" }', task="sequence-classification")
    assert registry_error(classifier) == (
        "models.student.finetune.dataset: 'topics-text' is a masked-lm dataset; the model's task is sequence-classification"
    )
    masked_lm = registry_with(tmp_path, 'finetune = { from = "tiny", dataset = "topics" }')
    assert registry_error(masked_lm) == (
        "models.student.finetune.dataset: 'topics' is a sequence-classification dataset; the model's task is masked-lm"
    )
