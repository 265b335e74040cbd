"""``--modelperf-json`` exports: written from a run's judged checks, read back validated, with
errors that name the file and the field.

An export (``export_payload``) holds one result per check the run made
(``result_to_dict``): the test's node id, the hardware key, the measurement with its
raw samples, the statistic checked, the check's threshold and limit, and the verdict against
that run's baseline. ``modelperf compare`` judges one run's checks against another's, and
``results_frame`` turns the results into a DataFrame.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..core.baseline_entry import EntryKey
from ..core.file_format import SCHEMA_VERSION, FormatError, is_number
from ..core.finite_json import find_non_finite
from ..core.judge import NoisePolicy
from ..core.measurement import Measurement
from ..core.units import Quantity, UnitError, parse_quantity
from ..core.verdict import Outcome, Verdict


class ExportError(Exception):
    """A file is not a readable modelperf export; the message names the file and the field."""


@dataclass(frozen=True)
class ExportedCheck:
    """One check of an exported run: what was measured and what the check asked of it."""

    nodeid: str
    hardware_key: str
    measurement: Measurement
    statistic: str
    threshold: Quantity | None
    limit: Quantity | None
    outcome: Outcome
    environment: str
    data: Mapping[str, Any]  # the result as exported, for flat tables

    @property
    def key(self) -> EntryKey:
        """Where the plugin keeps this check's baseline: hardware key, module, test, measurement."""
        module, _, test = self.nodeid.partition("::")
        return EntryKey(self.hardware_key, module, test, self.measurement.name)


@dataclass(frozen=True)
class RunExport:
    path: Path
    started: str
    environments: Mapping[str, Mapping[str, Any]]
    noise: NoisePolicy | None  # how the run judged noise; None in exports that predate recording it
    checks: tuple[ExportedCheck, ...]


def load_export(path: Path) -> RunExport:
    """Read and validate an export; ExportError names the file and, for a malformed one, the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"{path}: cannot be read: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExportError(
            f"{path}: not a modelperf export: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    try:
        return parse_export(data, path)
    except FormatError as error:
        raise ExportError(f"{path}: field {error.path}: {error.problem}") from None


def parse_export(data: Any, path: Path) -> RunExport:
    """The export in ``data`` (already parsed JSON); FormatError names the malformed field,
    including any NaN or infinity (which Python's JSON reader accepts, and no check can judge)."""
    if not isinstance(data, dict):
        raise ExportError(f"{path}: not a modelperf export: expected a JSON object, got {type(data).__name__}")
    if "results" not in data:
        if "tests" in data and "hardware_key" in data:
            raise ExportError(
                f"{path}: this is a baseline file, not a --modelperf-json export; "
                "to compare a run with the committed baselines, pass --baselines DIR"
            )
        raise ExportError(
            f"{path}: not a modelperf export: it has no 'results' field (write one with pytest --modelperf-json PATH)"
        )
    non_finite = find_non_finite(data)
    if non_finite is not None:
        raise FormatError(non_finite[0], f"not a finite number ({non_finite[1]})")
    schema = data.get("schema")
    if schema != SCHEMA_VERSION:
        raise FormatError("schema", f"expected {SCHEMA_VERSION}, got {schema!r}")
    results = data["results"]
    if not isinstance(results, list):
        raise FormatError("results", f"expected a list, got {type(results).__name__}")
    environments = data.get("environments", {})
    if not isinstance(environments, dict) or not all(isinstance(e, dict) for e in environments.values()):
        raise FormatError("environments", "expected an object of objects")
    started = data.get("started", "")
    if not isinstance(started, str):
        raise FormatError("started", f"expected a string, got {started!r}")
    return RunExport(
        path=path,
        started=started,
        environments=environments,
        noise=_noise_policy(data.get("noise")),
        checks=tuple(_check(result, f"results[{i}]") for i, result in enumerate(results)),
    )


def _check(data: Any, path: str) -> ExportedCheck:
    if not isinstance(data, dict):
        raise FormatError(path, f"expected an object, got {type(data).__name__}")
    for name in ("current", "baseline", "change", "noise_band", "machine_slowdown", "judged_against"):
        value = data.get(name)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise FormatError(f"{path}.{name}", f"expected a number or null, got {value!r}")
    outcome_text = _string(data, "outcome", path)
    try:
        outcome = Outcome(outcome_text)
    except ValueError:
        choices = ", ".join(o.value for o in Outcome)
        raise FormatError(f"{path}.outcome", f"{outcome_text!r} is not one of {choices}") from None
    return ExportedCheck(
        nodeid=_string(data, "nodeid", path),
        hardware_key=_string(data, "hardware_key", path),
        measurement=Measurement.from_dict(data.get("measurement"), f"{path}.measurement"),
        statistic=_string(data, "statistic", path),
        threshold=_quantity(data, "threshold", path),
        limit=_quantity(data, "limit", path),
        outcome=outcome,
        environment=str(data.get("environment", "")),
        data=data,
    )


def _string(data: Mapping[str, Any], name: str, path: str) -> str:
    if name not in data:
        raise FormatError(f"{path}.{name}", "missing")
    value = data[name]
    if not isinstance(value, str):
        raise FormatError(f"{path}.{name}", f"expected a string, got {value!r}")
    return value


def _quantity(data: Mapping[str, Any], name: str, path: str) -> Quantity | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError(f"{path}.{name}", f"expected a string such as '10%' or null, got {value!r}")
    try:
        return parse_quantity(value, what=name)
    except UnitError as error:
        raise FormatError(f"{path}.{name}", str(error)) from None


def _noise_policy(data: Any) -> NoisePolicy | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise FormatError("noise", f"expected an object, got {type(data).__name__}")
    enabled, confidence, spread = data.get("enabled"), data.get("confidence"), data.get("assumed_spread")
    if not isinstance(enabled, bool):
        raise FormatError("noise.enabled", f"expected true or false, got {enabled!r}")
    if not is_number(confidence):
        raise FormatError("noise.confidence", f"expected a number, got {confidence!r}")
    if not is_number(spread):
        raise FormatError("noise.assumed_spread", f"expected a number, got {spread!r}")
    resamples = data.get("bootstrap_resamples", NoisePolicy.bootstrap_resamples)
    if not isinstance(resamples, int) or isinstance(resamples, bool) or resamples < 1:
        raise FormatError("noise.bootstrap_resamples", f"expected a positive whole number, got {resamples!r}")
    try:
        return NoisePolicy(
            enabled=enabled, confidence=float(confidence), assumed_spread=float(spread), bootstrap_resamples=resamples
        )
    except ValueError as error:
        raise FormatError("noise", str(error)) from None


# -- writing an export ---------------------------------------------------------------------


class JudgedCheck(Protocol):
    """A check as a run judged it: where its baseline lives, the environment it ran in, its verdict."""

    @property
    def key(self) -> EntryKey: ...

    @property
    def environment(self) -> str: ...

    @property
    def verdict(self) -> Verdict: ...


def test_with_worker(nodeid: str, worker: str) -> str:
    """A test as the reports name it: its node id, and under ``--dist each`` (every worker runs
    every test) the worker that ran it, ``test_perf.py::test_a [gw1]``."""
    return f"{nodeid} [{worker}]" if worker else nodeid


class ConfirmingRerun(Protocol):
    """A test re-run because its first attempt failed only on noisy measurements."""

    @property
    def nodeid(self) -> str: ...

    @property
    def test(self) -> str: ...  # the node id as the reports show it (with its worker under --dist each)

    @property
    def first_failures(self) -> Sequence[Verdict]: ...

    @property
    def reruns(self) -> int: ...

    @property
    def reproduced(self) -> bool: ...  # every re-run failed too, so the failure stands


def export_payload(
    started: str,
    environments: Mapping[str, Mapping[str, Any]],
    noise: NoisePolicy,
    checks: Iterable[JudgedCheck],
    reruns: Iterable[ConfirmingRerun],
) -> dict[str, Any]:
    """The ``--modelperf-json`` export of a run, as JSON data; ``parse_export`` reads it back."""
    return {
        "schema": SCHEMA_VERSION,
        "started": started,
        "environments": environments,
        "noise": dataclasses.asdict(noise),
        "results": [result_to_dict(check) for check in checks],
        "reruns": [
            {
                "nodeid": rerun.nodeid,
                "reruns": rerun.reruns,
                "reproduced": rerun.reproduced,
                "first_failures": [
                    {"metric": v.metric, "change": _finite(v.change), "outcome": v.outcome.value} for v in rerun.first_failures
                ],
            }
            for rerun in reruns
        ],
    }


def result_to_dict(check: JudgedCheck) -> dict[str, Any]:
    """One result of an export: the check's baseline key, its measurement and its verdict."""
    verdict = check.verdict
    return {
        # The baseline's own node id: pytest's, except for modules outside the root dir.
        "nodeid": f"{check.key.module}::{check.key.test}",
        "hardware_key": check.key.hardware_key,
        "environment": check.environment,
        "measurement": verdict.measurement.to_dict(),
        "metric": verdict.metric,
        "statistic": verdict.check.statistic,
        "outcome": verdict.outcome.value,
        "current": _finite(verdict.current),
        "baseline": _finite(verdict.baseline),
        "change": _finite(verdict.change),
        "noise_band": verdict.noise_band,
        "threshold": str(verdict.check.threshold) if verdict.check.threshold is not None else None,
        "limit": str(verdict.check.limit) if verdict.check.limit is not None else None,
        "detail": verdict.detail,
        "machine_slowdown": verdict.speed.slowdown if verdict.speed is not None else None,
        "judged_against": _finite(verdict.speed.expected) if verdict.speed is not None else None,
    }


def _finite(value: float | None) -> float | None:
    """None for a value JSON cannot hold (NaN, infinity): an export holds only finite numbers."""
    return value if value is not None and math.isfinite(value) else None
