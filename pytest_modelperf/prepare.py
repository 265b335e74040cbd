"""Registry model -> a checkpoint to load: its offline checkpoint (built once) or its hub id.

An architecture recipe is built into ``<checkpoint_dir>/<name>`` with seeded stand-in weights
and its tokenizer, through ``save_pretrained``, and is loaded back like any real checkpoint.
It is rebuilt only when missing or when its recipe changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .registry import PRETRAINED_PROVIDERS, ModelSpec, Registry, ReferenceCount, RegistryError


@dataclass(frozen=True)
class Prepared:
    name: str
    path: Path
    built: bool  # False: it was already prepared (or needs no preparing)
    seconds: float
    stand_in: bool


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
        recipe.build_config(**_head(spec.task)), checkpoint_dir / spec.name,
        task=spec.task, tokenizer=recipe.tokenizer, seed=recipe.seed,
    )
    return Prepared(spec.name, path, built, time.perf_counter() - started, stand_in=True)


def prepare_all(
    registry: Registry, names: list[str] | None = None, *, report: Callable[[str], None] = lambda line: None
) -> list[Prepared]:
    """Prepare the offline checkpoints of the named models (all by default), reporting each."""
    specs = [spec for spec in registry.select(names) if spec.offline is not None]
    prepared: list[Prepared] = []
    width = len(str(len(specs)))
    for index, spec in enumerate(specs, 1):
        report(f"[{index:>{width}}/{len(specs)}] {spec.name}: preparing {spec.description or spec.task} ...")
        result = offline_checkpoint(spec, registry.checkpoint_dir)
        if result.built:
            state = f"built in {result.seconds:.1f}s"
        elif result.stand_in:
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


def _head(task: str) -> dict[str, int]:
    # An extractive-QA head predicts a start and an end logit per token.
    return {"num_labels": 2} if task == "question-answering" else {}
