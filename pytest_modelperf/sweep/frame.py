"""A sweep's tidy rows as a pandas DataFrame, in one line: ``load_sweep("results/")``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..measure.tidy import TIDY_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

# Read as text whatever a name could look like a number or be empty ("1", "N/A").
TEXT_COLUMNS: tuple[str, ...] = ("model", "label", "measure", "unit", "status", "device", "dtype")
INTEGER_COLUMNS: tuple[str, ...] = ("batch_size", "sequence_length")
NUMBER_COLUMNS: tuple[str, ...] = ("value", "median", "mean", "min", "max", "stdev", "iqr", "rounds")


class SweepFileError(ValueError):
    """The file is not a sweep's sweep.csv; the message names the file and the problem."""


def load_sweep(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The tidy rows of a sweep: ``path`` is its output folder or its ``sweep.csv``.

    Empty ``value`` and statistic cells (a cell out of memory, skipped, or a single reading)
    are NaN; the columns are exactly ``TIDY_COLUMNS``, in that order.
    """
    import pandas as pd

    file = Path(path)
    if file.is_dir():
        file = file / "sweep.csv"
    if not file.is_file():
        raise SweepFileError(f"{file}: no such file; pass a sweep's output folder or its sweep.csv")
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
        raise SweepFileError(f"{file}: not a sweep's sweep.csv: missing column(s) {', '.join(missing)}")
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
