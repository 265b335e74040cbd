"""Two sets of study tables compared cell by cell: what ``modelperf compare A B`` does with CSVs.

A and B are each a study table (``time.csv``, ``required_memory.csv`` ...: ``sweep.study_tables``)
or a folder of them, a sweep's output folder or one of the study's result sets; they are read
with ``study_tables.read_tables``, so a measure split over numbered tables
(``required_memory.csv`` and ``required_memory_2.csv``) is one measure. Each measure that both
hold is compared; a ``required_memory`` table whose device is unknown (no ``env.csv``) is
compared with the other side's GPU or host form of it when that side has exactly one.

Every cell of either side is listed:

- a number on both sides is judged as the plugin judges a check without a noise band: a change
  towards worse (up for times and memory, down for throughput) of more than the relative
  threshold of A's value is a regression, one towards better an improvement, else a pass. A
  table holds one number per cell and no samples, so there is no noise band to widen it;
- a number on one side and ``N/A`` on the other is judged as the plugin judges an unavailable
  measurement: ``N/A`` in B where A measured a regression, the reverse an improvement;
- ``N/A`` on both sides, or a cell that one side does not hold, is listed as such, not judged.

Values are in the tables' own units: seconds, samples/s, and memory in MiB (the study's MB of
2^20 bytes, the unit the plots draw and ``modelperf sweep`` writes memory in).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from ..core import policy
from ..core.counts import counted
from ..core.judge import allowed_excess, signed_worsening
from ..core.measurement import Direction
from ..core.units import Quantity, UnitError, convert, dimension, parse_quantity
from ..core.verdict import Outcome
from ..measure.catalogue import SWEEP_MEASURES
from ..render.plot_units import MEMORY_UNIT
from .study_tables import (
    NOT_AVAILABLE,
    REQUIRED_MEMORY,
    STUDY_HEADER,
    TABLES,
    StudyTableError,
    is_study_table,
    read_environment,
    read_tables,
    table_measure,
    tables_in,
)

if TYPE_CHECKING:
    import pandas as pd

# The plugin's default threshold (--modelperf-threshold), the one a check of a single number takes.
DEFAULT_THRESHOLD = parse_quantity(policy.DEFAULT_THRESHOLD)
# A required_memory table without env.csv, and the GPU and host measures it is one of.
_UNKNOWN_DEVICE: Mapping[str, tuple[str, ...]] = {
    REQUIRED_MEMORY: TABLES["required_memory"],
    f"train_{REQUIRED_MEMORY}": TABLES["train_required_memory"],
}
_RATES = frozenset({"samples_rate", "tokens_rate"})
_CATALOGUE_ORDER = {measure: index for index, measure in enumerate(SWEEP_MEASURES)}  # time, throughput, memory ...


class TableCompareError(ValueError):
    """The inputs are not study tables that can be compared; the message names the file and the problem."""


class CellState(str, Enum):
    """Where a cell has a number."""

    BOTH = "both"
    NA_IN_A = "N/A in A"
    NA_IN_B = "N/A in B"
    NA_IN_BOTH = "N/A in both"
    ONLY_IN_A = "only in A"
    ONLY_IN_B = "only in B"


@dataclass(frozen=True)
class TableSet:
    """One side as read: the file or folder given, its study tables, and their tidy rows."""

    path: Path
    tables: tuple[Path, ...]
    frame: pd.DataFrame
    measures_by_table: Mapping[str, str]  # file name -> the measure it holds

    def tables_of(self, measure: str) -> tuple[str, ...]:
        return tuple(name for name, held in self.measures_by_table.items() if held == measure)


@dataclass(frozen=True)
class ComparedCell:
    """One cell of a measure's grid on both sides, values in the measure's shown unit (None: no number)."""

    model: str
    batch_size: int
    sequence_length: int
    a: float | None
    b: float | None
    state: CellState
    outcome: Outcome | None  # None where nothing is judged: N/A on both sides, or held by one side only

    @property
    def ratio(self) -> float | None:
        """B / A where both are numbers and A is not zero."""
        if self.a is None or self.b is None or self.a == 0:
            return None
        return self.b / self.a


@dataclass(frozen=True)
class MeasureComparison:
    """One measure that both sides hold, cell by cell, in the order of the grid."""

    measure: str
    title: str
    unit: str  # the unit the values are shown in
    direction: Direction
    tables_a: tuple[str, ...]
    tables_b: tuple[str, ...]
    cells: tuple[ComparedCell, ...]

    def heading(self) -> str:
        """``inference time (s), lower is better (A: time.csv; B: time.csv)``."""
        better = "lower" if self.direction is Direction.LOWER_IS_BETTER else "higher"
        tables = f"A: {', '.join(self.tables_a)}; B: {', '.join(self.tables_b)}"
        return f"{self.title} ({self.unit}), {better} is better ({tables})"


@dataclass(frozen=True)
class TableComparison:
    a: TableSet
    b: TableSet
    threshold: Quantity  # relative
    measures: tuple[MeasureComparison, ...]
    only_in_a: tuple[str, ...]  # tables of a measure B does not hold
    only_in_b: tuple[str, ...]

    def cells(self) -> list[tuple[MeasureComparison, ComparedCell]]:
        return [(measure, cell) for measure in self.measures for cell in measure.cells]

    def failing(self, outcomes: Iterable[Outcome]) -> list[tuple[MeasureComparison, ComparedCell]]:
        """The cells whose outcome is one of ``outcomes`` (``FailOn.outcomes`` of the command)."""
        chosen = frozenset(outcomes)
        return [(measure, cell) for measure, cell in self.cells() if cell.outcome in chosen]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for _, cell in self.cells() if cell.outcome is outcome)

    def count_state(self, state: CellState) -> int:
        return sum(1 for _, cell in self.cells() if cell.state is state)

    def summary(self) -> str:
        """One line: how many cells were judged, what became of them, and what was not judged."""
        judged = sum(1 for _, cell in self.cells() if cell.outcome is not None)
        outcomes = ", ".join(
            outcome.counted(self.count(outcome)) for outcome in (Outcome.REGRESSION, Outcome.IMPROVEMENT, Outcome.PASS)
        )
        unjudged = ", ".join(
            f"{self.count_state(state)} {state.value}"
            for state in (CellState.NA_IN_BOTH, CellState.ONLY_IN_A, CellState.ONLY_IN_B)
        )
        line = f"{counted(judged, 'cell')} judged in {counted(len(self.measures), 'measure')}: {outcomes}; {unjudged}"
        for side, tables in (("A", self.only_in_a), ("B", self.only_in_b)):
            if tables:
                line += f"; tables only in {side}: {', '.join(tables)}"
        return line


def read_table_set(path: Path) -> TableSet:
    """The study tables of a file or folder; TableCompareError names the file and the problem."""
    if path.is_dir():
        tables = tables_in(path)
        if not tables:
            raise TableCompareError(_no_tables(path))
        folder = path
    elif path.is_file():
        if not is_study_table(path):
            raise TableCompareError(_not_a_table(path))
        tables, folder = [path], path.parent
    else:
        raise TableCompareError(f"{path}: no such file or folder")
    try:
        environment = read_environment(folder)
        frame = read_tables(tables, environment)
    except StudyTableError as error:
        raise TableCompareError(str(error)) from None
    held = {table.name: table_measure(table, environment) for table in tables}
    return TableSet(path, tuple(tables), frame, {name: measure for name, measure in held.items() if measure is not None})


def compare_table_sets(
    a: TableSet, b: TableSet, *, threshold: Quantity = DEFAULT_THRESHOLD, renames: Mapping[str, str] | None = None
) -> TableComparison:
    """Every measure both hold, cell by cell (see the module's docstring). ``renames`` gives a
    model of either side the name the other knows it by (``--rename FROM=TO``)."""
    if not threshold.is_relative:
        raise TableCompareError(
            f"--threshold {threshold}: study tables are compared with a relative threshold such as 10%; "
            "their tables hold different units"
        )
    frame_a, frame_b = _renamed(a, renames), _renamed(b, renames)
    pairs, rest_a, rest_b = _paired_measures(_measures(frame_a), _measures(frame_b))
    if not pairs:
        raise TableCompareError(
            f"{a.path} and {b.path} share no measure: A holds {_listed(a, _measures(frame_a))}, "
            f"B holds {_listed(b, _measures(frame_b))}"
        )
    measures = tuple(
        sorted(
            (
                _compare_measure(
                    frame_a, frame_b, measure_a, measure_b, a.tables_of(measure_a), b.tables_of(measure_b), threshold
                )
                for measure_a, measure_b in pairs
            ),
            key=lambda compared: _CATALOGUE_ORDER.get(compared.measure, len(_CATALOGUE_ORDER)),
        )
    )
    only_a = tuple(name for measure in rest_a for name in a.tables_of(measure))
    only_b = tuple(name for measure in rest_b for name in b.tables_of(measure))
    return TableComparison(a, b, threshold, measures, only_a, only_b)


def judge_cell(a: float, b: float, direction: Direction, threshold: Quantity) -> Outcome:
    """B against A under a relative threshold, as the plugin judges a check without a noise band:
    worse by more than the threshold of A is a regression, better by more an improvement."""
    worsening = signed_worsening(direction, a, b)
    allowed = allowed_excess(threshold, a, "")  # relative: the unit does not enter
    if worsening > allowed:
        return Outcome.REGRESSION
    if -worsening > allowed:
        return Outcome.IMPROVEMENT
    return Outcome.PASS


def compare_cells(
    a: Mapping[tuple[str, int, int], float | None],
    b: Mapping[tuple[str, int, int], float | None],
    direction: Direction,
    threshold: Quantity,
) -> tuple[ComparedCell, ...]:
    """Each cell of either grid (model, batch size, sequence length -> a number, or None for N/A),
    in A's order of models, then by batch size and sequence length."""
    order = {model: index for index, model in enumerate(dict.fromkeys(model for model, _, _ in (*a, *b)))}
    keys = sorted(set(a) | set(b), key=lambda key: (order[key[0]], key[1], key[2]))
    return tuple(_cell(key, a, b, direction, threshold) for key in keys)


def _cell(
    key: tuple[str, int, int],
    a: Mapping[tuple[str, int, int], float | None],
    b: Mapping[tuple[str, int, int], float | None],
    direction: Direction,
    threshold: Quantity,
) -> ComparedCell:
    value_a, value_b = a.get(key), b.get(key)
    outcome: Outcome | None = None
    if key not in b:
        state = CellState.ONLY_IN_A
    elif key not in a:
        state = CellState.ONLY_IN_B
    elif value_a is None and value_b is None:
        state = CellState.NA_IN_BOTH
    elif value_b is None:
        state, outcome = CellState.NA_IN_B, Outcome.REGRESSION
    elif value_a is None:
        state, outcome = CellState.NA_IN_A, Outcome.IMPROVEMENT
    else:
        state, outcome = CellState.BOTH, judge_cell(value_a, value_b, direction, threshold)
    return ComparedCell(*key, a=value_a, b=value_b, state=state, outcome=outcome)


def _compare_measure(
    frame_a: pd.DataFrame,
    frame_b: pd.DataFrame,
    measure_a: str,
    measure_b: str,
    tables_a: tuple[str, ...],
    tables_b: tuple[str, ...],
    threshold: Quantity,
) -> MeasureComparison:
    measure = measure_b if measure_a in _UNKNOWN_DEVICE else measure_a  # the one whose device is known
    rows_a, rows_b = frame_a[frame_a["measure"] == measure_a], frame_b[frame_b["measure"] == measure_b]
    unit = str(rows_a["unit"].iloc[0])
    shown = MEMORY_UNIT if _dimension(unit) == "memory" else unit
    known = SWEEP_MEASURES.get(measure)
    title = known.title if known is not None else measure.replace("_", " ")
    direction = known.direction if known is not None else _direction_of(unit)
    cells = compare_cells(_grid(rows_a, shown), _grid(rows_b, shown), direction, threshold)
    return MeasureComparison(measure, title, shown, direction, tables_a, tables_b, cells)


def _grid(rows: pd.DataFrame, shown: str) -> dict[tuple[str, int, int], float | None]:
    grid: dict[tuple[str, int, int], float | None] = {}
    for row in rows.itertuples(index=False):
        key = (str(row.model), int(row.batch_size), int(row.sequence_length))
        if key in grid:
            continue  # a cell in two tables counts once, as read_tables keeps it
        value = float(row.value)
        unavailable = row.status == NOT_AVAILABLE or math.isnan(value)
        grid[key] = None if unavailable else convert(value, str(row.unit), shown)
    return grid


def _renamed(side: TableSet, renames: Mapping[str, str] | None) -> pd.DataFrame:
    if not renames:
        return side.frame
    frame = side.frame.assign(model=side.frame["model"].replace(dict(renames)))
    for measure, rows in frame.groupby("measure", sort=False):
        clashing = rows.duplicated(subset=["model", "batch_size", "sequence_length"], keep=False)
        if clashing.any():
            model = rows[clashing]["model"].iloc[0]
            originals = sorted(set(side.frame.loc[rows[clashing].index, "model"]))
            raise TableCompareError(f"--rename: {side.path} holds {' and '.join(originals)}, both renamed to {model} ({measure})")
    return frame


def _measures(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(str(measure) for measure in frame["measure"]))


def _paired_measures(a: Sequence[str], b: Sequence[str]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """(A's measure, B's) for each measure both hold, and those only one holds."""
    pairs = [(measure, measure) for measure in a if measure in b]
    rest_a, rest_b = [m for m in a if m not in b], [m for m in b if m not in a]
    for unknown, forms in _UNKNOWN_DEVICE.items():
        for mine, other, flipped in ((rest_a, rest_b, False), (rest_b, rest_a, True)):
            known = [measure for measure in other if measure in forms]
            if unknown in mine and len(known) == 1:
                mine.remove(unknown)
                other.remove(known[0])
                pairs.append((known[0], unknown) if flipped else (unknown, known[0]))
    return pairs, rest_a, rest_b


def _direction_of(unit: str) -> Direction:
    return Direction.HIGHER_IS_BETTER if _dimension(unit) in _RATES else Direction.LOWER_IS_BETTER


def _dimension(unit: str) -> str:
    try:
        return dimension(unit)
    except UnitError:
        return ""


def _no_tables(folder: Path) -> str:
    inner = sorted(path.name for path in folder.iterdir() if path.is_dir() and tables_in(path))
    names = ", ".join(f"{name}.csv" for name in TABLES)
    message = f"{folder}: holds no study table ({names}, or memory_<measure>.csv)"
    if inner:
        message += f"; its folders {', '.join(inner)} do: pass one of them"
    return message


def _not_a_table(path: Path) -> str:
    header = ",".join(STUDY_HEADER)
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            first = ",".join(cell.strip() for cell in next(csv.reader(stream), []))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return f"{path}: not a readable CSV: {error}"
    return f"{path}: not a study table: its header is {first!r}, a study table's is {header}"


def _listed(side: TableSet, measures: Sequence[str]) -> str:
    """``time (time.csv), gpu_memory_nvml (required_memory.csv, required_memory_2.csv)``."""
    return ", ".join(f"{measure} ({', '.join(side.tables_of(measure))})" for measure in measures) or "no cell"
