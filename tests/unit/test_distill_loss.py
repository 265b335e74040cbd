"""The distillation loss against values computed by hand, and the teacher's logits cached or not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
import torch
import transformers

from pytest_modelperf.models.fine_tune_record import DistillRecipe
from pytest_modelperf.models.offline_tokenizers import bert_uncased_tokenizer_dir, offline_tokenizer
from pytest_modelperf.quality.distill import (
    TeacherLogitCache,
    check_shared_vocabulary,
    distillation_loss,
    soft_target_loss,
    teacher_logits,
)

STUDENT = [[1.0, 2.0, 0.5, -1.0], [0.0, -1.0, 3.0, 0.25], [0.3, 0.3, 0.3, 0.3]]
TEACHER = [[2.0, 0.0, 1.0, -0.5], [1.0, 1.0, 1.0, 1.0], [-2.0, 4.0, 0.0, 1.5]]


def softmax_by_hand(row: Sequence[float]) -> list[float]:
    exps = [math.exp(value) for value in row]
    total = sum(exps)
    return [value / total for value in exps]


def kl_by_hand(student: Sequence[Sequence[float]], teacher: Sequence[Sequence[float]], temperature: float) -> float:
    """T**2 times the mean over rows of sum_i p_i * log(p_i / q_i), p the teacher's and q the student's."""
    total = 0.0
    for student_row, teacher_row in zip(student, teacher, strict=True):
        p = softmax_by_hand([value / temperature for value in teacher_row])
        q = softmax_by_hand([value / temperature for value in student_row])
        total += sum(p_i * math.log(p_i / q_i) for p_i, q_i in zip(p, q, strict=True))
    return temperature**2 * total / len(student)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return transformers.AutoTokenizer.from_pretrained(bert_uncased_tokenizer_dir(), local_files_only=True)


def tiny_bert(kind: type, seed: int, **config: Any) -> Any:
    torch.manual_seed(seed)
    model = kind(
        transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, **config)
    )
    return model.eval()


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.5])
def test_the_soft_loss_is_the_teacher_to_student_divergence_scaled_by_the_squared_temperature(temperature: float) -> None:
    loss = soft_target_loss(torch.tensor(STUDENT), torch.tensor(TEACHER), temperature)

    assert loss.item() == pytest.approx(kl_by_hand(STUDENT, TEACHER, temperature), rel=1e-6)


def test_the_soft_loss_is_zero_when_the_student_matches_the_teacher() -> None:
    assert soft_target_loss(torch.tensor(TEACHER), torch.tensor(TEACHER), 2.0).item() == pytest.approx(0.0, abs=1e-7)


def test_the_squared_temperature_keeps_a_hot_soft_loss_on_the_scale_of_the_logits() -> None:
    """At a high temperature T**2 * KL tends to the mean squared gap between the zero-mean
    logits over 2 (Hinton et al., section 2.1), whatever the temperature: without the T**2
    it would fall as 1 / T**2."""
    rows = []
    for student_row, teacher_row in zip(STUDENT, TEACHER, strict=True):
        gaps = [s - t for s, t in zip(student_row, teacher_row, strict=True)]
        centred = [gap - sum(gaps) / len(gaps) for gap in gaps]
        rows.append(sum(gap**2 for gap in centred) / (2 * len(gaps)))
    limit = sum(rows) / len(rows)

    for temperature in (50.0, 200.0):
        loss = soft_target_loss(
            torch.tensor(STUDENT, dtype=torch.float64), torch.tensor(TEACHER, dtype=torch.float64), temperature
        )
        assert loss.item() == pytest.approx(limit, rel=0.02)


@pytest.mark.parametrize(("alpha", "temperature"), [(0.5, 2.0), (0.2, 3.0), (0.0, 1.0)])
def test_the_loss_weighs_the_hard_loss_by_alpha_and_the_soft_loss_by_one_minus_alpha(alpha: float, temperature: float) -> None:
    hard = torch.tensor(1.25)
    settings = DistillRecipe(teacher="t", temperature=temperature, alpha=alpha)

    loss = distillation_loss(hard, {"logits": torch.tensor(STUDENT)}, {"logits": torch.tensor(TEACHER)}, settings)

    expected = alpha * 1.25 + (1 - alpha) * kl_by_hand(STUDENT, TEACHER, temperature)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_question_answering_distils_start_and_end_over_real_tokens_and_averages_them() -> None:
    start_student, end_student = [[0.5, 1.0, -1.0, 9.0], [2.0, 0.0, 1.0, 0.5]], [[1.0, 0.0, 0.0, -9.0], [0.0, 0.0, 3.0, 1.0]]
    start_teacher, end_teacher = [[1.0, 2.0, 0.0, -7.0], [0.0, 1.0, 1.0, 2.0]], [[0.0, 3.0, 1.0, 5.0], [1.0, 2.0, 0.0, 0.0]]
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])  # the first window is one token shorter
    settings = DistillRecipe(teacher="t", temperature=2.0, alpha=0.25)

    loss = distillation_loss(
        torch.tensor(0.8),
        {"start_logits": torch.tensor(start_student), "end_logits": torch.tensor(end_student)},
        {"start_logits": torch.tensor(start_teacher), "end_logits": torch.tensor(end_teacher)},
        settings,
        mask,
    )

    def real(rows: list[list[float]]) -> list[list[float]]:
        return [rows[0][:3], rows[1]]

    def per_row(student: list[list[float]], teacher: list[list[float]]) -> float:
        return sum(kl_by_hand([s], [t], 2.0) for s, t in zip(real(student), real(teacher), strict=True)) / 2

    soft = (per_row(start_student, start_teacher) + per_row(end_student, end_teacher)) / 2
    assert loss.item() == pytest.approx(0.25 * 0.8 + 0.75 * soft, rel=1e-6)


def test_padding_takes_no_part_in_the_soft_loss_nor_its_gradient() -> None:
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 0]])
    student = torch.tensor(STUDENT, requires_grad=True)
    loss = soft_target_loss(student, torch.tensor(TEACHER), 2.0, mask)
    loss.backward()
    other_padding = torch.tensor(STUDENT).masked_fill(mask == 0, 50.0)

    assert soft_target_loss(other_padding, torch.tensor(TEACHER).masked_fill(mask == 0, -3.0), 2.0, mask).item() == (
        pytest.approx(loss.item(), rel=1e-6)
    )
    assert torch.isfinite(student.grad).all()
    assert (student.grad[mask == 0] == 0).all() and (student.grad[mask == 1] != 0).any()


def test_alpha_one_is_the_plain_fine_tuning_loss(tokenizer: Any) -> None:
    student = tiny_bert(transformers.BertForSequenceClassification, 0, num_labels=4)
    teacher = tiny_bert(transformers.BertForSequenceClassification, 1, num_labels=4)
    batch = dict(tokenizer(["a cup final in rome", "shares fell on monday"], padding=True, return_tensors="pt"))
    outputs = student(**batch, labels=torch.tensor([1, 2]))

    loss = distillation_loss(
        outputs.loss, outputs, teacher_logits(teacher, batch, "sequence-classification"), DistillRecipe("t", alpha=1.0)
    )

    assert torch.equal(loss, outputs.loss)


TEXTS = [
    "the striker scored twice in the cup final",
    "shares fell",
    "a new telescope found water on a distant moon, astronomers said on friday",
    "talks between the two governments resumed in geneva",
    "the bank raised rates",
    "the champion retired after a long career in tennis and golf",
]


def cached_and_live_losses(teacher: Any, student: Any, features: dict[str, list[Any]], tokenizer: Any, task: str) -> Any:
    inputs = frozenset({"input_ids", "attention_mask", "token_type_ids"})
    # The cache runs the examples in other batches (by length, four at a time) than the training batch.
    cache = TeacherLogitCache(teacher, features, tokenizer, task=task, inputs=inputs, batch_size=4, device="cpu")
    chosen = [5, 1, 2]
    batch = dict(tokenizer.pad([{key: features[key][i] for key in inputs} for i in chosen], return_tensors="pt"))
    outputs = student(**batch)
    settings = DistillRecipe("t", temperature=2.0, alpha=0.0)
    cached = cache.batch(chosen, batch["input_ids"].shape[1])
    live = teacher_logits(teacher, batch, task)
    real = batch["attention_mask"] == 1
    for name in live:
        cached_logits, live_logits = cached[name], live[name]
        if name != "logits":  # padding is no answer position: the cache keeps no start or end logits for it
            cached_logits, live_logits = cached_logits[real], live_logits[real]
        torch.testing.assert_close(cached_logits, live_logits, rtol=0, atol=1e-6)
    return (
        distillation_loss(torch.tensor(0.0), outputs, cached, settings, batch["attention_mask"]),
        distillation_loss(torch.tensor(0.0), outputs, live, settings, batch["attention_mask"]),
    )


def test_cached_teacher_logits_give_the_loss_of_the_teacher_run_on_the_batch(tokenizer: Any) -> None:
    features = dict(tokenizer(TEXTS))
    student = tiny_bert(transformers.BertForSequenceClassification, 0, num_labels=4)
    teacher = tiny_bert(transformers.BertForSequenceClassification, 1, num_labels=4)

    cached, live = cached_and_live_losses(teacher, student, features, tokenizer, "sequence-classification")

    assert cached.item() > 0
    assert cached.item() == pytest.approx(live.item(), rel=1e-6)


def test_cached_start_and_end_logits_give_the_loss_of_the_teacher_run_on_the_batch(tokenizer: Any) -> None:
    features = dict(tokenizer(["who won?", "what fell?", "what was found?", "where?", "who?", "who retired?"], TEXTS))
    student = tiny_bert(transformers.BertForQuestionAnswering, 0)
    teacher = tiny_bert(transformers.BertForQuestionAnswering, 1)

    cached, live = cached_and_live_losses(teacher, student, features, tokenizer, "question-answering")

    assert cached.item() > 0
    assert cached.item() == pytest.approx(live.item(), rel=1e-6)


def test_a_teacher_with_another_vocabulary_is_refused_by_name(tokenizer: Any) -> None:
    check_shared_vocabulary(tokenizer, offline_tokenizer("bert-base-uncased"), "same-vocabulary")

    with pytest.raises(
        ValueError, match=r"^distill\.teacher 'albert-topics': its tokenizer reads .* as other input ids than"
    ) as caught:
        check_shared_vocabulary(tokenizer, offline_tokenizer("albert-unigram"), "albert-topics")
    assert str(caught.value).endswith("a teacher must share the student's vocabulary")
