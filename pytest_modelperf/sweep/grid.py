"""The grid of a sweep: models x batch sizes x sequence lengths, one cell each, validated.

A model is named as the user gave it: a registry name, a local directory or a hub id. Its
label, the short name in cell ids and plots, is the registry name, else the last segment of
the path or hub id (more segments when two models would share one). Sizes are sorted, so that
each model's cells grow towards the ones that may run out of memory. The cells are
``measure.cell.Cell`` values, which ``measure.cell.measure_cell`` measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..measure.cell import Cell

# The names bad input is reported under; the command passes its flags instead.
PYTHON_ARGUMENTS: Mapping[str, str] = {
    "models": "models",
    "batch_sizes": "batch_sizes",
    "sequence_lengths": "sequence_lengths",
}


class GridError(ValueError):
    """The grid cannot be built; the message names the argument and the value."""


@dataclass(frozen=True)
class Grid:
    models: tuple[str, ...]
    labels: tuple[str, ...]  # one per model
    batch_sizes: tuple[int, ...]
    sequence_lengths: tuple[int, ...]

    def label_of(self, model: str) -> str:
        return self.labels[self.models.index(model)]

    def cells_of(self, model: str) -> list[Cell]:
        """The model's cells, by batch size, then sequence length."""
        label = self.label_of(model)
        return [Cell(model, label, batch, length) for batch in self.batch_sizes for length in self.sequence_lengths]

    def cells(self) -> list[Cell]:
        """Every cell, model by model (each model is loaded once for all of its cells)."""
        return [cell for model in self.models for cell in self.cells_of(model)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": [{"model": model, "label": label} for model, label in zip(self.models, self.labels, strict=True)],
            "batch_sizes": list(self.batch_sizes),
            "sequence_lengths": list(self.sequence_lengths),
        }


def build_grid(
    models: Sequence[str],
    batch_sizes: Iterable[int],
    sequence_lengths: Iterable[int],
    *,
    arguments: Mapping[str, str] = PYTHON_ARGUMENTS,
) -> Grid:
    """The validated grid; ``arguments`` names each input in error messages."""
    if isinstance(models, str):
        models = [models]
    if not models:
        raise GridError(f"{arguments['models']}: name at least one model")
    for model in models:
        if not isinstance(model, str) or not model.strip():
            raise GridError(f"{arguments['models']}: expected a registry name, a directory or a hub id, got {model!r}")
    repeated = sorted({model for model in models if list(models).count(model) > 1})
    if repeated:
        raise GridError(f"{arguments['models']}: {', '.join(map(repr, repeated))} listed more than once")
    return Grid(
        models=tuple(models),
        labels=tuple(model_labels(models)),
        batch_sizes=_sizes(batch_sizes, arguments["batch_sizes"]),
        sequence_lengths=_sizes(sequence_lengths, arguments["sequence_lengths"]),
    )


def _sizes(values: Iterable[int], argument: str) -> tuple[int, ...]:
    sizes = list(values) if not isinstance(values, int) else [values]
    if not sizes:
        raise GridError(f"{argument}: give at least one size")
    for value in sizes:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise GridError(f"{argument}: sizes must be positive integers, got {value!r}")
    return tuple(sorted(set(sizes)))


def model_labels(models: Sequence[str]) -> list[str]:
    """Short names: the last segment of each, with more segments where two would be equal."""
    segments = [_segments(model) for model in models]
    depth = [1] * len(models)
    while True:
        labels = ["/".join(parts[-d:]) for parts, d in zip(segments, depth, strict=True)]
        clashing = [i for i, label in enumerate(labels) if labels.count(label) > 1 and depth[i] < len(segments[i])]
        if not clashing:
            return labels
        for i in clashing:
            depth[i] += 1


def _segments(model: str) -> list[str]:
    trimmed = model.rstrip("/\\") or model
    parts = [part for part in Path(trimmed).parts if part not in ("/", ".", "..", "~")]
    if not parts:  # ".", "..", "~": name the folder it means
        parts = [Path(trimmed).expanduser().resolve().name or trimmed]
    return parts


def sweep_cells(models: Sequence[str], batch_sizes: Iterable[int], sequence_lengths: Iterable[int]) -> list[Any]:
    """The grid's cells as pytest parameters with the cell ids:

    ``@pytest.mark.parametrize("cell", sweep_cells(models=["bert-tiny"], batch_sizes=[1, 8],
    sequence_lengths=[128]))`` runs the test once per cell, ``test_x[bert-tiny-b8-s128]``.
    """
    import pytest

    return [pytest.param(cell, id=cell.id) for cell in build_grid(models, batch_sizes, sequence_lengths).cells()]
