"""Fine-tune a checkpoint on a built-in dataset, measure the fine-tune, and cache the result.

A plain PyTorch loop (AdamW, linear warm-up and decay, dynamic padding) rather than the
``Trainer``: it needs nothing beyond torch and transformers and leaves the timed region to
us. The result is saved with ``save_pretrained`` through a staging folder (a half-written
checkpoint is never left behind, and only a folder modelperf made is ever replaced: see
:mod:`..models.checkpoints`) together with ``modelperf_finetune.json`` (see
:mod:`..models.fine_tune_record`): the recipe, and the fine-tune's time, samples/s, peak host
memory, peak GPU memory on CUDA, and final loss. A checkpoint is fine-tuned again only when
missing or when its recipe, its inputs (the teacher's weights among them when it is distilled,
see :mod:`.distill`) or the torch version or device kind changed.

A masked language model (task ``masked-lm``) is trained on a built-in text corpus with BERT's
masking, drawn anew on every step (see :mod:`.masked_lm`), and distilled with DistilBERT's three
losses.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..measure.baseline_keys import device_kind
from ..models.checkpoints import adopt_older, check_replaceable, intact, preparing, write_through_staging
from ..models.dataset_catalogue import BUILTIN_DATASETS
from ..models.fine_tune_record import (
    FINETUNE_MARKER,
    DistillRecipe,
    FineTuneRecipe,
    FineTuneStats,
    read_fine_tune_record,
    recipe_record,
    recorded_stats,
)
from ..models.loading import TASKS, CheckpointError, hub_offline, unreadable_weights
from .builtin_datasets import builtin_dataset
from .masked_lm import IGNORED, MASKING, TokenMasker, masked_lm_features, masked_lm_outputs
from .transfer_set import labelled_cross_entropy, transfer_set_digest, with_transfer_set


@dataclass(frozen=True)
class FineTuned:
    path: Path
    built: bool
    stats: FineTuneStats


def fine_tune(
    recipe: FineTuneRecipe,
    base_checkpoint: str,
    destination: Path,
    *,
    task: str,
    teacher_checkpoint: str | None = None,
    device: str = "cpu",
    report: Callable[[str], None] = lambda line: None,
) -> FineTuned:
    """The fine-tuned checkpoint at ``destination``, trained now unless an identical recipe is cached.

    A recipe that distils (``recipe.distill``) learns from the teacher at ``teacher_checkpoint``.
    The cache holds for the same recipe, base (and teacher) weights, dataset version,
    transformers and torch versions and device kind: a torch upgrade or a move from the CPU to a
    GPU fine-tunes again, so that the fine-tune's recorded time and memory are this setup's."""
    import torch
    import transformers

    if recipe.dataset not in BUILTIN_DATASETS:
        raise ValueError(f"fine-tune dataset {recipe.dataset!r} is not one of {', '.join(BUILTIN_DATASETS)}")
    dataset = BUILTIN_DATASETS[recipe.dataset]
    if dataset.task != task:
        raise ValueError(f"dataset {recipe.dataset!r} is for {dataset.task}, the model is for {task}")
    if (recipe.distill is None) != (teacher_checkpoint is None):
        raise ValueError(
            f"a recipe distilled from {recipe.distill.teacher!r} needs its teacher's checkpoint"
            if recipe.distill is not None
            else "a teacher checkpoint is given for a recipe without distill"
        )
    if recipe.distill is not None:
        _check_distill_for_task(recipe.distill, task)
    identity: dict[str, Any] = {
        "recipe": recipe_record(recipe),
        "base_checkpoint": _base_identity(base_checkpoint),
        "task": task,
        "dataset_version": dataset.version,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": device_kind(device),
    }
    if teacher_checkpoint is not None:
        identity["teacher_checkpoint"] = _base_identity(teacher_checkpoint)
    if recipe.distill is not None and recipe.distill.unlabeled:
        identity["unlabeled_texts"] = transfer_set_digest(recipe.dataset, recipe.distill.unlabeled)
    if task == "masked-lm":
        identity["masking"] = MASKING
    with preparing(destination):
        cached = _cached(destination, identity)
        if cached is not None and intact(destination):
            adopt_older(destination, kind="fine-tune")
            return FineTuned(destination, False, cached)
        check_replaceable(destination)  # before minutes of training, not after

        model, tokenizer, stats = _train(
            recipe, base_checkpoint, task=task, device=device, report=report, teacher_checkpoint=teacher_checkpoint
        )

        def write(staging: Path) -> None:
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            payload = {**identity, "stats": asdict(stats)}
            (staging / FINETUNE_MARKER).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")

        write_through_staging(destination, write, kind="fine-tune")
    return FineTuned(destination, True, stats)


def _check_distill_for_task(settings: DistillRecipe, task: str) -> None:
    if task == "masked-lm" and settings.cache_teacher_logits:
        raise ValueError(
            "distill.cache_teacher_logits: a masked-lm student's tokens are masked at random on every step, "
            "so the teacher's logits cannot be computed ahead"
        )
    if task != "masked-lm" and settings.cosine:
        raise ValueError(f"distill.cosine: the hidden-state cosine loss distils masked-lm models, not {task} ones")
    if task != "sequence-classification" and settings.unlabeled:
        raise ValueError(f"distill.unlabeled: unlabelled texts are labelled by sequence-classification teachers, not {task} ones")


def _base_identity(base_checkpoint: str) -> str:
    """The base (or teacher) checkpoint by its weights, not its place: a cache restored into
    another folder (another clone, a CI cache) is still valid, and one rebuilt differently is not."""
    path = Path(base_checkpoint)
    weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")) if path.is_dir() else []
    if not weights:
        return base_checkpoint  # a hub id: its name is its identity
    digest = hashlib.sha256()
    for file in weights:
        digest.update(file.name.encode())
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _cached(destination: Path, identity: Mapping[str, Any]) -> FineTuneStats | None:
    payload = read_fine_tune_record(destination)
    if payload is None or {key: payload.get(key) for key in identity} != json.loads(json.dumps(identity)):
        return None
    return recorded_stats(payload)


def _train(
    recipe: FineTuneRecipe,
    base_checkpoint: str,
    *,
    task: str,
    device: str,
    report: Callable[[str], None],
    teacher_checkpoint: str | None = None,
) -> tuple[Any, Any, FineTuneStats]:
    import torch
    import transformers

    from ..measure.calibration import ReferenceClock, cached_reference_work, reference_identity
    from ..measure.memory import HostMemoryTracker
    from .distill import (
        TeacherLogitCache,
        check_output_vocabulary,
        distillation_loss,
        hidden_projection,
        load_teacher,
        teacher_logits,
    )

    local_only = Path(base_checkpoint).is_dir() or hub_offline()
    tokenizer = transformers.AutoTokenizer.from_pretrained(base_checkpoint, local_files_only=local_only)
    train = builtin_dataset(recipe.dataset, "train")
    if recipe.limit is not None:
        train = train.select(range(min(recipe.limit, len(train))))
    names = train.features["label"].names if task == "sequence-classification" else None
    teacher = None
    if recipe.distill is not None:
        assert teacher_checkpoint is not None
        teacher = load_teacher(
            recipe.distill,
            teacher_checkpoint,
            tokenizer,
            task=task,
            label_names=names,
            local_only=Path(teacher_checkpoint).is_dir() or hub_offline(),
            device=device,
        )
    # Seeded after the teacher is loaded: the student starts, and draws its dropout, as it
    # would without one.
    torch.manual_seed(recipe.seed)
    head: dict[str, Any] = {}
    if names is not None:
        head = {"num_labels": len(names), "id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}
    if recipe.dropout is not None:
        config = transformers.AutoConfig.from_pretrained(base_checkpoint, local_files_only=local_only)
        head.update(dropout_settings(config, recipe.dropout))
    # The load report lists the new task head as missing weights: expected before a fine-tune.
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        model = getattr(transformers, TASKS[task]).from_pretrained(
            base_checkpoint, local_files_only=local_only, ignore_mismatched_sizes=True, **head
        )
    except Exception as error:
        unreadable = unreadable_weights(base_checkpoint, Path(base_checkpoint).is_dir())
        if unreadable is None:
            raise
        raise CheckpointError(f"fine-tune base {base_checkpoint!r}: {unreadable}") from error
    finally:
        transformers.logging.set_verbosity(verbosity)
    freeze_parameters(model, recipe.freeze)
    model.to(device)
    model.train()
    masker = TokenMasker(tokenizer, model.config.vocab_size, recipe.seed) if task == "masked-lm" else None
    projection = None
    if task == "masked-lm" and teacher is not None and recipe.distill is not None:
        check_output_vocabulary(model, teacher, recipe.distill.teacher)
        if recipe.distill.cosine:
            projection = hidden_projection(model, teacher)
    if projection is not None:
        projection.to(device)
        projection.train()
    if task == "sequence-classification":
        features = _classification_features(tokenizer, train, recipe)
    elif task == "masked-lm":
        features = masked_lm_features(tokenizer, train["text"], recipe.max_length)
    else:
        features = _qa_features(tokenizer, train, recipe)
    accepted = set(_forward_parameters(model))
    teacher_takes = set(_forward_parameters(teacher)) - _TARGETS if teacher is not None else set()
    # The teacher is given what its forward takes, which may be more than the student's (BERT's
    # token type ids beside DistilBERT).
    features = {key: value for key, value in features.items() if key in accepted | teacher_takes}
    teacher_inputs = frozenset(teacher_takes & features.keys())
    labelled = len(next(iter(features.values())))
    transfer = recipe.distill.unlabeled if recipe.distill is not None else 0
    if transfer:
        features = with_transfer_set(features, tokenizer, dataset=recipe.dataset, count=transfer, max_length=recipe.max_length)
    count = len(next(iter(features.values())))
    # Epochs count the labelled examples: unlabelled ones make a step's batch, not more steps.
    steps_per_epoch = math.ceil(labelled / recipe.batch_size)
    total_steps = max(1, math.ceil(steps_per_epoch * recipe.epochs))
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    groups = _parameter_groups(model, recipe.weight_decay)
    if projection is not None:
        # Trained with the student, never saved: only the cosine loss uses it.
        trained += list(projection.parameters())
        groups[0]["params"].append(projection.weight)
        groups[1]["params"].append(projection.bias)
    optimizer = torch.optim.AdamW(groups, lr=recipe.learning_rate)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, int(recipe.warmup_ratio * total_steps), total_steps)

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    clock = ReferenceClock(cached_reference_work()) if device == "cpu" else None
    every = max(1, total_steps // 10)
    clock_seconds = 0.0
    losses: list[float] = []
    started = time.perf_counter()
    with HostMemoryTracker() as host:
        cache = None
        if teacher is not None and recipe.distill is not None and recipe.distill.cache_teacher_logits:
            cache = TeacherLogitCache(
                teacher, features, tokenizer, task=task, inputs=teacher_inputs, batch_size=recipe.batch_size, device=device
            )
        for step, (chosen, batch) in enumerate(_indexed_batches(features, recipe, total_steps, tokenizer), 1):
            if clock is not None and (step - 1) % every == 0:
                clock_started = time.perf_counter()
                clock()
                clock_seconds += time.perf_counter() - clock_started
            if masker is not None:
                batch["input_ids"], batch["labels"] = masker(batch["input_ids"], batch["attention_mask"], step)
            batch = {key: value.to(device) for key, value in batch.items()}
            if masker is not None:
                loss = _masked_lm_loss(model, batch, accepted, recipe.distill, teacher, teacher_inputs, projection)
            else:
                outputs = model(**{key: value for key, value in batch.items() if key in accepted})
                loss = labelled_cross_entropy(outputs.logits, batch["labels"]) if transfer else outputs.loss
                if recipe.distill is not None:
                    if cache is not None:
                        targets = cache.batch(chosen, batch["input_ids"].shape[1])
                    else:
                        targets = teacher_logits(teacher, {key: batch[key] for key in teacher_inputs}, task)
                    loss = distillation_loss(loss, outputs, targets, recipe.distill, batch.get("attention_mask"))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            if step % every == 0 or step == total_steps:
                report(f"step {step}/{total_steps}, loss {sum(losses[-20:]) / len(losses[-20:]):.3f}")
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    # The reference's own runs are not part of the fine-tune.
    seconds = time.perf_counter() - started - clock_seconds
    assert host.result is not None
    model.eval()
    samples = min(total_steps * recipe.batch_size, count * math.ceil(recipe.epochs))
    stats = FineTuneStats(
        seconds=round(seconds, 3),
        samples_per_second=round(samples / seconds, 3),
        examples=count,
        steps=total_steps,
        final_loss=round(sum(losses[-20:]) / len(losses[-20:]), 5),
        peak_host_memory_mb=round(host.result.increase_bytes / 1e6, 3),
        peak_gpu_memory_mb=round(torch.cuda.max_memory_allocated(device) / 1e6, 3) if device.startswith("cuda") else None,
        device=device,
        speed_reference_ms=tuple(round(run * 1e3, 4) for run in clock.seconds) if clock is not None else (),
        speed_reference=reference_identity() if clock is not None else None,
    )
    return model, tokenizer, stats


def _masked_lm_loss(
    model: Any,
    batch: Mapping[str, Any],
    accepted: set[str],
    settings: DistillRecipe | None,
    teacher: Any | None,
    teacher_inputs: frozenset[str],
    projection: Any | None,
) -> Any:
    """The masked tokens' cross-entropy, or with ``settings`` DistilBERT's three losses."""
    import torch

    from .distill import masked_lm_distillation_loss

    labels = batch["labels"]
    predicted = labels != IGNORED
    inputs = {key: value for key, value in batch.items() if key in accepted and key != "labels"}
    student = masked_lm_outputs(model, inputs, predicted, labels)
    if settings is None:
        return student.loss
    with torch.no_grad():
        taught = masked_lm_outputs(teacher, {key: batch[key] for key in teacher_inputs}, predicted)
    hidden = projection(student.hidden) if projection is not None else student.hidden
    return masked_lm_distillation_loss(
        student.loss, student.logits, taught.logits, hidden, taught.hidden, batch["attention_mask"], settings
    )


def _classification_features(tokenizer: Any, train: Any, recipe: FineTuneRecipe) -> dict[str, list[Any]]:
    encoded = tokenizer(list(train["text"]), truncation=True, max_length=recipe.max_length)
    return {**{key: list(value) for key, value in encoded.items()}, "labels": list(train["label"])}


def _qa_features(tokenizer: Any, train: Any, recipe: FineTuneRecipe) -> dict[str, list[Any]]:
    from .qa import QaSettings, training_features

    settings = QaSettings(max_length=recipe.max_length, doc_stride=recipe.doc_stride)
    return training_features(tokenizer, list(train["question"]), list(train["context"]), list(train["answers"]), settings)


def _batches(
    features: Mapping[str, Sequence[Any]], recipe: FineTuneRecipe, total_steps: int, tokenizer: Any
) -> Iterator[dict[str, Any]]:
    """Shuffled batches, reshuffled each epoch (seeded), padded per batch, for ``total_steps`` steps."""
    for _, batch in _indexed_batches(features, recipe, total_steps, tokenizer):
        yield batch


def _indexed_batches(
    features: Mapping[str, Sequence[Any]], recipe: FineTuneRecipe, total_steps: int, tokenizer: Any
) -> Iterator[tuple[list[int], dict[str, Any]]]:
    """:func:`_batches`, each with the indices of the examples it holds."""
    import torch

    rng = random.Random(recipe.seed)
    lengths = [len(ids) for ids in features["input_ids"]]
    if not lengths:
        raise ValueError(f"the {recipe.dataset!r} training split gave no examples to fine-tune on")
    produced = 0
    while True:
        for chosen in _epoch_batches(lengths, recipe, rng):
            rows = [{key: values[i] for key, values in features.items() if key not in _TARGETS} for i in chosen]
            # Right padding whatever the tokenizer's side: answer positions count from the window's start.
            batch = dict(tokenizer.pad(rows, padding_side="right", return_tensors="pt"))
            for key in _TARGETS & features.keys():
                batch[key] = torch.tensor([features[key][i] for i in chosen])
            yield chosen, batch
            produced += 1
            if produced == total_steps:
                return


def _epoch_batches(lengths: Sequence[int], recipe: FineTuneRecipe, rng: random.Random) -> list[list[int]]:
    """One epoch's batches of example indices, in a seeded random order.

    With ``group_by_length`` the shuffled examples are sorted by length within pools of
    ``_POOL_BATCHES`` batches before they are cut into batches, and the batches are shuffled
    again: each batch holds examples of similar length (little padding), while which examples
    meet in a batch, and the order of the batches, stay random.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    size = recipe.batch_size
    if not recipe.group_by_length:
        return [order[start : start + size] for start in range(0, len(order), size)]
    pool = size * _POOL_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        ranked = sorted(order[start : start + pool], key=lengths.__getitem__, reverse=True)
        batches.extend(ranked[i : i + size] for i in range(0, len(ranked), size))
    rng.shuffle(batches)
    return batches


_POOL_BATCHES = 50
_TARGETS = frozenset({"labels", "start_positions", "end_positions"})


def _forward_parameters(model: Any) -> list[str]:
    import inspect

    return list(inspect.signature(model.forward).parameters)


def dropout_settings(config: Any, probability: float) -> dict[str, float]:
    """Config overrides that set every dropout probability the architecture has to ``probability``
    (BERT's ``hidden_dropout_prob``, DistilBERT's ``dropout`` and ``attention_dropout``, ...)."""
    return {
        key: probability
        for key, value in config.to_dict().items()
        if key.endswith(("dropout", "dropout_prob")) and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def freeze_parameters(model: Any, prefixes: Sequence[str]) -> int:
    """Stop training the parameters under ``prefixes``, named from the base model ("embeddings",
    "encoder.layer.0") or from the whole model ("bert.embeddings"); returns how many were frozen."""
    if not prefixes:
        return 0
    base = f"{model.base_model_prefix}."
    unmatched = set(prefixes)
    frozen = 0
    for name, parameter in model.named_parameters():
        relative = name.removeprefix(base)
        matched = [prefix for prefix in prefixes if any(n == prefix or n.startswith(prefix + ".") for n in (name, relative))]
        if matched:
            parameter.requires_grad_(False)
            frozen += parameter.numel()
            unmatched.difference_update(matched)
    if unmatched:
        modules = sorted({name.removeprefix(base).split(".")[0] for name, _ in model.named_parameters()})
        raise ValueError(
            f"finetune.freeze: {sorted(unmatched)[0]!r} names no parameters of {type(model).__name__} "
            f"(its modules: {', '.join(modules)})"
        )
    if not any(parameter.requires_grad for parameter in model.parameters()):
        raise ValueError("finetune.freeze leaves no parameter to train")
    return frozen


def _parameter_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weights, not on biases and normalisation parameters (as BERT was trained).
    Frozen parameters are left out."""
    decayed: list[Any] = []
    plain: list[Any] = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (plain if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name else decayed).append(parameter)
    return [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
