"""What a checkpoint folder fine-tuned here says about itself: its recipe and its statistics.

A fine-tune writes ``modelperf_finetune.json`` beside the weights: the recipe (which registry
model it started from, the built-in dataset, the hyperparameters, the teacher it was distilled
from if any), what identifies the inputs (base and teacher weights, dataset version,
transformers version), and the fine-tune's time, samples/s, peak memory and final loss. The
registry parses recipes into :class:`FineTuneRecipe`; the loader, the reports and the folder
checks read the record back through this module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FINETUNE_MARKER = "modelperf_finetune.json"
# The keys of a complete record, as every version of modelperf wrote it.
RECORD_KEYS = frozenset({"recipe", "base_checkpoint", "task", "dataset_version", "transformers", "stats"})


@dataclass(frozen=True)
class DistillRecipe:
    """Knowledge distillation during a fine-tune: the student also learns the teacher's outputs.

    The loss is ``alpha`` times the hard-label loss, plus ``cosine`` times the cosine distance
    between the student's and the teacher's last hidden states (masked language models only),
    plus the rest, ``1 - alpha - cosine``, times the temperature-softened KL divergence from the
    teacher's outputs scaled by ``temperature**2`` (see :mod:`pytest_modelperf.quality.distill`).
    """

    teacher: str  # a registry model fine-tuned for the same task (and labels)
    temperature: float = 2.0
    alpha: float = 0.5  # the weight of the hard-label loss; 1 - alpha - cosine weighs the teacher's
    # Run the teacher once over the training examples before training and reuse its logits,
    # instead of a teacher forward pass on every batch of every epoch.
    cache_teacher_logits: bool = False
    cosine: float = 0.0  # the weight of the hidden-state cosine loss (masked language models)
    # Unlabelled texts of the dataset the teacher labels for the student (classification; see
    # quality.transfer_set); the fine-tune takes as many steps as without them.
    unlabeled: int = 0


@dataclass(frozen=True)
class FineTuneRecipe:
    """How a registry model is fine-tuned: from which model, on which built-in dataset, how."""

    base: str  # the registry model it starts from
    dataset: str  # a built-in dataset (see fine_tune_datasets)
    epochs: float = 2.0
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    doc_stride: int = 32  # question answering: overlap between windows of a long context
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0
    limit: int | None = None  # train on the first N examples only
    group_by_length: bool = True  # batch windows of similar length together: less padding to compute
    # Parameter-name prefixes, under the base model, that keep their pretrained values
    # ("embeddings", "encoder.layer.0"): nothing below the lowest trained layer needs a backward pass.
    freeze: tuple[str, ...] = ()
    dropout: float | None = None  # every dropout probability of the config, for the fine-tune
    distill: DistillRecipe | None = None  # learn from a teacher's outputs too


def recipe_record(recipe: FineTuneRecipe) -> dict[str, Any]:
    """The recipe as its record keeps it; without ``distill`` when there is none, and without its
    ``cosine`` or ``unlabeled`` when 0, so that a recipe without them is recorded (and its cached
    fine-tune identified) as before they existed."""
    record = asdict(recipe)
    if record["distill"] is None:
        del record["distill"]
    else:
        for key in ("cosine", "unlabeled"):
            if record["distill"][key] == 0:
                del record["distill"][key]
    return record


@dataclass(frozen=True)
class FineTuneStats:
    seconds: float
    samples_per_second: float
    examples: int
    steps: int
    final_loss: float
    peak_host_memory_mb: float
    peak_gpu_memory_mb: float | None
    device: str
    # On the CPU: the machine's speed reference (ms per run, see measure/calibration) timed
    # through the fine-tune, and the reference's identity, so a check judges its time at the
    # speed the machine had then. Empty on CUDA, and in records written before it existed.
    speed_reference_ms: tuple[float, ...] = ()
    speed_reference: str | None = None


def fine_tune_stats(checkpoint: str | os.PathLike[str]) -> FineTuneStats | None:
    """The recorded statistics of a checkpoint fine-tuned here, or None for any other checkpoint."""
    return recorded_stats(read_fine_tune_record(Path(checkpoint)))


def fine_tune_provenance(checkpoint: str | os.PathLike[str]) -> str | None:
    """'fine-tuned here on <dataset> from <base>' for a checkpoint fine-tuned here, 'distilled here
    from <teacher> on <dataset> from <base>' for one distilled here."""
    recipe = (read_fine_tune_record(Path(checkpoint)) or {}).get("recipe")
    if not isinstance(recipe, dict) or "dataset" not in recipe or "base" not in recipe:
        return None
    distill = recipe.get("distill")
    if isinstance(distill, dict) and "teacher" in distill:
        return f"distilled here from {distill['teacher']} on the built-in {recipe['dataset']} train split from {recipe['base']}"
    return f"fine-tuned here on the built-in {recipe['dataset']} train split from {recipe['base']}"


def recorded_fine_tune(checkpoint: str | os.PathLike[str]) -> bool:
    """Whether ``checkpoint`` holds a complete fine-tune record, as every version of modelperf wrote it."""
    payload = read_fine_tune_record(Path(checkpoint))
    return payload is not None and payload.keys() >= RECORD_KEYS and recorded_stats(payload) is not None


def read_fine_tune_record(checkpoint: Path) -> dict[str, Any] | None:
    """The fine-tune record beside a checkpoint fine-tuned here; None when absent or unreadable."""
    marker = checkpoint / FINETUNE_MARKER
    if not marker.is_file():
        return None
    try:
        payload = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def recorded_stats(payload: Mapping[str, Any] | None) -> FineTuneStats | None:
    """The statistics a fine-tune record holds; None when it holds none that read as such."""
    try:
        if payload is None:
            return None
        recorded = dict(payload["stats"])
        recorded["speed_reference_ms"] = tuple(recorded.get("speed_reference_ms", ()))
        return FineTuneStats(**recorded)
    except (KeyError, TypeError, ValueError):
        return None
