"""The end of a session: the baselines, then every report asked for, each written on its own,
so that one file that cannot be written never stops the others. What failed is one line each,
naming the file and the cause, kept in the session state for the summary and the exit status.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..measure.timing_lock import remove_run_lock
from ..options import MissingPolicy, UpdateMode
from ..render.csv_table import write_results_csv
from ..render.markdown import markdown_report
from ..render.run_report import ReportedCheck, RunReport
from ..render.terminal import summary_lines
from ..storage.baseline_store import BaselineError, atomic_write_json
from ..storage.run_export import export_payload
from ..storage.run_history import RunHistoryError, history_dir
from .call_phase import update_flag
from .history import AUTOSAVE_FLAG, autosave, html_sections, should_autosave
from .history import summary_lines as history_lines
from .session import ModelPerfSession, session_of
from .smoke import smoke_summary
from .workers import lost_worker_line

# Exports that read as the record of a whole run: not written from a run that lost a worker.
WHOLE_RUN_EXPORTS = ("--modelperf-json", "--modelperf-csv")

# What a writer raises when its file cannot be written: BaselineError (StorageError) names the
# file and field; OSError covers a full disk, a missing folder, permissions; ValueError a
# value JSON cannot hold; RunHistoryError (a ValueError) a run that could not be saved.
WRITE_FAILURES = (BaselineError, OSError, ValueError)


def finish_session(session: pytest.Session) -> None:
    """Write the session's files; a file not written makes the exit status INTERNAL_ERROR.

    A file not written is no test's verdict, so not TESTS_FAILED (1): INTERNAL_ERROR (3) tells
    CI the run's outputs are incomplete; a status that already says failure is kept.
    """
    state = session_of(session.config)
    failures = write_session_files(state)
    for run in state.worker_runs:  # every worker is down by now
        remove_run_lock(run)
    if failures and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def write_summary(terminal: pytest.TerminalReporter, state: ModelPerfSession) -> None:
    """The modelperf section of pytest's terminal summary; error lines in red."""
    lines = summary_lines(run_report(state)) + history_lines(state)
    if lines:
        terminal.section("modelperf")
        for line in lines:
            terminal.write_line(line, red=line.startswith("error:"))


def write_session_files(state: ModelPerfSession) -> list[str]:
    """Update the baselines and write the reports; one line per file that could not be written.

    A pytest-xdist worker that crashed took its checks with it: the baselines (updates, orphans,
    pruning) and the exports that would read as the whole run are then not written, and one line
    per lost worker says so. The terminal, Markdown and HTML reports show what the others checked.
    """
    lost = lost_worker_lines(state)
    state.write_errors.extend(lost)  # before the reports, which show them
    failures: list[str] = []
    if not lost:
        _attempt(failures, "", state.settings.baseline_dir, lambda _: state.finish())
    if should_autosave(state):  # before the reports: the HTML report's trends end with this run
        _attempt(failures, AUTOSAVE_FLAG, history_dir(state.settings.root), lambda _: autosave(state, export(state)))
    for option, path, write in _reports(state):
        if not (lost and option in WHOLE_RUN_EXPORTS):
            _attempt(failures, option, path, write)
    state.write_errors.extend(failures)
    return lost + failures


def lost_worker_lines(state: ModelPerfSession) -> list[str]:
    """One line per pytest-xdist worker that crashed, naming what the run therefore did not write."""
    withheld = _withheld(state)
    return [lost_worker_line(lost, withheld) for lost in state.lost_workers]


def _withheld(state: ModelPerfSession) -> list[str]:
    """What a run with a lost worker does not write, of what it was asked to."""
    settings = state.settings
    baselines = ["the baselines"] if settings.update is not UpdateMode.NONE else []
    history = [f"the run history ({AUTOSAVE_FLAG})"] if settings.autosave and not settings.disable else []
    return baselines + [option for option, _, _ in _reports(state) if option in WHOLE_RUN_EXPORTS] + history


def run_report(state: ModelPerfSession) -> RunReport:
    """What the reports show of the session: its judged checks and what its end did."""
    settings = state.settings
    return RunReport(
        checks=tuple(
            ReportedCheck(r.nodeid, r.key, r.verdict, r.environment, state.fails(r.verdict), r.worker) for r in state.records
        ),
        started=state.started,
        environments=state.environments,
        baseline_dir=settings.baseline_dir,
        update_mode=settings.update.value,
        prune=settings.prune,
        writes=tuple(state.writes),
        reruns=tuple(state.confirmations),
        orphans=tuple(state.orphans),
        unpruned=dict(state.unpruned),
        orphans_unchecked=tuple(state.orphans_unchecked),
        write_errors=tuple(state.write_errors),
        missing_fails=settings.missing is MissingPolicy.FAIL,
        update_flag=update_flag(settings),
    )


def export(state: ModelPerfSession) -> dict[str, Any]:
    """The session's ``--modelperf-json`` export, as JSON data (the CSV is made from it too)."""
    return export_payload(state.started, state.environments, state.settings.noise, state.records, state.confirmations)


def _reports(state: ModelPerfSession) -> list[tuple[str, Path, Callable[[Path], None]]]:
    settings = state.settings
    payload: dict[str, Any] | None = None

    def exported() -> dict[str, Any]:
        nonlocal payload
        if payload is None:
            payload = export(state)
        return payload

    def write_json(path: Path) -> None:
        atomic_write_json(path, exported())

    def write_csv(path: Path) -> None:
        write_results_csv(path, exported())

    def write_html(path: Path) -> None:
        from ..render.html import write_html

        write_html(path, run_report(state), html_sections(state))

    def append_markdown(path: Path) -> None:
        with path.open("a", encoding="utf-8") as stream:
            smoke = f"### modelperf: {smoke_summary(state.smoke_checks)}\n"
            stream.write(smoke if settings.disable else markdown_report(run_report(state)))
            stream.writelines(f"\n**error:** {line}\n" for line in lost_worker_lines(state))

    reports: list[tuple[str, Path | None, Callable[[Path], None]]] = [
        ("--modelperf-json", settings.json_path, write_json),
        ("--modelperf-csv", settings.csv_path, write_csv),
        ("--modelperf-html", settings.html_path, write_html),
        ("--modelperf-markdown", settings.markdown_path if _reported(state) else None, append_markdown),
    ]
    return [(option, path, write) for option, path, write in reports if path is not None]


def _reported(state: ModelPerfSession) -> bool:
    """Whether the Markdown summary has something to say: checks, a smoke run's, or a lost worker."""
    return bool(state.records or state.smoke_checks or state.lost_workers)


def _attempt(failures: list[str], option: str, path: Path, write: Callable[[Path], object]) -> None:
    try:
        write(path)
    except WRITE_FAILURES as error:
        failures.append(describe_write_failure(option, path, error))


def describe_write_failure(option: str, path: Path, error: Exception) -> str:
    """One line: the option (none for the baselines), the file and the cause.

    The store's errors name their file already; an OSError may not (a full disk names none).
    """
    prefix = f"{option} " if option else ""
    if isinstance(error, (BaselineError, RunHistoryError)):
        return f"{prefix}{error}"
    if isinstance(error, OSError):
        cause = error.strerror or str(error)
        where = f" ({error.filename})" if error.filename is not None and str(error.filename) != str(path) else ""
        return f"{prefix}{path}: cannot be written{where}: {cause}"
    return f"{prefix}{path}: cannot be written: {error}"
