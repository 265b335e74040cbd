"""Measurements: what a tracker produces in this run, as frozen values with a stable dictionary form.

A :class:`Measurement` is one metric with its unit, direction, statistic and raw samples, or
the reason it could not be measured (out of memory, or a fault of the measuring such as NaN
or a zero divisor). ``ratio_of`` divides one measurement by another.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from . import stats
from .example_outcomes import ExampleOutcomes
from .file_format import (
    FormatError,
    bool_field,
    choice_field,
    context_field,
    examples_field,
    is_number,
    number_list,
    string_field,
    unavailable_field,
)
from .units import UnitError, convert, dimension

REFERENCE_STATISTIC = "reference"  # a run's median reference-workload time (ms), beside its statistics
NOT_FINITE = "not a finite number"
DIVISION_BY_ZERO = "division by zero"
# Reasons that mean the measuring went wrong, not that the model cannot run the workload (out of
# memory): such a value fails every check that has a limit or a baseline, whatever the baseline says.
FAULTS = (NOT_FINITE, DIVISION_BY_ZERO)


def is_fault(reason: str | None) -> bool:
    """Whether an unavailable value's reason is a fault of the measuring (NaN, inf, a zero divisor)."""
    return reason is not None and reason.startswith(FAULTS)


def not_finite_reason(value: float, samples: Sequence[float] = ()) -> str | None:
    """Why a value (or one of the samples it came from) is not a number to compare, or None."""
    for index, sample in enumerate(samples, start=1):
        if not math.isfinite(sample):
            return f"{NOT_FINITE} ({sample} in round {index} of {len(samples)})"
    if not math.isfinite(value):
        return f"{NOT_FINITE} ({value})"
    return None


class Direction(str, Enum):
    LOWER_IS_BETTER = "lower_is_better"
    HIGHER_IS_BETTER = "higher_is_better"


@dataclass(frozen=True)
class Measurement:
    """One metric measured in this run, with its unit, direction and (if sampled) raw samples."""

    name: str
    unit: str
    direction: Direction
    value: float
    statistic: str = "value"
    samples: tuple[float, ...] = ()
    deterministic: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    unavailable: str | None = None  # why there is no value, e.g. "out of memory" (the study's N/A)
    examples: ExampleOutcomes | None = None  # per-example outcomes of a quality score (accuracy, F1)
    reference: tuple[float, ...] = ()  # per-round ms of the machine's reference workload, timed alongside

    def __post_init__(self) -> None:
        # Every way of making a measurement passes here (constructors, trackers, ratios,
        # dataclasses.replace), so no NaN or infinity can reach a comparison or a file.
        problem = not_finite_reason(self.value if self.unavailable is None else 0.0, self.samples)
        if problem is not None:
            object.__setattr__(self, "value", math.nan)
            object.__setattr__(self, "samples", ())
            object.__setattr__(self, "reference", ())
            object.__setattr__(self, "unavailable", self.unavailable or problem)
            return
        reference_problem = not_finite_reason(0.0, self.reference)
        if reference_problem is not None:
            object.__setattr__(self, "reference", ())
            object.__setattr__(self, "notes", (*self.notes, f"speed reference dropped: {reference_problem}"))

    @property
    def noisy(self) -> bool:
        """Whether another run could give another value by chance (timings, sampled peaks)."""
        return not self.deterministic and self.unavailable is None

    @classmethod
    def from_samples(
        cls,
        name: str,
        samples: Sequence[float],
        *,
        unit: str,
        direction: Direction,
        statistic: str = "median",
        context: Mapping[str, Any] | None = None,
        notes: Sequence[str] = (),
    ) -> Measurement:
        if not samples:
            raise ValueError(f"measurement {name!r} has no samples")
        values = tuple(float(s) for s in samples)
        return cls(
            name=name,
            unit=unit,
            direction=direction,
            value=stats.statistic(values, statistic),
            statistic=statistic,
            samples=values,
            deterministic=False,
            context=dict(context or {}),
            notes=tuple(notes),
        )

    @classmethod
    def exact(
        cls,
        name: str,
        value: float,
        *,
        unit: str,
        direction: Direction = Direction.LOWER_IS_BETTER,
        context: Mapping[str, Any] | None = None,
        notes: Sequence[str] = (),
    ) -> Measurement:
        """A deterministic value (a parameter count, an allocator peak): compared tightly."""
        return cls(
            name=name,
            unit=unit,
            direction=direction,
            value=float(value),
            deterministic=True,
            context=dict(context or {}),
            notes=tuple(notes),
        )

    @classmethod
    def not_available(
        cls,
        name: str,
        reason: str,
        *,
        unit: str,
        direction: Direction = Direction.LOWER_IS_BETTER,
        context: Mapping[str, Any] | None = None,
        notes: Sequence[str] = (),
    ) -> Measurement:
        """A cell that could not be measured (out of memory): recorded as such, compared as such."""
        empty = cls.exact(name, math.nan, unit=unit, direction=direction, context=context, notes=notes)
        return replace(empty, unavailable=reason)

    @property
    def summary(self) -> dict[str, float]:
        if self.unavailable is not None:
            return {}
        summary = stats.summarize(self.samples) if self.samples else {"value": self.value}
        if self.samples and self.statistic not in summary:  # e.g. p75: its baseline must hold it
            summary[self.statistic] = self.value
        if self.reference:
            summary[REFERENCE_STATISTIC] = stats.statistic(self.reference, "median")
        return summary

    def value_of(self, statistic: str) -> float:
        if statistic in ("value", self.statistic) or self.unavailable is not None:
            return self.value
        if not self.samples:
            raise ValueError(f"measurement {self.name!r} is a single value; statistic {statistic!r} does not apply")
        return stats.statistic(self.samples, statistic)

    def renamed(self, name: str) -> Measurement:
        return replace(self, name=name)

    def to_dict(self, *, include_samples: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "unit": self.unit,
            "direction": self.direction.value,
            "value": None if self.unavailable is not None else self.value,
            "statistic": self.statistic,
            "deterministic": self.deterministic,
            "summary": self.summary,
            "context": dict(self.context),
            "notes": list(self.notes),
        }
        if include_samples and self.samples:
            data["samples"] = list(self.samples)
        if self.unavailable is not None:
            data["unavailable"] = self.unavailable
        if include_samples and self.examples is not None:
            data["examples"] = self.examples.to_dict()
        if include_samples and self.reference:
            data["reference"] = list(self.reference)
        return data

    @classmethod
    def from_dict(cls, data: object, path: str) -> Measurement:
        """The measurement ``to_dict`` wrote (a ``--modelperf-json`` export's ``measurement``)."""
        if not isinstance(data, dict):
            raise FormatError(path, f"expected an object, got {type(data).__name__}")
        name = string_field(data, "name", path)
        unit = string_field(data, "unit", path)
        try:
            dimension(unit)
        except UnitError as error:
            raise FormatError(f"{path}.unit", str(error)) from None
        direction = choice_field(data, "direction", Direction, path)
        unavailable = unavailable_field(data, path)
        value = data.get("value")
        if unavailable is not None:
            value = math.nan
        elif not is_number(value):
            raise FormatError(f"{path}.value", f"expected a number, got {value!r}")
        samples = number_list(data.get("samples", []), f"{path}.samples")
        reference = number_list(data.get("reference", []), f"{path}.reference")
        context = context_field(data, path)
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            raise FormatError(f"{path}.notes", "expected a list of strings")
        return cls(
            name=name,
            unit=unit,
            direction=direction,
            value=float(value),
            statistic=string_field(data, "statistic", path),
            samples=samples,
            deterministic=bool_field(data, "deterministic", path),
            context=context,
            notes=tuple(notes),
            unavailable=unavailable,
            examples=examples_field(data, path),
            reference=reference,
        )


def ratio_of(
    numerator: Measurement,
    denominator: Measurement,
    *,
    name: str,
    direction: Direction = Direction.HIGHER_IS_BETTER,
) -> Measurement:
    """``numerator / denominator`` as a measurement in unit ``x``, e.g. a speed-up of one model over another.

    Two sampled measurements with as many samples (rounds timed side by side) give a sampled
    ratio, one per round, whose median is far steadier than either time; otherwise the ratio of
    the two values. Both must be of the same dimension (milliseconds and seconds mix).
    """
    context = {
        **{key: value for key, value in numerator.context.items() if key in ("device", "dtype", "batch_size", "sequence_length")},
        "model": f"{numerator.context.get('model', '?')} / {denominator.context.get('model', '?')}",
        "numerator": numerator.name,
        "denominator": denominator.name,
    }
    notes = tuple(dict.fromkeys((*numerator.notes, *denominator.notes)))
    factor = convert(1.0, denominator.unit, numerator.unit)
    missing = numerator.unavailable or denominator.unavailable
    paired = bool(numerator.samples) and len(numerator.samples) == len(denominator.samples)
    if missing is None:
        missing = _zero_divisor(denominator, paired)
    if missing is not None:
        return Measurement.not_available(name, missing, unit="x", direction=direction, context=context, notes=notes)
    if paired:
        ratios = [top / (bottom * factor) for top, bottom in zip(numerator.samples, denominator.samples, strict=True)]
        return Measurement.from_samples(
            name, ratios, unit="x", direction=direction, statistic=numerator.statistic, context=context, notes=notes
        )
    value = numerator.value / (denominator.value * factor)
    if numerator.deterministic and denominator.deterministic:
        return Measurement.exact(name, value, unit="x", direction=direction, context=context, notes=notes)
    return Measurement(name, "x", direction, value, context=context, notes=notes)


def _zero_divisor(denominator: Measurement, per_round: bool) -> str | None:
    """Why a ratio cannot be taken: the denominator measured 0 (in a round, for a per-round ratio)."""
    model = denominator.context.get("model")
    which = f"{denominator.name} of {model}" if model and str(model) not in denominator.name else denominator.name
    if per_round:
        zero_round = next((index for index, value in enumerate(denominator.samples, start=1) if value == 0), None)
        return None if zero_round is None else f"{DIVISION_BY_ZERO}: {which} measured 0 in round {zero_round}"
    return f"{DIVISION_BY_ZERO}: {which} measured 0" if denominator.value == 0 else None
