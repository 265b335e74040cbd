"""The environment of a sweep, under the keys of transformers' benchmark ``env.csv``.

The study's keys come first, in its order (``transformers_version`` ... ``use_tpu``, as far as
they are known here), then what this project records beside its baselines (torch threads,
dtype, device, CPU model, CUDA, driver, commit). A training sweep records its ``mode``,
``gradient_accumulation`` and ``autocast`` after ``dtype``, and ``fp16`` is true under float16
autocast too (the study's fp16 meant mixed precision when training); an inference sweep records
no mode. As in the study, ``cpu_ram_mb`` and ``gpu_ram_mb`` are in units of 2^20 bytes.

Of transformers' benchmark switches the sweep records what it does: ``use_torchscript`` False
(models run eagerly), ``use_multiprocessing`` False (every cell is measured in the sweep's own
process; transformers measured memory in a child process), ``only_pretrain_model`` False (a
model is loaded with the head its config's architecture names, as the study loaded its
question-answering models) and ``use_tpu`` False.
"""

from __future__ import annotations

import datetime as _dt
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..measure import nvml
from ..measure.environment import software_environment
from ..measure.memory import MIB


def environment_info(
    device: str, dtype: str, root: Path | None = None, *, mode: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The study's environment keys and the project's, for ``env.csv`` and ``sweep.json``;
    ``mode`` is what a training sweep records of its mode (``SweepMode.settings``)."""
    import torch

    mode = mode or {}
    now = _dt.datetime.now()
    software = software_environment(device, root or Path.cwd())
    cuda = device.startswith("cuda")
    info: dict[str, Any] = {
        "transformers_version": software.get("transformers", ""),
        "framework": "PyTorch",
        "use_torchscript": False,
        "framework_version": torch.__version__,
        "python_version": platform.python_version(),
        "system": platform.system(),
        "cpu": platform.processor() or platform.machine(),
        "architecture": platform.architecture()[0],
        "date": now.date().isoformat(),
        "time": now.time().isoformat(),
        "fp16": dtype == "float16" or mode.get("autocast") == "float16",
        "use_multiprocessing": False,
        "only_pretrain_model": False,
        "cpu_ram_mb": _host_ram_mib(),
        "use_gpu": cuda,
    }
    if cuda:
        info.update(_gpu_info(device))
    info["use_tpu"] = False
    info.update(torch_threads=torch.get_num_threads(), dtype=dtype)
    info.update(mode)
    info.update(
        device=device,
        cpu_model=software.get("cpu", ""),
        cpu_cores=software.get("cpu_cores", ""),
        cuda_version=software.get("cuda", ""),
        platform=software.get("platform", ""),
        pytest_modelperf_version=software.get("pytest_modelperf", ""),
        commit=software.get("commit", ""),
    )
    for key in ("cudnn", "driver"):
        if software.get(key):
            info[f"{key}_version"] = software[key]
    return {key: value for key, value in info.items() if value is not None and value != ""}


def _host_ram_mib() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().total) // MIB


def _gpu_info(device: str) -> dict[str, Any]:
    """``num_gpus``, ``gpu``, ``gpu_ram_mb`` from torch; power limit and performance state from
    NVML where it can be read (they are left out where it cannot)."""
    import torch

    index = int(device.split(":", 1)[1]) if ":" in device else 0
    properties = torch.cuda.get_device_properties(index)
    info: dict[str, Any] = {
        "num_gpus": torch.cuda.device_count(),
        "gpu": properties.name,
        "gpu_ram_mb": int(properties.total_memory) // MIB,
    }
    try:
        facts = nvml.device_facts(nvml.handle_for_torch_device(index))
    except Exception:
        return info
    if "power_limit_watts" in facts:
        info["gpu_power_watts"] = facts["power_limit_watts"]
    if "performance_state" in facts:
        info["gpu_performance_state"] = facts["performance_state"]
    return info
