"""Training batches from a dataset: a built-in name, a local file, a hub id or a ``datasets.Dataset``
(as ``measure_accuracy`` takes them), tokenized to the workload's shape; or batches of tensors
the caller made.

Every batch is padded to ``sequence_length`` so each step computes the same shape: its time then
reads as the workload's, comparable with a synthetic batch's and with its own baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..core.counts import counted
from ..measure.workloads import Workload, accepted_inputs
from ..models.loading import LoadedModel
from ..quality.data import DataError, describe_source, load_eval_dataset, require_columns

DEFAULT_LIMIT = 1024  # examples tokenized for a step to cycle through


def given_batches(source: Any) -> bool:
    """Whether ``source`` is batches of tensors already (a list of mappings), not a dataset."""
    return isinstance(source, Sequence) and not isinstance(source, str) and all(isinstance(item, Mapping) for item in source)


def device_batches(loaded: LoadedModel, batches: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The caller's batches on the model's device, keeping what its forward takes (labels too)."""
    if not batches:
        raise DataError("dataset: the list of batches is empty")
    accepted = accepted_inputs(loaded)
    moved = []
    for number, batch in enumerate(batches, 1):
        unknown = sorted(set(batch) - accepted)
        if unknown:
            raise DataError(
                f"dataset: batch {number} holds {', '.join(map(repr, unknown))}, which {loaded.name}'s forward does not take"
            )
        moved.append({name: tensor.to(loaded.device) for name, tensor in batch.items()})
    return moved


def dataset_batches(
    loaded: LoadedModel,
    source: Any,
    workload: Workload,
    *,
    split: str = "train",
    limit: int | None = DEFAULT_LIMIT,
    text_column: str = "text",
    text_pair_column: str | None = None,
    label_column: str = "label",
) -> list[dict[str, Any]]:
    """Full batches of ``workload.batch_size`` examples of a classification dataset, tokenized,
    padded and truncated to ``workload.sequence_length``, with their labels, on the model's device."""
    import torch

    if loaded.task != "sequence-classification":
        raise DataError(
            f"dataset: training on a dataset needs a sequence-classification model, {loaded.name} is {loaded.task}; "
            "pass a list of batches (dicts of tensors with their labels) instead"
        )
    if loaded.tokenizer is None:
        raise DataError(f"dataset: {loaded.name} has no tokenizer to tokenize {describe_source(source)} with")
    dataset = load_eval_dataset(source, split=split, limit=limit)
    columns = [text_column, label_column] + ([text_pair_column] if text_pair_column else [])
    require_columns(dataset, columns, source)
    if len(dataset) < workload.batch_size:
        raise DataError(
            f"dataset {describe_source(source)} ({split}) has {counted(len(dataset), 'example')}, "
            f"fewer than one batch of {workload.batch_size}"
        )
    pairs = (list(dataset[text_pair_column]),) if text_pair_column else ()
    encoded = loaded.tokenizer(
        list(dataset[text_column]),
        *pairs,
        padding="max_length",
        truncation=True,
        max_length=workload.sequence_length,
        return_tensors="pt",
    )
    accepted = accepted_inputs(loaded)
    labels = torch.tensor(list(dataset[label_column]))
    classes = int(getattr(loaded.config, "num_labels", 0))
    if labels.dtype.is_floating_point or int(labels.min()) < 0 or int(labels.max()) >= classes:
        raise DataError(
            f"dataset {describe_source(source)} ({split}): column {label_column!r} holds labels from {labels.min().item()} "
            f"to {labels.max().item()}; {loaded.name} has {counted(classes, 'class', 'classes')}, "
            f"so labels must be integers 0 to {classes - 1}"
        )
    full = len(dataset) // workload.batch_size * workload.batch_size
    batches = []
    for start in range(0, full, workload.batch_size):
        window = slice(start, start + workload.batch_size)
        batch = {name: tensor[window] for name, tensor in encoded.items() if name in accepted}
        batch["labels"] = labels[window]
        batches.append({name: tensor.to(loaded.device) for name, tensor in batch.items()})
    return batches
