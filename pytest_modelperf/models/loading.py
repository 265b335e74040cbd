"""Checkpoint -> (model, tokenizer) on a device and dtype, offline-aware, cached per session.

A checkpoint is a local directory (what ``save_pretrained`` wrote) or a hub id. A local
directory never touches the network. A hub id is resolved by transformers as usual when
online; with ``HF_HUB_OFFLINE=1`` it must already be in the local hub cache, and if it is
not the error says so instead of surfacing a connection failure.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.counts import counted
from .fine_tune_record import fine_tune_provenance
from .progress_bars import quiet_progress_bars

TASKS: dict[str, str] = {
    "feature-extraction": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "masked-lm": "AutoModelForMaskedLM",
    "causal-lm": "AutoModelForCausalLM",
}
# The transformers pipeline names of the language-model tasks, accepted wherever a task is.
TASK_ALIASES: dict[str, str] = {"fill-mask": "masked-lm", "text-generation": "causal-lm"}
_ARCHITECTURE_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ForSequenceClassification", "sequence-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "masked-lm"),
    ("ForCausalLM", "causal-lm"),
    ("LMHeadModel", "causal-lm"),  # GPT2LMHeadModel, OpenAIGPTLMHeadModel
)
DTYPE_ALIASES: dict[str, str] = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}
WEIGHT_SUFFIXES: tuple[str, ...] = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
STAND_IN_MARKER = "modelperf_stand_in.json"
STAND_IN_NOTE = "weights are a stand-in built from the architecture config, not a fine-tuned checkpoint"


class CheckpointError(RuntimeError):
    """A checkpoint cannot be found or loaded; the message names it and says why."""


class DeviceUnavailable(RuntimeError):
    """The requested device does not exist here (e.g. CUDA on a machine without a GPU)."""


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    tokenizer: Any | None
    checkpoint: str
    task: str
    device: str
    dtype: str
    load_seconds: float
    parameter_count: int
    artefact_bytes: int | None
    stand_in: bool
    provenance: str | None = None  # e.g. "fine-tuned here on ... from ...", for reports
    registry_name: str | None = None  # set by load_registered: the name reports show

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def name(self) -> str:
        return self.registry_name or Path(self.checkpoint.rstrip("/")).name or self.checkpoint


def model_notes(loaded: LoadedModel) -> tuple[str, ...]:
    """Notes every measurement of the model carries: stand-in weights, or where it was fine-tuned."""
    if loaded.stand_in:
        return (STAND_IN_NOTE,)
    return (loaded.provenance,) if loaded.provenance else ()


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def normalise_dtype(name: str) -> str:
    try:
        return DTYPE_ALIASES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; use one of {', '.join(sorted(DTYPE_ALIASES))}") from None


def resolve_device(requested: str) -> str:
    """``auto`` picks a CUDA device when there is one; ``cuda`` means ``cuda:0``; ``cuda:K`` stays as given.

    In a pytest-xdist worker (``PYTEST_XDIST_WORKER=gw<N>``) ``auto`` and ``cuda`` pick
    ``cuda:<N % device count>`` instead and make it torch's current device, so that the
    workers of ``pytest -n 8`` on an 8-GPU runner each measure on a GPU of their own, and
    what a test allocates without naming a device, and NVML's reading of the process, land
    on that GPU too.
    """
    import torch

    text = requested.strip().lower()
    if text == "cpu" or (text == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if text not in ("auto", "cuda") and not text.startswith("cuda:"):
        raise ValueError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        reason = "torch was built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise DeviceUnavailable(f"device {requested!r} requested but {reason}")
    count = torch.cuda.device_count()
    if text.startswith("cuda:"):
        index = _device_index(text, requested)
        if index >= count:
            raise DeviceUnavailable(f"device {requested!r} requested but torch sees only {counted(count, 'CUDA device')}")
        return f"cuda:{index}"
    worker = xdist_worker_number()
    if worker is None:
        return "cuda:0"
    device = f"cuda:{worker % count}"
    torch.cuda.set_device(device)
    return device


def _device_index(text: str, requested: str) -> int:
    index = text.split(":", 1)[1]
    if not index.isdigit():
        raise ValueError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N")
    return int(index)


XDIST_WORKER_VARIABLE = "PYTEST_XDIST_WORKER"


def xdist_worker_number() -> int | None:
    """N of the pytest-xdist worker ``gw<N>`` this process is or was started by, or None outside a worker.

    Read from the environment xdist gives its workers, not from the worker's ``workerinput``
    (which ``run.workers`` reads to merge results): a process a test starts (``modelperf prepare``,
    an inner pytest run, a torchrun launch) inherits it, and so lands on its worker's GPU too.
    """
    match = re.fullmatch(r"gw(\d+)", os.environ.get(XDIST_WORKER_VARIABLE, "").strip())
    return int(match.group(1)) if match else None


def detect_task(config: Any) -> str:
    for architecture in getattr(config, "architectures", None) or []:
        for suffix, task in _ARCHITECTURE_SUFFIXES:
            if architecture.endswith(suffix):
                return task
    return "feature-extraction"


@quiet_progress_bars()
def load_model(
    checkpoint: str | os.PathLike[str], *, task: str = "auto", device: str = "cpu", dtype: str = "float32"
) -> LoadedModel:
    """Load a checkpoint onto ``device`` in ``dtype`` and time it (synchronised on CUDA); the
    progress bars of transformers and the hub stay quiet meanwhile (see ``progress_bars``)."""
    import torch
    import transformers

    name = os.fspath(checkpoint)
    dtype = normalise_dtype(dtype)
    local = Path(name).is_dir()
    if not local and (Path(name).exists() or name.startswith((".", "/", "~"))):
        raise CheckpointError(f"checkpoint {name!r}: not a directory holding a saved model")
    local_only = local or hub_offline()
    config = _load_config(name, local_only)
    task = TASK_ALIASES.get(task, task)
    if task == "auto":
        task = detect_task(config)
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use auto or one of {', '.join([*TASKS, *TASK_ALIASES])}")
    model_class = getattr(transformers, TASKS[task])

    started = time.perf_counter()
    try:
        model = model_class.from_pretrained(name, dtype=getattr(torch, dtype), local_files_only=local_only)
    except Exception as error:
        unreadable = unreadable_weights(name, local)
        if unreadable is not None:
            raise CheckpointError(f"checkpoint {name!r}: {unreadable}") from error
        if isinstance(error, OSError):
            raise CheckpointError(_not_found(name, local, error)) from error
        raise
    model.to(device)
    model.eval()
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    load_seconds = time.perf_counter() - started

    return LoadedModel(
        model=model,
        tokenizer=_load_tokenizer(name, local_only),
        checkpoint=name,
        task=task,
        device=device,
        dtype=dtype,
        load_seconds=load_seconds,
        parameter_count=sum(p.numel() for p in model.parameters()),
        artefact_bytes=artefact_bytes(name, local),
        stand_in=local and (Path(name) / STAND_IN_MARKER).exists(),
        provenance=fine_tune_provenance(name) if local else None,
    )


def _load_config(name: str, local_only: bool) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name, local_files_only=local_only)
    except OSError as error:
        raise CheckpointError(_not_found(name, Path(name).is_dir(), error)) from error


def _not_found(name: str, local: bool, error: Exception) -> str:
    if local:
        return f"checkpoint {name!r}: the directory holds no loadable model: {error}"
    if hub_offline():
        return (
            f"checkpoint {name!r}: not a local directory, and not in the local hub cache while the hub is "
            f"offline (HF_HUB_OFFLINE=1); download it once while online or pass a local directory ({error})"
        )
    return f"checkpoint {name!r}: could not be loaded from the hub: {error}"


def unreadable_weights(name: str, local: bool) -> str | None:
    """Which weight file of a local checkpoint cannot be read, and why; None when each reads.

    A truncated or corrupt ``model.safetensors`` otherwise surfaces as safetensors' own error,
    which names no file."""
    if not local:
        return None
    from safetensors import safe_open

    for weights in sorted(Path(name).glob("*.safetensors")):
        try:
            with safe_open(weights, framework="pt"):
                pass
        except Exception as error:
            return (
                f"{weights.name} is truncated or corrupt ({error}); save the checkpoint again, or for a folder "
                f"modelperf prepared, delete it and run modelperf prepare"
            )
    return None


def _load_tokenizer(name: str, local_only: bool) -> Any | None:
    """The checkpoint's tokenizer; None for a checkpoint saved without one (workloads then fall
    back to the config). A local folder holding tokenizer files that cannot be read is an error
    naming them, not a silent fallback."""
    from transformers import AutoTokenizer

    local = Path(name).is_dir()
    present = [file for file in TOKENIZER_FILES if (Path(name) / file).is_file()] if local else []
    if local and not present:
        return None  # transformers would build an empty tokenizer of 5 special tokens: every word [UNK]
    try:
        return AutoTokenizer.from_pretrained(name, local_files_only=local_only)
    except Exception as error:
        if present:
            raise CheckpointError(f"checkpoint {name!r}: its tokenizer ({', '.join(present)}) cannot be read: {error}") from error
        if isinstance(error, (OSError, ValueError, TypeError)):
            return None
        raise


TOKENIZER_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "tokenizer.model",
    "sentencepiece.bpe.model",
)


def artefact_bytes(name: str, local: bool) -> int | None:
    """Size of the weight files on disk: the local directory's, or the hub cache snapshot's."""
    folder: Path | None = Path(name) if local else None
    if folder is None:
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(name, local_files_only=True))
        except Exception:
            return None
    sizes = [path.stat().st_size for path in loaded_weight_files(folder)]
    return sum(sizes) if sizes else None


def loaded_weight_files(folder: Path) -> list[Path]:
    """The weight files ``from_pretrained`` reads from ``folder``: the shards its index names,
    else its single weights file, safetensors before PyTorch's format, as transformers chooses.

    Not every weight-like file below it: a trainer's output folder also holds optimizer states
    and ``checkpoint-N/`` copies, several times the model's size."""
    for index_name, single_name in (
        ("model.safetensors.index.json", "model.safetensors"),
        ("pytorch_model.bin.index.json", "pytorch_model.bin"),
    ):
        index = folder / index_name
        if index.is_file():
            return [folder / shard for shard in sorted(_shards(index)) if (folder / shard).is_file()]
        if (folder / single_name).is_file():
            return [folder / single_name]
    return sorted(path for path in folder.iterdir() if path.is_file() and path.name.endswith(WEIGHT_SUFFIXES))


def _shards(index: Path) -> set[str]:
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        return {shard for shard in weight_map.values() if isinstance(shard, str) and "/" not in shard}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


class ModelCache:
    """One loaded model per (checkpoint, task, device, dtype) for the whole pytest session."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str, str, str], LoadedModel] = {}

    def get(self, checkpoint: str | os.PathLike[str], *, task: str, device: str, dtype: str) -> LoadedModel:
        key = (os.fspath(checkpoint), TASK_ALIASES.get(task, task), device, normalise_dtype(dtype))
        if key not in self._models:
            self._models[key] = load_model(key[0], task=task, device=device, dtype=key[3])
        return self._models[key]
