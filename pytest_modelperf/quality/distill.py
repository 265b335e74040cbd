"""Knowledge distillation in a fine-tune: the teacher, its logits, and the loss that blends them in.

A recipe with ``distill`` (:class:`..models.fine_tune_record.DistillRecipe`) trains the student
on the hard labels and on a teacher's softened outputs (Hinton, Vinyals and Dean, 2015,
"Distilling the Knowledge in a Neural Network")::

    loss = alpha * hard + (1 - alpha) * T**2 * KL(softmax(teacher / T) || softmax(student / T))

``alpha`` weighs the hard-label loss (the model's own loss: cross-entropy on the labels, or on
the answer's start and end positions), and ``1 - alpha`` the teacher's: ``alpha = 1`` is plain
fine-tuning, ``alpha = 0`` learns from the teacher alone. The KL divergence runs from the
teacher's distribution to the student's, summed over the classes and averaged over the batch
(the soft-target cross-entropy of the paper, less the teacher's entropy, which has no gradient).
``T**2`` keeps the soft loss's gradients on the scale of the hard loss's as ``T`` changes.
Question answering distils the start and the end logits each, over the window's real tokens
(padding is no answer position), and averages the two as the hard loss does.

A masked language model is distilled with the three losses of DistilBERT (Sanh et al., 2019)::

    loss = alpha * mlm + (1 - alpha - cosine) * T**2 * KL(teacher || student) + cosine * (1 - cos(h_student, h_teacher))

``mlm`` is the cross-entropy of the masked tokens, the KL divergence runs over the vocabulary at
the masked positions, and the cosine distance between the last hidden states is averaged over
the real tokens; DistilBERT weighed them 2 : 5 : 1 (``alpha = 0.25``, ``cosine = 0.125``). A
student narrower than its teacher has its hidden states mapped to the teacher's width by a
linear projection trained with it and dropped afterwards.

The teacher runs in eval mode under ``torch.no_grad()`` on the student's batch, or once over
every training example before training when its logits are cached (not for a masked language
model: its input is masked anew on every step).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..models.fine_tune_record import DistillRecipe
from ..models.loading import TASKS, CheckpointError, detect_task, unreadable_weights

# The outputs distilled for each task; positional ones score each token of the window.
LOGITS: dict[str, tuple[str, ...]] = {
    "sequence-classification": ("logits",),
    "question-answering": ("start_logits", "end_logits"),
    "masked-lm": ("logits",),
}
_POSITIONAL = frozenset({"start_logits", "end_logits"})
# Cased and uncased words, a rare word, digits, punctuation and an accent: tokenizers with other
# vocabularies, casing or normalisation split some of it differently.
VOCABULARY_PROBE = "Modelperf distils BERT-tiny: 3 teachers' logits, naïve Zürich students (T=2.0)!"


def soft_target_loss(student: Any, teacher: Any, temperature: float, mask: Any | None = None) -> Any:
    """``T**2 * KL(softmax(teacher / T) || softmax(student / T))``, summed over the last dimension
    and averaged over the rows; positions where ``mask`` is 0 take no part (neither distribution
    puts weight on them)."""
    import torch

    student = student / temperature
    teacher = teacher.to(student.dtype) / temperature
    if mask is not None:
        # The lowest finite value rather than -inf: its probability is exactly 0, and
        # 0 * (log p - log q) stays 0 where -inf - -inf would be NaN.
        hidden = mask == 0
        lowest = torch.finfo(student.dtype).min
        student = student.masked_fill(hidden, lowest)
        teacher = teacher.masked_fill(hidden, lowest)
    log_student = torch.log_softmax(student, dim=-1)
    log_teacher = torch.log_softmax(teacher, dim=-1)
    divergence = (log_teacher.exp() * (log_teacher - log_student)).sum(dim=-1).mean()
    return divergence * temperature**2


def distillation_loss(
    hard_loss: Any,
    student: Mapping[str, Any],
    teacher: Mapping[str, Any],
    settings: DistillRecipe,
    attention_mask: Any | None = None,
) -> Any:
    """``alpha * hard_loss + (1 - alpha) * soft``: ``soft`` is :func:`soft_target_loss` of each
    output the teacher gives (the logits; the start and the end logits), averaged over them."""
    soft = [
        soft_target_loss(student[name], logits, settings.temperature, attention_mask if name in _POSITIONAL else None)
        for name, logits in teacher.items()
    ]
    return settings.alpha * hard_loss + (1 - settings.alpha) * (sum(soft) / len(soft))


def cosine_hidden_loss(student_hidden: Any, teacher_hidden: Any, attention_mask: Any) -> Any:
    """``1 - cos(student, teacher)`` of each real token's hidden states (``attention_mask`` 1),
    averaged over those tokens."""
    import torch

    real = attention_mask.bool()
    teacher_hidden = teacher_hidden.to(student_hidden.dtype)
    similarity = torch.nn.functional.cosine_similarity(student_hidden[real], teacher_hidden[real], dim=-1)
    return (1 - similarity).mean()


def masked_lm_distillation_loss(
    hard_loss: Any,
    student_logits: Any,
    teacher_logits: Any,
    student_hidden: Any,
    teacher_hidden: Any,
    attention_mask: Any,
    settings: DistillRecipe,
) -> Any:
    """DistilBERT's loss: ``alpha * hard_loss + (1 - alpha - cosine) * soft + cosine * cos``.

    ``hard_loss`` is the masked tokens' cross-entropy, ``soft`` the :func:`soft_target_loss` of
    the logits at the masked positions (one row each), and ``cos`` the
    :func:`cosine_hidden_loss` of the last hidden states, the student's already of the
    teacher's width."""
    soft = soft_target_loss(student_logits, teacher_logits, settings.temperature)
    loss = settings.alpha * hard_loss + (1 - settings.alpha - settings.cosine) * soft
    if settings.cosine:
        loss = loss + settings.cosine * cosine_hidden_loss(student_hidden, teacher_hidden, attention_mask)
    return loss


def hidden_projection(student: Any, teacher: Any) -> Any | None:
    """A linear map from the student's hidden width to the teacher's, for the cosine loss of a
    student narrower (or wider) than its teacher; None when the widths are equal. It is trained
    with the student and is no part of the student's checkpoint."""
    import torch

    student_width, teacher_width = student.config.hidden_size, teacher.config.hidden_size
    return None if student_width == teacher_width else torch.nn.Linear(student_width, teacher_width)


def load_teacher(
    settings: DistillRecipe,
    checkpoint: str,
    student_tokenizer: Any,
    *,
    task: str,
    label_names: Sequence[str] | None,
    local_only: bool,
    device: str,
) -> Any:
    """The teacher at ``checkpoint``, in eval mode on ``device`` with its parameters frozen.

    Refused with a ``ValueError`` naming the teacher when it reads text into other input ids than
    the student (the student's batches are its input), when it is not a model of ``task``, or
    when its classes are not ``label_names`` in that order."""
    import transformers

    teacher_tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint, local_files_only=local_only)
    check_shared_vocabulary(student_tokenizer, teacher_tokenizer, settings.teacher)
    try:
        teacher = getattr(transformers, TASKS[task]).from_pretrained(checkpoint, local_files_only=local_only)
    except Exception as error:
        unreadable = unreadable_weights(checkpoint, Path(checkpoint).is_dir())
        if unreadable is None:
            raise
        raise CheckpointError(f"distill.teacher {settings.teacher!r} ({checkpoint}): {unreadable}") from error
    teacher_task = detect_task(teacher.config)
    if teacher_task != task:
        raise ValueError(
            f"distill.teacher {settings.teacher!r}: {checkpoint} is a {teacher_task} model; the student is for {task}"
        )
    if label_names is not None:
        teacher_labels = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
        if teacher_labels != list(label_names):
            raise ValueError(
                f"distill.teacher {settings.teacher!r}: its classes {teacher_labels} are not the student's {list(label_names)}"
            )
    teacher.requires_grad_(False)
    teacher.eval()
    return teacher.to(device)


def check_output_vocabulary(student: Any, teacher: Any, name: str) -> None:
    """A masked language model's teacher scores the student's vocabulary, row for row."""
    student_rows, teacher_rows = (model.get_output_embeddings().weight.shape[0] for model in (student, teacher))
    if student_rows != teacher_rows:
        raise ValueError(
            f"distill.teacher {name!r}: it predicts {teacher_rows} tokens and the student {student_rows}; "
            "a masked language model's teacher must score the student's vocabulary"
        )


def check_shared_vocabulary(student_tokenizer: Any, teacher_tokenizer: Any, teacher: str) -> None:
    """The teacher reads the student's input ids: both tokenizers must give the same ids for a text."""
    student_ids = student_tokenizer(VOCABULARY_PROBE)["input_ids"]
    teacher_ids = teacher_tokenizer(VOCABULARY_PROBE)["input_ids"]
    if student_ids != teacher_ids:
        raise ValueError(
            f"distill.teacher {teacher!r}: its tokenizer reads {VOCABULARY_PROBE!r} as other input ids than the "
            f"student's ({teacher_ids[:8]}... against {student_ids[:8]}...); a teacher must share the student's vocabulary"
        )


def teacher_logits(teacher: Any, inputs: Mapping[str, Any], task: str) -> dict[str, Any]:
    """The teacher's outputs for ``inputs`` (a batch the teacher's ``forward`` accepts), without gradients."""
    import torch

    with torch.no_grad():
        outputs = teacher(**inputs)
    return {name: outputs[name].detach() for name in LOGITS[task]}


class TeacherLogitCache:
    """The teacher's logits for every training example, computed once before training.

    Examples are run through the teacher ``batch_size`` at a time, in order of length (little
    padding), each batch padded on the right; positional logits are kept for the example's own
    tokens. :meth:`batch` gives them for a training batch, padded to its length.
    """

    def __init__(
        self,
        teacher: Any,
        features: Mapping[str, Sequence[Any]],
        tokenizer: Any,
        *,
        task: str,
        inputs: frozenset[str],
        batch_size: int,
        device: str,
    ) -> None:
        lengths = [len(ids) for ids in features["input_ids"]]
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        self._task = task
        self._rows: dict[str, list[Any]] = {name: [None] * len(lengths) for name in LOGITS[task]}
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            rows = [{key: features[key][i] for key in inputs} for i in chosen]
            padded = tokenizer.pad(rows, padding_side="right", return_tensors="pt")
            outputs = teacher_logits(teacher, {key: value.to(device) for key, value in padded.items()}, task)
            for name, logits in outputs.items():
                for row, example in enumerate(chosen):
                    self._rows[name][example] = logits[row, : lengths[example]] if name in _POSITIONAL else logits[row]

    def batch(self, chosen: Sequence[int], length: int) -> dict[str, Any]:
        """The cached logits of examples ``chosen``, positional ones padded with zeros to ``length``."""
        import torch

        gathered: dict[str, Any] = {}
        for name, rows in self._rows.items():
            picked = [rows[i] for i in chosen]
            if name in _POSITIONAL:
                gathered[name] = torch.stack([torch.nn.functional.pad(row, (0, length - row.shape[0])) for row in picked])
            else:
                gathered[name] = torch.stack(picked)
        return gathered
