"""Measurements and baseline entries: frozen values with a stable dictionary form.

A :class:`Measurement` is what a tracker produces in this run. A :class:`BaselineEntry` is
what the store keeps for one (test, measurement) on one hardware key: the summary
statistics and quantiles of the run it was recorded from, plus the summary statistics of
every recorded run, so that a comparison can tell the spread between runs from a change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from . import stats
from .example_outcomes import ExampleOutcomes, OutcomesError

SCHEMA_VERSION = 1
MAX_RECORDED_RUNS = 10
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


class FormatError(ValueError):
    """A stored dictionary does not have the expected shape; ``path`` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


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
    def from_dict(cls, data: Any, path: str) -> Measurement:
        """The measurement ``to_dict`` wrote (a ``--modelperf-json`` export's ``measurement``)."""
        from .units import UnitError, dimension

        if not isinstance(data, dict):
            raise FormatError(path, f"expected an object, got {type(data).__name__}")
        name = _field(data, "name", str, path)
        unit = _field(data, "unit", str, path)
        try:
            dimension(unit)
        except UnitError as error:
            raise FormatError(f"{path}.unit", str(error)) from None
        direction = _direction(data, path)
        unavailable = _unavailable(data, path)
        value = data.get("value")
        if unavailable is None and not _is_number(value):
            raise FormatError(f"{path}.value", f"expected a number, got {value!r}")
        samples = _number_list(data.get("samples", []), f"{path}.samples")
        reference = _number_list(data.get("reference", []), f"{path}.reference")
        context = _context(data, path)
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            raise FormatError(f"{path}.notes", "expected a list of strings")
        examples = _examples(data, path)
        return cls(
            name=name,
            unit=unit,
            direction=direction,
            value=math.nan if unavailable is not None else float(value),
            statistic=_field(data, "statistic", str, path),
            samples=samples,
            deterministic=_field(data, "deterministic", bool, path),
            context=context,
            notes=tuple(notes),
            unavailable=unavailable,
            examples=examples,
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
    from .units import convert

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
        ratios = [top / (bottom * factor) for top, bottom in zip(numerator.samples, denominator.samples)]
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


@dataclass(frozen=True)
class BaselineEntry:
    """What the store keeps for one measurement of one test on one hardware key."""

    unit: str
    direction: Direction
    deterministic: bool
    statistic: str
    summary: Mapping[str, float]
    quantiles: tuple[float, ...] = ()
    runs: tuple[Mapping[str, float], ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    environment: str = ""
    recorded: str = ""
    unavailable: str | None = None
    examples: ExampleOutcomes | None = None
    # The between-run spread learned from the runs recorded before the last intentional update,
    # by statistic (and "<statistic> in reference units"): a new value does not make the
    # machine's noise unknown again.
    earlier_spread: Mapping[str, stats.Spread] = field(default_factory=dict)

    @classmethod
    def from_measurement(
        cls,
        measurement: Measurement,
        *,
        environment: str,
        recorded: str,
        previous: BaselineEntry | None = None,
        replaced: BaselineEntry | None = None,
        spread_floor: float = 0.0,
    ) -> BaselineEntry:
        """An entry for this run; with ``previous`` the run is added to its recorded runs.

        With ``replaced`` (an intentional update) the value starts afresh from this run, but the
        spread learned from the replaced entry's runs carries over; ``spread_floor`` is the
        assumed relative spread, below which no run is counted as odd (see ``stats.typical_values``).
        """
        summary = measurement.summary
        runs: tuple[Mapping[str, float], ...] = ()
        earlier_spread: Mapping[str, stats.Spread] = {}
        if not measurement.deterministic:
            same_unit = previous is not None and previous.unit == measurement.unit
            earlier = previous.runs if previous is not None and same_unit else ()
            runs = (*earlier, summary)[-MAX_RECORDED_RUNS:]
            if previous is not None and same_unit:
                earlier_spread = previous.earlier_spread
            elif replaced is not None:
                earlier_spread = replaced._spread_to_carry(measurement, spread_floor)
        return cls(
            unit=measurement.unit,
            direction=measurement.direction,
            deterministic=measurement.deterministic,
            statistic=measurement.statistic,
            summary=summary,
            quantiles=tuple(stats.quantile_sketch(measurement.samples)) if measurement.samples else (),
            runs=runs,
            context=dict(measurement.context),
            environment=environment,
            recorded=recorded,
            unavailable=measurement.unavailable,
            examples=measurement.examples,
            earlier_spread=earlier_spread,
        )

    def center(self, statistic: str, *, spread_floor: float = 0.0) -> float:
        """The baseline value of a statistic: the mean of the typical recorded runs (odd runs set
        aside, see ``stats.typical_values``), or the single value."""
        if self.deterministic or not self.runs:
            return self._summary_value(statistic)
        key = self.statistic if statistic == "value" else statistic
        spread = self.between_run_spread(key, spread_floor=spread_floor)
        return self._summary_value(statistic) if spread is None else spread.center

    def between_run_spread(self, statistic: str, *, spread_floor: float = 0.0) -> stats.RunSpread | None:
        """The statistic's spread across the recorded runs, odd runs set aside (None without runs)."""
        return stats.run_spread([run[statistic] for run in self.runs if statistic in run], floor=spread_floor)

    def learned_spread(self, statistic: str, *, spread_floor: float = 0.0) -> stats.Spread | None:
        """The recorded runs' spread pooled with the one learned before the last update."""
        current = self.between_run_spread(statistic, spread_floor=spread_floor)
        return _pooled(current.spread if current is not None else None, self.earlier_spread.get(statistic))

    def runs_in_reference_units(self, statistic: str) -> list[tuple[float, float]]:
        """(value in units of the reference workload's time, the reference's ms) of each recorded run
        that timed the reference; empty when the unit does not scale with the machine's speed."""
        exponent = speed_exponent(self.unit)
        if exponent is None:
            return []
        return [
            (run[statistic] / run[REFERENCE_STATISTIC] ** exponent, run[REFERENCE_STATISTIC])
            for run in self.runs
            if statistic in run and run.get(REFERENCE_STATISTIC)
        ]

    def learned_spread_in_reference_units(self, statistic: str, *, spread_floor: float = 0.0) -> stats.Spread | None:
        """Like ``learned_spread``, for the statistic in units of the reference workload's time."""
        normalised = [value for value, _ in self.runs_in_reference_units(statistic)]
        current = stats.run_spread(normalised, floor=spread_floor)
        earlier = self.earlier_spread.get(in_reference_units(statistic))
        return _pooled(current.spread if current is not None else None, earlier)

    def _spread_to_carry(self, measurement: Measurement, spread_floor: float) -> dict[str, stats.Spread]:
        """What an update keeps of this entry's spread: the learned spread of its statistic, and of
        the statistic in reference units while the new run timed the same reference workload."""
        if self.deterministic or self.unit != measurement.unit or self.statistic != measurement.statistic:
            return {}
        key = self.statistic
        carried = {key: self.learned_spread(key, spread_floor=spread_floor)}
        reference = self.context.get("speed_reference")
        if reference is not None and reference == measurement.context.get("speed_reference"):
            carried[in_reference_units(key)] = self.learned_spread_in_reference_units(key, spread_floor=spread_floor)
        return {name: spread.capped(MAX_RECORDED_RUNS - 1) for name, spread in carried.items() if spread is not None}

    def has_statistic(self, statistic: str) -> bool:
        return statistic in ("value", self.statistic) or statistic in self.summary

    def _summary_value(self, statistic: str) -> float:
        if statistic in ("value", self.statistic) and "value" in self.summary:
            return self.summary["value"]
        key = self.statistic if statistic == "value" else statistic
        return self.summary[key]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "unit": self.unit,
            "direction": self.direction.value,
            "deterministic": self.deterministic,
            "statistic": self.statistic,
            "summary": {k: (_exact(v) if self.deterministic else _tidy(v)) for k, v in self.summary.items()},
            "context": dict(self.context),
            "environment": self.environment,
            "recorded": self.recorded,
        }
        if self.quantiles:
            data["quantiles"] = [_tidy(q) for q in self.quantiles]
        if self.runs:
            data["runs"] = [{k: _tidy(v) for k, v in run.items()} for run in self.runs]
        if self.unavailable is not None:
            data["unavailable"] = self.unavailable
        if self.examples is not None:
            data["examples"] = self.examples.to_dict()
        if self.earlier_spread:
            data["earlier_spread"] = {
                name: {"relative": _tidy(spread.relative), "degrees_of_freedom": spread.degrees_of_freedom}
                for name, spread in self.earlier_spread.items()
            }
        return data

    @classmethod
    def from_dict(cls, data: Any, path: str) -> BaselineEntry:
        if not isinstance(data, dict):
            raise FormatError(path, f"expected an object, got {type(data).__name__}")
        unit = _field(data, "unit", str, path)
        direction = _direction(data, path)
        summary = _number_map(_field(data, "summary", dict, path), f"{path}.summary")
        statistic = _field(data, "statistic", str, path)
        unavailable = _unavailable(data, path)
        if unavailable is None and statistic != "value" and statistic not in summary:
            raise FormatError(f"{path}.statistic", f"{statistic!r} is not among the summary's statistics")
        if unavailable is None and statistic == "value" and "value" not in summary:
            raise FormatError(f"{path}.summary", "a single-value entry needs summary.value")
        quantiles = data.get("quantiles", [])
        if not isinstance(quantiles, list) or not all(_is_number(q) for q in quantiles):
            raise FormatError(f"{path}.quantiles", "expected a list of numbers")
        runs_data = data.get("runs", [])
        if not isinstance(runs_data, list):
            raise FormatError(f"{path}.runs", "expected a list of objects")
        runs = tuple(_number_map(run, f"{path}.runs[{i}]") for i, run in enumerate(runs_data))
        context = _context(data, path)
        examples = _examples(data, path)
        return cls(
            unit=unit,
            direction=direction,
            deterministic=_field(data, "deterministic", bool, path),
            statistic=statistic,
            summary=summary,
            quantiles=tuple(float(q) for q in quantiles),
            runs=runs,
            context=context,
            environment=str(data.get("environment", "")),
            recorded=str(data.get("recorded", "")),
            unavailable=unavailable,
            examples=examples,
            earlier_spread=_earlier_spread(data, path),
        )


# How a value scales with the machine's speed: times grow with the reference time, rates shrink.
_SPEED_EXPONENTS = {"time": 1, "samples_rate": -1, "tokens_rate": -1}


def speed_exponent(unit: str) -> int | None:
    """The power of the reference time that a value in ``unit`` scales with (None: it does not)."""
    from .units import UnitError, dimension

    try:
        return _SPEED_EXPONENTS.get(dimension(unit))
    except UnitError:
        return None


def in_reference_units(statistic: str) -> str:
    return f"{statistic} in reference units"


def _pooled(*spreads: stats.Spread | None) -> stats.Spread | None:
    present = [spread for spread in spreads if spread is not None]
    return present[0].pooled_with(*present[1:]) if present else None


def _earlier_spread(data: dict[str, Any], path: str) -> dict[str, stats.Spread]:
    """The optional ``earlier_spread`` object (files written before it existed have none)."""
    section = data.get("earlier_spread", {})
    if not isinstance(section, dict):
        raise FormatError(f"{path}.earlier_spread", "expected an object")
    spreads: dict[str, stats.Spread] = {}
    for name, item in section.items():
        where = f"{path}.earlier_spread.{name}"
        if not isinstance(item, dict):
            raise FormatError(where, "expected an object with relative and degrees_of_freedom")
        relative, freedom = item.get("relative"), item.get("degrees_of_freedom")
        if not _is_number(relative) or not math.isfinite(relative) or relative < 0:
            raise FormatError(f"{where}.relative", f"expected a finite non-negative number, got {relative!r}")
        if not isinstance(freedom, int) or isinstance(freedom, bool) or freedom < 1:
            raise FormatError(f"{where}.degrees_of_freedom", f"expected a whole number of at least 1, got {freedom!r}")
        spreads[name] = stats.Spread(float(relative), freedom)
    return spreads


def _direction(data: dict[str, Any], path: str) -> Direction:
    text = _field(data, "direction", str, path)
    try:
        return Direction(text)
    except ValueError:
        choices = ", ".join(d.value for d in Direction)
        raise FormatError(f"{path}.direction", f"{text!r} is not one of {choices}") from None


def _unavailable(data: dict[str, Any], path: str) -> str | None:
    unavailable = data.get("unavailable")
    if unavailable is not None and (not isinstance(unavailable, str) or not unavailable):
        raise FormatError(f"{path}.unavailable", f"expected a reason such as 'out of memory', got {unavailable!r}")
    return unavailable


def _context(data: dict[str, Any], path: str) -> dict[str, Any]:
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise FormatError(f"{path}.context", "expected an object")
    return context


def _examples(data: dict[str, Any], path: str) -> ExampleOutcomes | None:
    if "examples" not in data:
        return None
    try:
        return ExampleOutcomes.from_dict(data["examples"], f"{path}.examples")
    except OutcomesError as error:
        raise FormatError(f"{path}.examples", str(error)) from None


def _tidy(value: float) -> float | int:
    """Round to 6 significant digits so that stored files diff by meaning, not by float noise."""
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return int(value)
    return float(f"{value:.6g}")


def _exact(value: float) -> float | int:
    """Deterministic values are compared tightly, so they are stored without rounding."""
    if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
        return int(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _field(data: dict[str, Any], key: str, kind: type, path: str) -> Any:
    if key not in data:
        raise FormatError(f"{path}.{key}", "missing")
    value = data[key]
    if kind is float:
        ok = _is_number(value)
    elif kind is bool:
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise FormatError(f"{path}.{key}", f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _number_list(data: Any, path: str) -> tuple[float, ...]:
    if not isinstance(data, list) or not all(_is_number(value) for value in data):
        raise FormatError(path, "expected a list of numbers")
    return tuple(float(value) for value in data)


def _number_map(data: Any, path: str) -> dict[str, float]:
    if not isinstance(data, dict):
        raise FormatError(path, f"expected an object of numbers, got {type(data).__name__}")
    for key, value in data.items():
        if not _is_number(value):
            raise FormatError(f"{path}.{key}", f"expected a number, got {value!r}")
    return {key: float(value) for key, value in data.items()}
