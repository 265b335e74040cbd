"""Plots of sweeps and of quality against speed, written as PNG and SVG.

A sweep is the tidy frame that ``modelperf sweep`` writes as ``sweep.csv`` (``measure.tidy``):
one row per model, batch size, sequence length and measure, with the headline ``value`` and a ``status`` (``ok``,
``out of memory``, ...). Each measure is drawn against sequence length at every batch size
that has several, and against batch size at every sequence length that has several, one line
per model. A cell that ran out of memory is information, not a zero: its line stops and the
cell is marked at the top of the plot. A plot none of whose cells has a value (every one
skipped, say) is not drawn at all: ``left_out_plots`` names it and says why.

Each figure shows a measure in one unit chosen from its values (``plot_units``: ms where every
time is under 1 s, memory in MiB), and each model in one colour and marker on every figure of
a sweep or report (``plot_styles.ModelStyles``); a frame with a ``result_set`` column overlays
several result sets, one line style each. ``overview`` draws the main measures side by side.

Figures are drawn on matplotlib's Agg canvas without pyplot, so no GUI backend is ever
chosen; SVGs are written with a fixed hash salt and no date, so that committed plots change
only when their data does. matplotlib (the ``plots`` extra) is imported when a plot is drawn:
checking a sweep and planning its plots need only pandas.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import re
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ..core.counts import counted
from ..core.extras import require
from ..core.measurement import Direction
from ..measure.catalogue import SWEEP_MEASURES, measure_named
from ..measure.cell import OK
from ..measure.tidy import TIDY_COLUMNS
from ..storage.atomic_files import atomic_write_bytes
from .plot_styles import (
    BASELINE_LINESTYLE,
    RESULT_SET,
    ModelStyles,
    SeriesStyle,
    linestyle_at,
    variant_kind,
    variant_order,
    variant_values,
)
from .plot_units import shown_unit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Dimension = Literal["sequence_length", "batch_size"]
DIMENSIONS: Mapping[str, str] = {"sequence_length": "sequence length", "batch_size": "batch size"}
DIMENSION_UNITS: Mapping[str, str] = {"sequence_length": "tokens", "batch_size": "samples"}
FILE_TAGS: Mapping[str, str] = {"sequence_length": "s", "batch_size": "b"}

PNG_DPI = 150
SVG_HASH_SALT = "pytest-modelperf"
LINE_FIGURE_SIZE = (6.6, 4.0)  # inches; at PNG_DPI about 1000 x 600 pixels
SCATTER_FIGURE_SIZE = (6.6, 4.4)
TITLE_WIDTH = 64  # characters per title line
LEGEND_WIDTH = 28  # characters per legend line
LARGEST_MARKER_AREA = 1200.0  # points², for the largest model of a scatter
EQUAL_MARKER_AREA = 160.0
MARK_SPACING = 9  # points between the marks of several series failing at one size
EDGE = 0.85  # share of the axes' width beyond which a failure mark is aligned to the edge
HEADROOM = 0.2  # share of the data's span kept free above it for the out-of-memory marks


class SweepFrameError(ValueError):
    """A frame is not a sweep (or a quality table): the message names the source and the column."""


def measure_title(measure: str) -> str:
    """How plots title a sweep's measure: the catalogue's title (``time`` is "inference time")."""
    known = SWEEP_MEASURES.get(measure)
    return known.title if known is not None else measure.replace("_", " ")


def _matplotlib() -> ModuleType:
    """matplotlib, or MissingExtra naming the ``plots`` extra."""
    return require("matplotlib", "plots", "drawing plots")


# -- validation --------------------------------------------------------------------------


def check_sweep(frame: pd.DataFrame, source: str = "the sweep") -> pd.DataFrame:
    """A checked copy of a sweep frame: integer sizes, a value for every ``ok`` cell, one unit
    per measure. ``source`` (a file name) is named in every error."""
    if not isinstance(frame, pd.DataFrame):
        raise SweepFrameError(f"{source}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in TIDY_COLUMNS if column not in frame.columns]
    if len(missing) == len(TIDY_COLUMNS):
        have = ", ".join(map(str, frame.columns)) or "none"
        raise SweepFrameError(f"{source}: not a sweep: its columns are {have}; a sweep has the columns {','.join(TIDY_COLUMNS)}")
    if missing:
        raise SweepFrameError(f"{source}: not a sweep: {counted(len(missing), 'column')} missing: {', '.join(missing)}")
    if frame.empty:
        raise SweepFrameError(f"{source}: the sweep has no rows")
    sweep = frame.reset_index(drop=True).copy()
    for column in ("model", "measure", "status"):
        _require_text(sweep, column, source)
    sweep["status"] = sweep["status"].astype(str).str.strip()
    sweep["label"] = [_text(label) or _text(model) for label, model in zip(sweep["label"], sweep["model"], strict=True)]
    sweep["unit"] = [_text(unit) for unit in sweep["unit"]]
    for column in ("device", "dtype"):
        sweep[column] = [_text(value) for value in sweep[column]]
    if RESULT_SET in sweep.columns:
        sweep[RESULT_SET] = [_text(value) for value in sweep[RESULT_SET]]
    for column in ("batch_size", "sequence_length"):
        sweep[column] = _positive_integers(sweep[column], column, source)
    values = pd.to_numeric(sweep["value"], errors="coerce")
    ok = sweep["status"] == OK
    bad = ok & ~(values.notna() & (values.abs() < math.inf))
    if bad.any():
        position = int(bad.idxmax())
        raise SweepFrameError(
            f"{source}: row {position + 1}, column value: "
            f"status is 'ok' but the value is {_describe_cell(sweep['value'][position])}"
        )
    sweep["value"] = values.where(ok)
    for measure, units in sweep.groupby("measure")["unit"]:
        distinct = sorted(set(units))
        if len(distinct) > 1:
            raise SweepFrameError(f"{source}: column unit: measure {measure!r} has several units ({', '.join(distinct)})")
    return sweep


def _require_text(frame: pd.DataFrame, column: str, source: str) -> None:
    empty = frame[column].map(lambda value: _text(value) == "")
    if empty.any():
        raise SweepFrameError(f"{source}: row {int(empty.idxmax()) + 1}, column {column}: empty")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _describe_cell(value: Any) -> str:
    text = _text(value)
    return f"{text!r}, not a number" if text else "empty"


def _positive_integers(column: pd.Series, name: str, source: str) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    valid = numbers.map(lambda v: math.isfinite(v) and v > 0 and float(v).is_integer())
    if not valid.all():
        position = int((~valid).idxmax())
        got = _describe_cell(column[position])
        raise SweepFrameError(f"{source}: row {position + 1}, column {name}: expected a positive whole number, got {got}")
    return numbers.astype(int)


# -- sweeps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedPlot:
    """One line plot a sweep calls for: a measure against one dimension, the other held fixed."""

    measure: str
    against: Dimension
    fixed: int

    @property
    def held(self) -> Dimension:
        return "batch_size" if self.against == "sequence_length" else "sequence_length"

    @property
    def stem(self) -> str:
        """A file name without suffix, e.g. ``time_vs_sequence_length_b32``."""
        measure = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.measure).strip("_") or "measure"
        return f"{measure}_vs_{self.against}_{FILE_TAGS[self.held]}{self.fixed}"


@dataclass(frozen=True)
class LeftOutPlot:
    """A plot the sweep's grid calls for but whose cells hold no value to draw, and why."""

    plan: PlannedPlot
    reason: str  # "no cell has a value (4 skipped, 2 OOM)"


def planned_plots(sweep: pd.DataFrame) -> list[PlannedPlot]:
    """For each measure: against sequence length at each batch size that has several sequence
    lengths, and against batch size at each sequence length that has several batch sizes;
    those whose cells hold no value at all (every one skipped, say) are left out
    (``left_out_plots`` says which and why)."""
    return [plan for plan, cells in _candidate_plots(sweep) if cells["value"].notna().any()]


def left_out_plots(sweep: pd.DataFrame) -> list[LeftOutPlot]:
    """The plots the grid calls for that are not drawn, as no cell of theirs has a value."""
    left: list[LeftOutPlot] = []
    for plan, cells in _candidate_plots(sweep):
        if cells["value"].notna().any():
            continue
        counts: dict[str, int] = {}
        for status in cells["status"]:
            short = _short_status(str(status))
            counts[short] = counts.get(short, 0) + 1
        why = ", ".join(f"{count} {status}" for status, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        left.append(LeftOutPlot(plan, f"no cell has a value ({why})"))
    return left


def _candidate_plots(sweep: pd.DataFrame) -> Iterator[tuple[PlannedPlot, pd.DataFrame]]:
    """Each slice of the grid where some series (a model, in one result set, device and dtype)
    has two sizes or more: one where every series has a single point draws no line."""
    series = [column for column in ("model", RESULT_SET, "device", "dtype") if column in sweep.columns]
    for measure in sorted(sweep["measure"].unique()):
        cells = sweep[sweep["measure"] == measure]
        for against, held in (("sequence_length", "batch_size"), ("batch_size", "sequence_length")):
            for fixed, group in sorted(cells.groupby(held), key=lambda item: item[0]):
                if group.groupby(series, dropna=False)[against].nunique().max() > 1:
                    yield PlannedPlot(measure, against, int(fixed)), group  # type: ignore[arg-type]


def sweep_figures(
    frame: pd.DataFrame,
    *,
    log: bool = False,
    baseline: pd.DataFrame | None = None,
    source: str = "the sweep",
    styles: ModelStyles | None = None,
) -> Iterator[tuple[PlannedPlot, Figure]]:
    """The line plots a sweep calls for, one at a time (each is drawn when asked for).
    ``styles`` gives each model its colour and marker (default: made from this sweep's models)."""
    sweep, base = _checked_pair(frame, baseline, source)
    series = series_styles(sweep, styles or ModelStyles.for_models(sweep["model"]))
    for plan in planned_plots(sweep):
        yield plan, _draw_line_plot(sweep, plan, log=log, baseline=base, styles=series)


def plot_sweep(
    frame: pd.DataFrame,
    directory: str | os.PathLike[str],
    *,
    log: bool = False,
    source: str = "the sweep",
    styles: ModelStyles | None = None,
) -> list[Path]:
    """Write the plots a sweep calls for into ``directory`` as PNG and SVG; returns the files.
    Every figure gives a model the same colour (``styles``, default: made from the sweep's
    models); ``overview.plot_overview`` adds the overview in the same colours."""
    folder = Path(directory)
    written: list[Path] = []
    for plan, figure in sweep_figures(frame, log=log, source=source, styles=styles):
        written.extend(save_figure(figure, folder / plan.stem))
    return written


def line_plot(
    frame: pd.DataFrame,
    *,
    measure: str,
    against: Dimension,
    fixed: int,
    log: bool = False,
    baseline: pd.DataFrame | None = None,
    source: str = "the sweep",
    styles: ModelStyles | None = None,
) -> Figure:
    """One measure against sequence length (at batch size ``fixed``) or against batch size (at
    sequence length ``fixed``), one line per model; ``baseline`` values are drawn dashed."""
    if against not in DIMENSIONS:
        raise ValueError(f"against: expected sequence_length or batch_size, got {against!r}")
    sweep, base = _checked_pair(frame, baseline, source)
    plan = PlannedPlot(measure, against, int(fixed))
    cells = sweep[(sweep["measure"] == measure) & (sweep[plan.held] == plan.fixed)]
    if cells.empty:
        measures = ", ".join(sorted(sweep["measure"].unique()))
        raise SweepFrameError(f"{source}: no {measure!r} cells at {DIMENSIONS[plan.held]} {plan.fixed} (measures: {measures})")
    if not cells["value"].notna().any():
        (left,) = [left for left in left_out_plots(cells) if left.plan == plan] or [LeftOutPlot(plan, "no cell has a value")]
        raise SweepFrameError(f"{source}: {plan.stem}: nothing to draw: {left.reason}")
    series = series_styles(sweep, styles or ModelStyles.for_models(sweep["model"]))
    return _draw_line_plot(sweep, plan, log=log, baseline=base, styles=series)


def checked_for_figures(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A checked sweep whose rows name their ``series`` (the legend's name) and ``variant``."""
    return _checked_pair(frame, None, source)[0]


def _checked_pair(frame: pd.DataFrame, baseline: pd.DataFrame | None, source: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The checked sweep and baseline, each row named by its series the same way in both."""
    sweep = check_sweep(frame, source)
    kind = variant_kind(sweep)
    order = variant_order(sweep, kind)
    _name_series(sweep, kind, order)
    if baseline is None or baseline.empty:
        return sweep, None
    base = check_sweep(baseline, f"{source} (baseline)")
    _name_series(base, kind, order)
    return sweep, base


def _name_series(frame: pd.DataFrame, kind: str | None, order: Sequence[str]) -> None:
    """The legend name of each row (its label, with its variant where there are several), its
    variant, and the line style of the variant."""
    variant = variant_values(frame, kind)
    if variant is None:
        frame["variant"] = ""
        frame["series"] = frame["label"]
    else:
        frame["variant"] = variant
        frame["series"] = frame["label"] + " (" + variant + ")"
    frame["linestyle_index"] = [order.index(v) if v in order else 0 for v in frame["variant"]]


def series_styles(sweep: pd.DataFrame, styles: ModelStyles) -> dict[str, SeriesStyle]:
    """The colour and marker of each series' model, and the line style of its variant."""
    found: dict[str, SeriesStyle] = {}
    for name, model, index in zip(sweep["series"], sweep["model"], sweep["linestyle_index"], strict=True):
        found.setdefault(name, styles.style(str(model), linestyle_at(int(index))))
    return found


def _draw_line_plot(
    sweep: pd.DataFrame, plan: PlannedPlot, *, log: bool, baseline: pd.DataFrame | None, styles: Mapping[str, SeriesStyle]
) -> Figure:
    from matplotlib.lines import Line2D

    figure = new_figure(LINE_FIGURE_SIZE)
    axes = figure.add_subplot()
    drawn = draw_panel(axes, sweep, plan, log=log, baseline=baseline, styles=styles)
    handles, labels = legend_entries(drawn.cells, styles)
    if drawn.baseline:
        handles.append(Line2D([], [], color="0.35", linestyle=BASELINE_LINESTYLE, linewidth=1.4))
        labels.append("baseline")
    _title(figure, _line_title(measure_title(plan.measure), plan, drawn.cells))
    axes.legend(handles, labels, title="model", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    return figure


def legend_entries(cells: pd.DataFrame, styles: Mapping[str, SeriesStyle]) -> tuple[list[Any], list[str]]:
    """The legend of the series drawn from ``cells``: one entry per series; where a model has
    several variants (result sets, devices), one per model in its colour and marker and then
    one per variant in its line style, so that the legend stays short."""
    from matplotlib.lines import Line2D

    def entry(style: SeriesStyle, colour: Any = None, marker: Any = None) -> Any:
        return Line2D(
            [], [], color=colour or style.colour, marker=marker or style.marker, linestyle=style.linestyle, markersize=6
        )

    rows = cells.drop_duplicates("series").sort_values(["label", "linestyle_index"])
    if set(rows["variant"]) == {""}:
        return [entry(styles[name]) for name in rows["series"]], [_legend_text(name) for name in rows["series"]]
    handles: list[Any] = []
    labels: list[str] = []
    for label, group in rows.groupby("label", sort=True):
        first = styles[group["series"].iloc[0]]
        handles.append(Line2D([], [], color=first.colour, marker=first.marker, linestyle="-", markersize=6))
        labels.append(_legend_text(str(label)))
    for variant, group in rows.sort_values("linestyle_index").groupby("variant", sort=False):
        style = styles[group["series"].iloc[0]]
        handles.append(Line2D([], [], color="0.3", linestyle=style.linestyle, linewidth=1.8))
        labels.append(_legend_text(str(variant)))
    return handles, labels


def _legend_text(name: str) -> str:
    return _plain(textwrap.fill(name, LEGEND_WIDTH, break_on_hyphens=True))


@dataclass(frozen=True)
class DrawnPanel:
    """What ``draw_panel`` drew: the legend's handles and names, and the cells shown."""

    handles: list[Any]
    labels: list[str]
    cells: pd.DataFrame
    baseline: bool


def draw_panel(
    axes: Any,
    sweep: pd.DataFrame,
    plan: PlannedPlot,
    *,
    log: bool,
    baseline: pd.DataFrame | None,
    styles: Mapping[str, SeriesStyle],
    fontsize: float = 9,
) -> DrawnPanel:
    """One planned plot on ``axes``: a line per series, the baseline dashed, the cells that could
    not be measured marked at the top, the axes labelled in the unit chosen for the figure."""
    cells = _cells(sweep, plan)
    base_cells = _cells(baseline, plan) if baseline is not None else None
    values = list(cells["value"]) + (list(base_cells["value"]) if base_cells is not None else [])
    shown = shown_unit(cells["unit"].iloc[0], values)
    handles: list[Any] = []
    labels: list[str] = []
    for name, series in cells.groupby("series", sort=True):
        style = styles[name]
        series = series.sort_values(plan.against)
        (line,) = axes.plot(
            series[plan.against],
            series["value"] * shown.factor,
            color=style.colour,
            marker=style.marker,
            linestyle=style.linestyle,
            markersize=6,
            linewidth=1.8,
            label=_plain(name),
        )
        handles.append(line)
        labels.append(_plain(name))
    drew_baseline = base_cells is not None and _draw_baseline(axes, base_cells, styles, plan, shown.factor)
    failures = cells[cells["status"] != OK]
    x_values = sorted(cells[plan.against].unique())
    _set_x_axis(axes, x_values, log)
    axes.update_datalim([(x, 0.0) for x in failures[plan.against]], updatex=True, updatey=False)
    positive = [v for v in values if v > 0]  # NaN compares False
    if log and positive:  # a log axis needs a positive value; without one the axis stays linear
        axes.set_yscale("log")
        _plain_log_labels(axes.yaxis)
    axes.autoscale_view()
    if not failures.empty:
        _reserve_headroom(axes, log and bool(positive))
        _mark_failures(axes, failures, plan, styles, fontsize=fontsize - 1)
    title = measure_title(plan.measure)
    axes.set_xlabel(f"{DIMENSIONS[plan.against]} ({DIMENSION_UNITS[plan.against]})", fontsize=fontsize + 1)
    axes.set_ylabel(f"{title} ({shown.unit})" if shown.unit else title, fontsize=fontsize + 1)
    axes.grid(True, which="major", color="0.88", linewidth=0.8)
    axes.set_axisbelow(True)
    return DrawnPanel(handles, labels, cells, drew_baseline)


def _cells(frame: pd.DataFrame, plan: PlannedPlot) -> pd.DataFrame:
    chosen = frame[(frame["measure"] == plan.measure) & (frame[plan.held] == plan.fixed)]
    # The same cell twice (a repeated row) is drawn once: the first measurement stands.
    return chosen.drop_duplicates(subset=["series", plan.against], keep="first")


def _line_title(measure_title: str, plan: PlannedPlot, cells: pd.DataFrame) -> str:
    title = f"{measure_title[0].upper()}{measure_title[1:]} vs {DIMENSIONS[plan.against]}"
    title += f", at {DIMENSIONS[plan.held]} {plan.fixed}"
    detail = where_measured(cells)
    return f"{title} ({detail})" if detail else title


def where_measured(cells: pd.DataFrame) -> str:
    """``cuda, float32`` where every cell shares a device and dtype, else empty."""
    where = cells[["device", "dtype"]].drop_duplicates()
    if len(where) != 1:
        return ""
    device, dtype = where.iloc[0]
    return ", ".join(part for part in (device, dtype) if part)


def _draw_baseline(axes: Any, cells: pd.DataFrame, styles: Mapping[str, SeriesStyle], plan: PlannedPlot, factor: float) -> bool:
    drew = False
    for name, series in cells.groupby("series", sort=True):
        if name not in styles:
            continue
        series = series.sort_values(plan.against)
        axes.plot(
            series[plan.against],
            series["value"] * factor,
            color=styles[name].colour,
            linestyle=BASELINE_LINESTYLE,
            linewidth=1.4,
            marker=styles[name].marker,
            markersize=5,
            markerfacecolor="none",
            alpha=0.8,
        )
        drew = True
    return drew


def _set_x_axis(axes: Any, values: Sequence[int], log: bool) -> None:
    from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator, StrMethodFormatter

    if log and all(_power_of_two(value) for value in values):
        axes.set_xscale("log", base=2)
        axes.xaxis.set_major_locator(FixedLocator(values))
        axes.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        axes.xaxis.set_minor_locator(NullLocator())
        return
    span = max(values) - min(values)
    gaps = [b - a for a, b in itertools.pairwise(values)]
    if len(values) <= 10 and span > 0 and min(gaps) >= 0.06 * span:
        axes.xaxis.set_major_locator(FixedLocator(values))  # the measured sizes themselves
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def _reserve_headroom(axes: Any, log: bool) -> None:
    """Room above the data for the marks of cells that could not be measured."""
    low, high = axes.get_ylim()
    if log and low > 0:
        axes.set_ylim(low, high * (high / low) ** HEADROOM)
    else:
        axes.set_ylim(low, high + (high - low) * HEADROOM)


def _mark_failures(
    axes: Any, failures: pd.DataFrame, plan: PlannedPlot, styles: Mapping[str, SeriesStyle], *, fontsize: float = 8
) -> None:
    """An ``x`` in the series' colour at the top of the plot for each cell that could not be
    measured, side by side where several models failed at one size, with its reason below."""
    from matplotlib.transforms import blended_transform_factory, offset_copy

    top = blended_transform_factory(axes.transData, axes.transAxes)
    figure = axes.get_figure()
    to_axes = axes.transData + axes.transAxes.inverted()
    for x, group in failures.groupby(plan.against, sort=True):
        count = len(group)
        # Near the right edge the marks and the reason end at the cell, so that they stay inside
        # the plot instead of running under the legend; near the left edge they start at it.
        across = float(to_axes.transform((x, 1.0))[0])
        at_edge, at_start = across > EDGE, across < 1 - EDGE
        start = -(count - 1) if at_edge else 0 if at_start else -(count - 1) / 2
        for index, (_, row) in enumerate(group.sort_values("series").iterrows()):
            shift = (start + index) * MARK_SPACING  # points
            transform = offset_copy(top, fig=figure, x=shift, y=0, units="points")
            axes.plot(
                [x],
                [0.955],
                transform=transform,
                marker="x",
                markersize=9,
                markeredgewidth=2.2,
                color=styles[row["series"]].colour,
                linestyle="none",
                clip_on=False,
            )
        reasons = sorted({_short_status(status) for status in group["status"]})
        axes.annotate(
            _plain(" / ".join(reasons)),
            xy=(x, 0.955),
            xycoords=top,
            xytext=(4 if at_edge else -4 if at_start else 0, -9),
            textcoords="offset points",
            ha="right" if at_edge else "left" if at_start else "center",
            va="top",
            fontsize=fontsize,
            color="0.25",
        )


def _title(figure: Figure, text: str) -> None:
    figure.suptitle(_plain(textwrap.fill(text, TITLE_WIDTH)), fontsize=11)


def _short_status(status: str) -> str:
    lowered = status.lower()
    if "out of memory" in lowered or lowered == "oom":
        return "OOM"
    if lowered.startswith("error"):
        return "error"
    if lowered.startswith("skipped"):
        return "skipped"
    if lowered.startswith("unavailable"):
        return "unavailable"
    return status if len(status) <= 14 else status[:13] + "…"


# -- quality against speed ---------------------------------------------------------------

# column -> (what it is, how a title names it, its unit, which way is better)
SPEED_COLUMNS: Mapping[str, tuple[str, str, str, str]] = {
    "latency_ms": ("latency", "latency", "ms", "lower is better"),
    "throughput": ("throughput", "throughput", "samples/s", "higher is better"),
}
SIZE_COLUMN = "parameters"  # the marker size when none is asked for


@dataclass(frozen=True)
class _Column:
    """What a scatter's column holds: its words, its unit (from the catalogue) and which way is better."""

    title: str
    unit: str
    better: str


def _column(name: str) -> _Column:
    if name in SPEED_COLUMNS:
        title, _, unit, better = SPEED_COLUMNS[name]
        return _Column(title, unit, better)
    known = measure_named(name)
    if known is not None:
        better = "lower is better" if known.direction == Direction.LOWER_IS_BETTER else "higher is better"
        return _Column(known.title, known.unit, better)
    return _Column(name.replace("_", " "), "", "")


def quality_scatter(
    frame: pd.DataFrame,
    *,
    score_name: str = "accuracy",
    score_unit: str = "points",
    speed_label: str | None = None,
    log: bool = False,
    source: str = "the quality table",
    x: str | None = None,
    x_title: str | None = None,
    size: str | None = None,
    styles: ModelStyles | None = None,
) -> Figure:
    """One point per model: its quality ``score`` against the column ``x``, labelled with its
    short name (``label``), the marker's area proportional to the column ``size``.

    ``x`` is by default the table's ``latency_ms`` or ``throughput`` (it must have one of them),
    and may be any numeric column: a measure of the catalogue (``fine_tune.time``,
    ``artefact_size``, ``parameters``) is labelled with its title, unit and direction, times
    are shown in ms where all are under 1 s and memory in MiB. ``x_title`` names it instead
    (the unit is added); ``speed_label`` replaces the whole axis label. ``size`` is by default
    ``parameters``, with equal markers where the table has no such column or a count is
    missing; a ``size`` asked for must be in the table with a positive number in every row.
    ``styles`` colours each model (by the ``model`` column, else ``label``) as other figures do.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SweepFrameError(f"{source}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in ("label", "score") if column not in frame.columns]
    if x is not None:
        missing += [] if x in frame.columns else [x]
        x_column = x
    else:
        speeds = [column for column in SPEED_COLUMNS if column in frame.columns]
        missing += [] if len(speeds) == 1 else ["latency_ms or throughput (one of them)"]
        x_column = speeds[0] if len(speeds) == 1 else ""
    if size is not None and size not in frame.columns:
        missing.append(size)
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise SweepFrameError(f"{source}: {counted(len(missing), 'column')} needed: {', '.join(missing)}; the table has {have}")
    if frame.empty:
        raise SweepFrameError(f"{source}: no rows")
    table = frame.reset_index(drop=True)
    described = _column(x_column)
    raw_x = _finite_column(table, x_column, source)
    shown = shown_unit(described.unit, raw_x) if speed_label is None else shown_unit("", raw_x)
    xs = [shown(value) for value in raw_x]
    y = _finite_column(table, "score", source)
    sizes, size_legend, size_title = _marker_areas(table, size, source)
    figure = new_figure(SCATTER_FIGURE_SIZE)
    axes = figure.add_subplot()
    keys = [_text(key) for key in (table["model"] if "model" in table.columns else table["label"])]
    styles = styles or ModelStyles.for_models(keys)
    middle = (min(xs) + max(xs)) / 2
    for key, label, x_value, y_value, area in zip(keys, table["label"], xs, y, sizes, strict=True):
        axes.scatter(
            [x_value], [y_value], s=area, color=styles.colour(key), alpha=0.65, edgecolors="0.2", linewidths=0.8, zorder=3
        )
        # Labels point inwards, so that those of the outermost models stay inside the plot.
        side = 1 if len(xs) == 1 or x_value <= middle else -1
        axes.annotate(
            _plain(_text(label)),
            xy=(x_value, y_value),
            xytext=(side * (math.sqrt(area) / 2 + 4), 0),
            textcoords="offset points",
            ha="left" if side > 0 else "right",
            va="center",
            fontsize=9,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75},
        )
    if log:
        axes.set_xscale("log")
        _plain_log_labels(axes.xaxis)
    axes.margins(x=0.18, y=0.15)
    words = x_title or described.title
    unit = f" ({shown.unit})" if shown.unit else ""
    better = f", {described.better}" if described.better else ""
    axes.set_xlabel(_plain(speed_label or f"{words}{unit}{better}"))
    axes.set_ylabel(_plain(f"{score_name} ({score_unit})" if score_unit else score_name))
    short = SPEED_COLUMNS[x_column][1] if x_column in SPEED_COLUMNS else words
    _title(figure, f"{score_name[0].upper()}{score_name[1:]} vs {short}, one point per model")
    axes.grid(True, color="0.88", linewidth=0.8)
    axes.set_axisbelow(True)
    if size_legend:
        handles = [axes.scatter([], [], s=area, color="0.6", alpha=0.6, edgecolors="0.2") for area, _ in size_legend]
        diameter = math.sqrt(max(area for area, _ in size_legend)) / 9  # in font sizes, for the spacing
        axes.legend(
            handles,
            [text for _, text in size_legend],
            title=size_title,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            labelspacing=max(1.0, 0.75 * diameter),
            handletextpad=max(0.8, diameter / 2),
            borderpad=1.0,
            fontsize=9,
        )
    return figure


def _finite_column(table: pd.DataFrame, column: str, source: str) -> list[float]:
    values = pd.to_numeric(table[column], errors="coerce")
    bad = ~values.map(lambda v: math.isfinite(v))
    if bad.any():
        position = int(bad.idxmax())
        got = _describe_cell(table[column][position])
        raise SweepFrameError(f"{source}: row {position + 1}, column {column}: expected a number, got {got}")
    return [float(v) for v in values]


def _marker_areas(table: pd.DataFrame, size: str | None, source: str) -> tuple[list[float], list[tuple[float, str]], str]:
    """Areas proportional to the ``size`` column, a size legend and its title; equal areas (and
    no legend) for the default ``parameters`` when the column is absent or has a gap."""
    column = size or SIZE_COLUMN
    equal: tuple[list[float], list[tuple[float, str]], str] = ([EQUAL_MARKER_AREA] * len(table), [], "")
    if column not in table.columns:
        return equal
    counts = pd.to_numeric(table[column], errors="coerce")
    if counts.isna().any():
        if size is None:
            return equal
        position = int(counts.isna().idxmax())
        got = _describe_cell(table[column][position])
        raise SweepFrameError(f"{source}: row {position + 1}, column {column}: expected a positive number, got {got}")
    if (counts <= 0).any():
        position = int((counts <= 0).idxmax())
        got = _describe_cell(table[column][position])
        noun = "count" if column == SIZE_COLUMN else "number"
        raise SweepFrameError(f"{source}: row {position + 1}, column {column}: expected a positive {noun}, got {got}")
    described = _column(column)
    shown = shown_unit(described.unit, counts)
    values = [shown(float(count)) for count in counts]
    largest = max(values)
    areas = [LARGEST_MARKER_AREA * value / largest for value in values]
    references = sorted({_round_count(value) for value in (min(values), float(pd.Series(values).median()), largest)})
    if shown.unit in ("count", ""):
        legend = [(LARGEST_MARKER_AREA * value / largest, _describe_count(value)) for value in references]
    else:
        legend = [(LARGEST_MARKER_AREA * value / largest, f"{value:g} {shown.unit}") for value in references]
    return areas, legend, described.title


def _round_count(value: float) -> float:
    """Two significant digits: 4,386,436 -> 4,400,000."""
    digits = math.floor(math.log10(value)) - 1
    return round(value / 10**digits) * 10**digits


def _describe_count(value: float) -> str:
    for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


# -- figures and files -------------------------------------------------------------------


def new_figure(size: tuple[float, float] = LINE_FIGURE_SIZE) -> Figure:
    """A figure on the Agg canvas, laid out so that outside legends are not cut off."""
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def figure_bytes(figure: Figure, fmt: Literal["png", "svg"], *, text_as_paths: bool = True) -> bytes:
    """The figure rendered as PNG (at ``PNG_DPI``) or as a deterministic SVG."""
    settings = {"svg.hashsalt": SVG_HASH_SALT, "svg.fonttype": "path" if text_as_paths else "none"}
    buffer = io.BytesIO()
    with _matplotlib().rc_context(settings):
        if fmt == "png":
            figure.savefig(buffer, format="png", dpi=PNG_DPI, facecolor="white")
        else:
            figure.savefig(buffer, format="svg", metadata={"Date": None}, facecolor="white")
    return buffer.getvalue()


def svg_markup(figure: Figure) -> str:
    """The figure as an ``<svg>`` element to inline in HTML (text kept as text); closes it."""
    try:
        text = figure_bytes(figure, "svg", text_as_paths=False).decode("utf-8")
    finally:
        close_figure(figure)
    return text[text.index("<svg") :]


def save_figure(figure: Figure, stem: str | os.PathLike[str]) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` atomically and close the figure; returns both paths."""
    base = Path(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for fmt in ("png", "svg"):
            path = base.with_name(f"{base.name}.{fmt}")
            atomic_write_bytes(path, figure_bytes(figure, fmt))  # type: ignore[arg-type]
            written.append(path)
    finally:
        close_figure(figure)
    return written


def close_figure(figure: Figure) -> None:
    """Release a figure; one made through pyplot is also forgotten by pyplot."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(figure)


def _plain_log_labels(axis: Any) -> None:
    """Log-axis ticks read as numbers (0.3, 2, 40), not as powers of ten (3 x 10^-1).

    Minor ticks are labelled (at 2, 3, 4 and 6 of each decade) only when the axis spans less
    than two decades, where the decades alone would leave too few labels.
    """
    from matplotlib.ticker import FuncFormatter

    def minor(value: float, position: int | None) -> str:
        low, high = sorted(axis.get_view_interval())
        if low <= 0 or math.log10(high / low) >= 2:
            return ""
        mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
        return f"{value:g}" if mantissa in (2, 3, 4, 6) else ""

    axis.set_major_formatter(FuncFormatter(lambda value, position: f"{value:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))


def _plain(text: str) -> str:
    """Text shown as written: matplotlib would read ``$...$`` in a model name as mathtext."""
    return text.replace("$", r"\$")
