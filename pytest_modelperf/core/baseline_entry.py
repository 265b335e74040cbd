"""Baseline entries: what the store keeps for one (test, measurement) on one hardware key.

A :class:`BaselineEntry` holds the summary statistics and quantiles of the run it was
recorded from, plus the summary statistics of every recorded run, so that a comparison can
tell the spread between runs from a change. An :class:`EntryKey` says where it is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    number_map,
    object_field,
    string_field,
    unavailable_field,
)
from .measurement import REFERENCE_STATISTIC, Direction, Measurement
from .units import speed_exponent

MAX_RECORDED_RUNS = 10

# The git commit an entry was recorded at: kept in the entry, beside ``recorded``, because the
# environment it points at (software and hardware) is shared by entries recorded at many commits.
COMMIT_FIELD = "commit"


@dataclass(frozen=True, order=True)
class EntryKey:
    """Where an entry is kept: hardware key, test module, test and measurement."""

    hardware_key: str
    module: str  # the test module's path relative to the root dir, with "/" separators
    test: str  # the test's name within the module, e.g. "TestBert::test_latency[b1]"
    measurement: str

    def describe(self) -> str:
        return f"{self.module}::{self.test} {self.measurement} [{self.hardware_key}]"


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
    environment: str = ""  # the id of the environment record in the file's ``environments``
    recorded: str = ""
    unavailable: str | None = None
    examples: ExampleOutcomes | None = None
    # The between-run spread learned from the runs recorded before the last intentional update,
    # by statistic (and "<statistic> in reference units"): a new value does not make the
    # machine's noise unknown again.
    earlier_spread: Mapping[str, stats.Spread] = field(default_factory=dict)
    commit: str = ""  # the git commit it was recorded at; empty outside a git checkout

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
        if self.commit:
            data[COMMIT_FIELD] = self.commit
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
    def from_dict(cls, data: object, path: str) -> BaselineEntry:
        if not isinstance(data, dict):
            raise FormatError(path, f"expected an object, got {type(data).__name__}")
        unit = string_field(data, "unit", path)
        direction = choice_field(data, "direction", Direction, path)
        summary = number_map(object_field(data, "summary", path), f"{path}.summary")
        statistic = string_field(data, "statistic", path)
        unavailable = unavailable_field(data, path)
        if unavailable is None and statistic != "value" and statistic not in summary:
            raise FormatError(f"{path}.statistic", f"{statistic!r} is not among the summary's statistics")
        if unavailable is None and statistic == "value" and "value" not in summary:
            raise FormatError(f"{path}.summary", "a single-value entry needs summary.value")
        quantiles = data.get("quantiles", [])
        if not isinstance(quantiles, list) or not all(is_number(q) for q in quantiles):
            raise FormatError(f"{path}.quantiles", "expected a list of numbers")
        runs_data = data.get("runs", [])
        if not isinstance(runs_data, list):
            raise FormatError(f"{path}.runs", "expected a list of objects")
        runs = tuple(number_map(run, f"{path}.runs[{i}]") for i, run in enumerate(runs_data))
        return cls(
            unit=unit,
            direction=direction,
            deterministic=bool_field(data, "deterministic", path),
            statistic=statistic,
            summary=summary,
            quantiles=tuple(float(q) for q in quantiles),
            runs=runs,
            context=context_field(data, path),
            environment=str(data.get("environment", "")),
            recorded=str(data.get("recorded", "")),
            unavailable=unavailable,
            examples=examples_field(data, path),
            earlier_spread=_earlier_spread(data, path),
            commit=_commit(data, path),
        )


def in_reference_units(statistic: str) -> str:
    return f"{statistic} in reference units"


def _pooled(*spreads: stats.Spread | None) -> stats.Spread | None:
    present = [spread for spread in spreads if spread is not None]
    return present[0].pooled_with(*present[1:]) if present else None


def _commit(data: Mapping[str, Any], path: str) -> str:
    """The optional ``commit`` (files written before it existed keep it in the environment)."""
    commit = data.get(COMMIT_FIELD, "")
    if not isinstance(commit, str):
        raise FormatError(f"{path}.{COMMIT_FIELD}", f"expected a commit hash as a string, got {commit!r}")
    return commit


def _earlier_spread(data: Mapping[str, Any], path: str) -> dict[str, stats.Spread]:
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
        if not is_number(relative) or not math.isfinite(relative) or relative < 0:
            raise FormatError(f"{where}.relative", f"expected a finite non-negative number, got {relative!r}")
        if not isinstance(freedom, int) or isinstance(freedom, bool) or freedom < 1:
            raise FormatError(f"{where}.degrees_of_freedom", f"expected a whole number of at least 1, got {freedom!r}")
        spreads[name] = stats.Spread(float(relative), freedom)
    return spreads


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
