"""The unit a figure shows a measure in, chosen once per figure from the values it draws.

- Times: seconds, or milliseconds where every value of the figure is under 1 s.
- Memory: MiB (2^20 bytes) in every figure: the unit of the study's tables, which transformers
  and the study called MB (``bytes >> 20``) and which ``modelperf sweep`` writes in
  ``required_memory.csv``, so that a cell reads the same number in a table and in a plot.
- Anything else: as the data gives it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..core.units import UnitError, convert, dimension

MEMORY_UNIT = "MiB"


@dataclass(frozen=True)
class ShownUnit:
    """The unit a figure shows, and the factor from the data's unit to it."""

    unit: str
    factor: float

    def __call__(self, value: float) -> float:
        return value * self.factor


def shown_unit(unit: str, values: Iterable[float]) -> ShownUnit:
    """The unit to show data in ``unit`` in, given the figure's values (NaN ignored)."""
    try:
        kind = dimension(unit)
    except UnitError:
        return ShownUnit(unit, 1.0)
    if kind == "memory":
        return ShownUnit(MEMORY_UNIT, convert(1.0, unit, MEMORY_UNIT))
    if kind == "time":
        seconds = [abs(convert(float(v), unit, "s")) for v in values if not math.isnan(float(v))]
        target = "ms" if seconds and max(seconds) < 1.0 else "s"
        return ShownUnit(target, convert(1.0, unit, target))
    return ShownUnit(unit, 1.0)
