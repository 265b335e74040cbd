"""Local checkpoints built offline from an architecture config and a real tokenizer.

The weights are freshly initialised (seeded, so the files are reproducible) and flagged as a
stand-in by a marker file that the loader reads: their latency and memory are those of the
architecture, their accuracy is meaningless. A checkpoint is rebuilt only when missing or
when its recipe (config, task, tokenizer, seed) changed.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .loading import STAND_IN_MARKER, TASKS
from .offline_tokenizers import offline_tokenizer, tokenizer_recipe


def build_checkpoint(
    config: Any, destination: Path, *, task: str, tokenizer: str | Path | None = None, seed: int = 0
) -> tuple[Path, bool]:
    """Save a seeded, freshly initialised model of ``config`` and a tokenizer to ``destination``.

    ``tokenizer`` names an offline tokenizer (see :mod:`.offline_tokenizers`) or is a
    directory holding one. Returns the directory and whether it was (re)built just now.
    """
    import torch
    import transformers

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    recipe = {
        "config": config.to_diff_dict(),
        "task": task,
        "tokenizer": _tokenizer_recipe(tokenizer),
        "seed": seed,
        "transformers": transformers.__version__,
    }
    marker = destination / STAND_IN_MARKER
    if marker.exists():
        try:
            if json.loads(marker.read_text()) == json.loads(json.dumps(recipe)):
                return destination, False
        except (OSError, json.JSONDecodeError):
            pass  # an unreadable marker means an unknown recipe: rebuild
    def write(staging: Path) -> None:
        torch.manual_seed(seed)
        model = getattr(transformers, TASKS[task]).from_config(copy.deepcopy(config))  # saving edits the config
        model.save_pretrained(staging)
        if tokenizer is not None:
            _tokenizer(tokenizer).save_pretrained(staging)
        (staging / STAND_IN_MARKER).write_text(json.dumps(recipe, indent=2, sort_keys=True) + "\n")

    write_through_staging(destination, write)
    return destination, True


def write_through_staging(destination: Path, write: Callable[[Path], None]) -> None:
    """Fill a fresh folder beside ``destination`` with ``write``, then swap it in whole: a
    checkpoint is never half-written, and a failure leaves the previous one in place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        write(staging)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _tokenizer_recipe(tokenizer: str | Path | None) -> str | None:
    if tokenizer is None:
        return None
    return str(tokenizer) if isinstance(tokenizer, Path) else tokenizer_recipe(tokenizer)


def _tokenizer(tokenizer: str | Path) -> Any:
    if isinstance(tokenizer, Path):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    return offline_tokenizer(tokenizer)
