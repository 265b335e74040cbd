"""``modelperf prepare [NAME ...]``: build the registry's offline checkpoints and fine-tune its
fine-tuned models (all models by default), one progress line per model.

    modelperf prepare                              every model, into the registry's checkpoint_dir
    modelperf prepare bert minilm-topics           only these
    modelperf prepare --checkpoint-dir DIR         into DIR instead (e.g. a CI cache)

Exit status: 0 every model ready; 1 writing failed part way (a full disk); 2 bad input, or a
folder modelperf will not replace.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..core.counts import counted
from ..models.checkpoints import PrepareRefused, ensure_checkpoint_dir
from ..models.loading import DeviceUnavailable, resolve_device
from ..models.registry import resolved_folder
from ..quality.prepare import prepare_all
from .registry_file import command_registry


def register(commands: Any) -> None:
    """Add ``prepare`` to the ``modelperf`` command's subparsers."""
    prepare = commands.add_parser("prepare", help="build the offline checkpoints of registry models")
    prepare.add_argument("names", nargs="*", metavar="NAME", help="models to prepare (default: all)")
    prepare.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="build into DIR instead of the registry's checkpoint_dir (e.g. a CI cache)",
    )
    prepare.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="where fine-tuned models are trained: auto (CUDA when present), cpu, cuda or cuda:N (default: auto)",
    )
    prepare.set_defaults(command=run)


def run(arguments: argparse.Namespace) -> int:
    registry = command_registry(arguments.registry)
    try:
        device = resolve_device(arguments.device)
    except DeviceUnavailable as error:
        print(f"modelperf: error: --device: {error}", file=sys.stderr)
        return 2
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # one line per model says more than a bar per shard
    registry.select(arguments.names or None)  # unknown names fail before any work
    if arguments.checkpoint_dir is not None:
        registry = dataclasses.replace(registry, checkpoint_dir=resolved_folder(arguments.checkpoint_dir, "--checkpoint-dir"))
    try:
        ensure_checkpoint_dir(registry.checkpoint_dir)
        print(f"modelperf: preparing offline checkpoints from {registry.path} into {registry.checkpoint_dir}", flush=True)
        prepared = prepare_all(registry, arguments.names or None, device=device, report=lambda line: print(line, flush=True))
    except PrepareRefused as error:
        print(f"modelperf: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a folder that turned read-only half way
        print(f"modelperf: error: preparing into {registry.checkpoint_dir} failed: {_os_error(error)}", file=sys.stderr)
        return 1
    built = sum(1 for result in prepared if result.built)
    print(f"modelperf: {counted(len(prepared), 'model')} ready ({built} built, {len(prepared) - built} already prepared)")
    return 0


def _os_error(error: OSError) -> str:
    cause = error.strerror or str(error) or type(error).__name__
    return f"{error.filename}: {cause}" if error.filename else cause
