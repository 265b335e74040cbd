"""Sweeps: models x batch sizes x sequence lengths, measured cell by cell.

The successor of transformers' removed ``PyTorchBenchmark``: ``modelperf sweep`` writes the
study's tables (``time.csv``, ``required_memory.csv``, ``env.csv``) and a tidy ``sweep.csv``,
each cell a forward pass or, with ``--mode training``, one optimizer step (``modes``);
``sweep_cells`` turns the same grid into pytest parameters that ``modelperf.measure_cell``
measures and checks against baselines. Importing this package does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..measure.cell import Cell
from .grid import Grid, GridError, build_grid, sweep_cells

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Cell", "Grid", "GridError", "build_grid", "load_sweep", "sweep_cells"]


def load_sweep(path: Any) -> pd.DataFrame:
    """A sweep's tidy results as a DataFrame. ``path`` is a sweep's output folder or its
    sweep.csv, a study table (``time.csv``, ``required_memory.csv``, ...) or a folder of them
    with their env.csv, or a folder of such folders, one result set each (named in a
    ``result_set`` column); see ``sweep.frame.load_sweep``."""
    from .frame import load_sweep as load

    return load(path)
