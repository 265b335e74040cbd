"""The lines pytest prints before a run: the hardware key, the baseline folder, torch's threads."""

from __future__ import annotations

from pathlib import Path

from ..core.counts import counted
from ..measure.environment import hardware_key
from ..models.loading import DeviceUnavailable, normalise_dtype, resolve_device
from ..options import Settings


def header_lines(settings: Settings) -> list[str]:
    """Where this run's baselines are keyed and kept, and how many threads torch times on.

    Imports torch (to resolve the device and read its thread count): pytest calls this only for
    a run, never for ``pytest --help``.
    """
    import torch

    return [
        f"modelperf: hardware key {_hardware(settings)}, baselines in {_shown(settings.baseline_dir, settings.root)}",
        f"modelperf: torch {torch.__version__}, {counted(torch.get_num_threads(), 'intra-op thread')}",
    ]


def _hardware(settings: Settings) -> str:
    try:
        device = resolve_device(settings.device)
        return f"{hardware_key(device, normalise_dtype(settings.dtype))} (device {device})"
    except (DeviceUnavailable, ValueError) as error:
        return f"unknown ({error})"


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
