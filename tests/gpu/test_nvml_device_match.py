"""NVML reads the physical GPU that torch measures on, not another one with the same index.

torch numbers the GPUs it sees fastest-first (unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``) and
after ``CUDA_VISIBLE_DEVICES``; NVML numbers every GPU by PCI bus. ``measure.nvml`` matches them
by UUID. Here the match is checked against the PCI address, which it does not use, under a
``CUDA_VISIBLE_DEVICES`` that renumbers the GPUs, and by memory: what torch allocates must show
in NVML's readings of the matched device, for the whole device and for this process.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest
import torch

from pytest_modelperf.core.extras import MissingExtra
from pytest_modelperf.measure import nvml
from pytest_modelperf.measure.memory import cuda_memory_of

GIB = 1 << 30

CHILD = """
import json
import torch
from pytest_modelperf.measure import nvml
import pynvml

handle = nvml.handle_for_torch_device(0)
properties = torch.cuda.get_device_properties(0)
uuid = pynvml.nvmlDeviceGetUUID(handle)
print(json.dumps({
    "count": torch.cuda.device_count(),
    "nvml_uuid": uuid.decode() if isinstance(uuid, bytes) else uuid,
    "torch_uuid": str(properties.uuid),
}))
"""


def _uuid(value: object) -> str:
    """A GPU UUID as NVML (``GPU-<hex>``, bytes in older pynvml) and torch (``<hex>``) spell it, compared alike."""
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text.lower().removeprefix("gpu-")


def _torch_pci(index: int) -> tuple[int, int, int] | None:
    properties = torch.cuda.get_device_properties(index)
    if getattr(properties, "pci_bus_id", None) is None:
        return None
    return (getattr(properties, "pci_domain_id", 0), properties.pci_bus_id, getattr(properties, "pci_device_id", 0))


@pytest.fixture
def index(cuda_device: str) -> int:
    return torch.device(cuda_device).index or 0


@pytest.fixture
def handle(index: int):
    """NVML's handle of the GPU torch measures on, as the GPU memory tracker gets it."""
    try:
        return nvml.handle_for_torch_device(index)
    except (MissingExtra, nvml.NvmlUnavailable) as error:
        pytest.skip(f"NVML cannot be read here: {error}")


def test_nvml_matches_torchs_gpu_by_uuid_and_pci_address(handle, index):
    import pynvml

    assert _uuid(pynvml.nvmlDeviceGetUUID(handle)) == _uuid(torch.cuda.get_device_properties(index).uuid)
    torch_pci = _torch_pci(index)
    if torch_pci is None:
        pytest.skip(f"torch {torch.__version__} gives no PCI address to check against; the UUIDs matched")
    pci = pynvml.nvmlDeviceGetPciInfo(handle)
    assert (pci.domain, pci.bus, pci.device) == torch_pci


def test_under_cuda_visible_devices_cuda_0_is_matched_to_the_gpu_it_names(handle):
    """The last GPU torch sees, named by UUID in CUDA_VISIBLE_DEVICES, becomes cuda:0 of a child
    process; NVML must be matched to that GPU there, not to NVML's device 0."""
    import pynvml

    last = torch.cuda.device_count() - 1
    chosen = _uuid(pynvml.nvmlDeviceGetUUID(nvml.handle_for_torch_device(last)))
    environment = {**os.environ, "CUDA_VISIBLE_DEVICES": f"GPU-{chosen}"}
    environment.pop("CUDA_DEVICE_ORDER", None)
    child = subprocess.run(
        [sys.executable, "-c", CHILD], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout.strip().splitlines()[-1])
    assert seen["count"] == 1
    assert _uuid(seen["nvml_uuid"]) == _uuid(seen["torch_uuid"]) == chosen


def _rise_while_torch_holds_a_gibibyte(read, device: str) -> tuple[int, int]:
    """How far ``read()`` and torch's reserved memory rise while a fresh 1 GiB block is held."""
    gc.collect()
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()  # the block then comes from the driver, not from the allocator's cache
    before, reserved = read(), torch.cuda.memory_reserved(device)
    block = torch.empty(GIB, dtype=torch.uint8, device=device)
    torch.cuda.synchronize(device)
    rise, reserved_rise = read() - before, torch.cuda.memory_reserved(device) - reserved
    del block
    torch.cuda.empty_cache()
    return rise, reserved_rise


def test_nvml_device_memory_rises_by_what_torch_allocates_on_its_gpu(handle, cuda_device):
    rise, reserved = _rise_while_torch_holds_a_gibibyte(lambda: nvml.device_used_bytes(handle), cuda_device)
    assert reserved >= GIB, f"torch's allocator took only {reserved / GIB:.3f} GiB from the driver for a 1 GiB block"
    # At least what torch took (another GPU's reading would not move); at most twice it (the reading is in bytes).
    assert reserved <= rise <= 2 * reserved, (
        f"NVML device-used rose {rise / GIB:.3f} GiB as torch reserved {reserved / GIB:.3f} GiB"
    )


def test_nvml_process_memory_rises_by_what_torch_allocates_on_its_gpu(handle, cuda_device):
    try:
        nvml.process_used_bytes(handle)
    except nvml.NvmlUnavailable as error:
        pytest.skip(f"NVML gives no per-process reading here (the plugin reports it as N/A): {error}")
    rise, reserved = _rise_while_torch_holds_a_gibibyte(lambda: nvml.process_used_bytes(handle), cuda_device)
    assert reserved >= GIB, f"torch's allocator took only {reserved / GIB:.3f} GiB from the driver for a 1 GiB block"
    assert reserved <= rise <= 2 * reserved, (
        f"NVML process-used rose {rise / GIB:.3f} GiB as torch reserved {reserved / GIB:.3f} GiB"
    )


def test_the_gpu_memory_tracker_reads_nvml_on_torchs_gpu(handle, cuda_device):
    """The tracker's readings of a pass that allocates 1 GiB: the allocator's peak is exactly
    that (what the session already keeps on the device is not the pass's), and NVML's readings
    of the process and the device hold at least what the allocator reserved for it."""
    result = cuda_memory_of(lambda: torch.empty(GIB, dtype=torch.uint8, device=cuda_device), cuda_device)
    assert result.peak_allocated_bytes == GIB
    assert result.nvml_device_bytes is not None, result.nvml_problem
    assert result.nvml_device_bytes >= result.peak_reserved_bytes
    if result.nvml_process_bytes is None:
        pytest.skip(f"NVML gives no per-process reading here (the plugin reports it as N/A): {result.nvml_problem}")
    assert result.peak_reserved_bytes <= result.nvml_process_bytes <= result.nvml_device_bytes
