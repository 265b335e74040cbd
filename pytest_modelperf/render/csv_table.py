"""One flat row per check: the table behind ``--modelperf-csv`` and ``results_frame``.

Rows are built from a check's exported form (``storage.run_export.result_to_dict``), so a
``--modelperf-json`` export and the CSV of the same run give the same table. ``change`` and
``noise_band`` are fractions of the baseline (0.1 is 10%); ``change_in_unit`` and
``noise_band_in_unit`` are in the row's ``unit``: points for a quality score, which is how the
reports print a score's change. The measurement's context (model, device, dtype, batch size,
sequence length, dataset, ...) and the software environment it ran in (``env_torch``,
``env_python``, ...) become columns. pandas is imported only by ``results_frame``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.verdict import Outcome
from ..storage.atomic_files import atomic_write_text
from ..storage.run_export import ExportError, load_export

if TYPE_CHECKING:
    import pandas

CONTEXT_COLUMNS = ("model", "device", "dtype", "batch_size", "sequence_length")
COLUMNS = (
    "nodeid",
    "module",
    "test",
    "hardware_key",
    "model",
    "measurement",
    "metric",
    "statistic",
    "unit",
    "direction",
    "deterministic",
    "current",
    "baseline",
    "change",
    "noise_band",
    "change_in_unit",
    "noise_band_in_unit",
    "threshold",
    "limit",
    "outcome",
    "failed",
    "detail",
    "unavailable",
    "machine_slowdown",
    "judged_against",
    "rounds",
    "device",
    "dtype",
    "batch_size",
    "sequence_length",
    "environment",
)  # then the other context keys, then env_* columns, each sorted
ENVIRONMENT_PREFIX = "env_"


def results_csv(results: Iterable[Mapping[str, Any]], environments: Mapping[str, Mapping[str, Any]]) -> str:
    """The CSV text of the checks, one row each, header first."""
    rows = [flat_row(result, environments) for result in results]
    extra = {column for row in rows for column in row} - set(COLUMNS)
    context = sorted(c for c in extra if not c.startswith(ENVIRONMENT_PREFIX))
    environment = sorted(c for c in extra if c.startswith(ENVIRONMENT_PREFIX))
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=[*COLUMNS, *context, *environment], restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return stream.getvalue()


def flat_row(result: Mapping[str, Any], environments: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    measurement = result["measurement"]
    context = measurement.get("context", {})
    module, _, test = result["nodeid"].partition("::")
    row: dict[str, Any] = {
        "nodeid": result["nodeid"],
        "module": module,
        "test": test,
        "hardware_key": result["hardware_key"],
        "measurement": measurement["name"],
        "metric": result.get("metric") or measurement["name"],
        "statistic": result["statistic"],
        "unit": measurement["unit"],
        "direction": measurement["direction"],
        "deterministic": measurement["deterministic"],
        "current": result.get("current"),
        "baseline": result.get("baseline"),
        "change": result.get("change"),
        "noise_band": result.get("noise_band"),
        "change_in_unit": _difference(result.get("current"), result.get("baseline")),
        "noise_band_in_unit": _band_in_unit(result),
        "threshold": result.get("threshold"),
        "limit": result.get("limit"),
        "outcome": result["outcome"],
        "failed": Outcome(result["outcome"]).failed,
        "detail": result.get("detail") or None,
        "unavailable": measurement.get("unavailable"),
        "machine_slowdown": result.get("machine_slowdown"),
        "judged_against": result.get("judged_against"),
        "rounds": len(measurement.get("samples", [])),
        "environment": result.get("environment"),
    }
    for key, value in context.items():
        column = key if key in CONTEXT_COLUMNS or key not in COLUMNS else f"context_{key}"
        row[column] = _cell(value)
    for key, value in environments.get(str(result.get("environment")), {}).items():
        row[f"{ENVIRONMENT_PREFIX}{key}"] = _cell(value)
    return row


def _difference(current: float | None, baseline: float | None) -> float | None:
    """The change in the measurement's unit (points for a quality score), as the reports print a score's."""
    return None if current is None or baseline is None else current - baseline


def _band_in_unit(result: Mapping[str, Any]) -> float | None:
    """The noise band in the measurement's unit: of the value judged against (the baseline, or its
    value at the machine's current speed)."""
    band = result.get("noise_band")
    judged_against = result.get("judged_against")
    if judged_against is None:
        judged_against = result.get("baseline")
    return None if band is None or judged_against is None else band * abs(judged_against)


def _cell(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list, tuple)) else value


def write_results_csv(path: Path, payload: Mapping[str, Any]) -> None:
    """Write the checks of a run (``storage.run_export.export_payload``) to ``path`` as CSV, atomically."""
    atomic_write_text(path, results_csv(payload["results"], payload["environments"]))


def results_frame(path: str | Path) -> pandas.DataFrame:
    """The checks of a run as a DataFrame, one row per check, from a ``--modelperf-json`` export
    or a ``--modelperf-csv`` file: ``pytest_modelperf.results_frame("run.json")``."""
    import pandas

    path = Path(path)
    if path.suffix.lower() == ".csv":
        if not path.is_file():
            raise ExportError(f"{path}: no such file")
        frame = pandas.read_csv(path)
        missing = [column for column in ("nodeid", "measurement", "outcome") if column not in frame.columns]
        if missing:
            raise ExportError(f"{path}: not a --modelperf-csv file: no column {', '.join(missing)}")
        return frame
    export = load_export(path)
    # Through the CSV text, so that a JSON export gives exactly the frame (columns, dtypes,
    # empty cells) that pandas.read_csv gives for the CSV of the same run.
    text = results_csv((check.data for check in export.checks), export.environments)
    return pandas.read_csv(io.StringIO(text))
