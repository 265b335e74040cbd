"""The key a measurement's baseline is stored under: its hardware's, its device kind's for a
value no machine changes, or one key for every device for a value no device changes.

Timings and memory depend on the CPU or GPU model, so they are kept per hardware key
(``amd-epyc-2c-float32``). A quality score on fixed data does not: the catalogue marks it
``portable``, and it is kept per device kind and dtype (``any-cpu-float32``,
``any-cuda-float16``), so a runner of another CPU or GPU model checks it from its first run. The
device kind stays in that key because CPU and CUDA kernels differ in the last bits, and so may a
quality score. A parameter count or the size of the weight files depends on neither device nor
dtype (the catalogue marks it ``device_independent``): it is kept once, under ``any-device``, so
a GPU runner checks it against what a CPU runner recorded.
"""

from __future__ import annotations

from .catalogue import measure_named
from .environment import hardware_key

PORTABLE_PREFIX = "any"
DEVICE_INDEPENDENT_KEY = f"{PORTABLE_PREFIX}-device"


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
    if measure is not None and measure.device_independent:
        return DEVICE_INDEPENDENT_KEY
    if measure is not None and measure.portable:
        return portable_key(device, dtype)
    return hardware_key(device, dtype)
