"""Settings built once from the command line, ini keys and markers, then frozen."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from .core.judge import NoisePolicy
from .core.timing import TimingError, TimingOptions
from .core.units import Quantity, UnitError, parse_quantity


class UpdateMode(str, Enum):
    NONE = "none"
    ALL = "all"  # rewrite every entry that ran
    MISSING = "missing"  # write only entries that have no baseline yet
    ADD_RUN = "add-run"  # add this run to the entries' recorded runs


class MissingPolicy(str, Enum):
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class MarkerOptions:
    """Keyword arguments accepted by ``@pytest.mark.modelperf(...)``."""

    threshold: str | None = None
    device: str | None = None
    dtype: str | None = None
    missing: str | None = None
    warmup_rounds: int | None = None
    warmup_time: float | None = None
    min_rounds: int | None = None
    max_rounds: int | None = None
    max_time: float | None = None
    confirm: int | None = None

    @classmethod
    def from_marker(cls, marker: pytest.Mark | None, where: str) -> MarkerOptions:
        if marker is None:
            return cls()
        if marker.args:
            raise pytest.UsageError(f"{where}: @pytest.mark.modelperf takes keyword arguments only")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(marker.kwargs) - known)
        if unknown:
            raise pytest.UsageError(
                f"{where}: unknown @pytest.mark.modelperf argument(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**marker.kwargs)

    def timing(self, base: TimingOptions) -> TimingOptions:
        overrides = {
            f.name: getattr(self, f.name)
            for f in fields(TimingOptions)
            if getattr(self, f.name) is not None
        }
        try:
            return dataclasses.replace(base, **overrides)
        except TimingError as error:
            raise pytest.UsageError(f"modelperf: {error}") from None


@dataclass(frozen=True)
class Settings:
    baseline_dir: Path
    update: UpdateMode
    prune: bool
    threshold: Quantity
    noise: NoisePolicy
    missing: MissingPolicy
    device: str
    dtype: str
    timing: TimingOptions
    json_path: Path | None
    markdown_path: Path | None
    root: Path
    registry: str = ""  # --modelperf-registry as given; resolved when a test first needs the registry
    online: bool = False
    confirm: int = 1
    calibrate: bool = True
    csv_path: Path | None = None
    html_path: Path | None = None
    forget_spread: bool = False  # --modelperf-update drops the spread learned from the replaced runs

    @classmethod
    def from_pytest_config(cls, config: pytest.Config) -> Settings:
        root = Path(config.rootpath)
        baseline_dir = Path(_option(config, "baseline_dir"))
        update_flags = {
            UpdateMode.ALL: config.getoption("modelperf_update"),
            UpdateMode.MISSING: config.getoption("modelperf_update_missing"),
            UpdateMode.ADD_RUN: config.getoption("modelperf_add_run"),
        }
        chosen = [mode for mode, on in update_flags.items() if on]
        if len(chosen) > 1:
            raise pytest.UsageError(
                "modelperf: choose one of --modelperf-update, --modelperf-update-missing and --modelperf-add-run"
            )
        prune = bool(config.getoption("modelperf_prune"))
        if prune and chosen != [UpdateMode.ALL]:
            raise pytest.UsageError("modelperf: --modelperf-prune only works together with --modelperf-update")
        forget_spread = bool(config.getoption("modelperf_forget_spread", default=False))
        if forget_spread and chosen != [UpdateMode.ALL]:
            raise pytest.UsageError("modelperf: --modelperf-forget-spread only works together with --modelperf-update")
        json_path = config.getoption("modelperf_json")
        markdown = config.getoption("modelperf_markdown") or os.environ.get("GITHUB_STEP_SUMMARY") or None
        try:
            return cls(
                baseline_dir=baseline_dir if baseline_dir.is_absolute() else root / baseline_dir,
                update=chosen[0] if chosen else UpdateMode.NONE,
                prune=prune,
                threshold=_relative_or_absolute(_option(config, "threshold"), "--modelperf-threshold (or ini modelperf_threshold)"),
                noise=NoisePolicy(
                    enabled=_truthy(_option(config, "noise_aware"), "modelperf_noise_aware"),
                    confidence=_number(_option(config, "confidence"), "--modelperf-confidence"),
                    assumed_spread=_percent(_option(config, "assumed_noise"), "--modelperf-assumed-noise"),
                ),
                missing=MissingPolicy(_choice(_option(config, "missing"), MissingPolicy, "--modelperf-missing")),
                device=str(_option(config, "device")),
                dtype=str(_option(config, "dtype")),
                timing=TimingOptions(
                    warmup_rounds=int(_number(_option(config, "warmup_rounds"), "modelperf_warmup_rounds")),
                    warmup_time=_number(_option(config, "warmup_time"), "modelperf_warmup_time"),
                    min_rounds=int(_number(_option(config, "min_rounds"), "--modelperf-min-rounds")),
                    max_rounds=int(_number(_option(config, "max_rounds"), "--modelperf-max-rounds")),
                    max_time=_number(_option(config, "max_time"), "--modelperf-max-time"),
                ),
                json_path=Path(json_path) if json_path else None,
                markdown_path=Path(markdown) if markdown else None,
                root=root,
                registry=_option(config, "registry"),
                online=bool(config.getoption("modelperf_online")),
                confirm=_count(_option(config, "confirm"), "--modelperf-confirm"),
                calibrate=_truthy(_option(config, "calibrate"), "--modelperf-calibrate"),
                csv_path=_report_path(config, "csv", root),
                html_path=_report_path(config, "html", root),
                forget_spread=forget_spread,
            )
        except ValueError as error:
            raise pytest.UsageError(f"modelperf: {error}") from None


# Every setting can come from the command line or from an ini key of the same name:
# --modelperf-max-time / modelperf_max_time. The command line wins.
DEFAULTS: dict[str, str] = {
    "baseline_dir": "baselines",
    "threshold": "10%",
    "confidence": "0.99",
    "assumed_noise": "5%",
    "noise_aware": "true",
    "missing": "warn",
    "device": "auto",
    "dtype": "float32",
    "warmup_rounds": str(TimingOptions.warmup_rounds),
    "warmup_time": str(TimingOptions.warmup_time),
    "min_rounds": str(TimingOptions.min_rounds),
    "max_rounds": str(TimingOptions.max_rounds),
    "max_time": str(TimingOptions.max_time),
    "registry": "",
    "confirm": "1",
    "calibrate": "true",
    "csv": "",
    "html": "",
}


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption(f"modelperf_{name}", default=None)
    if value is None:
        value = config.getini(f"modelperf_{name}") or DEFAULTS[name]
    return str(value)


def _report_path(config: pytest.Config, name: str, root: Path) -> Path | None:
    """A report file: given on the command line, relative to the working directory (like
    --modelperf-json); given as an ini key, relative to the root dir."""
    given = config.getoption(f"modelperf_{name}", default=None)
    if given:
        return Path(given)
    configured = config.getini(f"modelperf_{name}")
    return root / configured if configured else None


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: expected a number, got {text!r}") from None


def _count(text: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{where}: expected a whole number, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{where}: must not be negative, got {value}")
    return value


def confirmations(options: MarkerOptions, settings: Settings, where: str) -> int:
    """How many re-runs a noise-sensitive failure gets: the marker's confirm=, else the setting."""
    if options.confirm is None:
        return settings.confirm
    if not isinstance(options.confirm, int) or isinstance(options.confirm, bool) or options.confirm < 0:
        raise pytest.UsageError(f"{where}: @pytest.mark.modelperf(confirm=...) must be a non-negative integer, got {options.confirm!r}")
    return options.confirm


def _percent(text: str, where: str) -> float:
    quantity = _relative_or_absolute(text, where)
    if not quantity.is_relative:
        raise ValueError(f"{where}: expected a percentage such as '5%', got {text!r}")
    return quantity.value / 100.0


def _relative_or_absolute(text: str, where: str) -> Quantity:
    try:
        return parse_quantity(text, what=where)
    except UnitError as error:
        raise ValueError(str(error)) from None


def _truthy(text: str, where: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{where}: expected true or false, got {text!r}")


def _choice(text: str, enum: type[Enum], where: str) -> Any:
    values = [member.value for member in enum]  # type: ignore[attr-defined]
    if text not in values:
        raise ValueError(f"{where}: expected one of {', '.join(values)}, got {text!r}")
    return text
