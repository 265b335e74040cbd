"""The key a measurement's baseline is stored under: its hardware's, or its device kind's for a
value no machine changes.

Timings and memory depend on the CPU or GPU model, so they are kept per hardware key
(``amd-epyc-2c-float32``). A parameter count, an artefact's size or a quality score on fixed data
does not: those the catalogue marks ``portable``, and they are kept per device kind and dtype
(``any-cpu-float32``, ``any-cuda-float16``), so a runner of another CPU or GPU model checks them
from its first run. The device kind stays in the key because CPU and CUDA kernels differ in the
last bits, and so may a quality score.
"""

from __future__ import annotations

from .catalogue import measure_named
from .environment import hardware_key

PORTABLE_PREFIX = "any"


def device_kind(device: str) -> str:
    """``cuda`` for any CUDA device (``cuda``, ``cuda:3``), else ``cpu``."""
    return "cuda" if device.strip().lower().startswith("cuda") else "cpu"


def portable_key(device: str, dtype: str) -> str:
    """The key of values no machine changes: ``any-cpu-float32``, ``any-cuda-float16``."""
    return f"{PORTABLE_PREFIX}-{device_kind(device)}-{dtype}"


def is_portable_key(key: str) -> bool:
    return key.startswith(f"{PORTABLE_PREFIX}-")


def baseline_key(device: str, dtype: str, measurement_name: str) -> str:
    """Where the baseline of a measurement made on ``device`` in ``dtype`` is kept."""
    measure = measure_named(measurement_name)
    if measure is not None and measure.portable:
        return portable_key(device, dtype)
    return hardware_key(device, dtype)
