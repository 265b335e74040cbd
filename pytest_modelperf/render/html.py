"""The HTML report of a run (``--modelperf-html PATH``): one self-contained page.

Inline CSS, plots inlined as SVG, no scripts and no external resources, so that the page
reads the same offline and from a CI artefact store: the headline, every check with its
verdict (failing ones first), re-runs and notes, baseline writes, plots of the run's own
measurements, and the environment. Text that comes from tests (ids, metric names,
messages) is escaped.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..core.measurement import Measurement
from ..core.units import UnitError, convert
from ..core.verdict import Outcome
from ..run.session import ModelPerfSession, Record
from ..storage.atomic_files import atomic_write_text
from .report import HEADERS, describe_confirmation, verdict_row

if TYPE_CHECKING:
    import pandas as pd

# Measurement name (before "[workload]") -> the sweep's measure it is drawn as.
PLOTTED_MEASURES: Mapping[str, str] = {
    "latency": "time",
    "time": "time",
    "throughput": "throughput",
    "host_memory": "host_memory_peak",
    "host_memory_peak": "host_memory_peak",
    "gpu_memory.peak_allocated": "gpu_memory_allocated",
    "gpu_memory_allocated": "gpu_memory_allocated",
    "gpu_memory.peak_reserved": "gpu_memory_reserved",
    "gpu_memory_reserved": "gpu_memory_reserved",
    "gpu_memory.nvml_device": "gpu_memory_nvml",  # as modelperf sweep reads NVML
    "gpu_memory_nvml": "gpu_memory_nvml",
    "gpu_memory.nvml_process": "gpu_memory_nvml_process",
}
QUALITY_UNIT = "points"
PREFERRED_SCORES = ("accuracy", "f1", "exact_match")
SUMMARY_COLUMNS = {"median": "median", "mean": "mean", "min": "min", "max": "max", "stdev": "std", "iqr": "iqr", "rounds": "rounds"}

STYLE = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d232a;
       margin: 0 auto; max-width: 1240px; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d9dee3; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.headline { font-size: 17px; padding: 12px 16px; border-radius: 6px; margin: 10px 0 4px; }
.headline.failing { background: #fdecec; border-left: 6px solid #c62828; }
.headline.passing { background: #e9f6ec; border-left: 6px solid #2e7d32; }
.meta { color: #4d5761; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid #e3e7eb; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; position: sticky; top: 0; }
td.test, td.metric { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; overflow-wrap: break-word; }
td.number { white-space: nowrap; }
tr.failing td { background: #fdecec; }
tr.failing td:first-child { box-shadow: inset 5px 0 0 #c62828; }
tr.improvement td { background: #edf7ee; }
.verdict { font-weight: 600; white-space: nowrap; }
tr.failing .verdict { color: #b71c1c; }
tr.improvement .verdict { color: #1b5e20; }
tr.no-baseline .verdict, tr.accepted .verdict { color: #8a5300; }
.detail { color: #5a6470; font-size: 12.5px; font-weight: normal; white-space: normal; margin-top: 2px; }
ul { padding-left: 22px; }
li { margin: 3px 0; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; background: #f3f5f7; padding: 0 3px; border-radius: 3px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 18px; }
figure { margin: 0; border: 1px solid #e3e7eb; border-radius: 6px; padding: 8px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: #4d5761; font-size: 13px; margin-top: 4px; }
table.environment { width: auto; min-width: 420px; }
table.environment th { position: static; width: 14em; }
.muted { color: #5a6470; }
.error { color: #b71c1c; font-weight: 600; }
footer { margin-top: 40px; color: #7a848e; font-size: 12.5px; }
"""


def write_html(path: Path, state: ModelPerfSession) -> None:
    """Render the run's report and write it atomically to ``path``."""
    atomic_write_text(path, render_html(state))


def render_html(state: ModelPerfSession) -> str:
    records = state.records
    failing = [r for r in records if state.fails(r.verdict)]
    title = f"modelperf: {_count(len(records), 'check')}, {len(failing)} failing"
    body = [
        _headline(state, failing),
        _checks(state, failing),
        _reruns_and_notes(state),
        _baseline_writes(state),
        _plots(state),
        _environments(state),
        f'<footer>pytest-modelperf {_e(__version__)}</footer>',
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body>\n</html>\n"
    )


# -- sections ----------------------------------------------------------------------------


def _headline(state: ModelPerfSession, failing: Sequence[Record]) -> str:
    records = state.records
    counts = {outcome: sum(r.verdict.outcome is outcome for r in records) for outcome in Outcome}
    parts = [f"<strong>{_count(len(records), 'check')}, {len(failing)} failing</strong>"]
    parts += [f"{counts[o]} {o.value}" for o in (Outcome.IMPROVEMENT, Outcome.PASS, Outcome.NO_BASELINE) if counts[o]]
    hardware = sorted({r.key.hardware_key for r in records})
    return "\n".join([
        "<header>",
        "<h1>modelperf report</h1>",
        f'<p class="headline {"failing" if failing else "passing"}">{" · ".join(parts)}</p>',
        f'<p class="meta">Run started {_e(_run_date(state.started))}'
        + (f" · hardware key{'s' if len(hardware) > 1 else ''}: {', '.join(f'<code>{_e(h)}</code>' for h in hardware)}" if hardware else "")
        + f" · baselines in <code>{_e(str(state.settings.baseline_dir))}</code></p>",
        "</header>",
    ])


def _checks(state: ModelPerfSession, failing: Sequence[Record]) -> str:
    if not state.records:
        return '<section id="checks"><h2>Checks</h2><p class="muted">No test made a modelperf check in this run.</p></section>'
    ordered = [*failing, *(r for r in state.records if not state.fails(r.verdict))]
    head = "".join(f"<th>{_e(name)}</th>" for name in ("test", *HEADERS))
    rows = [_check_row(state, record) for record in ordered]
    return "\n".join([
        '<section id="checks">',
        "<h2>Checks</h2>",
        f"<table class=\"checks\">\n<thead><tr>{head}</tr></thead>\n<tbody>",
        *rows,
        "</tbody>\n</table>",
        "</section>",
    ])


def _check_row(state: ModelPerfSession, record: Record) -> str:
    verdict = record.verdict
    metric, baseline, current, change, threshold, label = verdict_row(verdict)
    if state.fails(verdict):
        kind, label = "failing", f"✗ {label}"
    elif verdict.failed:  # a regression being re-recorded by --modelperf-update
        kind, label = "accepted", f"{label} (accepted: baseline re-recorded)"
    else:
        kind = verdict.outcome.value.replace(" ", "-")
    detail = f'<div class="detail">{_e(verdict.detail)}</div>' if verdict.detail else ""
    return (
        f'<tr class="{kind}"><td class="test">{_breakable(record.nodeid)}</td><td class="metric">{_e(metric)}</td>'
        f'<td class="number">{_e(baseline)}</td><td class="number">{_e(current)}</td><td class="number">{_e(change)}</td>'
        f"<td>{_e(threshold)}</td><td class=\"verdict\">{_e(label)}{detail}</td></tr>"
    )


def _reruns_and_notes(state: ModelPerfSession) -> str:
    items: list[str] = []
    for confirmation in state.confirmations:
        items.append(f"<li>re-run <code>{_e(confirmation.nodeid)}</code>: {_e(describe_confirmation(confirmation))}</li>")
    missing = [r for r in state.records if r.verdict.outcome is Outcome.NO_BASELINE]
    if missing:
        items.append(
            f"<li>{_count(len(missing), 'measurement has', 'measurements have')} no baseline on this hardware; record them with "
            "<code>--modelperf-update-missing</code> (or <code>--modelperf-update</code>) and commit the files</li>"
        )
    accepted = [r for r in state.records if r.verdict.failed and not state.fails(r.verdict)]
    if accepted:
        items.append(f"<li>{_count(len(accepted), 'regression')} accepted: <code>--modelperf-update</code> re-recorded their baselines</li>")
    notes_by_model: dict[str, tuple[str, ...]] = {}
    for record in state.records:
        measurement = record.verdict.measurement
        if measurement.notes:
            notes_by_model.setdefault(str(measurement.context.get("model", "")), measurement.notes)
    for model, notes in sorted(notes_by_model.items()):
        who = f"<code>{_e(model)}</code>: " if model else ""
        items.append(f"<li>note: {who}{_e('; '.join(notes))}</li>")
    if not items:
        return ""
    return '<section id="notes">\n<h2>Re-runs and notes</h2>\n<ul>\n' + "\n".join(items) + "\n</ul>\n</section>"


def _baseline_writes(state: ModelPerfSession) -> str:
    items: list[str] = []
    for write in state.writes:
        entries = _count(write.written, "entry", "entries")
        line = f"wrote <code>{_e(str(write.path))}</code> ({entries}" + (f", removed {write.removed})" if write.removed else ")")
        if write.moved_aside is not None:
            line += f"; the unreadable file it replaces was kept as <code>{_e(str(write.moved_aside))}</code>"
        items.append(f"<li>{line}</li>")
    if state.orphans:
        action = "removed" if state.settings.prune else "reported (remove them with <code>--modelperf-update --modelperf-prune</code>)"
        items.append(f"<li>{_count(len(state.orphans), 'orphaned baseline entry', 'orphaned baseline entries')} {action}:<ul>")
        items += [f"<li><code>{_e(orphan.key.describe())}</code>: {_e(orphan.reason)}</li>" for orphan in state.orphans]
        items.append("</ul></li>")
    if state.write_error:
        items.append(f'<li class="error">error: {_e(state.write_error)}</li>')
    if not items:
        items.append(f'<li class="muted">no baseline file was written (update mode: {_e(state.settings.update.value)})</li>')
    return '<section id="baselines">\n<h2>Baseline writes</h2>\n<ul>\n' + "\n".join(items) + "\n</ul>\n</section>"


def _plots(state: ModelPerfSession) -> str:
    try:
        figures = list(_figures(state))
    except Exception as error:  # the report must still be written; the failure is shown, not hidden
        return f'<section id="plots">\n<h2>Plots</h2>\n<p class="error">the plots could not be drawn: {_e(type(error).__name__)}: {_e(str(error))}</p>\n</section>'
    if not figures:
        return (
            '<section id="plots">\n<h2>Plots</h2>\n<p class="muted">No plots: no model had a latency, throughput or memory '
            "measurement at two or more batch sizes or sequence lengths, nor a quality score and a latency.</p>\n</section>"
        )
    blocks = [f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>" for caption, svg in figures]
    return '<section id="plots">\n<h2>Plots</h2>\n<div class="plots">\n' + "\n".join(blocks) + "\n</div>\n</section>"


def _environments(state: ModelPerfSession) -> str:
    if not state.environments:
        return ""
    hardware_by_environment: dict[str, set[str]] = {}
    for record in state.records:
        hardware_by_environment.setdefault(record.environment, set()).add(record.key.hardware_key)
    blocks = ['<section id="environment">', "<h2>Environment</h2>"]
    for identifier, environment in state.environments.items():
        keys = sorted(hardware_by_environment.get(identifier, ()))
        used = f" · {', '.join(f'<code>{_e(k)}</code>' for k in keys)}" if keys else ""
        blocks.append(f"<h3>environment <code>{_e(identifier)}</code>{used}</h3>")
        rows = "".join(f"<tr><th>{_e(str(key))}</th><td>{_e(_describe(value))}</td></tr>" for key, value in sorted(environment.items()))
        blocks.append(f'<table class="environment">{rows}</table>')
    blocks.append("</section>")
    return "\n".join(blocks)


# -- plots of the run's measurements -----------------------------------------------------


def _figures(state: ModelPerfSession) -> Iterable[tuple[str, str]]:
    """(caption, inline SVG) of each plot the run's measurements call for."""
    from .plots import DIMENSIONS, MEASURE_TITLES, quality_scatter, svg_markup, sweep_figures

    current, baseline = measurement_frames(state.records)
    if not current.empty:
        for plan, figure in sweep_figures(current, baseline=baseline, source="this run's measurements"):
            measure = MEASURE_TITLES.get(plan.measure, plan.measure)
            caption = f"{measure} against {DIMENSIONS[plan.against]} at {DIMENSIONS[plan.held]} {plan.fixed}"
            if ((baseline["measure"] == plan.measure) & (baseline[plan.held] == plan.fixed)).any():
                caption += "; dashed: the baseline"
            yield caption, svg_markup(figure)
    scatter = quality_table(state.records, current)
    if scatter is not None:
        table, score, speed_label = scatter
        sized = "marker area proportional to parameters" if table["parameters"].notna().all() else "model sizes unknown"
        figure = quality_scatter(table, score_name=score, speed_label=speed_label, source="this run's measurements")
        yield f"{score} against {speed_label.split(',')[0]}, one point per model ({sized})", svg_markup(figure)


def measurement_frames(records: Sequence[Record]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's latency, throughput and memory measurements that name a model, a batch size
    and a sequence length, as sweep frames: the current values and, where a baseline was
    compared with, the baseline values. A cell checked several times counts once."""
    import pandas as pd

    from .plots import SWEEP_COLUMNS

    current: dict[tuple[Any, ...], dict[str, Any]] = {}
    baseline: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        measurement = record.verdict.measurement
        measure = _plotted_measure(measurement)
        if measure is None:
            continue
        row = _sweep_row(measurement, measure)
        key = (measure, row["model"], row["batch_size"], row["sequence_length"], row["device"], row["dtype"])
        current.setdefault(key, row)
        verdict = record.verdict
        headline = verdict.check.statistic in ("value", measurement.statistic)
        if headline and verdict.baseline is not None and math.isfinite(verdict.baseline):
            baseline.setdefault(key, {**row, "value": verdict.baseline, "status": "ok", **{c: None for c in SUMMARY_COLUMNS}})
    return (
        pd.DataFrame(list(current.values()), columns=list(SWEEP_COLUMNS)),
        pd.DataFrame(list(baseline.values()), columns=list(SWEEP_COLUMNS)),
    )


def _plotted_measure(measurement: Measurement) -> str | None:
    context = measurement.context
    if "side_by_side" in context or not context.get("model"):
        return None
    if not all(isinstance(context.get(size), int) and context[size] > 0 for size in ("batch_size", "sequence_length")):
        return None
    return PLOTTED_MEASURES.get(measurement.name.split("[", 1)[0].strip())


def _sweep_row(measurement: Measurement, measure: str) -> dict[str, Any]:
    context = measurement.context
    summary = measurement.summary
    model = str(context["model"])
    return {
        "model": model,
        "label": model,
        "batch_size": int(context["batch_size"]),
        "sequence_length": int(context["sequence_length"]),
        "measure": measure,
        "unit": measurement.unit,
        "value": measurement.value if measurement.unavailable is None else None,
        "status": "ok" if measurement.unavailable is None else measurement.unavailable,
        **{column: summary.get(key) for column, key in SUMMARY_COLUMNS.items()},
        "device": str(context.get("device", "")),
        "dtype": str(context.get("dtype", "")),
    }


def quality_table(records: Sequence[Record], current: pd.DataFrame) -> tuple[pd.DataFrame, str, str] | None:
    """Models with both a quality score and a latency in this run, as the scatter's table
    (label, latency_ms, score, parameters), with the score's name and the latency's label.

    The latency is taken at the workload most of these models were timed at (the smallest on
    a tie), and the score is the one most of them have (accuracy first on a tie).
    """
    import pandas as pd

    scores: dict[str, dict[str, float]] = {}
    parameters: dict[str, float] = {}
    for record in records:
        measurement = record.verdict.measurement
        model = str(measurement.context.get("model", ""))
        if not model or measurement.unavailable is not None or not math.isfinite(measurement.value):
            continue
        if measurement.unit == QUALITY_UNIT:
            scores.setdefault(measurement.name.split("[", 1)[0], {}).setdefault(model, measurement.value)
        elif measurement.name == "parameters" and measurement.unit == "count":
            parameters.setdefault(model, measurement.value)
    if not scores or current.empty:
        return None
    scored = set().union(*scores.values())
    timed = current[(current["measure"] == "time") & (current["status"] == "ok") & current["label"].isin(scored)]
    if timed.empty:
        return None
    shapes = timed.groupby(["batch_size", "sequence_length"])["label"].nunique().reset_index()
    shapes["work"] = shapes["batch_size"] * shapes["sequence_length"]
    shape = shapes.sort_values(["label", "work", "batch_size"], ascending=[False, True, True]).iloc[0]
    batch_size, sequence_length = int(shape["batch_size"]), int(shape["sequence_length"])
    at_shape = timed[(timed["batch_size"] == batch_size) & (timed["sequence_length"] == sequence_length)]
    latency = {row.label: _milliseconds(row.value, row.unit) for row in at_shape.itertuples() if _milliseconds(row.value, row.unit) is not None}
    if not latency:
        return None

    def rank(metric: str) -> tuple[int, int, str]:
        preferred = PREFERRED_SCORES.index(metric) if metric in PREFERRED_SCORES else len(PREFERRED_SCORES)
        return (-len(set(scores[metric]) & set(latency)), preferred, metric)

    metric = min(scores, key=rank)
    models = sorted(set(scores[metric]) & set(latency))
    if not models:
        return None
    table = pd.DataFrame({
        "label": models,
        "latency_ms": [latency[m] for m in models],
        "score": [scores[metric][m] for m in models],
        "parameters": [parameters.get(m, math.nan) for m in models],
    })
    return table, metric, f"latency at {batch_size}×{sequence_length} (ms), lower is better"


def _milliseconds(value: float, unit: str) -> float | None:
    try:
        return convert(float(value), unit, "ms")
    except (UnitError, ValueError):
        return None


# -- small helpers -----------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _breakable(nodeid: str) -> str:
    """A test id, escaped, that may wrap after a path separator or ``::`` and before parameters."""
    return _e(nodeid).replace("/", "/<wbr>").replace("::", "::<wbr>").replace("[", "<wbr>[")


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _run_date(started: str) -> str:
    try:
        moment = _dt.datetime.fromisoformat(started)
    except ValueError:
        return started
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _describe(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return str(value)
