"""``modelperf sweep``: the command line of a sweep, registered by ``cli.main``.

    modelperf sweep --models bert-tiny ./my-ckpt org/hub-id --batch-sizes 1 8 32
                    --sequence-lengths 32 128 --output results/ [--device auto|cpu|cuda[:N]]
                    [--dtype float32|float16|bfloat16] [--measures time throughput memory]
                    [--mode inference|training [--gradient-accumulation N] [--autocast bf16|fp16]]
                    [--largest-batch [--max-batch N] [--memory-budget MB]] [--force] [--no-progress]

``--mode training`` measures one optimizer step per cell instead of a forward pass.

Exit codes: 0 when every cell was measured, skipped or ran out of memory; 1 when a cell (or a
largest-batch search) failed with an error; 2 for bad arguments, before any work is done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..core.counts import counted
from ..core.timing import TimingError, TimingOptions
from ..measure.cell import MEASURE_GROUPS
from ..measure.threads import pin_threads
from ..sweep.modes import INFERENCE, MODES, TRAINING
from ..training.step import autocast_dtype
from .argument_types import integer, number, positive_int, positive_number, thread_count

DEFAULT_MAX_BATCH = 4096
# The flags that bad grid input is reported under.
CLI_ARGUMENTS: Mapping[str, str] = {
    "models": "--models",
    "batch_sizes": "--batch-sizes",
    "sequence_lengths": "--sequence-lengths",
}


class ArgumentProblem(ValueError):
    """Bad input found after parsing; the message names the argument."""


def register(commands: Any) -> None:
    """Add ``sweep`` to the ``modelperf`` command's subparsers."""
    defaults = TimingOptions()
    sweep = commands.add_parser(
        "sweep",
        help="measure models x batch sizes x sequence lengths into the study's tables and a tidy sweep.csv",
        description=(
            "Measure every cell of models x batch sizes x sequence lengths (latency, throughput, host and GPU memory) "
            "and write time.csv, throughput.csv, required_memory.csv, memory_<measure>.csv, env.csv, sweep.csv and "
            "sweep.json into the output folder. A cell that runs out of memory is N/A; a failing cell is recorded and "
            "the sweep goes on (exit code 1 at the end). With --mode training each cell is one optimizer step "
            "(forward with the task's loss, backward, AdamW) of a fresh copy of the model, and the study-shaped "
            "tables are named train_time.csv, train_throughput.csv, train_required_memory.csv and "
            "memory_train_<measure>.csv."
        ),
    )
    sweep.add_argument(
        "--models",
        nargs="+",
        required=True,
        metavar="MODEL",
        help="registry names, local checkpoint folders, or hub ids written org/name",
    )
    sweep.add_argument("--batch-sizes", nargs="+", type=positive_int, default=[8], metavar="N", help="batch sizes (default: 8)")
    sweep.add_argument(
        "--sequence-lengths",
        nargs="+",
        type=positive_int,
        default=[8, 32, 128, 512],
        metavar="N",
        help="sequence lengths in tokens (default: 8 32 128 512)",
    )
    sweep.add_argument("--output", type=Path, required=True, metavar="DIR", help="the folder the sweep's files are written into")
    sweep.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N (default: auto)")
    sweep.add_argument("--dtype", default="float32", help="float32, float16 or bfloat16 (default: float32)")
    sweep.add_argument(
        "--measures",
        nargs="+",
        choices=MEASURE_GROUPS,
        default=list(MEASURE_GROUPS),
        metavar="MEASURE",
        help="what to measure: time, throughput, memory (default: all three)",
    )
    sweep.add_argument(
        "--mode",
        choices=MODES,
        default=INFERENCE,
        help="what each cell measures: inference (a forward pass) or training (one optimizer step: forward with "
        "the task's loss on synthetic labels, backward, AdamW) (default: inference)",
    )
    sweep.add_argument(
        "--gradient-accumulation",
        type=positive_int,
        default=None,
        metavar="N",
        help="with --mode training: micro-batches of the batch size per optimizer step; throughput counts every one (default: 1)",
    )
    sweep.add_argument(
        "--autocast",
        type=_autocast,
        default=None,
        metavar="bf16|fp16",
        help="with --mode training: run the forward under autocast in bfloat16 or float16 (float16 with a gradient "
        "scaler), as mixed-precision training does (default: none)",
    )
    sweep.add_argument(
        "--largest-batch",
        action="store_true",
        help="also search the largest batch that fits, per model and sequence length (probing a forward pass, or "
        "with --mode training one training step from a fresh optimizer), then measure time and throughput at "
        "that batch, whatever --measures says: largest_batch.csv holds the searches, largest_batch_speed.csv "
        "the speed at each largest batch, in sweep.csv's columns, apart from the grid's cells",
    )
    sweep.add_argument(
        "--max-batch",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"with --largest-batch: the largest batch to try (default: {DEFAULT_MAX_BATCH})",
    )
    sweep.add_argument(
        "--memory-budget",
        type=positive_number,
        default=None,
        metavar="MB",
        help="with --largest-batch: a batch whose peak memory exceeds MB (10^6 bytes) does not fit: the allocator's "
        "peak on CUDA, the host's peak increase on the CPU (default: the device's memory on CUDA, half the "
        "available host memory on the CPU)",
    )
    sweep.add_argument("--force", action="store_true", help="overwrite the sweep files already in the output folder")
    sweep.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress on stderr: neither the bar (on a terminal) nor the line per cell (in a log)",
    )
    timing = sweep.add_argument_group("timing")
    for flag, default in (("--min-rounds", defaults.min_rounds), ("--max-rounds", defaults.max_rounds)):
        timing.add_argument(flag, type=integer, default=default, metavar="N", help=f"default: {default}")
    timing.add_argument(
        "--max-time",
        type=number,
        default=defaults.max_time,
        metavar="S",
        help=f"stop timing a cell after S seconds once --min-rounds are done (default: {defaults.max_time})",
    )
    warmup_rounds, warmup_time = defaults.warmup_rounds, defaults.warmup_time
    timing.add_argument(
        "--warmup-rounds",
        type=integer,
        default=warmup_rounds,
        metavar="N",
        help=f"default: {warmup_rounds}; with --mode training, untimed steps (at least 1: the first creates AdamW's state)",
    )
    timing.add_argument(
        "--warmup-time",
        type=number,
        default=warmup_time,
        metavar="S",
        help=f"default: {warmup_time}; a training sweep warms up by steps only",
    )
    timing.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        metavar="N",
        help="torch intra-op threads for the whole sweep: a number, or auto (the default): 1 on a machine of 2 cores "
        "or fewer, else torch's own choice",
    )
    sweep.set_defaults(command=run)


def run(arguments: argparse.Namespace) -> int:
    try:
        plan = _plan(arguments)
    except ArgumentProblem as problem:
        print(f"modelperf sweep: error: {problem}", file=sys.stderr)
        return 2
    try:
        return _sweep(arguments, *plan)
    except KeyboardInterrupt:
        print("modelperf sweep: interrupted; nothing was written", file=sys.stderr)
        return 130


def _plan(arguments: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Everything checked before any work: (grid, settings, resolver)."""
    from functools import partial

    from ..models.loading import DeviceUnavailable, normalise_dtype, resolve_device
    from ..sweep.grid import GridError, build_grid
    from ..sweep.largest_batch import SearchSettings
    from ..sweep.models import UnknownModel, check_models, needs_registry, resolve_model
    from ..sweep.modes import INFERENCE_MODE, training_mode
    from ..sweep.output import OutputError, check_output
    from ..sweep.runner import SweepSettings, default_cpu_budget_mb
    from ..training.cell import StepRecipe

    if not arguments.largest_batch:
        search_flags = (("--max-batch", arguments.max_batch), ("--memory-budget", arguments.memory_budget))
        given = [flag for flag, value in search_flags if value is not None]
        if given:
            raise ArgumentProblem(f"{' and '.join(given)}: only apply with --largest-batch")
    training_flags = (("--gradient-accumulation", arguments.gradient_accumulation), ("--autocast", arguments.autocast))
    if arguments.mode != TRAINING:
        given = [flag for flag, value in training_flags if value is not None]
        if given:
            raise ArgumentProblem(f"{' and '.join(given)}: only apply with --mode training")
        mode = INFERENCE_MODE
    else:
        mode = training_mode(StepRecipe(arguments.gradient_accumulation or 1, arguments.autocast))
    timing = _timing(arguments)
    try:
        dtype = normalise_dtype(arguments.dtype)
    except ValueError as error:
        raise ArgumentProblem(f"--dtype: {error}") from None
    try:
        grid = build_grid(arguments.models, arguments.batch_sizes, arguments.sequence_lengths, arguments=CLI_ARGUMENTS)
        check_output(arguments.output, force=arguments.force)
        registry, problem = _registry(arguments) if needs_registry(grid.models) else (None, "")
        check_models(grid.models, registry, argument="--models", registry_problem=problem)
    except (GridError, OutputError, UnknownModel) as error:
        raise ArgumentProblem(str(error)) from None
    try:
        device = resolve_device(arguments.device)
    except (DeviceUnavailable, ValueError) as error:
        raise ArgumentProblem(f"--device: {error}") from None
    search = None
    if arguments.largest_batch:
        budget, note = arguments.memory_budget, ""
        if budget is None and device == "cpu":
            budget, note = round(default_cpu_budget_mb()), "half the available host memory"
        try:
            search = SearchSettings(max_batch=arguments.max_batch or DEFAULT_MAX_BATCH, budget_mb=budget, budget_note=note)
        except ValueError as error:
            raise ArgumentProblem(f"--max-batch: {error}") from None
    settings = SweepSettings(
        device=device, dtype=dtype, timing=timing, groups=tuple(arguments.measures), largest_batch=search, mode=mode
    )
    return grid, settings, partial(resolve_model, registry=registry, device=device)


def _sweep(arguments: argparse.Namespace, grid: Any, settings: Any, resolve: Any) -> int:
    from transformers.utils import logging as transformers_logging

    from ..sweep.environment_info import environment_info
    from ..sweep.output import write_sweep
    from ..sweep.runner import run_sweep

    transformers_logging.disable_progress_bar()  # the sweep's own bar says more than one per shard
    pin_threads(arguments.threads)
    cells = len(grid.cells())
    print(
        f"modelperf sweep: {counted(len(grid.models), 'model')} x {counted(len(grid.batch_sizes), 'batch size')} x "
        f"{counted(len(grid.sequence_lengths), 'sequence length')} = {counted(cells, 'cell')} on {settings.device} "
        f"in {settings.dtype}" + _training_note(settings.mode.recipe),
        flush=True,
    )
    result = run_sweep(grid, settings, resolve, progress=not arguments.no_progress)
    environment = environment_info(settings.device, settings.dtype, mode=settings.mode.settings())
    try:
        written = write_sweep(result, arguments.output, environment, force=arguments.force)
    except OSError as error:
        print(f"modelperf sweep: error: cannot write the sweep into {arguments.output}: {error}", file=sys.stderr)
        return 1
    print(summary_table(result))
    for found in result.largest:
        largest = "-" if found.largest_batch is None else found.largest_batch
        where = f"{found.label} at sequence length {found.sequence_length}"
        print(f"largest batch of {where}: {largest} ({found.reason}; limit: {found.limit})")
        speed = result.speed_at(found)
        if speed is not None:
            print(f"  speed at batch {found.largest_batch}: {_speed(speed, result.settings.mode)}")
    for file in written:
        print(f"modelperf sweep: wrote {file.path} ({file.what})")
    errors = result.errors
    if errors:
        print(f"modelperf sweep: {counted(len(errors), 'error')}:", file=sys.stderr)
        for line in errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def summary_table(result: Any) -> str:
    """One line per cell: its status and headline figures (time in ms, samples/s, memory in MB)."""
    mode = result.settings.mode
    memory = mode.gpu_nvml if result.settings.device.startswith("cuda") else mode.host_memory
    time = "step time (ms)" if mode.name == TRAINING else "time (ms)"
    header = ("cell", "status", time, "samples/s", f"memory (MB, {memory})")
    lines = [header]
    for cell in result.cells:
        values = _values(cell)
        lines.append(
            (
                cell.cell.id,
                cell.status if len(cell.status) <= 60 else cell.status[:57] + "...",
                _figure(values.get(mode.time), 1e3, ".3f"),
                _figure(values.get(mode.throughput), 1.0, ".1f"),
                _figure(values.get(memory), 1.0, ".1f"),
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in lines)


def _training_note(recipe: Any) -> str:
    """``, training: ...`` for the header line of a training sweep; nothing for inference."""
    if recipe is None:
        return ""
    accumulation = recipe.gradient_accumulation
    accumulated = f"gradient accumulation {accumulation}" if accumulation > 1 else "no gradient accumulation"
    autocast = f"autocast {recipe.autocast}" if recipe.autocast else "no autocast"
    return f", training: one AdamW step per cell ({accumulated}, {autocast})"


def _speed(cell: Any, mode: Any) -> str:
    """``1.234 ms, 3241.2 samples/s``, or the status of a speed that was not measured."""
    if cell.status != "ok":
        return cell.status
    values = _values(cell)
    time = "ms per step" if mode.name == TRAINING else "ms"
    return f"{_figure(values.get(mode.time), 1e3, '.3f')} {time}, {_figure(values.get(mode.throughput), 1.0, '.1f')} samples/s"


def _values(cell: Any) -> dict[str, float | None]:
    from ..measure.tidy import tidy_rows

    return {row["measure"]: row["value"] for row in tidy_rows(cell)}


def _figure(value: float | None, scale: float, spec: str) -> str:
    return "-" if value is None else format(value * scale, spec)


def _registry(arguments: argparse.Namespace) -> tuple[Any, str]:
    """The registry (``--registry``, else the one ./pyproject.toml names) and, without one, why."""
    from ..models.registry import RegistryError, load_registry, registry_from_pyproject

    try:
        path = arguments.registry or registry_from_pyproject(Path.cwd())
        if path is None:
            return None, f"no --registry and no [tool.modelperf] registry in {Path.cwd() / 'pyproject.toml'}"
        return load_registry(path), ""
    except RegistryError as error:
        return None, str(error)


def _timing(arguments: argparse.Namespace) -> TimingOptions:
    """The timing flags as TimingOptions; a value it refuses is named by its flag."""
    names = [field.name for field in fields(TimingOptions)]
    try:
        return TimingOptions(**{name: getattr(arguments, name) for name in names})
    except TimingError as error:
        problem = error.problem
        for name in names:  # "must not be below min_rounds (10)": the flag, as the user wrote it
            problem = problem.replace(name, _flag(name))
        raise ArgumentProblem(f"{_flag(error.field)}: {problem}") from None


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _autocast(text: str) -> str | None:
    """``bf16``/``bfloat16`` or ``fp16``/``float16`` as the autocast dtype; ``none`` for none."""
    if text.strip().lower() == "none":
        return None
    try:
        dtype = autocast_dtype(text)
    except ValueError:
        dtype = None
    if dtype is None:
        raise argparse.ArgumentTypeError(f"expected bf16 or fp16 (or none), got {text!r}")
    return dtype
