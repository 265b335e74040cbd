"""NVML access through pynvml (package ``nvidia-ml-py``): what nvidia-smi reports.

torch numbers CUDA devices fastest-first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` and
honours ``CUDA_VISIBLE_DEVICES``; NVML numbers all devices by PCI bus. The two are matched
here by device UUID, never by index.

Without the package every function raises ``core.extras.MissingExtra`` (extra ``gpu``); without
a usable NVML (no driver, a container that hides it, a device it cannot find) they raise
``NvmlUnavailable``. Either way a GPU memory measurement keeps the allocator's figures and gives
NVML's as N/A, with the reason (for a missing package: what to install).
"""

from __future__ import annotations

import os
from typing import Any

from ..core.extras import require

PURPOSE = "NVML's GPU readings (what nvidia-smi shows)"


class NvmlUnavailable(RuntimeError):
    """NVML cannot be used here (no driver, or the device is not found)."""


_initialised = False


def _nvml() -> Any:
    global _initialised
    pynvml = require("pynvml", "gpu", PURPOSE)
    if not _initialised:
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as error:
            raise NvmlUnavailable(f"NVML could not be initialised: {error}") from error
        _initialised = True
    return pynvml


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def driver_version() -> str:
    pynvml = _nvml()
    return _text(pynvml.nvmlSystemGetDriverVersion())


def handle_for_torch_device(index: int) -> Any:
    """The NVML handle of torch's CUDA device ``index``, matched by UUID."""
    import torch

    pynvml = _nvml()
    properties = torch.cuda.get_device_properties(index)
    uuid = getattr(properties, "uuid", None)
    if uuid is not None:
        text = str(uuid)
        candidates = [text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}"]
        for candidate in candidates:
            try:
                return pynvml.nvmlDeviceGetHandleByUUID(candidate)
            except pynvml.NVMLError:
                continue
    bus_id = _pci_bus_id(properties)
    if bus_id is not None:
        try:
            return pynvml.nvmlDeviceGetHandleByPciBusId(bus_id)
        except pynvml.NVMLError:
            pass
    if os.environ.get("CUDA_DEVICE_ORDER") == "PCI_BUS_ID" and "CUDA_VISIBLE_DEVICES" not in os.environ:
        return pynvml.nvmlDeviceGetHandleByIndex(index)
    raise NvmlUnavailable(f"cannot match torch device cuda:{index} to an NVML device; set CUDA_DEVICE_ORDER=PCI_BUS_ID")


def _pci_bus_id(properties: Any) -> str | None:
    bus = getattr(properties, "pci_bus_id", None)
    if bus is None:
        return None
    domain = getattr(properties, "pci_domain_id", 0)
    device = getattr(properties, "pci_device_id", 0)
    return f"{domain:08x}:{bus:02x}:{device:02x}.0"


def process_used_bytes(handle: Any, pid: int | None = None) -> int:
    """Memory NVML attributes to this process on the device (the CUDA context included)."""
    pynvml = _nvml()
    pid = os.getpid() if pid is None else pid
    total = 0
    found = False
    for query in (pynvml.nvmlDeviceGetComputeRunningProcesses, pynvml.nvmlDeviceGetGraphicsRunningProcesses):
        try:
            processes = query(handle)
        except pynvml.NVMLError:
            continue
        for process in processes:
            if process.pid == pid and process.usedGpuMemory is not None:
                total += int(process.usedGpuMemory)
                found = True
    if not found:
        raise NvmlUnavailable(f"NVML lists no memory for process {pid} (inside a container NVML may see host PIDs only)")
    return total


def device_used_bytes(handle: Any) -> int:
    """Memory in use on the whole device, by every process: the 'Memory-Usage' of nvidia-smi."""
    pynvml = _nvml()
    return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)


def device_facts(handle: Any) -> dict[str, Any]:
    """What transformers' benchmark recorded of a GPU: name, total memory (bytes), power limit
    (watts) and performance state; a reading the device does not support is left out."""
    pynvml = _nvml()
    readings = {
        "name": lambda: _text(pynvml.nvmlDeviceGetName(handle)),
        "total_bytes": lambda: int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
        "power_limit_watts": lambda: pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000,
        "performance_state": lambda: int(pynvml.nvmlDeviceGetPerformanceState(handle)),
    }
    facts: dict[str, Any] = {}
    for key, read in readings.items():
        try:
            facts[key] = read()
        except pynvml.NVMLError:
            continue
    return facts
