"""One rank of a data-parallel scaling run: the module torchrun starts on every worker.

    python -m torch.distributed.run --standalone --nproc-per-node 2 \\
        -m pytest_modelperf.training.scaling_worker --checkpoint DIR --task TASK \\
        --batch-size 8 --sequence-length 128 --steps 10 --warmup-steps 2 \\
        --gradient-accumulation 1 --device cpu --threads 1 --result result.json

Each rank joins the process group (gloo on the CPU, NCCL on CUDA with device
``cuda:LOCAL_RANK``), pins torch's intra-op threads to ``--threads`` (torchrun's default of one
OpenMP thread per worker must not decide it unseen), loads the checkpoint, and trains a copy of
it wrapped in DistributedDataParallel on its own synthetic batches (weak scaling: every rank
trains ``--batch-size`` examples per micro-batch). After the warm-up steps, each timed step
starts at a barrier and ends when the rank's step is done (CUDA synchronised); a step's time is
the slowest rank's (an all-reduce of the per-step seconds with MAX). Rank 0 writes the result
(``RESULT_SCHEMA``) to ``--result`` atomically; the process group is destroyed on the way out,
after an error too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..measure.workloads import Workload
from ..models.loading import load_model
from ..storage.atomic_files import atomic_write_text
from .step import StepSettings, TrainingStep, loss_of, synthetic_batch, training_copy

WORKER_MODULE = "pytest_modelperf.training.scaling_worker"
RESULT_SCHEMA = 1
ERROR_PREFIX = "modelperf scaling worker"  # starts the one-line error a failing rank prints last


@dataclass(frozen=True)
class Rank:
    """Where this process sits in the run, as torchrun's environment says."""

    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    nnodes: int

    @classmethod
    def from_environment(cls) -> Rank:
        names = {"rank": "RANK", "local_rank": "LOCAL_RANK", "world_size": "WORLD_SIZE", "local_world_size": "LOCAL_WORLD_SIZE"}
        values: dict[str, int] = {}
        for field, variable in names.items():
            text = os.environ.get(variable)
            if text is None or not text.strip().isdigit():
                raise RuntimeError(f"{variable} is {text!r}: this module runs under torchrun (python -m torch.distributed.run)")
            values[field] = int(text)
        groups = os.environ.get("GROUP_WORLD_SIZE", "").strip()  # torchrun's node count
        nodes = int(groups) if groups.isdigit() else values["world_size"] // max(1, values["local_world_size"])
        return cls(**values, nnodes=max(1, nodes))


def worker_arguments(
    *,
    checkpoint: str,
    task: str,
    batch_size: int,
    sequence_length: int,
    steps: int,
    warmup_steps: int,
    gradient_accumulation: int,
    delay_sync: bool,
    device: str,
    threads: int,
    result: Path,
    name: str,
) -> list[str]:
    """The worker's command-line arguments, as ``main`` reads them."""
    arguments = [
        "--checkpoint",
        checkpoint,
        "--task",
        task,
        "--name",
        name,
        "--batch-size",
        str(batch_size),
        "--sequence-length",
        str(sequence_length),
        "--steps",
        str(steps),
        "--warmup-steps",
        str(warmup_steps),
        "--gradient-accumulation",
        str(gradient_accumulation),
        "--device",
        device,
        "--threads",
        str(threads),
        "--result",
        str(result),
    ]
    return [*arguments, "--delay-sync"] if delay_sync else arguments


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=WORKER_MODULE, description="One rank of a data-parallel scaling run (under torchrun).")
    parser.add_argument("--checkpoint", required=True, help="a local checkpoint folder or a hub id")
    parser.add_argument("--task", default="auto", help="the model's task, or auto (from its config)")
    parser.add_argument("--name", default=None, help="the model's name in the result (default: the checkpoint's)")
    for flag in ("--batch-size", "--sequence-length", "--steps", "--warmup-steps", "--threads"):
        parser.add_argument(flag, type=int, required=True)
    parser.add_argument("--gradient-accumulation", type=int, default=1)
    parser.add_argument("--delay-sync", action="store_true", help="all-reduce once per step, not per micro-batch (no_sync)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--result", type=Path, required=True, help="where rank 0 writes the result (JSON)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    import torch.distributed as distributed

    rank: Rank | None = None
    try:
        rank = Rank.from_environment()
        run_rank(arguments, rank)
    except Exception as error:
        where = "" if rank is None else f", rank {rank.rank} of {rank.world_size}"
        print(f"{ERROR_PREFIX}{where}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        raise
    finally:
        if distributed.is_available() and distributed.is_initialized():
            distributed.destroy_process_group()
    return 0


def run_rank(arguments: argparse.Namespace, rank: Rank) -> None:
    """Join the group, train and time as the module's docstring says; rank 0 writes the result."""
    import torch
    import torch.distributed as distributed
    from torch.nn.parallel import DistributedDataParallel
    from transformers.utils import logging as transformers_logging

    if arguments.threads < 1:
        raise ValueError(f"--threads must be 1 or more, got {arguments.threads}")
    torch.set_num_threads(arguments.threads)
    cuda = arguments.device == "cuda"
    if cuda:
        torch.cuda.set_device(rank.local_rank)
    device = f"cuda:{rank.local_rank}" if cuda else "cpu"
    backend = "nccl" if cuda else "gloo"
    distributed.init_process_group(backend=backend)

    def barrier() -> None:
        if cuda:
            distributed.barrier(device_ids=[rank.local_rank])
            torch.cuda.synchronize(device)
        else:
            distributed.barrier()

    transformers_logging.disable_progress_bar()  # one bar per rank says nothing the launcher needs
    loaded = load_model(arguments.checkpoint, task=arguments.task, device=device)
    workload = Workload(arguments.batch_size, arguments.sequence_length)
    settings = StepSettings(workload, gradient_accumulation=arguments.gradient_accumulation, delay_sync=arguments.delay_sync)
    # Each rank trains its own examples, as data parallelism does.
    accumulation = settings.gradient_accumulation
    batches = [synthetic_batch(loaded, workload, seed=rank.rank * accumulation + micro) for micro in range(accumulation)]
    model = training_copy(loaded)
    model_name, task = arguments.name or loaded.name, loaded.task
    del loaded  # the copy is what trains; the loaded weights would only take memory
    freeze_unused(model, batches[0])
    wrapped = DistributedDataParallel(
        model, device_ids=[rank.local_rank] if cuda else None, **no_buffer_sync(DistributedDataParallel)
    )
    step = TrainingStep(wrapped, batches, settings, device=device)
    for _ in range(arguments.warmup_steps):
        step()
    seconds = []
    for _ in range(arguments.steps):
        barrier()
        started = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - started)
    slowest = torch.tensor(seconds, dtype=torch.float64, device=device)
    distributed.all_reduce(slowest, op=distributed.ReduceOp.MAX)
    if rank.rank == 0:
        result = {
            "schema": RESULT_SCHEMA,
            "model": model_name,
            "checkpoint": arguments.checkpoint,
            "task": task,
            "device": arguments.device,
            "device_name": torch.cuda.get_device_name(device) if cuda else "cpu",
            "backend": backend,
            "torch": torch.__version__,
            "world_size": rank.world_size,
            "nproc_per_node": rank.local_world_size,
            "nnodes": rank.nnodes,
            "threads": torch.get_num_threads(),
            "batch_size": workload.batch_size,
            "sequence_length": workload.sequence_length,
            "gradient_accumulation": accumulation,
            "global_batch": rank.world_size * settings.samples,
            "delay_sync": settings.delay_sync,
            "warmup_steps": arguments.warmup_steps,
            "step_seconds": [float(value) for value in slowest.cpu().tolist()],
            "loss": step.last_loss(),
        }
        rates = [result["global_batch"] / value for value in result["step_seconds"] if value > 0]
        result["samples_per_second"] = statistics.median(rates) if len(rates) == len(seconds) else None
        atomic_write_text(arguments.result, json.dumps(result, indent=2) + "\n")
    barrier()  # no rank leaves while another may still need the group


def no_buffer_sync(wrapper: Any) -> dict[str, Any]:
    """DDP's keyword that stops the buffer broadcast before every forward, in this torch's spelling.

    An encoder's buffers (position ids) never change: broadcasting them before each forward
    would be communication that no training needs."""
    import inspect

    parameters = inspect.signature(wrapper).parameters
    return {"forward_sync_buffers": False} if "forward_sync_buffers" in parameters else {"broadcast_buffers": False}


def freeze_unused(model: Any, batch: Any) -> None:
    """Take parameters the loss never reaches (a pooler under a hidden-state loss) out of training.

    DDP waits for a gradient of every trained parameter before it reduces a bucket; one that
    never gets any would stall the second step. A probe forward and backward finds them, as
    ``find_unused_parameters`` would, but once instead of at every step. They get no gradient
    in a single process either, so what is trained is the same.
    """
    loss_of(model, batch).backward()
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.grad is None:
            parameter.requires_grad_(False)
    model.zero_grad(set_to_none=True)


if __name__ == "__main__":
    # torchrun's failure summary then names the exception of the rank that failed first.
    from torch.distributed.elastic.multiprocessing.errors import record

    raise SystemExit(record(main)())
