"""Distillation recipes in the registry: what they read into, and each error naming file, model and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from registry_errors import registry_error

from pytest_modelperf.models import dataset_catalogue
from pytest_modelperf.models.dataset_catalogue import BuiltinDataset
from pytest_modelperf.models.fine_tune_record import DistillRecipe
from pytest_modelperf.models.registry import load_registry

MODELS = """
[models.tiny]
checkpoint = "x"
task = "sequence-classification"

[models.teacher]
task = "sequence-classification"
finetune = { from = "tiny", dataset = "topics" }

[models.reader]
task = "question-answering"
finetune = { from = "tiny", dataset = "facts-qa" }
"""


def registry_with(tmp_path: Path, student: str, extra: str = "") -> Path:
    path = tmp_path / "models.toml"
    path.write_text(f'{MODELS}\n{extra}\n[models.student]\ntask = "sequence-classification"\n{student}\n')
    return path


def test_a_distill_table_reads_into_the_recipe_with_its_defaults(tmp_path: Path) -> None:
    path = registry_with(
        tmp_path,
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "teacher" } }\n'
        "[models.cached]\n"
        'task = "sequence-classification"\n'
        "[models.cached.finetune]\n"
        'from = "tiny"\n'
        'dataset = "topics"\n'
        'distill = { teacher = "student", temperature = 4, alpha = 0, cache_teacher_logits = true }\n',
    )
    registry = load_registry(path)

    assert registry.model("student").finetune.distill == DistillRecipe(teacher="teacher", temperature=2.0, alpha=0.5)
    assert registry.model("cached").finetune.distill == DistillRecipe(
        teacher="student", temperature=4.0, alpha=0.0, cache_teacher_logits=True
    )
    assert isinstance(registry.model("cached").finetune.distill.temperature, float)
    assert registry.model("teacher").finetune.distill is None


def distill_entry(distill: str) -> str:
    return f'finetune = {{ from = "tiny", dataset = "topics", distill = {distill} }}'


@pytest.mark.parametrize(
    ("distill", "message"),
    [
        (
            '{ teacher = "teacher", temp = 2 }',
            "models.student.finetune.distill.temp: unknown key; expected one of alpha, cache_teacher_logits, cosine, teacher, temperature, unlabeled",
        ),
        ('"teacher"', "models.student.finetune.distill: expected a table, got str"),
        ("{ temperature = 2 }", "models.student.finetune.distill.teacher: missing"),
        ('{ teacher = "" }', "models.student.finetune.distill.teacher: expected a non-empty string, got ''"),
        (
            '{ teacher = "teacher", temperature = 0 }',
            "models.student.finetune.distill.temperature: expected a positive number, got 0",
        ),
        (
            '{ teacher = "teacher", temperature = -1.5 }',
            "models.student.finetune.distill.temperature: expected a positive number, got -1.5",
        ),
        (
            '{ teacher = "teacher", temperature = true }',
            "models.student.finetune.distill.temperature: expected a positive number, got True",
        ),
        (
            '{ teacher = "teacher", temperature = inf }',
            "models.student.finetune.distill.temperature: expected a positive number, got inf",
        ),
        (
            '{ teacher = "teacher", alpha = 1.5 }',
            "models.student.finetune.distill.alpha: expected a weight in [0, 1] (of the hard-label loss), got 1.5",
        ),
        (
            '{ teacher = "teacher", alpha = -0.1 }',
            "models.student.finetune.distill.alpha: expected a weight in [0, 1] (of the hard-label loss), got -0.1",
        ),
        (
            '{ teacher = "teacher", cache_teacher_logits = "yes" }',
            "models.student.finetune.distill.cache_teacher_logits: expected true or false, got 'yes'",
        ),
        (
            '{ teacher = "nope" }',
            "models.student.finetune.distill.teacher: 'nope' is not a model of this registry; "
            "a teacher is a fine-tuned model of the registry (teacher, reader)",
        ),
        (
            '{ teacher = "tiny" }',
            "models.student.finetune.distill.teacher: 'tiny' is not fine-tuned here; "
            "a teacher is a fine-tuned model of the registry (teacher, reader)",
        ),
        (
            '{ teacher = "reader" }',
            "models.student.finetune.distill.teacher: 'reader' is a question-answering model; "
            "the student's task is sequence-classification",
        ),
        ('{ teacher = "student" }', "models.student.finetune.distill.teacher: the teachers make a cycle: student -> student"),
    ],
)
def test_a_bad_distill_recipe_is_refused_naming_the_field(tmp_path: Path, distill: str, message: str) -> None:
    assert registry_error(registry_with(tmp_path, distill_entry(distill))) == message


def test_teachers_that_learn_from_each_other_are_refused(tmp_path: Path) -> None:
    looped = (
        "[models.a]\n"
        'task = "sequence-classification"\n'
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "b" } }\n'
        "[models.b]\n"
        'task = "sequence-classification"\n'
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "a" } }\n'
    )
    path = registry_with(tmp_path, distill_entry('{ teacher = "a" }'), looped)

    assert registry_error(path) == "models.a.finetune.distill.teacher: the teachers make a cycle: a -> b -> a"


def test_a_student_of_a_cycle_is_not_blamed_for_it(tmp_path: Path) -> None:
    """The student is checked first; following its teachers must stop at the cycle, not loop."""
    path = tmp_path / "models.toml"
    path.write_text(
        MODELS + "[models.student]\n"
        'task = "sequence-classification"\n'
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "a" } }\n'
        "[models.a]\n"
        'task = "sequence-classification"\n'
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "b" } }\n'
        "[models.b]\n"
        'task = "sequence-classification"\n'
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "a" } }\n'
    )

    assert registry_error(path) == "models.a.finetune.distill.teacher: the teachers make a cycle: a -> b -> a"


def test_a_chain_of_teachers_is_accepted(tmp_path: Path) -> None:
    chain = (
        "[models.middle]\n"
        'task = "sequence-classification"\n'
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "teacher" } }\n'
    )
    registry = load_registry(registry_with(tmp_path, distill_entry('{ teacher = "middle" }'), chain))

    assert registry.model("student").finetune.distill.teacher == "middle"


def test_a_classification_teacher_of_another_dataset_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another dataset's classes are other labels (or the same ones in another order)."""
    other = BuiltinDataset("sentiment", "sequence-classification", "1", "positive or negative", {"train": 10})
    monkeypatch.setitem(dataset_catalogue.BUILTIN_DATASETS, "sentiment", other)
    teacher = '[models.moods]\ntask = "sequence-classification"\nfinetune = { from = "tiny", dataset = "sentiment" }\n'
    path = registry_with(tmp_path, distill_entry('{ teacher = "moods" }'), teacher)

    assert registry_error(path) == (
        "models.student.finetune.distill.teacher: 'moods' is fine-tuned on 'sentiment', whose labels are not those of "
        "'topics'; a classification teacher is fine-tuned on the student's dataset"
    )


def test_a_distill_recipe_of_a_model_with_a_dotted_name_quotes_it(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        MODELS + '[models."student.v2"]\ntask = "sequence-classification"\n'
        'finetune = { from = "tiny", dataset = "topics", distill = { teacher = "teacher", alpha = 2 } }\n'
    )

    assert re.fullmatch(r'models\."student\.v2"\.finetune\.distill\.alpha: .*got 2', registry_error(path))
