"""Units of measurement and the parsing of quantities such as ``"5ms"`` or ``"64MB"``.

Every measurement carries one of the units below. Quantities written by users (absolute
thresholds and limits) are converted into the unit of the measurement they apply to, and
a unit of the wrong kind (``"5ms"`` against a memory metric) is an error. A bare number
(``"10"``) is an error too: 10 ms and 10% are different gates, and the user must say which.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# unit -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "ns": ("time", 1e-9),
    "us": ("time", 1e-6),
    "µs": ("time", 1e-6),
    "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "B": ("memory", 1.0),
    "KB": ("memory", 1e3),
    "MB": ("memory", 1e6),
    "GB": ("memory", 1e9),
    "KiB": ("memory", 2.0**10),
    "MiB": ("memory", 2.0**20),
    "GiB": ("memory", 2.0**30),
    "samples/s": ("samples_rate", 1.0),
    "tokens/s": ("tokens_rate", 1.0),
    "count": ("count", 1.0),
    "M": ("count", 1e6),
    "points": ("score", 1.0),
    "x": ("ratio", 1.0),
    "": ("dimensionless", 1.0),
}

# Units written as words: a quantity prints them after a space ("0.5 points", not "0.5points").
WORD_UNITS = frozenset({"points", "count", "samples/s", "tokens/s"})

# How an error names a dimension: "limit is a memory size, the measurement is a time (ms)".
_DIMENSION_NAMES: dict[str, str] = {
    "time": "a time",
    "memory": "a memory size",
    "samples_rate": "a rate in samples/s",
    "tokens_rate": "a rate in tokens/s",
    "count": "a count",
    "score": "a score",
    "ratio": "a ratio",
    "dimensionless": "a plain number",
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%|[A-Za-zµ/]*)\s*$")


class UnitError(ValueError):
    """A quantity could not be parsed or converted."""


def dimension(unit: str) -> str:
    try:
        return _UNITS[unit][0]
    except KeyError:
        raise UnitError(f"unknown unit {unit!r}; known units: {', '.join(u for u in _UNITS if u)}") from None


def is_score(unit: str) -> bool:
    """Whether a unit measures a quality score (points, 0-100): its changes read in points, not percent."""
    return _UNITS.get(unit, ("",))[0] == "score"


def describe_dimension(unit: str) -> str:
    """What kind of quantity a unit measures, for errors: ``"a memory size"`` for ``"MB"``."""
    return _DIMENSION_NAMES[dimension(unit)]


# How a value scales with the machine's speed: times grow with the reference time, rates shrink.
_SPEED_EXPONENTS: dict[str, int] = {"time": 1, "samples_rate": -1, "tokens_rate": -1}


def speed_exponent(unit: str) -> int | None:
    """The power of the reference time that a value in ``unit`` scales with (None: it does not)."""
    try:
        return _SPEED_EXPONENTS.get(dimension(unit))
    except UnitError:
        return None


def convert(value: float, from_unit: str, to_unit: str) -> float:
    from_dim, from_factor = _UNITS.get(from_unit, (None, 0.0))
    to_dim, to_factor = _UNITS.get(to_unit, (None, 0.0))
    if from_dim is None or to_dim is None:
        raise UnitError(f"cannot convert {from_unit!r} to {to_unit!r}: unknown unit")
    if from_dim != to_dim:
        raise UnitError(f"cannot convert {from_unit!r} ({from_dim}) to {to_unit!r} ({to_dim})")
    return value * from_factor / to_factor


@dataclass(frozen=True)
class Quantity:
    """A number as the user wrote it: relative (``"10%"``) or absolute with a unit."""

    value: float
    unit: str  # "%" for relative quantities

    @property
    def is_relative(self) -> bool:
        return self.unit == "%"

    def in_unit(self, unit: str) -> float:
        if self.is_relative:
            raise UnitError(f"{self} is relative; an absolute quantity is needed here")
        return convert(self.value, self.unit, unit)

    def __str__(self) -> str:
        """As a threshold or limit prints: ``10%``, ``5ms``, ``0.5 points`` (a unit that is a word
        stands apart from its number)."""
        space = " " if self.unit in WORD_UNITS else ""
        return f"{self.value:g}{space}{self.unit}"


def parse_quantity(text: str | float | int | Quantity, *, what: str = "quantity", example_unit: str = "ms") -> Quantity:
    """Parse ``"10%"``, ``"5ms"``, ``"64MB"``, ``"0.5 points"``, ``"0.5points"`` or ``"1 point"``.

    A number without a unit (``10``, ``"10"``) is refused: the error suggests ``"10%"`` and
    the same number in ``example_unit`` (the unit of the measurement it is meant for).
    """
    if isinstance(text, Quantity):
        return text
    number, unit = _number_and_unit(text, what)
    if not math.isfinite(number):
        raise UnitError(f"{what}: {text!r} is not a finite number")
    if unit != "%" and unit not in _UNITS:
        raise UnitError(f"{what}: unknown unit {unit!r} in {text!r}; known units: %, {', '.join(u for u in _UNITS if u)}")
    if number < 0:
        raise UnitError(f"{what}: {text!r} must not be negative")
    if unit == "":
        example = f"'{number:g}%' or '{number:g}{example_unit or 'ms'}'"
        raise UnitError(f"{what}: {text!r} has no unit; give a unit or a %, e.g. {example}")
    return Quantity(number, unit)


def _number_and_unit(text: object, what: str) -> tuple[float, str]:
    """The number and the unit as written; a Python int or float has no unit."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"{what}: expected a string such as '10%' or '5ms', got {text!r}")
    if not isinstance(text, str):
        return float(text), ""
    match = _QUANTITY.match(text)
    if not match:
        raise UnitError(f"{what}: cannot parse {text!r}; write e.g. '10%', '5ms', '64MB' or '0.5 points'")
    unit = match.group(2)
    return float(match.group(1)), "points" if unit == "point" else unit  # "1 point" reads as it should


def signed_number(value: float, decimals: int) -> str:
    """``+1.2``, ``-0.8``: a value that rounds to zero reads ``+0.0`` whatever its sign, never ``-0.0``."""
    text = f"{value:+.{decimals}f}"
    return "+" + text[1:] if float(text) == 0 else text


def format_value(value: float, unit: str) -> str:
    """A compact human rendering: 3 significant digits, integers exactly."""
    if unit == "count":
        return f"{round(value):,}"
    if unit == "x":
        return f"{value:.3g}x"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g} {unit}".strip()
    if abs(value) >= 100:
        return f"{value:,.1f} {unit}".strip()
    return f"{value:.3g} {unit}".strip()
