"""Data-parallel scaling on torchrun: one training step on 1, 2, 4... workers, and its speed-up.

Weak scaling, as the study measured distributed training from 8 to 64 GPUs: every worker
trains its own batch, so N workers train N times the examples per step (global batch =
workers x batch x gradient accumulation), and perfect scaling is N times the samples/s of one.

For each worker count, ``measure_scaling`` runs torchrun (``python -m torch.distributed.run``)
as a subprocess with ``scaling_worker`` on every rank, and reads what rank 0 wrote: the per-step
seconds of the slowest rank. On one node the launch is ``--standalone``; on several, every
node runs the same measurement with ``--nnodes/--node-rank`` and the rendezvous endpoint, and
only the node that runs rank 0 gets the results (each launch is its own rendezvous: the id is
suffixed with the variant and count). On the CPU the run holds the project's timing lock
throughout (``measure.timing_lock``: timed regions take turns under pytest-xdist), and every
launch pins the same threads per worker, by default the usable cores shared by the largest
worker count, so that adding workers adds cores.

From the runs: samples/s per worker count (median of the per-step rates), speed-up over the
smallest count run (one worker, usually) and efficiency (speed-up / workers ratio), separately
for plain DDP and for delayed gradient sync (``no_sync`` on the micro-batches before the last)
when both are measured side by side.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.counts import counted
from ..core.measurement import DIVISION_BY_ZERO, Measurement
from ..measure import catalogue
from ..measure.catalogue import Measure
from ..measure.environment import usable_cores
from ..measure.timing_lock import exclusive_timing
from ..models.loading import DeviceUnavailable
from .measurement import DEFAULT_WARMUP_STEPS
from .scaling_worker import ERROR_PREFIX, RESULT_SCHEMA, WORKER_MODULE, worker_arguments

PLAIN = "ddp"  # every micro-batch's gradients all-reduced as its backward runs
DELAYED_SYNC = "delay_sync"  # micro-batches before the last under no_sync: one all-reduce per step
VARIANTS = (PLAIN, DELAYED_SYNC)
DEVICES = ("cpu", "cuda")
DEFAULT_NPROC = (1, 2)
DEFAULT_STEPS = 10
DEFAULT_RDZV_BACKEND = "c10d"
DEFAULT_RDZV_ID = "modelperf-scaling"
OUTPUT_TAIL_LINES = 30
STOP_SECONDS = 30  # how long an interrupted torchrun gets to stop its workers
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # the folder that holds pytest_modelperf
WEIGHTS_DTYPE = "float32"
ProgressCallback = Callable[[str], None]


class ScalingSettingsError(ValueError):
    """A setting that cannot be run; ``argument`` is the parameter's name, for a command to translate."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument}: {problem}")
        self.argument = argument
        self.problem = problem


class ScalingLaunchError(RuntimeError):
    """A torchrun launch failed: the message names the command, the failing ranks' errors and the
    tail of its output."""

    def __init__(self, command: Sequence[str], problem: str, output: str) -> None:
        lines = output.rstrip().splitlines()
        errors = [line.strip() for line in lines if line.lstrip().startswith(ERROR_PREFIX)]
        tail = lines[-OUTPUT_TAIL_LINES:]
        parts = [f"{problem}: {' '.join(command)}", *dict.fromkeys(errors)]
        if tail:
            parts.append(f"--- the last {len(tail)} lines of its output ---")
            parts.extend(tail)
        super().__init__("\n".join(parts))
        self.command = tuple(command)
        self.output = output


@dataclass(frozen=True)
class Rendezvous:
    """How torchrun's workers find each other: one node (``--standalone``), or several."""

    nnodes: int = 1
    node_rank: int = 0
    backend: str = DEFAULT_RDZV_BACKEND
    endpoint: str | None = None
    run_id: str = DEFAULT_RDZV_ID

    def __post_init__(self) -> None:
        _positive("nnodes", self.nnodes)
        if not isinstance(self.node_rank, int) or isinstance(self.node_rank, bool) or self.node_rank < 0:
            raise ScalingSettingsError("node_rank", f"must be a whole number of 0 or more, got {self.node_rank!r}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.run_id or ""):
            raise ScalingSettingsError("rdzv_id", f"letters, digits, '.', '_' and '-' only, got {self.run_id!r}")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.backend or ""):
            raise ScalingSettingsError("rdzv_backend", f"a torchrun rendezvous backend (c10d, static...), got {self.backend!r}")
        if self.nnodes == 1:
            if self.endpoint is not None:
                raise ScalingSettingsError("rdzv_endpoint", "only applies with nnodes of 2 or more (one node runs standalone)")
            if self.node_rank != 0:
                raise ScalingSettingsError("node_rank", "only applies with nnodes of 2 or more")
            return
        if self.endpoint is None:
            raise ScalingSettingsError("rdzv_endpoint", f"{self.nnodes} nodes need the rendezvous HOST:PORT, the same on each")
        host, _, port = self.endpoint.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ScalingSettingsError("rdzv_endpoint", f"expected HOST:PORT with a port from 1 to 65535, got {self.endpoint!r}")
        if self.node_rank >= self.nnodes:
            raise ScalingSettingsError("node_rank", f"must be below nnodes ({self.nnodes}), got {self.node_rank}")

    def torchrun_arguments(self, launch: str) -> list[str]:
        """torchrun's rendezvous arguments for one launch; ``launch`` tells launches apart."""
        if self.nnodes == 1:
            return ["--standalone"]
        return [
            "--nnodes",
            str(self.nnodes),
            "--node-rank",
            str(self.node_rank),
            "--rdzv-backend",
            self.backend,
            "--rdzv-endpoint",
            str(self.endpoint),
            "--rdzv-id",
            f"{self.run_id}-{launch}",
        ]


@dataclass(frozen=True)
class ScalingSettings:
    """What a scaling measurement runs: the model, the worker counts per node, the step, the variants."""

    checkpoint: str
    task: str = "auto"
    nproc: tuple[int, ...] = DEFAULT_NPROC  # workers per node, one launch each
    batch_size: int = 8  # per worker and micro-batch
    sequence_length: int = 128
    steps: int = DEFAULT_STEPS
    warmup_steps: int = DEFAULT_WARMUP_STEPS
    gradient_accumulation: int = 1
    variants: tuple[str, ...] = (PLAIN,)
    device: str = "cpu"
    threads: int = 1  # torch intra-op threads per worker
    rendezvous: Rendezvous = field(default_factory=Rendezvous)
    name: str = ""  # the model's name in results; default: the checkpoint's

    def __post_init__(self) -> None:
        if not self.checkpoint:
            raise ScalingSettingsError("checkpoint", "names no checkpoint")
        if not self.nproc:
            raise ScalingSettingsError("nproc", "needs at least one worker count")
        for count in self.nproc:
            _positive("nproc", count)
        repeated = sorted({count for count in self.nproc if self.nproc.count(count) > 1})
        if repeated:
            raise ScalingSettingsError("nproc", f"{', '.join(map(str, repeated))} given more than once")
        object.__setattr__(self, "nproc", tuple(sorted(self.nproc)))
        for name in ("batch_size", "sequence_length", "gradient_accumulation", "threads"):
            _positive(name, getattr(self, name))
        _positive("steps", self.steps, lowest=2)
        _positive("warmup_steps", self.warmup_steps)
        if not self.variants or len(set(self.variants)) != len(self.variants) or not set(self.variants) <= set(VARIANTS):
            raise ScalingSettingsError("variants", f"one or both of {', '.join(VARIANTS)}, each once, got {self.variants!r}")
        if DELAYED_SYNC in self.variants and self.gradient_accumulation < 2:
            problem = "skips the all-reduce of the micro-batches before the last: needs gradient_accumulation of 2 or more"
            raise ScalingSettingsError("delay_sync", problem)
        if self.device not in DEVICES:
            raise ScalingSettingsError("device", f"one of {', '.join(DEVICES)}, got {self.device!r}")
        if not self.name:
            object.__setattr__(self, "name", Path(self.checkpoint.rstrip("/")).name or self.checkpoint)

    @property
    def launches(self) -> list[tuple[int, str]]:
        """(workers per node, variant) of each launch, in order: the variants of a count side by side."""
        return [(count, variant) for count in self.nproc for variant in self.variants]

    @property
    def step_label(self) -> str:
        """``8x128``, ``8x128, accumulate 4``: one worker's step."""
        label = f"{self.batch_size}x{self.sequence_length}"
        return label if self.gradient_accumulation == 1 else f"{label}, accumulate {self.gradient_accumulation}"


def _positive(name: str, value: object, *, lowest: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
        raise ScalingSettingsError(name, f"must be a whole number of at least {lowest}, got {value!r}")


def default_threads(largest_nproc: int, cores: int) -> int:
    """Threads per worker: the cores shared by the most workers a node runs, at least one each."""
    return max(1, cores // max(1, largest_nproc))


# -- what one launch measured ------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingRun:
    """One launch's result, as rank 0 wrote it: the slowest rank's seconds of each timed step."""

    model: str
    task: str
    device: str
    world_size: int
    nproc_per_node: int
    nnodes: int
    batch_size: int
    sequence_length: int
    gradient_accumulation: int
    global_batch: int
    delay_sync: bool
    threads: int
    step_seconds: tuple[float, ...]
    backend: str = ""
    device_name: str = ""

    @property
    def variant(self) -> str:
        return DELAYED_SYNC if self.delay_sync else PLAIN

    @property
    def instant_step(self) -> int | None:
        """The first step (from 1) that took no measurable time, which no rate can be taken of."""
        return next((index for index, value in enumerate(self.step_seconds, start=1) if value <= 0), None)

    @property
    def rates(self) -> tuple[float, ...]:
        """Samples/s of each step: the global batch over its seconds; empty if a step took none."""
        if self.instant_step is not None:
            return ()
        return tuple(self.global_batch / seconds for seconds in self.step_seconds)

    @property
    def samples_per_second(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None

    @property
    def step_ms_median(self) -> float:
        return statistics.median(self.step_seconds) * 1e3

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "model": self.model,
            "task": self.task,
            "device": self.device,
            "device_name": self.device_name,
            "backend": self.backend,
            "world_size": self.world_size,
            "nproc_per_node": self.nproc_per_node,
            "nnodes": self.nnodes,
            "threads": self.threads,
            "batch_size": self.batch_size,
            "sequence_length": self.sequence_length,
            "gradient_accumulation": self.gradient_accumulation,
            "global_batch": self.global_batch,
            "delay_sync": self.delay_sync,
            "step_seconds": list(self.step_seconds),
            "samples_per_second": self.samples_per_second,
        }

    @classmethod
    def from_dict(cls, data: object, source: str) -> ScalingRun:
        """The run a worker's result describes; a field that is missing or wrong is named with ``source``."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema", RESULT_SCHEMA) != RESULT_SCHEMA:
            raise ValueError(f"{source}: schema {data.get('schema')!r}, this version reads {RESULT_SCHEMA}")

        def whole(name: str) -> int:
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{source}: {name} must be a positive whole number, got {value!r}")
            return value

        def text(name: str) -> str:
            value = data.get(name, "")
            if not isinstance(value, str):
                raise ValueError(f"{source}: {name} must be a string, got {value!r}")
            return value

        seconds = data.get("step_seconds")
        if not isinstance(seconds, list) or not seconds or not all(_finite_number(value) for value in seconds):
            raise ValueError(f"{source}: step_seconds must be a non-empty list of finite numbers, got {seconds!r}")
        delay_sync = data.get("delay_sync", False)
        if not isinstance(delay_sync, bool):
            raise ValueError(f"{source}: delay_sync must be true or false, got {delay_sync!r}")
        return cls(
            model=text("model"),
            task=text("task"),
            device=text("device"),
            world_size=whole("world_size"),
            nproc_per_node=whole("nproc_per_node"),
            nnodes=whole("nnodes"),
            batch_size=whole("batch_size"),
            sequence_length=whole("sequence_length"),
            gradient_accumulation=whole("gradient_accumulation"),
            global_batch=whole("global_batch"),
            delay_sync=delay_sync,
            threads=whole("threads"),
            step_seconds=tuple(float(value) for value in seconds),
            backend=text("backend"),
            device_name=text("device_name"),
        )


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ScalingRow:
    """One run against the smallest worker count of its variant: its speed-up and efficiency."""

    run: ScalingRun
    baseline_world_size: int
    speedup: float | None  # None where either run has no rate
    efficiency: float | None

    @property
    def ideal_speedup(self) -> float:
        """Linear scaling: the world size over the baseline's."""
        return self.run.world_size / self.baseline_world_size


def scaling_rows(runs: Iterable[ScalingRun]) -> tuple[ScalingRow, ...]:
    """Each run's speed-up over the run of its variant with the fewest workers, and its efficiency
    (speed-up / workers ratio); in the runs' order."""
    runs = tuple(runs)
    baselines: dict[str, ScalingRun] = {}
    for run in runs:
        current = baselines.get(run.variant)
        if current is None or run.world_size < current.world_size:
            baselines[run.variant] = run
    rows = []
    for run in runs:
        baseline = baselines[run.variant]
        rate, base_rate = run.samples_per_second, baseline.samples_per_second
        speedup = efficiency = None
        if rate is not None and base_rate is not None and base_rate > 0:
            speedup = rate / base_rate
            efficiency = speedup / (run.world_size / baseline.world_size)
        rows.append(ScalingRow(run, baseline.world_size, speedup, efficiency))
    return tuple(rows)


# -- the result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingResult:
    """What ``measure_scaling`` gives: the runs, their rows, and measurements to check.

    ``throughput`` holds samples/s per launch (one per step); ``speedup`` and ``efficiency``
    one value per launch with more workers than its variant's smallest count. ``runs`` is
    empty on a node of a multi-node run that did not run rank 0 (its results are written there).
    """

    settings: ScalingSettings
    runs: tuple[ScalingRun, ...]
    rows: tuple[ScalingRow, ...]
    throughput: tuple[Measurement, ...]
    speedup: tuple[Measurement, ...]
    efficiency: tuple[Measurement, ...]
    notes: tuple[str, ...] = ()

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Every measurement, for ``modelperf.check`` one by one."""
        return (*self.throughput, *self.speedup, *self.efficiency)

    def speedup_at(self, world_size: int, variant: str = PLAIN) -> Measurement:
        return _at(self.speedup, world_size, variant, "speed-up")

    def efficiency_at(self, world_size: int, variant: str = PLAIN) -> Measurement:
        return _at(self.efficiency, world_size, variant, "efficiency")

    def throughput_at(self, world_size: int, variant: str = PLAIN) -> Measurement:
        return _at(self.throughput, world_size, variant, "throughput")


def _at(measurements: Sequence[Measurement], world_size: int, variant: str, what: str) -> Measurement:
    for measurement in measurements:
        if measurement.context.get("world_size") == world_size and measurement.context.get("variant") == variant:
            return measurement
    measured = sorted({(m.context.get("variant"), m.context.get("world_size")) for m in measurements})
    raise KeyError(f"no {what} at {world_size} workers ({variant}); measured: {measured or 'none'}")


def measurement_detail(run: ScalingRun) -> str:
    """``2 workers, 8x128``; ``2 workers, 8x128, accumulate 4, delayed sync``."""
    workers = f"{run.world_size} worker{'' if run.world_size == 1 else 's'}"
    step = f"{run.batch_size}x{run.sequence_length}"
    if run.gradient_accumulation > 1:
        step += f", accumulate {run.gradient_accumulation}"
    return f"{workers}, {step}, delayed sync" if run.delay_sync else f"{workers}, {step}"


def run_context(run: ScalingRun) -> dict[str, Any]:
    """What a run was measured on: the model, device, per-worker batch and the run's shape."""
    return {
        "device": "cuda:0" if run.device == "cuda" else run.device,
        "dtype": WEIGHTS_DTYPE,
        "model": run.model,
        "task": run.task,
        "batch_size": run.batch_size,
        "sequence_length": run.sequence_length,
        "mode": "distributed training",
        "gradient_accumulation": run.gradient_accumulation,
        "variant": run.variant,
        "world_size": run.world_size,
        "nproc_per_node": run.nproc_per_node,
        "nnodes": run.nnodes,
        "global_batch": run.global_batch,
        "threads": run.threads,
        "backend": run.backend,
    }


def scaling_measurements(
    rows: Sequence[ScalingRow], notes: Sequence[str] = ()
) -> tuple[tuple[Measurement, ...], tuple[Measurement, ...], tuple[Measurement, ...]]:
    """(throughput, speed-up, efficiency) measurements of the rows; see ``ScalingResult``."""
    throughput: list[Measurement] = []
    speedup: list[Measurement] = []
    efficiency: list[Measurement] = []
    for row in rows:
        run = row.run
        context = run_context(run)
        detail = measurement_detail(run)
        throughput.append(_throughput(run, detail, context, notes))
        if run.world_size == row.baseline_world_size:
            continue
        ratio_context = {**context, "baseline_world_size": row.baseline_world_size, "ideal_speedup": row.ideal_speedup}
        for measure, value, into in (
            (catalogue.SCALING_SPEEDUP, row.speedup, speedup),
            (catalogue.SCALING_EFFICIENCY, row.efficiency, efficiency),
        ):
            name = measure.named(detail)
            if value is None:
                reason = f"{DIVISION_BY_ZERO}: a step took no measurable time"
                into.append(_missing(measure, name, reason, ratio_context, notes))
            else:
                into.append(Measurement(name, measure.unit, measure.direction, value, context=ratio_context, notes=tuple(notes)))
    return tuple(throughput), tuple(speedup), tuple(efficiency)


def _throughput(run: ScalingRun, detail: str, context: Mapping[str, Any], notes: Sequence[str]) -> Measurement:
    measure = catalogue.SCALING_THROUGHPUT
    name = measure.named(detail)
    instant = run.instant_step
    if instant is not None:
        reason = f"{DIVISION_BY_ZERO}: step {instant} of {len(run.step_seconds)} took no measurable time"
        return _missing(measure, name, reason, context, notes)
    return Measurement.from_samples(name, run.rates, unit=measure.unit, direction=measure.direction, context=context, notes=notes)


def _missing(measure: Measure, name: str, reason: str, context: Mapping[str, Any], notes: Sequence[str]) -> Measurement:
    return Measurement.not_available(name, reason, unit=measure.unit, direction=measure.direction, context=context, notes=notes)


def scaling_result(settings: ScalingSettings, runs: Sequence[ScalingRun], notes: Sequence[str] = ()) -> ScalingResult:
    rows = scaling_rows(runs)
    throughput, speedup, efficiency = scaling_measurements(rows, notes)
    return ScalingResult(settings, tuple(runs), rows, throughput, speedup, efficiency, tuple(notes))


# -- launching -----------------------------------------------------------------------------------


def torchrun_command(settings: ScalingSettings, nproc: int, variant: str, result: Path) -> list[str]:
    """The torchrun command of one launch: ``nproc`` workers per node running ``variant``."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        str(nproc),
        *settings.rendezvous.torchrun_arguments(f"{variant}-{nproc}"),
        "--max-restarts",
        "0",
        "-m",
        WORKER_MODULE,
        *worker_arguments(
            checkpoint=settings.checkpoint,
            task=settings.task,
            name=settings.name,
            batch_size=settings.batch_size,
            sequence_length=settings.sequence_length,
            steps=settings.steps,
            warmup_steps=settings.warmup_steps,
            gradient_accumulation=settings.gradient_accumulation,
            delay_sync=variant == DELAYED_SYNC,
            device=settings.device,
            threads=settings.threads,
            result=result,
        ),
    ]


def worker_environment(settings: ScalingSettings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The launch's environment: OpenMP told the thread count too, so torchrun does not set it to
    one, and this package's folder first on the path, so the workers run the launcher's code."""
    environment = dict(os.environ if base is None else base)
    environment["OMP_NUM_THREADS"] = str(settings.threads)
    environment["PYTHONPATH"] = os.pathsep.join(part for part in (PACKAGE_PARENT, environment.get("PYTHONPATH")) if part)
    return environment


def launch(settings: ScalingSettings, nproc: int, variant: str, folder: Path) -> ScalingRun | None:
    """Run one torchrun launch and read rank 0's result; None on a node that did not run rank 0.

    Raises ``ScalingLaunchError`` when torchrun fails or, on a single node, writes no result."""
    result = folder / f"{variant}-{nproc}.json"
    command = torchrun_command(settings, nproc, variant, result)
    returncode, output = run_torchrun(command, worker_environment(settings))
    if returncode != 0:
        raise ScalingLaunchError(command, f"torchrun failed with exit status {returncode}", output)
    if not result.exists():
        if settings.rendezvous.nnodes > 1:
            return None  # rank 0 ran on another node, which holds the result
        raise ScalingLaunchError(command, f"torchrun wrote no result ({result})", output)
    try:
        return ScalingRun.from_dict(json.loads(result.read_text(encoding="utf-8")), str(result))
    except ValueError as error:
        raise ScalingLaunchError(command, f"the result of torchrun is not readable: {error}", output) from error


def run_torchrun(command: Sequence[str], environment: Mapping[str, str]) -> tuple[int, str]:
    """torchrun's exit status and its output (its workers' too), stdout and stderr together.

    Interrupted (Ctrl-C, a test's timeout), torchrun is asked to stop with SIGTERM, which it
    passes on to its workers, rather than killed outright, which would leave them running."""
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=dict(environment)
        )
    except OSError as error:
        raise ScalingLaunchError(command, f"torchrun could not be started ({error})", "") from error
    try:
        output, _ = process.communicate()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    return process.returncode, output


def check_devices(settings: ScalingSettings) -> None:
    """On CUDA, every worker a node runs needs a GPU of its own; raises ``DeviceUnavailable``."""
    if settings.device != "cuda":
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    largest = max(settings.nproc)
    if count < largest:
        raise DeviceUnavailable(f"{largest} workers per node need as many CUDA devices; {count} are visible here")


def core_notes(settings: ScalingSettings, cores: int) -> tuple[str, ...]:
    """A note when the largest count's workers and threads need more cores than there are."""
    needed = max(settings.nproc) * settings.threads
    if settings.device != "cpu" or needed <= cores:
        return ()
    workers = f"{max(settings.nproc)} workers x {counted(settings.threads, 'thread')}"
    return (f"{workers} share {cores} cores: workers beyond the cores add no compute",)


def scaling_settings(
    checkpoint: str | os.PathLike[str],
    task: str = "auto",
    *,
    nproc: Sequence[int] = DEFAULT_NPROC,
    batch_size: int = 8,
    sequence_length: int = 128,
    steps: int = DEFAULT_STEPS,
    warmup_steps: int = DEFAULT_WARMUP_STEPS,
    gradient_accumulation: int = 1,
    delay_sync: bool = False,
    compare_delay_sync: bool = False,
    device: str = "cpu",
    threads: int | None = None,
    nnodes: int = 1,
    node_rank: int = 0,
    rdzv_backend: str = DEFAULT_RDZV_BACKEND,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = DEFAULT_RDZV_ID,
    name: str | None = None,
    cores: int | None = None,
) -> ScalingSettings:
    """The checked settings of ``measure_scaling``'s arguments (``cores``: the usable cores, by default
    this machine's); raises ``ScalingSettingsError`` naming the argument."""
    if delay_sync and compare_delay_sync:
        raise ScalingSettingsError("delay_sync", "delay_sync and compare_delay_sync exclude each other")
    variants = (PLAIN, DELAYED_SYNC) if compare_delay_sync else (DELAYED_SYNC,) if delay_sync else (PLAIN,)
    counts = tuple(nproc)
    if threads is None:
        largest = max((count for count in counts if isinstance(count, int)), default=1)
        threads = default_threads(largest, usable_cores() if cores is None else cores)
    return ScalingSettings(
        checkpoint=os.fspath(checkpoint),
        task=task,
        nproc=counts,
        batch_size=batch_size,
        sequence_length=sequence_length,
        steps=steps,
        warmup_steps=warmup_steps,
        gradient_accumulation=gradient_accumulation,
        variants=variants,
        device=device,
        threads=threads,
        rendezvous=Rendezvous(nnodes, node_rank, rdzv_backend, rdzv_endpoint, rdzv_id),
        name=name or "",
    )


def run_scaling(settings: ScalingSettings, *, progress: ProgressCallback | None = None) -> ScalingResult:
    """Every launch of ``settings``, in order, holding the timing lock; ``progress`` is given a line
    before each launch starts (``running 2 workers, ddp, 1 thread each``) and one when it ends, with
    what it measured and how long it took. Raises ``DeviceUnavailable`` for more workers than GPUs
    and ``ScalingLaunchError`` for a failed launch."""
    check_devices(settings)
    runs: list[ScalingRun] = []
    with exclusive_timing(settings.device), tempfile.TemporaryDirectory(prefix="modelperf-scaling-") as folder:
        for count, variant in settings.launches:
            description = launch_description(settings, count, variant)
            if progress is not None:
                progress(f"running {description}")
            started = time.perf_counter()
            run = launch(settings, count, variant, Path(folder))
            if progress is not None:
                progress(f"{description}: {launch_outcome(run)} ({time.perf_counter() - started:.1f}s)")
            if run is not None:
                runs.append(run)
    return scaling_result(settings, runs, core_notes(settings, usable_cores()))


def launch_outcome(run: ScalingRun | None) -> str:
    """What one launch measured, for its progress line: ``12.3 ms per step, 650.4 samples/s``."""
    if run is None:
        return "done; rank 0 ran on another node, which holds the result"
    rate = run.samples_per_second
    throughput = "N/A samples/s (a step took no measurable time)" if rate is None else f"{rate:.1f} samples/s"
    return f"{run.step_ms_median:.1f} ms per step, {throughput}"


def launch_description(settings: ScalingSettings, nproc: int, variant: str) -> str:
    """``2 workers, ddp, 1 thread each``: what one launch runs, for progress lines."""
    nodes = settings.rendezvous.nnodes
    workers = f"{nproc} worker{'' if nproc == 1 else 's'}"
    if nodes > 1:
        workers = f"{workers} per node x {nodes} nodes"
    threads = f"{settings.threads} thread{'' if settings.threads == 1 else 's'} each"
    return f"{workers}, {variant}, {threads}"


def measure_scaling(
    checkpoint: str | os.PathLike[str], task: str = "auto", *, progress: ProgressCallback | None = None, **options: Any
) -> ScalingResult:
    """Measure a training step of ``checkpoint`` on each count of ``nproc`` workers per node.

    ``options`` are ``scaling_settings``'s keywords: ``nproc``, ``batch_size``,
    ``sequence_length``, ``steps``, ``warmup_steps``, ``gradient_accumulation``, ``delay_sync``
    (delayed gradient sync instead of plain DDP), ``compare_delay_sync`` (both, side by side;
    each needs ``gradient_accumulation`` of 2 or more), ``device``, ``threads`` (per worker;
    None for the usable cores shared by the largest count), the rendezvous (``nnodes``,
    ``node_rank``, ``rdzv_backend``, ``rdzv_endpoint``, ``rdzv_id``) and ``name`` (the model's
    name in the results; default: the checkpoint's folder). Raises ``ScalingSettingsError`` for
    settings that cannot run, ``DeviceUnavailable`` for more workers than GPUs,
    ``ScalingLaunchError`` for a failed launch.
    """
    return run_scaling(scaling_settings(checkpoint, task, **options), progress=progress)
