"""Registry model -> its offline checkpoint: built once, shipped by a package, or a folder.

An architecture recipe is built into ``<checkpoint_dir>/<name>`` with seeded stand-in weights
and its tokenizer, through ``save_pretrained``, and is loaded back like any real checkpoint;
it is rebuilt only when missing or when its recipe changed. Fine-tuned models are prepared a
layer up, by :mod:`pytest_modelperf.quality.prepare`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .checkpoints import build_checkpoint, folder_name_problem
from .fine_tune_record import FineTuneStats
from .loading import TASKS
from .registry import PRETRAINED_PROVIDERS, ModelSpec, ReferenceCount, RegistryError


@dataclass(frozen=True)
class Prepared:
    name: str
    path: Path
    built: bool  # False: it was already prepared (or needs no preparing)
    seconds: float
    stand_in: bool
    fine_tune: FineTuneStats | None = None


def offline_checkpoint(spec: ModelSpec, checkpoint_dir: Path) -> Prepared:
    """The local checkpoint of a registry model, built now if missing or out of date."""
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
        recipe.build_config(**_head(spec.task)),
        checkpoint_folder(checkpoint_dir, spec.name),
        task=spec.task,
        tokenizer=recipe.tokenizer,
        seed=recipe.seed,
    )
    return Prepared(spec.name, path, built, time.perf_counter() - started, stand_in=True)


def reference_parameter_count(spec: ModelSpec, reference: ReferenceCount) -> int:
    """Parameters of the offline architecture under the reference's head (built on the meta device)."""
    import torch
    import transformers

    if spec.offline is None or spec.offline.architecture is None:
        raise RegistryError(f"model {spec.name!r}: reference counts need an architecture recipe")
    config = spec.offline.build_config(num_labels=reference.num_labels)
    with torch.device("meta"):
        model = getattr(transformers, TASKS[reference.task]).from_config(config)
    return sum(parameter.numel() for parameter in model.parameters())


def checkpoint_folder(checkpoint_dir: Path, name: str) -> Path:
    """``checkpoint_dir/name``, for a name that is one plain folder name (``load_registry``
    checks every registry's names; this guards a ``Registry`` built in code)."""
    problem = folder_name_problem(name.removesuffix("@online"))
    if problem is not None:
        raise RegistryError(f"model {name!r}: not a plain folder name ({problem}); it would be prepared outside {checkpoint_dir}")
    return checkpoint_dir / name


def _head(task: str) -> dict[str, int]:
    # An extractive-QA head predicts a start and an end logit per token.
    return {"num_labels": 2} if task == "question-answering" else {}
