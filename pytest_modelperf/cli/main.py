"""The ``modelperf`` command: registry maintenance outside pytest.

    modelperf models              list the registry's models
    modelperf prepare [NAME ...]  build the offline checkpoints and fine-tune the fine-tuned
                                  models (all models by default)
    modelperf plot SWEEP          draw a sweep's plots (needs no registry)
    modelperf sweep --models ...  measure models x batch sizes x sequence lengths into the study's
                                  tables (time.csv, required_memory.csv, env.csv) and sweep.csv
    modelperf compare A.json B.json  judge run B against run A, or B against the baselines
                                  (``compare B.json``); exit 1 on a regression (needs no registry)

The registry is ``--registry PATH``, else the file ``[tool.modelperf] registry`` names in
the current directory's ``pyproject.toml``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from ..models.registry import Registry, RegistryError, load_registry, registry_from_pyproject, resolved_folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not getattr(arguments, "needs_registry", True):  # e.g. plot: a command that reads only its own input
        return int(arguments.command(arguments) or 0)
    try:
        registry = load_registry(_registry_path(arguments.registry))
        return int(arguments.command(registry, arguments) or 0)
    except RegistryError as error:
        print(f"modelperf: error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelperf", description="Model performance regression testing.")
    parser.add_argument(
        "--registry", type=Path, default=None,
        help="the model registry TOML (default: [tool.modelperf] registry in ./pyproject.toml)",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="list the registry's models")
    models.set_defaults(command=_list_models)

    prepare = commands.add_parser("prepare", help="build the offline checkpoints of registry models")
    prepare.add_argument("names", nargs="*", metavar="NAME", help="models to prepare (default: all)")
    prepare.add_argument(
        "--checkpoint-dir", type=Path, default=None, metavar="DIR",
        help="build into DIR instead of the registry's checkpoint_dir (e.g. a CI cache)",
    )
    prepare.add_argument(
        "--device", default="auto", metavar="DEVICE",
        help="where fine-tuned models are trained: auto (CUDA when present), cpu, cuda or cuda:N (default: auto)",
    )
    prepare.set_defaults(command=_prepare)

    from .plot import register as register_plot

    register_plot(commands)

    from .sweep import register as register_sweep

    register_sweep(commands)

    from .compare import register as register_compare

    register_compare(commands)
    return parser


def _registry_path(given: Path | None) -> Path:
    if given is not None:
        return given
    found = registry_from_pyproject(Path.cwd())
    if found is None:
        raise RegistryError(
            f"no model registry: pass --registry PATH or set [tool.modelperf] registry in {Path.cwd() / 'pyproject.toml'}"
        )
    return found


def _list_models(registry: Registry, arguments: argparse.Namespace) -> int:
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
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return 0


def _prepare(registry: Registry, arguments: argparse.Namespace) -> int:
    from transformers.utils import logging as transformers_logging

    from ..models.checkpoints import PrepareRefused, ensure_checkpoint_dir
    from ..models.loading import DeviceUnavailable, resolve_device
    from ..models.prepare import prepare_all

    try:
        device = resolve_device(arguments.device)
    except DeviceUnavailable as error:
        print(f"modelperf: error: --device: {error}", file=sys.stderr)
        return 2
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
    print(f"modelperf: {len(prepared)} models ready ({built} built, {len(prepared) - built} already prepared)")
    return 0


def _os_error(error: OSError) -> str:
    cause = error.strerror or str(error) or type(error).__name__
    return f"{error.filename}: {cause}" if error.filename else cause


if __name__ == "__main__":
    raise SystemExit(main())
