"""The ``@pytest.mark.modelperf(...)`` marker: its arguments, parsed and validated once per test.

``marker_options(item)`` reads the closest ``modelperf`` marker the first time it is asked and
keeps the result in the item's stash; the fixture and the hooks read that result. An argument
that is unknown or of the wrong kind is a ``pytest.UsageError`` naming the test and the argument.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

import pytest

from .core.counts import counted
from .core.timing import TimingError, TimingOptions
from .options import MissingPolicy, Settings

NAME = "modelperf"


@dataclass(frozen=True)
class MarkerOptions:
    """Keyword arguments accepted by ``@pytest.mark.modelperf(...)``; None where not given."""

    threshold: Any = None  # text such as '10%' or '5ms', parsed against each measurement's unit when checked
    device: str | None = None
    dtype: str | None = None
    missing: MissingPolicy | None = None
    warmup_rounds: int | None = None
    warmup_time: float | None = None
    min_rounds: int | None = None
    max_rounds: int | None = None
    max_time: float | None = None
    confirm: int | None = None
    where: str = dataclasses.field(default="", compare=False)  # the test's node id, for errors

    @classmethod
    def from_marker(cls, marker: pytest.Mark | None, where: str) -> MarkerOptions:
        if marker is None:
            return cls(where=where)
        if marker.args:
            raise pytest.UsageError(f"{where}: @pytest.mark.modelperf takes keyword arguments only")
        known = sorted(ARGUMENTS)
        unknown = sorted(set(marker.kwargs) - set(known))
        if unknown:
            raise pytest.UsageError(
                f"{where}: @pytest.mark.modelperf got {counted(len(unknown), 'unknown argument')}: {', '.join(unknown)}; "
                f"known: {', '.join(known)}"
            )
        parsed = {name: _parse(name, value, where) for name, value in marker.kwargs.items()}
        return cls(**parsed, where=where)

    def timing(self, base: TimingOptions) -> TimingOptions:
        """The session's timing with this marker's overrides."""
        overrides = {f.name: getattr(self, f.name) for f in fields(TimingOptions) if getattr(self, f.name) is not None}
        try:
            return dataclasses.replace(base, **overrides)
        except TimingError as error:
            given = ", ".join(f"{name}={value!r}" for name, value in overrides.items())
            raise pytest.UsageError(f"{self.where}: @pytest.mark.modelperf({given}): {error}") from None

    def confirmations(self, settings: Settings) -> int:
        """How many re-runs a noise-sensitive failure gets: the marker's confirm=, else the setting."""
        return settings.confirm if self.confirm is None else self.confirm

    def missing_policy(self, settings: Settings) -> MissingPolicy:
        """What a measurement without a baseline does: the marker's missing=, else the setting."""
        return settings.missing if self.missing is None else self.missing


def _text(name: str, value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise pytest.UsageError(f"{where}: @pytest.mark.modelperf({name}=...) must be a string, got {value!r}")
    return value


def _count(name: str, value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise pytest.UsageError(f"{where}: @pytest.mark.modelperf({name}=...) must be a non-negative integer, got {value!r}")
    return value


def _seconds(name: str, value: Any, where: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise pytest.UsageError(
            f"{where}: @pytest.mark.modelperf({name}=...) must be a non-negative number of seconds, got {value!r}"
        )
    return value


def _missing(name: str, value: Any, where: str) -> MissingPolicy:
    try:
        return MissingPolicy(value)
    except ValueError:
        raise pytest.UsageError(f"{where}: @pytest.mark.modelperf({name}=...) must be warn or fail, got {value!r}") from None


def _threshold(name: str, value: Any, where: str) -> Any:
    # Parsed by the fixture against each measurement it applies to: a unit must fit the measurement's.
    return value


ARGUMENTS = {
    "threshold": _threshold,
    "device": _text,
    "dtype": _text,
    "missing": _missing,
    "warmup_rounds": _count,
    "warmup_time": _seconds,
    "min_rounds": _count,
    "max_rounds": _count,
    "max_time": _seconds,
    "confirm": _count,
}
MARKER_LINE = f"{NAME}({', '.join(f'{name}=' for name in ARGUMENTS)}): per-test settings for the modelperf fixture"


def _parse(name: str, value: Any, where: str) -> Any:
    return ARGUMENTS[name](name, value, where)


PARSED = pytest.StashKey[MarkerOptions]()


def marker_options(item: pytest.Item) -> MarkerOptions:
    """The test's marker arguments, parsed on first use and kept in the item's stash."""
    if PARSED not in item.stash:
        item.stash[PARSED] = MarkerOptions.from_marker(item.get_closest_marker(NAME), item.nodeid)
    return item.stash[PARSED]
