"""``modelperf models``: list the registry's models, with what each is built from offline."""

from __future__ import annotations

import argparse
from typing import Any

from .registry_file import command_registry


def register(commands: Any) -> None:
    """Add ``models`` to the ``modelperf`` command's subparsers."""
    models = commands.add_parser("models", help="list the registry's models")
    models.set_defaults(command=run)


def run(arguments: argparse.Namespace) -> int:
    registry = command_registry(arguments.registry)
    rows = [("name", "task", "checkpoint", "offline", "description")]
    for spec in registry:
        offline = "-"
        if spec.offline is not None:
            offline = spec.offline.architecture or spec.offline.pretrained or str(spec.offline.path)
        if spec.finetune is not None:
            offline = f"fine-tune of {spec.finetune.base} on {spec.finetune.dataset}"
        rows.append((spec.name, spec.task, spec.checkpoint or "-", offline, spec.description))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    return 0
