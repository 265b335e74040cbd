"""The end of a session: the baselines, then every report asked for, each written on its own,
so that one file that cannot be written never stops the others. What failed is one line each,
naming the file and the cause, kept in the session state for the summary and the exit status.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..storage.baseline_store import BaselineError
from .session import ModelPerfSession

# What a writer raises when its file cannot be written: BaselineError (StorageError) names the
# file and field; OSError covers a full disk, a missing folder, permissions; ValueError a
# value JSON cannot hold.
WRITE_FAILURES = (BaselineError, OSError, ValueError)


def write_session_files(state: ModelPerfSession) -> list[str]:
    """Update the baselines and write the reports; one line per file that could not be written."""
    failures: list[str] = []
    _attempt(failures, "", state.settings.baseline_dir, lambda _: state.finish())
    for option, path, write in _reports(state):
        _attempt(failures, option, path, write)
    state.write_errors.extend(failures)
    return failures


def _reports(state: ModelPerfSession) -> list[tuple[str, Path, Callable[[Path], None]]]:
    settings = state.settings
    payload: dict[str, Any] | None = None

    def exported() -> dict[str, Any]:
        nonlocal payload
        if payload is None:
            from ..render.report import json_payload

            payload = json_payload(state)
        return payload

    def write_json(path: Path) -> None:
        from ..storage.baseline_store import atomic_write_json

        atomic_write_json(path, exported())

    def write_csv(path: Path) -> None:
        from ..render.csv_table import write_results_csv

        write_results_csv(path, exported())

    def write_html(path: Path) -> None:
        from ..render.html import write_html

        write_html(path, state)

    def append_markdown(path: Path) -> None:
        from ..render.report import markdown

        with path.open("a", encoding="utf-8") as stream:
            stream.write(markdown(state))

    reports: list[tuple[str, Path | None, Callable[[Path], None]]] = [
        ("--modelperf-json", settings.json_path, write_json),
        ("--modelperf-csv", settings.csv_path, write_csv),
        ("--modelperf-html", settings.html_path, write_html),
        ("--modelperf-markdown", settings.markdown_path if state.records else None, append_markdown),
    ]
    return [(option, path, write) for option, path, write in reports if path is not None]


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
    if isinstance(error, BaselineError):
        return f"{prefix}{error}"
    if isinstance(error, OSError):
        cause = error.strerror or str(error)
        where = f" ({error.filename})" if error.filename is not None and str(error.filename) != str(path) else ""
        return f"{prefix}{path}: cannot be written{where}: {cause}"
    return f"{prefix}{path}: cannot be written: {error}"
