"""Registry model -> a checkpoint to load: its offline checkpoint (built once) or its hub id.

An architecture recipe is built into ``<checkpoint_dir>/<name>`` with seeded stand-in weights
and its tokenizer, through ``save_pretrained``, and is loaded back like any real checkpoint.
A fine-tuned model is trained from its base model's checkpoint (the offline one, or the hub's
when online) into ``<checkpoint_dir>/<name>`` (``<name>@online``). Each is rebuilt only when
missing or when its recipe changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..quality.finetune import FineTuneStats
from .registry import PRETRAINED_PROVIDERS, ModelSpec, ReferenceCount, Registry, RegistryError


@dataclass(frozen=True)
class Prepared:
    name: str
    path: Path
    built: bool  # False: it was already prepared (or needs no preparing)
    seconds: float
    stand_in: bool
    fine_tune: FineTuneStats | None = None


def registry_checkpoint(
    registry: Registry, name: str, *, online: bool = False, device: str = "cpu", report: Callable[[str], None] = lambda line: None
) -> str:
    """What to load for a registry model: a local directory, or with ``online`` a hub id."""
    spec = registry.model(name)
    if spec.finetune is not None:
        return str(fine_tuned_checkpoint(registry, spec, online=online, device=device, report=report).path)
    if online:
        return spec.checkpoint
    return str(offline_checkpoint(spec, registry.checkpoint_dir).path)


def fine_tuned_checkpoint(
    registry: Registry, spec: ModelSpec, *, online: bool = False, device: str = "cpu", report: Callable[[str], None] = lambda line: None
) -> Prepared:
    from ..quality.finetune import fine_tune

    assert spec.finetune is not None
    base = registry_checkpoint(registry, spec.finetune.base, online=online, device=device)
    destination = checkpoint_folder(registry.checkpoint_dir, f"{spec.name}@online" if online else spec.name)
    started = time.perf_counter()
    result = fine_tune(spec.finetune, base, destination, task=spec.task, device=device, report=report)
    return Prepared(spec.name, result.path, result.built, time.perf_counter() - started, stand_in=False, fine_tune=result.stats)


def offline_checkpoint(spec: ModelSpec, checkpoint_dir: Path) -> Prepared:
    """The local checkpoint of a registry model, built now if missing or out of date."""
    from .checkpoints import build_checkpoint

    recipe = spec.offline
    if recipe is None:
        raise RegistryError(f"model {spec.name!r} has no offline recipe; use it online (--modelperf-online)")
    if recipe.pretrained is not None:
        return Prepared(spec.name, PRETRAINED_PROVIDERS[recipe.pretrained](), False, 0.0, stand_in=False)
    if recipe.path is not None:
        if not recipe.path.is_dir():
            raise RegistryError(f"model {spec.name!r}: offline path {recipe.path} is not a directory")
        return Prepared(spec.name, recipe.path, False, 0.0, stand_in=False)
    started = time.perf_counter()
    path, built = build_checkpoint(
        recipe.build_config(**_head(spec.task)), checkpoint_folder(checkpoint_dir, spec.name),
        task=spec.task, tokenizer=recipe.tokenizer, seed=recipe.seed,
    )
    return Prepared(spec.name, path, built, time.perf_counter() - started, stand_in=True)


def prepare_all(
    registry: Registry, names: list[str] | None = None, *, device: str = "cpu", report: Callable[[str], None] = lambda line: None
) -> list[Prepared]:
    """Prepare the offline checkpoints of the named models (all by default), reporting each."""
    specs = [spec for spec in registry.select(names) if spec.offline is not None or spec.fine_tuned]
    prepared: list[Prepared] = []
    width = len(str(len(specs)))
    for index, spec in enumerate(specs, 1):
        report(f"[{index:>{width}}/{len(specs)}] {spec.name}: preparing {spec.description or spec.task} ...")
        if spec.fine_tuned:
            result = fine_tuned_checkpoint(registry, spec, device=device, report=lambda line, n=spec.name: report(f"    {n}: {line}"))
        else:
            result = offline_checkpoint(spec, registry.checkpoint_dir)
        if result.built and result.fine_tune is not None:
            stats = result.fine_tune
            state = (f"fine-tuned in {stats.seconds:.1f}s ({stats.samples_per_second:.1f} samples/s, "
                     f"peak host memory +{stats.peak_host_memory_mb:.0f} MB, final loss {stats.final_loss:.3f})")
        elif result.built:
            state = f"built in {result.seconds:.1f}s"
        elif result.stand_in or result.fine_tune is not None:
            state = "up to date"
        else:
            state = "ships offline"
        report(f"[{index:>{width}}/{len(specs)}] {spec.name}: {state} -> {result.path}")
        prepared.append(result)
    return prepared


def reference_parameter_count(spec: ModelSpec, reference: ReferenceCount) -> int:
    """Parameters of the offline architecture under the reference's head (built on the meta device)."""
    import torch
    import transformers

    from .loading import TASKS

    if spec.offline is None or spec.offline.architecture is None:
        raise RegistryError(f"model {spec.name!r}: reference counts need an architecture recipe")
    config = spec.offline.build_config(num_labels=reference.num_labels)
    with torch.device("meta"):
        model = getattr(transformers, TASKS[reference.task]).from_config(config)
    return sum(parameter.numel() for parameter in model.parameters())


def checkpoint_folder(checkpoint_dir: Path, name: str) -> Path:
    """``checkpoint_dir/name``, for a name that is one plain folder name (``load_registry``
    checks every registry's names; this guards a ``Registry`` built in code)."""
    from .checkpoints import folder_name_problem

    problem = folder_name_problem(name.removesuffix("@online"))
    if problem is not None:
        raise RegistryError(f"model {name!r}: not a plain folder name ({problem}); it would be prepared outside {checkpoint_dir}")
    return checkpoint_dir / name


def _head(task: str) -> dict[str, int]:
    # An extractive-QA head predicts a start and an end logit per token.
    return {"num_labels": 2} if task == "question-answering" else {}
