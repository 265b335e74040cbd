"""A distillation step's loss: the teacher's forward pass inside the step, then the student's
hard-label loss blended with the teacher's softened outputs (``quality.distill``).

``measure_training(student, teacher=...)`` times this step as it times a plain one, so that
what distilling costs per step (the teacher's forward pass under ``torch.no_grad()``, the soft
loss) is measured as training is, and kept apart by the measurement's label
(``8x128, distilled from minilm-topics``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..models.fine_tune_record import DistillRecipe
from ..models.loading import LoadedModel
from ..quality.distill import check_shared_vocabulary, distillation_loss, teacher_logits

LossFunction = Callable[[Any, Mapping[str, Any]], Any]
DISTILLED_TASKS = ("sequence-classification", "question-answering")
_TARGETS = frozenset({"labels", "start_positions", "end_positions"})


def distill_recipe(teacher: str, temperature: float, alpha: float) -> DistillRecipe:
    """The distillation settings of a step, checked: ``temperature`` > 0 and ``alpha`` in [0, 1]."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1] (the weight of the hard-label loss), got {alpha!r}")
    return DistillRecipe(teacher, temperature=float(temperature), alpha=float(alpha))


def distilling_loss(student: LoadedModel, teacher: LoadedModel, recipe: DistillRecipe) -> LossFunction:
    """The loss of a step that distils ``teacher`` into ``student``, checked before any step.

    Refused with a ``ValueError`` naming the teacher: another device, another task, a task other
    than classification or extractive QA, other classes (names and order) or another vocabulary."""
    if teacher.device != student.device:
        raise ValueError(f"teacher {teacher.name} is on {teacher.device}, the student {student.name} on {student.device}")
    if student.task not in DISTILLED_TASKS:
        distilled = " and ".join(DISTILLED_TASKS)
        raise ValueError(f"a distillation step distils {distilled} students; {student.name} is a {student.task} model")
    if teacher.task != student.task:
        raise ValueError(f"teacher {teacher.name} is a {teacher.task} model; the student {student.name} is {student.task}")
    if student.task == "sequence-classification":
        theirs, mine = _classes(teacher.model.config), _classes(student.model.config)
        if theirs != mine:
            raise ValueError(f"teacher {teacher.name}: its classes {theirs} are not the student's {mine}")
    if teacher.tokenizer is not None and student.tokenizer is not None:
        check_shared_vocabulary(student.tokenizer, teacher.tokenizer, teacher.name)
    takes = frozenset(inspect.signature(teacher.model.forward).parameters) - _TARGETS
    task = student.task

    def loss(model: Any, batch: Mapping[str, Any]) -> Any:
        targets = teacher_logits(teacher.model, {key: value for key, value in batch.items() if key in takes}, task)
        outputs = model(**batch)
        return distillation_loss(outputs.loss, outputs, targets, recipe, batch.get("attention_mask"))

    return loss


def _classes(config: Any) -> list[str]:
    return [str(config.id2label[index]) for index in range(config.num_labels)]
