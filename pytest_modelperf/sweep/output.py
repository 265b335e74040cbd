"""Writing a sweep's files into its output folder, each atomically.

- The study's shape, one file per measure, header ``model,batch_size,sequence_length,result``,
  ``N/A`` for a cell that ran out of memory or was skipped as longer than the model allows (as
  the study's tables have them; cells that failed with an error are left out): ``time.csv`` (s,
  median of the rounds, 4 decimals), ``throughput.csv``
  (samples/s), ``required_memory.csv`` (the device's main figure: NVML's device-used on CUDA,
  as in the study, the host's peak increase on the CPU) and ``memory_<measure>.csv`` for each
  memory measure. Memory there is in the study's MB: whole units of 2^20 bytes (MiB), the unit
  the plots draw memory in, so that a cell reads the same in both.
- ``env.csv``: the study's ``key,value`` rows, no header.
- ``sweep.csv`` and ``sweep.json``: the tidy rows (MB = 10^6 bytes, as in every baseline).
- ``largest_batch.csv`` after a largest-batch search, and ``largest_batch_speed.csv``: the
  time and throughput measured at each largest batch found, tidy rows apart from the grid's.

A training sweep (``--mode training``) writes the same files, its study-shaped tables named
``train_time.csv`` (s per optimizer step), ``train_throughput.csv`` (samples/s, every
micro-batch counted), ``train_required_memory.csv`` and ``memory_train_<measure>.csv``; its
tidy rows hold the training measures (``train_time`` ...), and ``env.csv`` and ``sweep.json``
record ``mode``, ``gradient_accumulation`` and ``autocast``. An inference sweep's files record
no mode, as they always did.

An output folder that already holds a sweep's files is not written over without ``force``;
with it, a file of the earlier sweep that this sweep does not write again is removed, so that a
folder never mixes two sweeps, but only where the folder's ``sweep.json`` shows that a sweep was
there: files of the same names that a sweep did not write are never deleted. The files are
written all or nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..measure.memory import MIB, OUT_OF_MEMORY
from ..measure.tidy import TIDY_COLUMNS, tidy_rows
from ..storage.atomic_files import atomic_write_files
from ..storage.output_folder import OutputFolderError, WrittenFile, check_output_folder
from .largest_batch import CSV_COLUMNS as LARGEST_BATCH_COLUMNS
from .modes import INFERENCE_MODE, SweepMode, training_mode
from .runner import SweepResult

SCHEMA = 1
STUDY_HEADER: tuple[str, ...] = ("model", "batch_size", "sequence_length", "result")
NOT_AVAILABLE = "N/A"
SKIPPED = "skipped"  # how a skipped cell's status starts (measure.cell.skip_reason)
LARGEST_BATCH_SPEED = "largest_batch_speed.csv"
SWEEP_FILES: tuple[str, ...] = (
    *INFERENCE_MODE.study_tables(),
    *training_mode().study_tables(),
    "env.csv",
    "sweep.csv",
    "sweep.json",
    "largest_batch.csv",
    LARGEST_BATCH_SPEED,
)


# The sweep's names for the shared output-folder types.
OutputError = OutputFolderError
Written = WrittenFile


def check_output(directory: Path, *, force: bool, argument: str = "--output") -> None:
    """Before any measuring: the folder can be written, and holds no sweep unless ``force``."""
    check_output_folder(directory, SWEEP_FILES, force=force, holds="a sweep's files", argument=argument)


def write_sweep(result: SweepResult, directory: Path, environment: Mapping[str, Any], *, force: bool = False) -> list[Written]:
    """Every file of the sweep; returns what was written, in order."""
    check_output(directory, force=force)
    rows = [row for cell in result.cells for row in tidy_rows(cell)]
    files = _study_tables(rows, result.settings.mode, result.settings.measures, result.settings.device)
    files["env.csv"] = (_key_value_csv(environment), "the environment, key,value")
    table = ([row[column] for column in TIDY_COLUMNS] for row in rows)
    files["sweep.csv"] = (_csv(TIDY_COLUMNS, table), "tidy rows, every statistic")
    payload = {
        "schema": SCHEMA,
        "environment": dict(environment),
        "grid": {**result.grid.to_dict(), **result.settings.to_dict()},
        "cells": rows,
        "largest_batch": [found.to_dict() for found in result.largest],
    }
    speed_rows = [row for cell in result.largest_speed for row in tidy_rows(cell)]
    if result.settings.largest_batch is not None:
        payload["largest_batch_speed"] = speed_rows
    document = json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    files["sweep.json"] = (document, "tidy rows and the environment")
    if result.settings.largest_batch is not None:
        searches = (found.csv_row() for found in result.largest)
        files["largest_batch.csv"] = (_csv(LARGEST_BATCH_COLUMNS, searches), "largest batch that fits")
        speeds = ([row[column] for column in TIDY_COLUMNS] for row in speed_rows)
        files[LARGEST_BATCH_SPEED] = (_csv(TIDY_COLUMNS, speeds), "time and throughput at the largest batch, tidy rows")

    directory.mkdir(parents=True, exist_ok=True)
    earlier_sweep = _holds_a_sweep(directory)
    atomic_write_files({directory / name: text.encode("utf-8") for name, (text, _) in files.items()})
    if earlier_sweep:  # a file of the earlier sweep overwritten with force must not mix with this one
        for name in SWEEP_FILES:
            if name not in files:
                (directory / name).unlink(missing_ok=True)
    return [Written(directory / name, what) for name, (_, what) in files.items()]


def _study_tables(
    rows: Sequence[Mapping[str, Any]], mode: SweepMode, measures: Sequence[str], device: str
) -> dict[str, tuple[str, str]]:
    """The study-shaped tables of the measures taken, by file name, with what each holds."""
    files: dict[str, tuple[str, str]] = {}
    prefix, cuda = mode.table_prefix, device.startswith("cuda")
    training = mode.recipe is not None
    if mode.time in measures:
        what = "seconds per training step, median of the rounds" if training else "seconds, median of the rounds"
        files[f"{prefix}time.csv"] = (_study_csv(rows, mode.time, lambda v: f"{v:.4f}"), what)
    if mode.throughput in measures:
        what = "samples/s at the median time" + (", every micro-batch counted" if training else "")
        files[f"{prefix}throughput.csv"] = (_study_csv(rows, mode.throughput, lambda v: f"{v:.2f}"), what)
    if mode.host_memory in measures:
        main = mode.gpu_nvml if cuda else mode.host_memory
        added = "peak host memory added by a training step" if training else "peak host memory added"
        what = "NVML device-used, MiB, as in the study" if cuda else f"{added}, MiB"
        files[f"{prefix}required_memory.csv"] = (_study_csv(rows, main, _mebibytes), what)
        for measure in mode.memory_measures:
            if measure in measures:
                files[f"memory_{measure}.csv"] = (_study_csv(rows, measure, _mebibytes), "MiB")
    return files


def _holds_a_sweep(directory: Path) -> bool:
    """Whether the folder's sweep.json was written by a sweep: only then are its other files a sweep's."""
    try:
        payload = json.loads((directory / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(payload, dict) and payload.get("schema") == SCHEMA and isinstance(payload.get("cells"), list)


def _study_csv(rows: Sequence[Mapping[str, Any]], measure: str, formatted: Any) -> str:
    """The study's table of one measure: a number, or N/A where the cell ran out of memory or was
    skipped (a sequence longer than the model allows)."""
    lines: list[list[Any]] = []
    for row in rows:
        if row["measure"] != measure:
            continue
        if row["status"] == OUT_OF_MEMORY or row["status"].startswith(SKIPPED):
            result = NOT_AVAILABLE
        elif row["value"] is not None:
            result = formatted(row["value"])
        else:
            continue  # failed, or a reading the device does not give: the study had no such cells
        lines.append([row["model"], row["batch_size"], row["sequence_length"], result])
    return _csv(STUDY_HEADER, lines)


def _mebibytes(megabytes: float) -> str:
    """MB (10^6 bytes) as the study wrote memory: whole units of 2^20 bytes, rounded down."""
    return str(round(megabytes * 1e6) // MIB)


def _key_value_csv(environment: Mapping[str, Any]) -> str:
    return _csv(None, ([key, value] for key, value in environment.items()))


def _csv(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # the csv module's \r\n line ends, as the study's files have
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()
