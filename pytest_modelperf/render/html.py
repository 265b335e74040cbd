"""The HTML report of a run (``--modelperf-html PATH``): the rows of one self-contained page.

The page is the template ``templates/report.html.j2``: inline CSS, plots inlined as SVG, no
scripts and no external resources, so that it reads the same offline and from a CI artefact
store: the headline, every check with its verdict (failing ones first), re-runs and notes,
baseline writes, plots of the run's own measurements, and the environment. This module turns a
``RunReport`` into plain text rows; the template escapes every one of them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..core.counts import counted
from ..core.verdict import Outcome
from ..core.version import installed_version
from ..storage.atomic_files import atomic_write_text
from .cells import HEADERS, describe_rerun, verdict_row
from .run_plots import left_out_figures, run_figures
from .run_report import ReportedCheck, RunReport

TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class CheckRow:
    """One row of the checks table; ``kind`` is its CSS class (failing, accepted, pass, ...)."""

    kind: str
    nodeid: str
    metric: str
    baseline: str
    current: str
    change: str
    threshold: str
    label: str
    detail: str


@dataclass(frozen=True)
class BaselineWrite:
    path: str
    entries: str  # "3 entries"
    removed: int
    moved_aside: str | None


@dataclass(frozen=True)
class PlotFigure:
    caption: str
    svg: Markup  # matplotlib's SVG, inlined as it is


@dataclass(frozen=True)
class EnvironmentTable:
    identifier: str
    hardware_keys: list[str]  # the hardware keys measured in it
    rows: list[tuple[str, str]]


def write_html(path: Path, report: RunReport, smoke_and_history: Markup | None = None) -> None:
    """Render the run's report and write it atomically to ``path``."""
    atomic_write_text(path, render_html(report, smoke_and_history))


def render_html(report: RunReport, smoke_and_history: Markup | None = None) -> str:
    """The page; ``smoke_and_history`` (``run.history.html_sections``: a smoke run's notice and
    the trends over saved runs) is shown as it is, under the headline."""
    return _template().render(page(report), smoke_and_history=smoke_and_history or "")


def page(report: RunReport) -> dict[str, Any]:
    """Everything the template shows, as plain text and rows."""
    failing = report.failing
    counts = report.outcome_counts
    headline = f"{counted(len(report.checks), 'check')}, {len(failing)} failing"
    figures, plot_error = _plots(report)
    return {
        "title": f"modelperf: {headline}",
        "headline": headline,
        "failing": bool(failing),
        "counts": [o.counted(counts[o]) for o in (Outcome.IMPROVEMENT, Outcome.PASS, Outcome.NO_BASELINE) if counts[o]],
        "started": _run_date(report.started),
        "hardware_keys": report.hardware_keys,
        "baseline_dir": str(report.baseline_dir),
        "headers": ("test", *HEADERS),
        "checks": [_check_row(check) for check in [*failing, *(c for c in report.checks if not c.fails)]],
        "reruns": [(rerun.test, describe_rerun(rerun)) for rerun in report.reruns],
        "missing": counted(len(report.missing), "measurement has", "measurements have") if report.missing else None,
        "accepted": counted(len(report.accepted), "regression") if report.accepted else None,
        "notes": [(model, "; ".join(notes)) for model, notes in report.notes_by_model.items()],
        "writes": [_baseline_write(write.path, write.written, write.removed, write.moved_aside) for write in report.writes],
        "orphans": [(orphan.key.describe(), orphan.reason) for orphan in report.orphans],
        "orphans_count": counted(len(report.orphans), "orphaned baseline entry", "orphaned baseline entries"),
        "orphans_fate": report.orphans_fate,
        "orphans_remedy": report.orphans_remedy,
        "write_error": "; ".join(report.write_errors) or None,
        "update_mode": report.update_mode,
        "update_flag": report.update_flag,
        "figures": figures,
        "plot_error": plot_error,
        "plots_left_out": _plots_left_out(report) if plot_error is None else [],
        "environments": _environments(report),
        "version": _version(),
    }


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_modelperf.render", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["breakable"] = _breakable
    environment.filters["codes"] = _codes
    return environment.get_template(TEMPLATE)


def _check_row(check: ReportedCheck) -> CheckRow:
    verdict = check.verdict
    metric, baseline, current, change, threshold, label = verdict_row(verdict)
    if check.fails:
        kind, label = "failing", f"✗ {label}"
    elif check.accepted:  # a regression being re-recorded by --modelperf-update
        kind, label = "accepted", f"{label} (accepted: baseline re-recorded)"
    else:
        kind = verdict.outcome.value.replace(" ", "-")
    return CheckRow(kind, check.test, metric, baseline, current, change, threshold, label, verdict.detail or "")


def _baseline_write(path: Path, written: int, removed: int, moved_aside: Path | None) -> BaselineWrite:
    aside = str(moved_aside) if moved_aside is not None else None
    return BaselineWrite(str(path), counted(written, "entry", "entries"), removed, aside)


def _plots(report: RunReport) -> tuple[list[PlotFigure], str | None]:
    """The plots of the run's measurements, or why they could not be drawn: the report is
    written either way, and a failure is shown, not hidden."""
    try:
        figures = [PlotFigure(caption, Markup(svg)) for caption, svg in run_figures([c.verdict for c in report.checks])]
    except Exception as error:
        return [], f"{type(error).__name__}: {error}"
    return figures, None


def _plots_left_out(report: RunReport) -> list[str]:
    """Which plots the run's cells call for are not drawn, as none of their cells has a value, and why."""
    return left_out_figures([c.verdict for c in report.checks])


def _environments(report: RunReport) -> list[EnvironmentTable]:
    hardware_by_environment: dict[str, set[str]] = {}
    for check in report.checks:
        hardware_by_environment.setdefault(check.environment, set()).add(check.key.hardware_key)
    return [
        EnvironmentTable(
            identifier,
            sorted(hardware_by_environment.get(identifier, ())),
            [(str(key), _describe(value)) for key, value in sorted(environment.items())],
        )
        for identifier, environment in report.environments.items()
    ]


# -- text --------------------------------------------------------------------------------


def _breakable(nodeid: str) -> Markup:
    """A test id, escaped, that may wrap after a path separator or ``::`` and before parameters."""
    return Markup(str(escape(nodeid)).replace("/", "/<wbr>").replace("::", "::<wbr>").replace("[", "<wbr>["))


def _codes(texts: Iterable[str]) -> Markup:
    """Each text escaped in ``<code>``, comma-separated."""
    return Markup(", ").join(Markup("<code>{}</code>").format(text) for text in texts)


def _run_date(started: str) -> str:
    try:
        moment = _dt.datetime.fromisoformat(started)
    except ValueError:
        return started
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _describe(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return str(value)


def _version() -> str:
    return installed_version() or "(version unknown)"
