"""DistilBERT's three losses for masked language models against values computed by hand, and the
masked positions' logits against the model's own."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
import torch
import transformers

from pytest_modelperf.models.fine_tune_record import DistillRecipe
from pytest_modelperf.quality.distill import cosine_hidden_loss, hidden_projection, masked_lm_distillation_loss
from pytest_modelperf.quality.masked_lm import IGNORED, masked_lm_outputs

# Two sequences of three positions, hidden width 3; the second sequence's last position is padding.
STUDENT_HIDDEN = [[[1.0, 0.0, 2.0], [0.5, -1.0, 0.0], [3.0, 1.0, 1.0]], [[0.0, 2.0, 2.0], [-1.0, -1.0, 0.5], [9.0, -9.0, 9.0]]]
TEACHER_HIDDEN = [[[2.0, 0.0, 1.0], [0.5, 1.0, 0.0], [3.0, 1.0, 1.0]], [[1.0, 1.0, 0.0], [1.0, 1.0, -0.5], [-4.0, 4.0, 0.0]]]
ATTENTION = [[1, 1, 1], [1, 1, 0]]
# Three masked positions over a vocabulary of five.
STUDENT_LOGITS = [[1.0, 2.0, 0.5, -1.0, 0.0], [0.0, -1.0, 3.0, 0.25, 1.0], [0.3, 0.3, 0.3, 0.3, 2.0]]
TEACHER_LOGITS = [[2.0, 0.0, 1.0, -0.5, 0.5], [1.0, 1.0, 1.0, 1.0, 1.0], [-2.0, 4.0, 0.0, 1.5, 0.0]]


def cosine_by_hand(student: Sequence[Sequence[Sequence[float]]], teacher: Any, attention: Any) -> float:
    """The mean over real tokens of 1 - (s . t) / (|s| |t|), by explicit sums."""
    distances = []
    for student_row, teacher_row, mask_row in zip(student, teacher, attention, strict=True):
        for s, t, real in zip(student_row, teacher_row, mask_row, strict=True):
            if real:
                dot = sum(a * b for a, b in zip(s, t, strict=True))
                norms = math.sqrt(sum(a * a for a in s)) * math.sqrt(sum(b * b for b in t))
                distances.append(1 - dot / norms)
    return sum(distances) / len(distances)


def kl_by_hand(student: Sequence[Sequence[float]], teacher: Sequence[Sequence[float]], temperature: float) -> float:
    """T**2 times the mean over rows of sum_i p_i (log p_i - log q_i), p the teacher's softened softmax."""

    def softmax(row: Sequence[float]) -> list[float]:
        exps = [math.exp(value / temperature) for value in row]
        return [value / sum(exps) for value in exps]

    total = 0.0
    for student_row, teacher_row in zip(student, teacher, strict=True):
        p, q = softmax(teacher_row), softmax(student_row)
        total += sum(p_i * (math.log(p_i) - math.log(q_i)) for p_i, q_i in zip(p, q, strict=True))
    return temperature**2 * total / len(student)


def loss_of(settings: DistillRecipe, hard: float = 2.5) -> float:
    return masked_lm_distillation_loss(
        torch.tensor(hard),
        torch.tensor(STUDENT_LOGITS),
        torch.tensor(TEACHER_LOGITS),
        torch.tensor(STUDENT_HIDDEN),
        torch.tensor(TEACHER_HIDDEN),
        torch.tensor(ATTENTION),
        settings,
    ).item()


def test_the_cosine_loss_is_one_minus_the_cosine_of_each_real_tokens_hidden_states() -> None:
    loss = cosine_hidden_loss(torch.tensor(STUDENT_HIDDEN), torch.tensor(TEACHER_HIDDEN), torch.tensor(ATTENTION))

    assert loss.item() == pytest.approx(cosine_by_hand(STUDENT_HIDDEN, TEACHER_HIDDEN, ATTENTION), rel=1e-6)
    assert loss.item() > 0


def test_padding_takes_no_part_in_the_cosine_loss_nor_its_gradient() -> None:
    student = torch.tensor(STUDENT_HIDDEN, requires_grad=True)
    cosine_hidden_loss(student, torch.tensor(TEACHER_HIDDEN), torch.tensor(ATTENTION)).backward()

    assert student.grad is not None
    assert (student.grad[1, 2] == 0).all() and (student.grad[0, 0] != 0).any()


def test_identical_or_scaled_hidden_states_have_no_cosine_loss() -> None:
    teacher = torch.tensor(TEACHER_HIDDEN)
    assert cosine_hidden_loss(teacher * 3.0, teacher, torch.tensor(ATTENTION)).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("alpha", "cosine", "temperature"), [(0.25, 0.125, 2.0), (0.5, 0.0, 1.0), (0.0, 0.5, 3.0), (0.2, 0.8, 2.0), (1.0, 0.0, 2.0)]
)
def test_the_three_losses_are_weighed_alpha_one_minus_alpha_minus_cosine_and_cosine(
    alpha: float, cosine: float, temperature: float
) -> None:
    settings = DistillRecipe(teacher="t", temperature=temperature, alpha=alpha, cosine=cosine)

    expected = (
        alpha * 2.5
        + (1 - alpha - cosine) * kl_by_hand(STUDENT_LOGITS, TEACHER_LOGITS, temperature)
        + cosine * cosine_by_hand(STUDENT_HIDDEN, TEACHER_HIDDEN, ATTENTION)
    )
    assert loss_of(settings) == pytest.approx(expected, rel=1e-6)


def test_distilberts_five_two_one_weighting_is_alpha_a_quarter_and_cosine_an_eighth() -> None:
    """DistilBERT weighed the soft loss 5, the masked tokens' cross-entropy 2 and the cosine 1."""
    soft = kl_by_hand(STUDENT_LOGITS, TEACHER_LOGITS, 2.0)
    cos = cosine_by_hand(STUDENT_HIDDEN, TEACHER_HIDDEN, ATTENTION)

    loss = loss_of(DistillRecipe(teacher="t", temperature=2.0, alpha=0.25, cosine=0.125))

    assert 8 * loss == pytest.approx(5.0 * soft + 2.0 * 2.5 + 1.0 * cos, rel=1e-6)


def test_without_a_cosine_weight_the_hidden_states_take_no_part() -> None:
    settings = DistillRecipe(teacher="t", temperature=2.0, alpha=0.4)
    hidden = torch.tensor(STUDENT_HIDDEN, requires_grad=True)

    loss = masked_lm_distillation_loss(
        torch.tensor(1.0),
        torch.tensor(STUDENT_LOGITS),
        torch.tensor(TEACHER_LOGITS),
        hidden,
        torch.tensor(TEACHER_HIDDEN),
        torch.tensor(ATTENTION),
        settings,
    )

    assert loss.item() == pytest.approx(0.4 + 0.6 * kl_by_hand(STUDENT_LOGITS, TEACHER_LOGITS, 2.0), rel=1e-6)
    assert not loss.requires_grad


def tiny(kind: type, seed: int, **config: Any) -> Any:
    torch.manual_seed(seed)
    settings = {"vocab_size": 60, "max_position_embeddings": 16, **config}
    return kind(settings.pop("config_class")(**settings)).eval()


BERT = {
    "config_class": transformers.BertConfig,
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
}
DISTILBERT = {"config_class": transformers.DistilBertConfig, "dim": 16, "n_layers": 1, "n_heads": 2, "hidden_dim": 32}


@pytest.mark.parametrize(
    ("kind", "config"),
    [(transformers.BertForMaskedLM, BERT), (transformers.DistilBertForMaskedLM, DISTILBERT)],
    ids=["head-on-masked-positions", "whole-model"],
)
def test_the_masked_positions_logits_and_loss_are_the_models_own(kind: type, config: dict[str, Any]) -> None:
    """BERT's head runs on the masked positions alone; DistilBERT's through its own forward."""
    model = tiny(kind, 0, **config)
    input_ids = torch.tensor([[2, 17, 23, 5, 3], [2, 40, 41, 3, 0]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    labels = torch.full_like(input_ids, IGNORED)
    labels[0, 2], labels[1, 1], labels[0, 3] = 11, 12, 13
    predicted = labels != IGNORED

    with torch.no_grad():
        ours = masked_lm_outputs(model, {"input_ids": input_ids, "attention_mask": attention_mask}, predicted, labels)
        theirs = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, output_hidden_states=True)

    torch.testing.assert_close(ours.logits, theirs.logits[predicted], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.hidden, theirs.hidden_states[-1], rtol=1e-5, atol=1e-5)
    assert ours.loss.item() == pytest.approx(theirs.loss.item(), rel=1e-5)
    assert ours.logits.shape == (3, 60)


def test_a_student_of_another_width_has_its_hidden_states_projected_to_the_teachers() -> None:
    student = tiny(transformers.BertForMaskedLM, 0, **BERT)
    teacher = tiny(transformers.BertForMaskedLM, 1, **{**BERT, "hidden_size": 32})

    projection = hidden_projection(student, teacher)

    assert isinstance(projection, torch.nn.Linear)
    assert (projection.in_features, projection.out_features) == (16, 32)
    assert hidden_projection(student, tiny(transformers.BertForMaskedLM, 2, **BERT)) is None
