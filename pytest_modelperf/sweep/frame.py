"""A sweep's tidy rows as a pandas DataFrame, in one line: ``load_sweep("results/")``.

``load_sweep`` reads what ``modelperf sweep`` writes and what the study published:

- a ``sweep.csv`` (or another file of tidy rows, such as ``largest_batch_speed.csv``);
- a study table (``time.csv``, ``required_memory_2.csv`` ...: ``sweep.study_tables``);
- a folder holding a ``sweep.csv`` (read in preference to its study tables), or study tables
  and their ``env.csv``;
- a folder of such folders, each one result set (the study's ``seed-benchmark-results/``
  with ``p100/`` and ``k80/``): its rows carry the folder's name in a ``result_set`` column.

``load_result_sets`` reads several of them, each under a label, into one frame for plots that
overlay them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.counts import counted
from ..measure.tidy import TIDY_COLUMNS
from ..render.plot_styles import RESULT_SET
from .study_tables import STUDY_HEADER, StudyTableError, is_study_table, read_environment, read_tables, tables_in

if TYPE_CHECKING:
    import pandas as pd

SWEEP_FILE = "sweep.csv"
# Read as text whatever a name could look like a number or be empty ("1", "N/A").
TEXT_COLUMNS: tuple[str, ...] = ("model", "label", "measure", "unit", "status", "device", "dtype")
INTEGER_COLUMNS: tuple[str, ...] = ("batch_size", "sequence_length")
NUMBER_COLUMNS: tuple[str, ...] = ("value", "median", "mean", "min", "max", "stdev", "iqr", "rounds")


class SweepFileError(ValueError):
    """The file is not a sweep's sweep.csv nor a study table; the message names the file and the problem."""


@dataclass(frozen=True)
class ResultSet:
    """One sweep or study folder, by the label its plots give it."""

    label: str
    source: Path
    frame: pd.DataFrame


def load_sweep(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The tidy rows of a sweep or of the study's tables (see the module's docstring).

    Empty ``value`` and statistic cells (a cell out of memory, skipped, or a single reading)
    are NaN; the columns are exactly ``TIDY_COLUMNS``, in that order, and ``result_set`` after
    them for a folder of result sets.
    """
    sets = read_result_sets(Path(path))
    if len(sets) == 1:
        return sets[0].frame
    return combine(sets)


def load_result_sets(paths: Sequence[str | os.PathLike[str]], labels: Sequence[str] = ()) -> list[ResultSet]:
    """Every result set the paths hold, in order: a folder of result sets gives each of its
    folders. ``labels``, when given, name them one by one (else each is named by its folder)."""
    sets = [found for path in paths for found in read_result_sets(Path(path))]
    if labels:
        if len(labels) != len(sets):
            names = ", ".join(str(found.source) for found in sets)
            raise SweepFileError(f"--label: {counted(len(labels), 'label')} for {counted(len(sets), 'result set')} ({names})")
        sets = [ResultSet(label, found.source, found.frame) for label, found in zip(labels, sets, strict=True)]
    seen: dict[str, Path] = {}
    for found in sets:
        if found.label in seen:
            raise SweepFileError(f"{seen[found.label]} and {found.source} are both named {found.label!r}; name each with --label")
        seen[found.label] = found.source
    return sets


def combine(sets: Sequence[ResultSet], renames: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The result sets' rows in one frame, each named in the ``result_set`` column; a model that
    several sets hold keeps the label of the first, so that its lines are named alike.
    ``renames`` gives a model of one set the name another set knows it by (a hub id the name
    of the registry entry that loads it), so that both are drawn as one model."""
    import pandas as pd

    frame = pd.concat([found.frame.assign(**{RESULT_SET: found.label}) for found in sets], ignore_index=True)
    if renames:
        frame["model"] = frame["model"].replace(dict(renames))
    first_label = frame.drop_duplicates("model").set_index("model")["label"]
    frame["label"] = frame["model"].map(first_label)
    return frame


def read_result_sets(path: Path) -> list[ResultSet]:
    """The one result set a file or folder holds, or each of a folder of result sets."""
    if path.is_dir():
        found = _folder_set(path)
        if found is not None:
            return [found]
        inner = [found for folder in sorted(p for p in path.iterdir() if p.is_dir()) if (found := _folder_set(folder))]
        if inner:
            return inner
        raise SweepFileError(
            f"{path}: holds no {SWEEP_FILE}, no study table (time.csv, required_memory.csv, ...) and no folder of "
            f"them; pass a sweep's output folder, its {SWEEP_FILE}, or the study's tables"
        )
    if not path.is_file():
        raise SweepFileError(f"{path}: no such file; pass a sweep's output folder, its {SWEEP_FILE}, or a study table")
    label = path.parent.resolve().name or str(path)
    if is_study_table(path):
        return [ResultSet(label, path, _study(path.parent, [path]))]
    return [ResultSet(label, path, _tidy(path))]


def _folder_set(folder: Path) -> ResultSet | None:
    label = folder.resolve().name or str(folder)
    if (folder / SWEEP_FILE).is_file():
        return ResultSet(label, folder / SWEEP_FILE, _tidy(folder / SWEEP_FILE))
    tables = tables_in(folder)
    return ResultSet(label, folder, _study(folder, tables)) if tables else None


def _study(folder: Path, tables: Sequence[Path]) -> pd.DataFrame:
    try:
        return read_tables(tables, read_environment(folder))
    except StudyTableError as error:
        raise SweepFileError(str(error)) from None


def _tidy(file: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_csv(
            file,
            dtype={column: str for column in TEXT_COLUMNS},
            keep_default_na=False,
            na_values={c: [""] for c in NUMBER_COLUMNS},
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise SweepFileError(f"{file}: not a readable CSV: {error}") from None
    missing = [column for column in TIDY_COLUMNS if column not in frame.columns]
    if missing:
        raise SweepFileError(
            f"{file}: not a sweep's sweep.csv: {counted(len(missing), 'missing column')}: {', '.join(missing)}; "
            f"nor a study table, whose header is {','.join(STUDY_HEADER)}"
        )
    for column in INTEGER_COLUMNS + NUMBER_COLUMNS:
        try:
            frame[column] = pd.to_numeric(frame[column])
        except (ValueError, TypeError):
            raise SweepFileError(f"{file}: column {column} holds a value that is not a number") from None
    for column in INTEGER_COLUMNS:
        if frame[column].isna().any():
            raise SweepFileError(f"{file}: column {column} has an empty cell")
        frame[column] = frame[column].astype(int)
    return frame.loc[:, list(TIDY_COLUMNS)]


def parse_renames(pairs: Sequence[str]) -> dict[str, str]:
    """``FROM=TO`` pairs (``--rename``) as a mapping; a pair without ``=`` is an error naming it."""
    renames: dict[str, str] = {}
    for pair in pairs:
        old, separator, new = pair.partition("=")
        if not separator or not old.strip() or not new.strip():
            raise SweepFileError(f"--rename: expected FROM=TO (a model's name in one result set, then in another), got {pair!r}")
        renames[old.strip()] = new.strip()
    return renames
