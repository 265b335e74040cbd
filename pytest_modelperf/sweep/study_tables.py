"""Reading the study's tables (transformers' ``PyTorchBenchmark`` CSVs) as a sweep's tidy rows.

A study table is one measure of a grid, header ``model,batch_size,sequence_length,result``, a
number or ``N/A`` per cell, and which measure it holds is in its file name: ``time.csv`` (s),
``throughput.csv`` (samples/s), ``required_memory.csv`` (the study's MB: 2^20 bytes), their
``train_`` forms, ``memory_<measure>.csv`` as ``modelperf sweep`` writes them, and
transformers' own ``inference_time.csv`` and ``inference_memory.csv``; a numbered copy
(``required_memory_2.csv``) holds more cells of the same measure. ``env.csv`` beside the
tables (``key,value`` rows) says the device: ``required_memory`` is NVML's device-used memory
on a GPU (as the study measured it) and the host's on the CPU; without ``env.csv`` it stays
``required_memory``, a measure of its own.

Tidy rows keep memory in MB of 10^6 bytes, as every tidy row does; ``N/A`` cells get the
status ``N/A``, since a table does not say whether the cell ran out of memory or was too long
for the model. The table's figures are the rows' ``value``; the statistics of the rounds are
not in the table and stay empty.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.counts import counted
from ..measure.catalogue import SWEEP_MEASURES
from ..measure.cell import OK
from ..measure.memory import MB, MIB
from ..measure.tidy import TIDY_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

STUDY_HEADER: tuple[str, ...] = ("model", "batch_size", "sequence_length", "result")
NOT_AVAILABLE = "N/A"  # a cell the table has no number for, and the status its tidy row gets
ENVIRONMENT_FILE = "env.csv"
REQUIRED_MEMORY = "required_memory"  # the measure of a required_memory table whose device is unknown
# table name -> (its measure on a GPU, on the CPU); the device decides only for required memory
TABLES: Mapping[str, tuple[str, str]] = {
    "time": ("time", "time"),
    "inference_time": ("time", "time"),
    "throughput": ("throughput", "throughput"),
    "required_memory": ("gpu_memory_nvml", "host_memory_peak"),
    "inference_memory": ("gpu_memory_nvml", "host_memory_peak"),
    "train_time": ("train_time", "train_time"),
    "train_throughput": ("train_throughput", "train_throughput"),
    "train_required_memory": ("train_gpu_memory_nvml", "train_host_memory_peak"),
    "train_memory": ("train_gpu_memory_nvml", "train_host_memory_peak"),
}
_NUMBERED = re.compile(r"^(?P<name>[A-Za-z_]+?)(?:_\d+)?$")


class StudyTableError(ValueError):
    """A study table or its env.csv cannot be read; the message names the file, row and column."""


def table_measure(path: Path, environment: Mapping[str, str] | None) -> str | None:
    """The sweep id of the measure a table holds, from its file name; None for a name that is
    not a study table's. ``environment`` is its env.csv (None: there is none)."""
    if path.suffix != ".csv":
        return None
    match = _NUMBERED.match(path.stem)
    name = match.group("name") if match else path.stem
    for candidate in (path.stem, name):
        if candidate in TABLES:
            on_gpu, on_cpu = TABLES[candidate]
            if on_gpu == on_cpu:
                return on_gpu
            use_gpu = _flag(environment, "use_gpu") if environment is not None else None
            if use_gpu is None:
                return f"train_{REQUIRED_MEMORY}" if candidate.startswith("train_") else REQUIRED_MEMORY
            return on_gpu if use_gpu else on_cpu
        if candidate.startswith("memory_") and candidate[len("memory_") :] in SWEEP_MEASURES:
            return candidate[len("memory_") :]
    return None


def is_study_table(path: Path) -> bool:
    """Whether the file's first line is the study's header."""
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            first = next(csv.reader(stream), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return tuple(cell.strip() for cell in first) == STUDY_HEADER


def tables_in(folder: Path) -> list[Path]:
    """The study tables in a folder, in name order (``time.csv`` before ``time_2.csv``)."""
    found = [path for path in folder.iterdir() if path.is_file() and table_measure(path, {}) is not None]
    return sorted((path for path in found if is_study_table(path)), key=lambda path: (_base_name(path), path.name))


def read_environment(folder: Path) -> dict[str, str] | None:
    """The ``key,value`` rows of the folder's env.csv, or None when it has none."""
    path = folder / ENVIRONMENT_FILE
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise StudyTableError(f"{path}: not a readable env.csv: {error}") from None
    environment: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) != 2:
            raise StudyTableError(f"{path}: row {number}: expected key,value, got {counted(len(row), 'field')}")
        environment[row[0].strip()] = row[1].strip()
    return environment


def read_tables(paths: Sequence[Path], environment: Mapping[str, str] | None) -> pd.DataFrame:
    """The tidy rows of study tables that share one env.csv; a cell in two tables counts once
    (the first table's)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for path in paths:
        rows.extend(_table_rows(path, environment))
    labels = _labels(row["model"] for row in rows)
    for row in rows:
        row["label"] = labels[row["model"]]
    frame = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
    frame = frame.drop_duplicates(subset=["model", "batch_size", "sequence_length", "measure"], keep="first")
    for column in ("batch_size", "sequence_length"):
        frame[column] = frame[column].astype(int)
    for column in ("value", "median", "mean", "min", "max", "stdev", "iqr", "rounds"):
        frame[column] = pd.to_numeric(frame[column])
    return frame.reset_index(drop=True)


def _table_rows(path: Path, environment: Mapping[str, str] | None) -> list[dict[str, Any]]:
    measure = table_measure(path, environment)
    if measure is None:
        names = ", ".join(f"{name}.csv" for name in TABLES)
        raise StudyTableError(
            f"{path}: has the study's header, but its name does not say its measure: name it one of {names}, "
            "memory_<measure>.csv, or one of them numbered (time_2.csv)"
        )
    known = SWEEP_MEASURES.get(measure)
    unit = known.table_unit if known is not None else "MB"
    # The study's memory is in units of 2^20 bytes; tidy rows are in MB of 10^6 bytes.
    scale = MIB / MB if unit == "MB" else 1.0
    device, dtype = _device(environment), _dtype(environment)
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            lines = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise StudyTableError(f"{path}: not a readable CSV: {error}") from None
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line or all(not cell.strip() for cell in line):
            continue
        if len(line) != len(STUDY_HEADER):
            raise StudyTableError(f"{path}: line {number}: expected {len(STUDY_HEADER)} fields, got {len(line)}")
        model, batch, sequence, result = (cell.strip() for cell in line)
        if not model:
            raise StudyTableError(f"{path}: line {number}, column model: empty")
        row: dict[str, Any] = dict.fromkeys(TIDY_COLUMNS)
        row.update(
            model=model,
            batch_size=_size(batch, path, number, "batch_size"),
            sequence_length=_size(sequence, path, number, "sequence_length"),
            measure=measure,
            unit=unit,
            device=device,
            dtype=dtype,
        )
        if result.upper() == NOT_AVAILABLE:
            row["status"] = NOT_AVAILABLE
        else:
            row.update(status=OK, value=_number(result, path, number) * scale)
        rows.append(row)
    return rows


def _size(text: str, path: Path, line: int, column: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise StudyTableError(f"{path}: line {line}, column {column}: expected a positive whole number, got {text!r}")
    return value


def _number(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise StudyTableError(f"{path}: line {line}, column result: expected a number or N/A, got {text!r}")
    return value


def _labels(models: Iterable[str]) -> dict[str, str]:
    """Each model's short name: the last segment of its hub id or path, unless two models share it."""
    distinct = sorted(set(models))
    short = {model: model.rstrip("/").rsplit("/", 1)[-1] or model for model in distinct}
    taken = list(short.values())
    return {model: name if taken.count(name) == 1 else model for model, name in short.items()}


def _flag(environment: Mapping[str, str] | None, key: str) -> bool | None:
    value = (environment or {}).get(key, "").strip().lower()
    return {"true": True, "false": False}.get(value)


def _device(environment: Mapping[str, str] | None) -> str:
    if environment is None:
        return ""
    if environment.get("device"):
        return environment["device"]
    use_gpu = _flag(environment, "use_gpu")
    return "" if use_gpu is None else "cuda" if use_gpu else "cpu"


def _dtype(environment: Mapping[str, str] | None) -> str:
    if environment is None:
        return ""
    if environment.get("dtype"):
        return environment["dtype"]
    fp16 = _flag(environment, "fp16")
    return "" if fp16 is None else "float16" if fp16 else "float32"


def _base_name(path: Path) -> str:
    match = _NUMBERED.match(path.stem)
    return match.group("name") if match else path.stem
