"""The transfer set of a distillation: unlabelled examples its teacher labels for the student.

A small student fine-tuned on a few thousand labelled examples is limited by the examples more
than by their labels: what a teacher adds on the same examples is little. Distillation into
small models (TinyBERT's task distillation, for one) therefore lets the teacher label more text
of the task's kind: ``distill.unlabeled = N`` adds ``N`` texts of the dataset's kind, none of
them a training or validation text, to the examples the student learns from. They draw on the
dataset's whole vocabulary, as text of a task's kind would: phrases the labelled examples never
show (held out of the built-in training split so that validation measures generalisation) are
in them, and the student learns what the teacher, which knows them from pre-training, says of
them. They have no label (``-100``): on them the student learns the teacher's softened outputs
alone, while on the labelled ones it learns both. The fine-tune takes as many steps as it would
without them (its epochs count the labelled examples), so the student is trained for as long
as the plainly fine-tuned one, on more text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from .builtin_datasets import unlabeled_texts

NO_LABEL = -100  # the index cross-entropy ignores


def with_transfer_set(
    features: Mapping[str, Sequence[Any]], tokenizer: Any, *, dataset: str, count: int, max_length: int
) -> dict[str, list[Any]]:
    """``features`` (tokenized labelled examples) followed by ``count`` unlabelled texts of
    ``dataset``, tokenized alike, with label ``NO_LABEL``."""
    texts = unlabeled_texts(dataset, count)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    extended = {key: list(values) for key, values in features.items()}
    for key in extended:
        extended[key] += [NO_LABEL] * len(texts) if key == "labels" else list(encoded[key])
    return extended


def transfer_set_digest(dataset: str, count: int) -> str:
    """The unlabelled texts by their content (SHA-256): part of a fine-tune's cache identity, so
    that a change in how they are drawn trains the student again."""
    digest = hashlib.sha256()
    for text in unlabeled_texts(dataset, count):
        digest.update(text.encode("utf-8") + b"\n")
    return f"sha256:{digest.hexdigest()}"


def labelled_cross_entropy(logits: Any, labels: Any) -> Any:
    """The cross-entropy of the labelled rows (``labels`` not ``NO_LABEL``), averaged over them;
    0 for a batch of unlabelled rows only (where averaging over none would give NaN)."""
    import torch

    total = torch.nn.functional.cross_entropy(logits.float(), labels, ignore_index=NO_LABEL, reduction="sum")
    return total / (labels != NO_LABEL).sum().clamp(min=1)
