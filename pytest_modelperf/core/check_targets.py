"""What ``modelperf.check`` judges of a result: the measurement itself, or the parts of a
result that has an obvious set of them; anything else is refused with a message that says
what to check instead."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import fields, is_dataclass

from .measurement import Measurement


def measurements_to_check(result: object) -> tuple[Measurement, ...]:
    """The measurement itself, or the measurements of a result that has an obvious set of them."""
    __tracebackhide__ = True
    if isinstance(result, Measurement):
        return (result,)
    parts = _parts_of_composite(result)
    if parts:
        return parts
    raise TypeError(_not_a_measurement(result))


def _parts_of_composite(result: object) -> tuple[Measurement, ...] | None:
    """Every score of a quality evaluation (a mapping of scores), every measurement of a result
    that lists them in ``measurements`` (a throughput's two rates, a sweep cell) or of a list
    (models timed side by side); None for anything else."""
    values: object
    if isinstance(result, Mapping):
        values = tuple(result.values())
    elif isinstance(result, (list, tuple)):
        values = tuple(result)
    else:
        values = getattr(result, "measurements", None)
    if isinstance(values, tuple) and all(isinstance(value, Measurement) for value in values):
        return values
    return None


def _not_a_measurement(result: object) -> str:
    kind = type(result).__name__
    held = []
    if is_dataclass(result) and not isinstance(result, type):
        held = [f.name for f in fields(result) if isinstance(getattr(result, f.name), Measurement)]
    if held:
        return (
            f"modelperf.check({kind}): expected a Measurement; a {kind} holds {', '.join(held)}: "
            f"check the one you mean, e.g. modelperf.check(result.{held[0]})"
        )
    if _parts_of_composite(result) == ():
        return f"modelperf.check({kind}): this {kind} holds no measurement to check"
    return (
        f"modelperf.check({reprlib.repr(result)}): expected a Measurement (from modelperf.measure_* or modelperf.record), "
        f"got {kind}; a number of your own goes through modelperf.record(name, value, unit=...)"
    )
