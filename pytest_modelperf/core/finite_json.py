"""Finding the non-finite numbers (NaN, infinity) in parsed or to-be-written JSON data.

Python's JSON reader accepts ``NaN``, ``Infinity`` and ``-Infinity`` (and reads a number too
large for a float, such as ``1e999``, as infinity), and a comparison with NaN is always false:
one such value in a baseline or an export would let every check pass. Readers and writers of
modelperf files look for them here, so that the error can name the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def find_non_finite(data: Any, path: str = "") -> tuple[str, str] | None:
    """The first non-finite number in ``data`` as (field path, how JSON spells it), or None.

    Field paths read like the ones ``FormatError`` uses: ``tests.test_a.latency.summary.median``,
    ``results[0].current``; a non-finite number at the top level is ``(top level)``.
    """
    if isinstance(data, float):
        return None if math.isfinite(data) else (path or "(top level)", spelling(data))
    if isinstance(data, Mapping):
        for key, value in data.items():
            found = find_non_finite(value, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            found = find_non_finite(value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def spelling(value: float) -> str:
    """How JSON writers spell a non-finite number: NaN, Infinity or -Infinity."""
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
