"""Trends over the run history: a measurement's median in each saved run, drawn as a line, and
the HTML report's section that shows them (with a smoke run's notice).

A run is a label (its run id, ``0003_abc1234``) and its measurements by baseline key; the
history's runs come from ``storage.run_history``, read by the session's end. A trend shows one
check's median (a single reading's value) in each run that measured it, in the measurement's
unit, times below a second in ms; a check measured by fewer than two runs has no trend.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from ..core.baseline_entry import EntryKey
from ..core.counts import counted
from ..core.measurement import Measurement
from ..core.stats import statistic
from ..core.units import UnitError, convert, dimension

TREND_RUNS = 50  # the most recent runs a trend shows
FEWEST_POINTS = 2
FIGURE_SIZE = (4.6, 2.6)  # inches: two figures side by side on a wide page
MOST_TICK_LABELS = 10


@dataclass(frozen=True)
class HistoryRun:
    """One run of a trend's history: its label on the x axis and its measurements by key."""

    label: str
    measurements: Mapping[EntryKey, Measurement]


@dataclass(frozen=True)
class TrendPoint:
    run: str  # the run's label
    value: float  # in the trend's unit


@dataclass(frozen=True)
class Trend:
    """One check's median over the runs that measured it, in ``unit``."""

    key: EntryKey
    unit: str
    points: tuple[TrendPoint, ...]

    @property
    def title(self) -> str:
        return f"{self.key.module}::{self.key.test}"

    @property
    def axis_label(self) -> str:
        return f"{self.key.measurement} ({self.unit})" if self.unit else self.key.measurement


def history_run(label: str, checks: Iterable[tuple[EntryKey, Measurement]]) -> HistoryRun:
    """A run's measurements by key; a key measured twice (two statistics checked) counts once."""
    measurements: dict[EntryKey, Measurement] = {}
    for key, measurement in checks:
        measurements.setdefault(key, measurement)
    return HistoryRun(label, measurements)


def median_of(measurement: Measurement) -> float | None:
    """The measurement's median (a single reading's value), or None where it has none (N/A)."""
    if measurement.unavailable is not None:
        return None
    value = statistic(measurement.samples, "median") if measurement.samples else measurement.value
    return value if math.isfinite(value) else None


def display_unit(unit: str, values: Sequence[float]) -> str:
    """The unit a trend is drawn in: a time in ms below a second and in s above, else its own."""
    try:
        if dimension(unit) != "time" or not values:
            return unit
    except UnitError:
        return unit
    seconds = max(abs(convert(value, unit, "s")) for value in values)
    return "ms" if seconds < 1 else "s"


def trend_of(key: EntryKey, runs: Sequence[HistoryRun]) -> Trend | None:
    """The check's median in each of the last ``TREND_RUNS`` runs that measured it, in the first
    such run's unit (a run whose unit cannot be converted to it is left out); None under
    ``FEWEST_POINTS`` points."""
    found: list[tuple[str, float, str]] = []
    for run in runs:
        measurement = run.measurements.get(key)
        value = median_of(measurement) if measurement is not None else None
        if measurement is not None and value is not None:
            found.append((run.label, value, measurement.unit))
    if not found:
        return None
    unit = found[0][2]
    converted: list[tuple[str, float]] = []
    for label, value, own_unit in found:
        try:
            converted.append((label, convert(value, own_unit, unit) if own_unit != unit else value))
        except UnitError:
            continue
    converted = converted[-TREND_RUNS:]
    if len(converted) < FEWEST_POINTS:
        return None
    shown = display_unit(unit, [value for _, value in converted])
    points = tuple(TrendPoint(label, convert(value, unit, shown) if shown != unit else value) for label, value in converted)
    return Trend(key, shown, points)


def trends_of(keys: Iterable[EntryKey], runs: Sequence[HistoryRun]) -> list[Trend]:
    """The trend of each key that has one, in the given order, each once."""
    trends = (trend_of(key, runs) for key in dict.fromkeys(keys))
    return [trend for trend in trends if trend is not None]


# -- drawing -----------------------------------------------------------------------------


def draw_trend(trend: Trend) -> str:
    """The trend as an inline ``<svg>``: one point per run, joined, the last run marked."""
    from .plots import new_figure, svg_markup

    figure = new_figure(FIGURE_SIZE)
    axes = figure.add_subplot()
    positions = list(range(len(trend.points)))
    values = [point.value for point in trend.points]
    axes.plot(positions, values, marker="o", markersize=3.5, linewidth=1.2, color="#1f5fa8")
    axes.plot(positions[-1:], values[-1:], marker="o", markersize=6, color="#c62828", linestyle="none")
    step = max(1, math.ceil(len(positions) / MOST_TICK_LABELS))
    ticks = sorted({*positions[::-step], positions[-1]})  # from the last run back, so that it is labelled
    axes.set_xticks(ticks, [trend.points[i].run for i in ticks], rotation=30, ha="right", fontsize=7)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_ylabel(trend.axis_label.replace("$", r"\$"), fontsize=8)
    axes.set_xlabel("run", fontsize=8)
    axes.grid(True, alpha=0.3)
    return svg_markup(figure)


def trends_section(trends: Sequence[Trend], runs: int, problems: Sequence[str] = ()) -> Markup:
    """The HTML report's trends: collapsed, one figure per check, and a line per saved run that
    could not be read. A figure that cannot be drawn leaves the section saying why, not the
    report unwritten."""
    unread = Markup("").join(Markup("<p class='error'>run not shown: {}</p>\n").format(problem) for problem in problems)
    if not trends:
        return _section(unread) if problems else Markup()
    try:
        figures = [(trend, Markup(draw_trend(trend))) for trend in trends]
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"
        return _section(unread + Markup("<p class='error'>the trends could not be drawn: {}</p>").format(failure))
    summary = f"{counted(len(trends), 'check')} over up to {counted(runs, 'run')} each: the median of each run"
    body = Markup("\n").join(
        Markup("<figure>{}<figcaption>{} · {} [{}]</figcaption></figure>").format(
            svg, trend.title, trend.key.measurement, trend.key.hardware_key
        )
        for trend, svg in figures
    )
    details = Markup("<details><summary>{}</summary>\n<div class='plots'>\n{}\n</div>\n</details>").format(summary, body)
    return _section(unread + details)


def _section(content: Markup) -> Markup:
    return Markup("<section id='trends'>\n<h2>Trends over saved runs</h2>\n{}\n</section>\n").format(content)


def smoke_notice(text: str) -> Markup:
    """A smoke run's line at the top of the HTML report: its checks were not judged."""
    return Markup("<section id='smoke'><p class='headline'><strong>{}</strong></p></section>\n").format(text)
