"""``modelperf scaling``: the command line of a data-parallel scaling measurement, registered by ``cli.main``.

    modelperf scaling --model bert-mini --nproc-per-node 1 2 [--batch-size 8] [--sequence-length 128]
                      [--steps 10] [--warmup-steps 2] [--gradient-accumulation K]
                      [--delay-sync | --compare-delay-sync] [--device cpu|cuda] [--threads auto|N]
                      [--nnodes N --node-rank R --rdzv-endpoint HOST:PORT [--rdzv-id ID] [--rdzv-backend c10d]]
                      [--output DIR] [--force] [--registry FILE]

It runs torchrun once per worker count (and variant), prints a table of samples/s, speed-up and
efficiency, and writes scaling.csv, scaling.png and scaling.json into the output folder. The
model is a registry name, a local folder or a hub id, as ``modelperf sweep`` takes them.

Exit codes: 0 measured and written (or, on a node that did not run rank 0, measured); 1 a launch
failed or the files could not be written; 2 bad arguments, before any work is done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .argument_types import integer, positive_int, thread_count

PROGRAM = "modelperf scaling"
DEFAULT_OUTPUT = Path("modelperf-scaling")
# The flag each setting is given by, for the errors ``ScalingSettingsError`` names by setting.
FLAGS: Mapping[str, str] = {
    "checkpoint": "--model",
    "nproc": "--nproc-per-node",
    "nnodes": "--nnodes",
    "node_rank": "--node-rank",
    "rdzv_backend": "--rdzv-backend",
    "rdzv_endpoint": "--rdzv-endpoint",
    "rdzv_id": "--rdzv-id",
    "batch_size": "--batch-size",
    "sequence_length": "--sequence-length",
    "steps": "--steps",
    "warmup_steps": "--warmup-steps",
    "gradient_accumulation": "--gradient-accumulation",
    "delay_sync": "--delay-sync/--compare-delay-sync",
    "variants": "--delay-sync/--compare-delay-sync",
    "device": "--device",
    "threads": "--threads",
}


class ArgumentProblem(ValueError):
    """Bad input found after parsing; the message names the argument."""


def register(commands: Any) -> None:
    """Add ``scaling`` to the ``modelperf`` command's subparsers."""
    from ..training.measurement import DEFAULT_WARMUP_STEPS
    from ..training.scaling import DEFAULT_NPROC, DEFAULT_RDZV_BACKEND, DEFAULT_RDZV_ID, DEFAULT_STEPS

    scaling = commands.add_parser(
        "scaling",
        help="data-parallel training speed-up on torchrun: samples/s, speed-up and efficiency per worker count",
        description=(
            "Train a model with DistributedDataParallel on each count of workers (torchrun, one launch per count), "
            "every worker on its own batch, and write samples/s, speed-up and efficiency over the smallest count "
            "(scaling.csv), the speed-up against linear (scaling.png) and every step's time (scaling.json)."
        ),
    )
    scaling.add_argument(
        "--model", required=True, metavar="MODEL", help="a registry name, a local checkpoint folder, or a hub id written org/name"
    )
    scaling.add_argument(
        "--nproc-per-node",
        nargs="+",
        type=positive_int,
        default=list(DEFAULT_NPROC),
        metavar="N",
        help=f"worker counts per node, one torchrun launch each (default: {' '.join(map(str, DEFAULT_NPROC))})",
    )
    scaling.add_argument(
        "--batch-size", type=positive_int, default=8, metavar="N", help="examples per worker and micro-batch (default: 8)"
    )
    scaling.add_argument(
        "--sequence-length", type=positive_int, default=128, metavar="N", help="tokens per example (default: 128)"
    )
    scaling.add_argument(
        "--steps", type=integer, default=DEFAULT_STEPS, metavar="N", help=f"timed steps (default: {DEFAULT_STEPS})"
    )
    scaling.add_argument(
        "--warmup-steps",
        type=integer,
        default=DEFAULT_WARMUP_STEPS,
        metavar="N",
        help=f"untimed steps first (default: {DEFAULT_WARMUP_STEPS})",
    )
    scaling.add_argument(
        "--gradient-accumulation",
        type=positive_int,
        default=1,
        metavar="K",
        help="micro-batches per optimizer step (default: 1)",
    )
    sync = scaling.add_mutually_exclusive_group()
    sync.add_argument(
        "--delay-sync",
        action="store_true",
        help="all-reduce the gradients once per step (no_sync on the micro-batches before the last); needs K of 2 or more",
    )
    sync.add_argument(
        "--compare-delay-sync",
        action="store_true",
        help="measure plain DDP and delayed gradient sync side by side, at each count",
    )
    scaling.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (gloo) or cuda (NCCL, one GPU per worker)")
    scaling.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        metavar="auto|N",
        help="torch intra-op threads per worker, the same in every launch: a number, or auto (the default): "
        "the usable cores shared by the largest count, at least 1",
    )
    nodes = scaling.add_argument_group("several nodes (each node runs the same command with its own --node-rank)")
    nodes.add_argument("--nnodes", type=positive_int, default=1, metavar="N", help="nodes (default: 1, torchrun --standalone)")
    nodes.add_argument("--node-rank", type=integer, default=0, metavar="R", help="this node's rank, 0 to N-1 (default: 0)")
    nodes.add_argument(
        "--rdzv-endpoint", default=None, metavar="HOST:PORT", help="the rendezvous endpoint, the same on every node"
    )
    nodes.add_argument(
        "--rdzv-id",
        default=DEFAULT_RDZV_ID,
        metavar="ID",
        help=f"the run's rendezvous id, suffixed per launch (default: {DEFAULT_RDZV_ID})",
    )
    nodes.add_argument(
        "--rdzv-backend",
        default=DEFAULT_RDZV_BACKEND,
        metavar="NAME",
        help=f"torchrun's rendezvous backend (default: {DEFAULT_RDZV_BACKEND}; static puts rank 0 on --node-rank 0)",
    )
    scaling.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"the folder the files are written into (default: ./{DEFAULT_OUTPUT})",
    )
    scaling.add_argument("--force", action="store_true", help="overwrite the scaling files already in the output folder")
    # Its own destination: a subcommand's default would overwrite ``modelperf --registry FILE scaling``.
    scaling.add_argument(
        "--registry",
        dest="scaling_registry",
        type=Path,
        default=None,
        metavar="FILE",
        help="the model registry TOML (default: modelperf --registry, else [tool.modelperf] registry in ./pyproject.toml)",
    )
    scaling.set_defaults(command=run)


def run(arguments: argparse.Namespace) -> int:
    try:
        settings = plan(arguments)
    except ArgumentProblem as problem:
        print(f"{PROGRAM}: error: {problem}", file=sys.stderr)
        return 2
    try:
        return _measure(arguments, settings)
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted; nothing was written", file=sys.stderr)
        return 130


def plan(arguments: argparse.Namespace) -> Any:
    """The checked ``ScalingSettings`` of the arguments, the model resolved to a checkpoint and task."""
    from ..core.extras import MissingExtra
    from ..models.loading import CheckpointError, DeviceUnavailable
    from ..render.scaling import ScalingOutputError, check_scaling_output, require_plots
    from ..sweep.models import REGISTERED, UnknownModel, check_models, model_kind, resolve_model
    from ..training.scaling import ScalingSettingsError, check_devices, scaling_settings

    try:
        settings = scaling_settings(
            arguments.model,
            nproc=arguments.nproc_per_node,
            batch_size=arguments.batch_size,
            sequence_length=arguments.sequence_length,
            steps=arguments.steps,
            warmup_steps=arguments.warmup_steps,
            gradient_accumulation=arguments.gradient_accumulation,
            delay_sync=arguments.delay_sync,
            compare_delay_sync=arguments.compare_delay_sync,
            device=arguments.device,
            threads=arguments.threads,
            nnodes=arguments.nnodes,
            node_rank=arguments.node_rank,
            rdzv_backend=arguments.rdzv_backend,
            rdzv_endpoint=arguments.rdzv_endpoint,
            rdzv_id=arguments.rdzv_id,
        )
    except ScalingSettingsError as error:
        raise ArgumentProblem(f"{FLAGS.get(error.argument, error.argument)}: {error.problem}") from None
    try:
        check_scaling_output(arguments.output, force=arguments.force)
        require_plots()
    except (ScalingOutputError, MissingExtra) as error:
        raise ArgumentProblem(str(error)) from None
    try:
        check_devices(settings)
    except DeviceUnavailable as error:
        raise ArgumentProblem(f"--nproc-per-node: {error}") from None
    model = arguments.model
    registered = model_kind(model) == REGISTERED
    registry, problem = _registry(arguments) if registered else (None, "")
    try:
        check_models([model], registry, argument="--model", registry_problem=problem)
        checkpoint, task = resolve_model(model, registry, device="cuda:0" if settings.device == "cuda" else "cpu")
    except (UnknownModel, CheckpointError, DeviceUnavailable) as error:
        message = str(error)
        raise ArgumentProblem(message if message.startswith("--model") else f"--model: {message}") from None
    return replace(settings, checkpoint=checkpoint, task=task, name=model if registered else "")


def _measure(arguments: argparse.Namespace, settings: Any) -> int:
    from ..render.scaling import write_scaling
    from ..training.scaling import ScalingLaunchError, run_scaling

    counts = " ".join(map(str, settings.nproc))
    plural = "" if list(settings.nproc) == [1] else "s"
    nodes = settings.rendezvous.nnodes
    where = f" on each of {nodes} nodes" if nodes > 1 else ""
    print(
        f"{PROGRAM}: {settings.name} ({settings.checkpoint}), {counts} worker{plural} per node{where}, "
        f"{settings.step_label} per worker, {settings.steps} timed steps on {settings.device}",
        flush=True,
    )
    try:
        result = run_scaling(settings, progress=lambda line: print(f"{PROGRAM}: {line}", flush=True))
    except ScalingLaunchError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"{PROGRAM}: note: {note}")
    if not result.runs:
        print(f"{PROGRAM}: this node did not run rank 0; the node that did prints and writes the results")
        return 0
    print(summary_table(result.rows))
    try:
        written = write_scaling(result, arguments.output, force=arguments.force)
    except OSError as error:
        print(f"{PROGRAM}: error: cannot write into {arguments.output}: {error}", file=sys.stderr)
        return 1
    for file in written:
        print(f"{PROGRAM}: wrote {file.path} ({file.what})")
    return 0


def summary_table(rows: Sequence[Any]) -> str:
    """One line per launch: workers, global batch, samples/s, speed-up, efficiency, median step."""
    header = ("variant", "nproc", "workers", "global batch", "samples/s", "speed-up", "efficiency", "step (ms)")
    lines = [header]
    for row in rows:
        run = row.run
        lines.append(
            (
                run.variant,
                str(run.nproc_per_node),
                str(run.world_size),
                str(run.global_batch),
                _figure(run.samples_per_second, ".1f"),
                _figure(row.speedup, ".2f"),
                _figure(None if row.efficiency is None else row.efficiency * 100, ".0f", "%"),
                _figure(run.step_ms_median, ".1f"),
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in lines)


def _figure(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, spec) + suffix


def _registry(arguments: argparse.Namespace) -> tuple[Any, str]:
    """The registry (``--registry``, else the one ./pyproject.toml names) and, without one, why."""
    from ..models.registry import RegistryError, load_registry, registry_from_pyproject

    try:
        path = arguments.scaling_registry or arguments.registry or registry_from_pyproject(Path.cwd())
        if path is None:
            return None, f"no --registry and no [tool.modelperf] registry in {Path.cwd() / 'pyproject.toml'}"
        return load_registry(path), ""
    except RegistryError as error:
        return None, str(error)
