"""Plots of a run's own measurements, for the HTML report: the sweep plots and quality against speed.

Each latency, throughput or memory measurement that names a model, a batch size and a sequence
length becomes a tidy row (``measure.tidy.context_row``: the row ``modelperf sweep`` writes, in
its units), with the baseline it was judged against drawn dashed where that baseline is the
row's headline figure; models with a quality score and a latency become the points of a scatter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ..core.measurement import Measurement
from ..core.units import UnitError, convert
from ..core.verdict import Verdict
from ..measure.catalogue import ACCURACY, EXACT_MATCH, F1, LATENCY, PARAMETERS, Measure, measure_named, stem
from ..measure.cell import OK
from ..measure.tidy import STATISTIC_COLUMNS, TIDY_COLUMNS, context_row
from .plot_styles import ModelStyles
from .plots import DIMENSIONS, check_sweep, left_out_plots, measure_title, quality_scatter, svg_markup, sweep_figures

QUALITY_UNIT = ACCURACY.unit  # every quality score is in points
PREFERRED_SCORES = (ACCURACY.name, F1.name, EXACT_MATCH.name)  # the order a tie between scores is broken in
SOURCE = "this run's measurements"
# The statistic a check judges that is a tidy row's headline: the rate of the median round time
# is the median rate but for the mean of the two middle rounds of an even count.
HEADLINE_STATISTICS = {"median": "median", "rate of median time": "median", "max": "max"}


def run_figures(verdicts: Sequence[Verdict]) -> Iterable[tuple[str, str]]:
    """(caption, inline SVG) of each plot the run's measurements call for; every plot gives a
    model the same colour."""
    current, baseline = measurement_frames(verdicts)
    styles = ModelStyles.for_models(current["model"])
    if not current.empty:
        for plan, figure in sweep_figures(current, baseline=baseline, source=SOURCE, styles=styles):
            caption = f"{measure_title(plan.measure)} against {DIMENSIONS[plan.against]} at {DIMENSIONS[plan.held]} {plan.fixed}"
            if ((baseline["measure"] == plan.measure) & (baseline[plan.held] == plan.fixed)).any():
                caption += "; dashed: the baseline"
            yield caption, svg_markup(figure)
    scatter = quality_table([verdict.measurement for verdict in verdicts], current)
    if scatter is not None:
        table, score, speed_title = scatter
        sized = "marker area proportional to parameters" if table["parameters"].notna().all() else "model sizes unknown"
        figure = quality_scatter(table, score_name=score, x_title=speed_title, source=SOURCE, styles=styles)
        yield f"{score} against {speed_title}, one point per model ({sized})", svg_markup(figure)


def left_out_figures(verdicts: Sequence[Verdict]) -> list[str]:
    """Why each plot the run's cells call for is not drawn: ``"<plot>: no cell has a value (...)"``."""
    current, _ = measurement_frames(verdicts)
    if current.empty:
        return []
    return [
        f"{measure_title(left.plan.measure)} against {DIMENSIONS[left.plan.against]} at "
        f"{DIMENSIONS[left.plan.held]} {left.plan.fixed}: {left.reason}"
        for left in left_out_plots(check_sweep(current, SOURCE))
    ]


def measurement_frames(verdicts: Sequence[Verdict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's latency, throughput and memory measurements that name a model, a batch size
    and a sequence length, as sweep frames of tidy rows: the current values and, where the
    check judged the row's headline against a baseline, the baseline values. A cell checked
    several times counts once."""
    current: dict[tuple[Any, ...], dict[str, Any]] = {}
    baseline: dict[tuple[Any, ...], dict[str, Any]] = {}
    for verdict in verdicts:
        row = context_row(verdict.measurement)
        if row is None:
            continue
        key = (row["measure"], row["model"], row["batch_size"], row["sequence_length"], row["device"], row["dtype"])
        current.setdefault(key, row)
        judged = _judged_headline(verdict, row["unit"])
        if judged is not None:
            blank = dict.fromkeys((*STATISTIC_COLUMNS, "rounds"))
            baseline.setdefault(key, {**row, **blank, "value": judged, "status": OK})
    return (
        pd.DataFrame(list(current.values()), columns=list(TIDY_COLUMNS)),
        pd.DataFrame(list(baseline.values()), columns=list(TIDY_COLUMNS)),
    )


def _judged_headline(verdict: Verdict, unit: str) -> float | None:
    """The baseline a verdict judged, in the tidy row's unit, where it is the row's headline
    figure (an exact reading's value; the median of timed rounds; a memory peak's highest round)."""
    measurement = verdict.measurement
    measure = measure_named(measurement.name)
    if measure is None or verdict.baseline is None or not math.isfinite(verdict.baseline):
        return None
    statistic = measurement.statistic if verdict.check.statistic == "value" else verdict.check.statistic
    if not _is_headline(statistic, measurement, measure):
        return None
    try:
        return convert(verdict.baseline, measurement.unit, unit)
    except UnitError:
        return None


def _is_headline(statistic: str, measurement: Measurement, measure: Measure) -> bool:
    if not measurement.samples:
        return statistic == measurement.statistic  # a single reading is its own headline
    return statistic == HEADLINE_STATISTICS.get(measure.headline)


def quality_table(measurements: Sequence[Measurement], current: pd.DataFrame) -> tuple[pd.DataFrame, str, str] | None:
    """Models with both a quality score and a latency in this run, as the scatter's table
    (model, label, latency_ms, score, parameters), with the score's name and what the latency
    is (``latency at 8x128``; the scatter adds its unit).

    The latency is taken at the workload most of these models were timed at (the smallest on
    a tie), and the score is the one most of them have (accuracy first on a tie).
    """
    scores: dict[str, dict[str, float]] = {}
    parameters: dict[str, float] = {}
    for measurement in measurements:
        model = str(measurement.context.get("model", ""))
        if not model or measurement.unavailable is not None or not math.isfinite(measurement.value):
            continue
        if measurement.unit == QUALITY_UNIT:
            scores.setdefault(stem(measurement.name), {}).setdefault(model, measurement.value)
        elif measurement.name == PARAMETERS.name and measurement.unit == PARAMETERS.unit:
            parameters.setdefault(model, measurement.value)
    if not scores or current.empty:
        return None
    scored = set().union(*scores.values())
    timed = current[(current["measure"] == LATENCY.sweep_id) & (current["status"] == OK) & current["label"].isin(scored)]
    if timed.empty:
        return None
    shapes = timed.groupby(["batch_size", "sequence_length"])["label"].nunique().reset_index()
    shapes["work"] = shapes["batch_size"] * shapes["sequence_length"]
    shape = shapes.sort_values(["label", "work", "batch_size"], ascending=[False, True, True]).iloc[0]
    batch_size, sequence_length = int(shape["batch_size"]), int(shape["sequence_length"])
    at_shape = timed[(timed["batch_size"] == batch_size) & (timed["sequence_length"] == sequence_length)]
    latency: dict[str, float] = {}
    for row in at_shape.itertuples():
        milliseconds = _milliseconds(row.value, row.unit)
        if milliseconds is not None:
            latency[str(row.label)] = milliseconds
    if not latency:
        return None

    def rank(metric: str) -> tuple[int, int, str]:
        preferred = PREFERRED_SCORES.index(metric) if metric in PREFERRED_SCORES else len(PREFERRED_SCORES)
        return (-len(set(scores[metric]) & set(latency)), preferred, metric)

    metric = min(scores, key=rank)
    models = sorted(set(scores[metric]) & set(latency))
    if not models:
        return None
    table = pd.DataFrame(
        {
            "model": models,
            "label": models,
            "latency_ms": [latency[m] for m in models],
            "score": [scores[metric][m] for m in models],
            "parameters": [parameters.get(m, math.nan) for m in models],
        }
    )
    return table, metric, f"latency at {batch_size}\N{MULTIPLICATION SIGN}{sequence_length}"


def _milliseconds(value: float, unit: str) -> float | None:
    try:
        return convert(float(value), unit, "ms")
    except (UnitError, ValueError):
        return None
