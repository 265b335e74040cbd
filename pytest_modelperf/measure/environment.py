"""The hardware and software fingerprint that baselines are keyed by and recorded with."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ..core.baseline_entry import COMMIT_FIELD
from ..core.extras import MissingExtra
from ..core.version import installed_version
from .nvml import NvmlUnavailable, driver_version


@dataclass(frozen=True)
class Hardware:
    """What a measurement ran on: a CPU model and its usable cores, or a GPU model and the machine's GPU count."""

    kind: str  # "cpu" or "cuda"
    name: str
    count: int

    def key(self, dtype: str) -> str:
        """A directory-safe key, e.g. ``amd-epyc-2c-float32`` or ``nvidia-h100-80gb-hbm3-float16``.

        A CPU's key counts its usable cores: they share the work of one measurement. A GPU's key
        names the model alone: a measurement runs on one GPU, the same on one GPU of an 8-GPU runner
        as on a 1-GPU runner of that model; the count is recorded with the environment (``gpu_count``).
        """
        if self.kind == "cpu":
            return f"{_slug(self.name)}-{self.count}c-{dtype}"
        return f"{_slug(self.name)}-{dtype}"


def _slug(text: str) -> str:
    text = re.sub(r"\((?:R|TM|tm|r)\)", "", text)
    text = re.sub(r"\b(?:CPU|Processor|[0-9]+-Core)\b", "", text)
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "unknown"


@lru_cache(maxsize=1)
def cpu_hardware() -> Hardware:
    return Hardware("cpu", _cpu_model(), usable_cores())


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown-cpu"


def hardware_for(device: str) -> Hardware:
    """The hardware behind a torch device string such as ``"cpu"`` or ``"cuda:0"``."""
    if not device.startswith("cuda"):
        return cpu_hardware()
    import torch

    index = int(device.split(":", 1)[1]) if ":" in device else torch.cuda.current_device()
    return Hardware("cuda", torch.cuda.get_device_name(index), torch.cuda.device_count())


def hardware_key(device: str, dtype: str) -> str:
    return hardware_for(device).key(dtype)


@cache
def _git_commit(root: str) -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def software_environment(device: str, root: Path) -> dict[str, Any]:
    """Versions and hardware facts recorded beside baseline values."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "pytest_modelperf": installed_version(),
        "cpu": cpu_hardware().name,
        "cpu_cores": cpu_hardware().count,
        "commit": _git_commit(str(root)),
    }
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        env["cuda"] = torch.version.cuda or ""
        if device.startswith("cuda") and torch.cuda.is_available():
            env["gpu"] = hardware_for(device).name
            env["gpu_count"] = torch.cuda.device_count()
            env["cudnn"] = str(torch.backends.cudnn.version() or "")
            env["driver"] = _driver_version()
    except ImportError:
        pass
    try:
        import transformers

        env["transformers"] = transformers.__version__
    except ImportError:
        pass
    return env


def _driver_version() -> str:
    """The NVIDIA driver's version; empty where NVML, or its package, is not there."""
    try:
        return driver_version()
    except (NvmlUnavailable, MissingExtra):
        return ""


def environment_id(environment: Mapping[str, Any]) -> str:
    """A short content hash that entries use to point at their recorded environment.

    The commit is recorded with the environment but is not part of its identity: the id stays
    the same across commits, so re-recording at a new commit does not rewrite every entry's
    pointer. Any other field (python, torch, transformers, the CPU or GPU, the driver, the thread
    count) changes it. The id is only a pointer for reports and reviewers: judging never
    compares environments.
    """
    identity = {key: value for key, value in environment.items() if key != COMMIT_FIELD}
    payload = json.dumps(identity, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()[:12]
