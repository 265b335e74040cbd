"""Fine-tunes distilled from a teacher: training, what is cached and recorded, refusals, and preparing in order."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers

from pytest_modelperf.models.checkpoints import build_checkpoint
from pytest_modelperf.models.fine_tune_record import (
    FINETUNE_MARKER,
    DistillRecipe,
    FineTuneRecipe,
    fine_tune_provenance,
    recipe_record,
)
from pytest_modelperf.models.registry import load_registry
from pytest_modelperf.quality.finetune import _base_identity, fine_tune
from pytest_modelperf.quality.prepare import prepare_all, teachers_first

TOPICS = "sequence-classification"
READING = {"dataset": "facts-qa", "max_length": 48, "doc_stride": 16}


def recipe(**changes: Any) -> FineTuneRecipe:
    settings: dict[str, Any] = {"base": "tiny", "dataset": "topics", "epochs": 1, "batch_size": 8, "max_length": 32}
    return FineTuneRecipe(**{**settings, "limit": 16, "learning_rate": 1e-3, **changes})


def distilled(**changes: Any) -> FineTuneRecipe:
    return recipe(distill=DistillRecipe(teacher="teacher", **changes))


def weights(checkpoint: Path, kind: type = transformers.AutoModelForSequenceClassification) -> dict[str, torch.Tensor]:
    return {name: value.detach() for name, value in kind.from_pretrained(checkpoint).state_dict().items()}


@pytest.fixture(scope="module")
def teacher(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A topics classifier fine-tuned here from the tiny BERT."""
    destination = tmp_path_factory.mktemp("teacher") / "teacher"
    return fine_tune(recipe(seed=1, limit=32), str(tiny_checkpoint), destination, task=TOPICS).path


def test_a_distilled_fine_tune_records_its_teacher_and_says_so(tiny_checkpoint: Path, teacher: Path, tmp_path: Path) -> None:
    settings = dict(temperature=3.0, alpha=0.25, cache_teacher_logits=True)
    tuned = fine_tune(
        distilled(**settings), str(tiny_checkpoint), tmp_path / "student", task=TOPICS, teacher_checkpoint=str(teacher)
    )

    record = json.loads((tuned.path / FINETUNE_MARKER).read_text())
    assert tuned.built and tuned.stats.steps == 2 and tuned.stats.final_loss > 0
    assert record["recipe"]["distill"] == {"teacher": "teacher", **settings}
    assert record["teacher_checkpoint"] == _base_identity(str(teacher)) and record["teacher_checkpoint"].startswith("sha256:")
    assert fine_tune_provenance(tuned.path) == "distilled here from teacher on the built-in topics train split from tiny"
    assert fine_tune_provenance(teacher) == "fine-tuned here on the built-in topics train split from tiny"


def test_a_recipe_without_distill_is_identified_as_before_distillation(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Fine-tunes cached before distillation existed stay valid: their record's recipe has no distill key."""
    before = {
        "base": "tiny",
        "dataset": "topics",
        "epochs": 1,
        "learning_rate": 1e-3,
        "batch_size": 8,
        "max_length": 32,
        "doc_stride": 32,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "seed": 0,
        "limit": 16,
        "group_by_length": True,
        "freeze": (),
        "dropout": None,
    }
    assert recipe_record(recipe()) == before

    destination = tmp_path / "plain"
    fine_tune(recipe(), str(tiny_checkpoint), destination, task=TOPICS)
    record = json.loads((destination / FINETUNE_MARKER).read_text())
    assert record["recipe"] == json.loads(json.dumps(before)) and "teacher_checkpoint" not in record
    assert not fine_tune(recipe(), str(tiny_checkpoint), destination, task=TOPICS).built


def test_alpha_one_trains_exactly_as_plain_fine_tuning(tiny_checkpoint: Path, teacher: Path, tmp_path: Path) -> None:
    plain = fine_tune(recipe(), str(tiny_checkpoint), tmp_path / "plain", task=TOPICS)
    hard_only = fine_tune(
        distilled(alpha=1.0), str(tiny_checkpoint), tmp_path / "hard", task=TOPICS, teacher_checkpoint=str(teacher)
    )

    assert hard_only.stats.final_loss == plain.stats.final_loss
    plain_weights, hard_weights = weights(plain.path), weights(hard_only.path)
    assert all(torch.equal(plain_weights[name], hard_weights[name]) for name in plain_weights)


def test_cached_teacher_logits_train_as_the_teacher_run_on_each_batch(
    tiny_checkpoint: Path, teacher: Path, tmp_path: Path
) -> None:
    live = fine_tune(distilled(alpha=0.2), str(tiny_checkpoint), tmp_path / "live", task=TOPICS, teacher_checkpoint=str(teacher))
    cached = fine_tune(
        distilled(alpha=0.2, cache_teacher_logits=True),
        str(tiny_checkpoint),
        tmp_path / "cached",
        task=TOPICS,
        teacher_checkpoint=str(teacher),
    )

    assert cached.stats.final_loss == pytest.approx(live.stats.final_loss, rel=1e-4)
    live_weights, cached_weights = weights(live.path), weights(cached.path)
    for name, value in live_weights.items():
        torch.testing.assert_close(cached_weights[name], value, rtol=1e-4, atol=1e-5)


def test_a_changed_teacher_or_distill_setting_distils_again(tiny_checkpoint: Path, teacher: Path, tmp_path: Path) -> None:
    moved = Path(shutil.copytree(teacher, tmp_path / "elsewhere" / "teacher"))
    destination = tmp_path / "student"

    def tuned(recipe: FineTuneRecipe, teacher: Path = moved) -> bool:
        return fine_tune(recipe, str(tiny_checkpoint), destination, task=TOPICS, teacher_checkpoint=str(teacher)).built

    assert tuned(distilled(), teacher)
    assert not tuned(distilled()), "the same teacher's weights, in another folder"
    assert tuned(distilled(temperature=4.0))
    assert tuned(distilled(temperature=4.0, cache_teacher_logits=True)), "the recorded time differs"
    assert not tuned(distilled(temperature=4.0, cache_teacher_logits=True))

    model = transformers.AutoModelForSequenceClassification.from_pretrained(moved)
    with torch.no_grad():
        model.classifier.bias.add_(1.0)
    model.save_pretrained(moved)
    assert tuned(distilled(temperature=4.0, cache_teacher_logits=True)), "the teacher's weights changed"


def test_question_answering_is_distilled_from_a_reader(tiny_checkpoint: Path, tmp_path: Path) -> None:
    reading = recipe(**READING)
    reader = fine_tune(replace(reading, seed=1), str(tiny_checkpoint), tmp_path / "reader", task="question-answering").path
    student = fine_tune(
        replace(reading, distill=DistillRecipe(teacher="reader", alpha=0.5, cache_teacher_logits=True)),
        str(tiny_checkpoint),
        tmp_path / "student",
        task="question-answering",
        teacher_checkpoint=str(reader),
    )

    assert student.built and student.stats.final_loss > 0
    before = weights(tiny_checkpoint, transformers.AutoModelForQuestionAnswering)
    after = weights(student.path, transformers.AutoModelForQuestionAnswering)
    assert not torch.equal(before["bert.encoder.layer.1.output.dense.weight"], after["bert.encoder.layer.1.output.dense.weight"])


def other_vocabulary_teacher(tmp_path: Path) -> Path:
    config = transformers.BertConfig(
        vocab_size=30000, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_labels=4
    )
    directory, _ = build_checkpoint(config, tmp_path / "albert-vocabulary", task=TOPICS, tokenizer="albert-unigram")
    return directory


@pytest.mark.parametrize(
    ("teacher_kind", "message"),
    [
        ("another vocabulary", r"^distill\.teacher 'teacher': its tokenizer reads .* as other input ids than the student's"),
        ("other classes", r"^distill\.teacher 'teacher': its classes \['LABEL_0', 'LABEL_1'\] are not the student's \['world'"),
        (
            "another task",
            r"^distill\.teacher 'teacher': .* is a question-answering model; the student is for sequence-classification",
        ),
    ],
)
def test_a_teacher_the_student_cannot_learn_from_is_refused_by_name(
    tiny_checkpoint: Path, tmp_path: Path, teacher_kind: str, message: str
) -> None:
    if teacher_kind == "another vocabulary":
        teacher = other_vocabulary_teacher(tmp_path)
    elif teacher_kind == "other classes":
        teacher = tiny_checkpoint  # two unnamed classes, the topics have four
    else:
        teacher = fine_tune(recipe(**READING), str(tiny_checkpoint), tmp_path / "reader", task="question-answering").path

    with pytest.raises(ValueError, match=message):
        fine_tune(distilled(), str(tiny_checkpoint), tmp_path / "student", task=TOPICS, teacher_checkpoint=str(teacher))
    assert not (tmp_path / "student").exists()


def test_a_distilling_recipe_needs_its_teachers_checkpoint(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a recipe distilled from 'teacher' needs its teacher's checkpoint"):
        fine_tune(distilled(), str(tiny_checkpoint), tmp_path / "student", task=TOPICS)
    with pytest.raises(ValueError, match="a teacher checkpoint is given for a recipe without distill"):
        fine_tune(recipe(), str(tiny_checkpoint), tmp_path / "student", task=TOPICS, teacher_checkpoint=str(tiny_checkpoint))


def test_prepare_trains_each_teacher_before_the_models_distilled_from_it(tiny_checkpoint: Path, tmp_path: Path) -> None:
    fast = "epochs = 1, batch_size = 8, max_length = 32, limit = 16, learning_rate = 1e-3"
    path = tmp_path / "models.toml"
    path.write_text(
        'checkpoint_dir = "checkpoints"\n'
        f'[models.tiny]\ncheckpoint = "x"\ntask = "{TOPICS}"\noffline = {{ path = "{tiny_checkpoint}" }}\n'
        f'[models.student]\ntask = "{TOPICS}"\n'
        f'finetune = {{ from = "tiny", dataset = "topics", {fast}, distill = {{ teacher = "assistant" }} }}\n'
        f'[models.assistant]\ntask = "{TOPICS}"\n'
        f'finetune = {{ from = "tiny", dataset = "topics", {fast}, distill = {{ teacher = "teacher", alpha = 0.8 }} }}\n'
        f'[models.teacher]\ntask = "{TOPICS}"\nfinetune = {{ from = "tiny", dataset = "topics", {fast}, seed = 3 }}\n'
    )
    registry = load_registry(path)
    assert [spec.name for spec in teachers_first(registry, registry.select(None))] == ["tiny", "teacher", "assistant", "student"]

    lines: list[str] = []
    prepared = prepare_all(registry, ["student"], report=lines.append)

    assert [(result.name, result.built) for result in prepared] == [("teacher", True), ("assistant", True), ("student", True)]
    assert [line.split(": ")[0] for line in lines if " -> " in line] == ["[1/3] teacher", "[2/3] assistant", "[3/3] student"]
    assert fine_tune_provenance(prepared[-1].path) == "distilled here from assistant on the built-in topics train split from tiny"
    assert not any(result.built for result in prepare_all(registry, ["student"]))
