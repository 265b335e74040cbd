"""The overview of a sweep: its main measures as small multiples in one figure (``overview.png``).

A row per main measure the sweep holds, in the study's order: time, throughput, the required
memory (NVML's device-used on a GPU, else the host's peak), and their training forms. Each row
has the measure against sequence length and against batch size, each at the fixed size with
the most measured points (the largest size on a tie: the heaviest workload). The panels are
drawn as the single plots are, in the same colours, with one legend for the figure.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .plot_styles import ModelStyles
from .plots import (
    DIMENSIONS,
    PlannedPlot,
    checked_for_figures,
    draw_panel,
    legend_entries,
    measure_title,
    new_figure,
    planned_plots,
    save_figure,
    series_styles,
    where_measured,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OVERVIEW_STEM = "overview"
# Rows of the overview: each is the first of its measures that the sweep can draw.
MAIN_MEASURES: tuple[tuple[str, ...], ...] = (
    ("time",),
    ("throughput",),
    ("gpu_memory_nvml", "required_memory", "host_memory_peak"),
    ("train_time",),
    ("train_throughput",),
    ("train_gpu_memory_nvml", "train_required_memory", "train_host_memory_peak"),
)
PANEL_SIZE = (4.4, 3.0)  # inches per panel
LEGEND_WIDTH = 2.6  # inches beside the panels


def overview_panels(sweep: pd.DataFrame) -> list[list[PlannedPlot]]:
    """The overview's rows of panels (a checked sweep in, as ``planned_plots`` takes)."""
    plans = planned_plots(sweep)
    rows: list[list[PlannedPlot]] = []
    for candidates in MAIN_MEASURES:
        for measure in candidates:
            row = [plan for against in DIMENSIONS if (plan := _fullest(sweep, plans, measure, against)) is not None]
            if row:
                rows.append(row)
                break
    return rows


def overview_figure(
    frame: pd.DataFrame, *, log: bool = False, source: str = "the sweep", styles: ModelStyles | None = None
) -> Figure | None:
    """The overview figure, or None where the sweep has fewer than two panels to show."""
    sweep = checked_for_figures(frame, source)
    rows = overview_panels(sweep)
    if sum(len(row) for row in rows) < 2:
        return None
    series = series_styles(sweep, styles or ModelStyles.for_models(sweep["model"]))
    columns = max(len(row) for row in rows)
    figure = new_figure((PANEL_SIZE[0] * columns + LEGEND_WIDTH, PANEL_SIZE[1] * len(rows) + 0.6))
    grid = figure.add_gridspec(len(rows), columns)
    shown: list[pd.DataFrame] = []
    for index, row in enumerate(rows):
        for column in range(columns):
            axes = figure.add_subplot(grid[index, column])
            if column >= len(row):
                axes.set_axis_off()
                continue
            plan = row[column]
            drawn = draw_panel(axes, sweep, plan, log=log, baseline=None, styles=series, fontsize=7.5)
            axes.set_title(_panel_title(plan), fontsize=9)
            axes.tick_params(labelsize=7.5)
            shown.append(drawn.cells)
    cells = pd.concat(shown, ignore_index=True)
    handles, labels = legend_entries(cells, series)
    figure.legend(handles, labels, title="model", loc="outside right upper", frameon=False, fontsize=8.5)
    figure.suptitle(_figure_title(cells), fontsize=11)
    return figure


def plot_overview(
    frame: pd.DataFrame,
    directory: str | os.PathLike[str],
    *,
    log: bool = False,
    source: str = "the sweep",
    styles: ModelStyles | None = None,
) -> list[Path]:
    """Write ``overview.png`` and ``overview.svg`` into ``directory``; nothing (an empty list)
    where the sweep has fewer than two panels to show."""
    figure = overview_figure(frame, log=log, source=source, styles=styles)
    return [] if figure is None else save_figure(figure, Path(directory) / OVERVIEW_STEM)


def _fullest(sweep: pd.DataFrame, plans: Sequence[PlannedPlot], measure: str, against: str) -> PlannedPlot | None:
    """Of the plans of a measure against a dimension, the one with the most measured points."""
    found = [plan for plan in plans if plan.measure == measure and plan.against == against]
    if not found:
        return None

    def points(plan: PlannedPlot) -> tuple[int, int]:
        cells = sweep[(sweep["measure"] == measure) & (sweep[plan.held] == plan.fixed) & sweep["value"].notna()]
        return cells[against].nunique(), plan.fixed

    return max(found, key=points)


def _panel_title(plan: PlannedPlot) -> str:
    title = measure_title(plan.measure)
    text = f"{title[0].upper()}{title[1:]} vs {DIMENSIONS[plan.against]}, {DIMENSIONS[plan.held]} {plan.fixed}"
    return textwrap.fill(text, 48).replace("$", r"\$")


def _figure_title(cells: pd.DataFrame) -> str:
    detail = where_measured(cells)
    return "Overview: the main measures" + (f" ({detail})" if detail else "")
