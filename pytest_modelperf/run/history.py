"""The run history at a session's end: a judged run saved (``--modelperf-autosave``), and what the
HTML report adds from it: a smoke run's notice and the trends of the run's checks over saved runs.

Only the process that writes the session's files calls these: one without pytest-xdist, or its
controller once the workers' checks are merged; a worker saves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..render.trend import TREND_RUNS, HistoryRun, history_run, smoke_notice, trends_of, trends_section
from ..storage.atomic_files import FileWriteError
from ..storage.run_export import ExportError, load_export
from ..storage.run_history import RunHistoryError, SavedRun, history_dir, save_run, saved_runs
from .session import ModelPerfSession
from .smoke import smoke_summary

AUTOSAVE_FLAG = "--modelperf-autosave"
THIS_RUN = "this run"  # the label of a run that was not saved, at the end of its trends


def should_autosave(state: ModelPerfSession) -> bool:
    """Whether the run is saved: asked to, it judged checks, and no worker's checks were lost."""
    return state.settings.autosave and bool(state.records) and not state.lost_workers


def autosave(state: ModelPerfSession, payload: Mapping[str, Any]) -> None:
    """Save the run's export in the history; ``RunHistoryError`` naming the folder or the file."""
    try:
        state.saved_runs = save_run(history_dir(state.settings.root), payload)
    except FileWriteError as error:
        raise RunHistoryError(f"{error}; the run was not saved") from None


def saved_lines(state: ModelPerfSession) -> list[str]:
    """The summary's lines on where the run was saved."""
    root = state.settings.root
    return [f"run saved as {_shown(run, root)} (run id {run.id})" for run in state.saved_runs]


def summary_lines(state: ModelPerfSession) -> list[str]:
    """What the terminal summary adds: a smoke run's line and where the run was saved."""
    smoke = [smoke_summary(state.smoke_checks)] if state.settings.disable and state.smoke_checks else []
    return smoke + saved_lines(state)


def html_sections(state: ModelPerfSession) -> Markup:
    """The HTML report's additions: a smoke run's notice, and the trends over the history."""
    notice = smoke_notice(smoke_summary(state.smoke_checks)) if state.settings.disable else Markup()
    if not state.records:
        return notice
    runs, problems = history_of(state)
    keys = [record.key for record in state.records]
    per_key = max((sum(1 for run in runs if key in run.measurements) for key in keys), default=0)
    return notice + trends_section(trends_of(keys, runs), min(per_key, TREND_RUNS), problems)


def history_of(state: ModelPerfSession) -> tuple[list[HistoryRun], list[str]]:
    """The last saved runs of each hardware key the run measured on, then this run unless it was
    saved; and one line per saved file that could not be read."""
    directory = history_dir(state.settings.root)
    keys = list(dict.fromkeys(record.key.hardware_key for record in state.records))
    runs: list[HistoryRun] = []
    problems: list[str] = []
    for key in keys:
        for saved in saved_runs(directory, key)[-TREND_RUNS:]:
            try:
                export = load_export(saved.path)
            except ExportError as error:
                problems.append(str(error))
                continue
            runs.append(history_run(saved.id, ((check.key, check.measurement) for check in export.checks)))
    if not state.saved_runs:
        runs.append(history_run(THIS_RUN, ((record.key, record.verdict.measurement) for record in state.records)))
    return runs, problems


def _shown(run: SavedRun, root: Path) -> str:
    return str(run.path.relative_to(root)) if run.path.is_relative_to(root) else str(run.path)
