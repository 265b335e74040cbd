"""The run history: judged runs saved as ``--modelperf-json`` exports under
``.modelperf/runs/<hardware key>/NNNN_<commit>.json``, and run ids resolved back to them.

Each hardware key numbers its runs 0001, 0002, ... in the order they were saved; the name adds
the short commit the run was made at (``nocommit`` outside a git checkout). A run that measured
on several hardware keys is saved once under each, with that key's checks. A file is written
atomically and never replaced: the number is taken under a lock on the hardware key's folder,
and the file is linked into place, which fails rather than overwrite one that exists.

A run id is ``3``, ``0003``, ``0003_abc1234`` or ``latest``; anything else is a path to an export.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..core.finite_json import find_non_finite
from .atomic_files import FileWriteError, make_folders, stage, sync_folder, termination_deferred

HISTORY_DIR = Path(".modelperf", "runs")  # under the root dir
NO_COMMIT = "nocommit"
LATEST = "latest"
SHORT_COMMIT = 7
LOCK_NAME = ".lock"
LOCK_TIMEOUT_S = 60.0

_FILE_NAME = re.compile(r"^(\d{4,})_([0-9a-f]{4,40}|nocommit)\.json$")
_RUN_ID = re.compile(r"^(\d+)(?:_([0-9a-f]{4,40}|nocommit))?$")
_HARDWARE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class RunHistoryError(ValueError):
    """A run cannot be saved or a run id not resolved; the message names the folder or the id."""


@dataclass(frozen=True)
class SavedRun:
    """One saved run: its hardware key, its number within the key, its commit and its file."""

    hardware_key: str
    number: int
    commit: str  # the short commit, or "nocommit"
    path: Path

    @property
    def id(self) -> str:
        return f"{self.number:04d}_{self.commit}"

    @property
    def label(self) -> str:
        """The id with its hardware key, for listings that span keys."""
        return f"{self.hardware_key}/{self.id}"


@dataclass(frozen=True)
class RunSummary:
    """What ``modelperf compare --list`` shows of a saved run, read without validating it all."""

    started: str
    checks: int
    problem: str = ""  # why the file could not be read; empty when it could


def history_dir(root: Path) -> Path:
    return root / HISTORY_DIR


# -- saving ------------------------------------------------------------------------------


def save_run(directory: Path, payload: Mapping[str, Any]) -> list[SavedRun]:
    """Save an export (``run_export.export_payload``) under each hardware key of its results,
    with that key's checks; the runs saved, one per key. A payload with no result saves none.

    Raises ``RunHistoryError`` (a value JSON cannot hold, an unsafe hardware key, the lock held
    too long) or ``FileWriteError`` (an OSError naming the file), leaving no file behind.
    """
    commit = short_commit(payload.get("environments", {}))
    return [save_one(directory, key, part, commit) for key, part in split_by_hardware(payload).items()]


def split_by_hardware(payload: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The export of each hardware key's checks: its results, the environments they ran in and
    the re-runs of their tests, in the run's order."""
    keys = list(dict.fromkeys(str(result["hardware_key"]) for result in payload.get("results", [])))
    parts: dict[str, dict[str, Any]] = {}
    for key in keys:
        results = [result for result in payload["results"] if result["hardware_key"] == key]
        used = {result.get("environment") for result in results}
        nodeids = {result["nodeid"] for result in results}
        environments = payload.get("environments", {})
        parts[key] = {
            **payload,
            "results": results,
            "environments": {name: value for name, value in environments.items() if name in used},
            "reruns": [rerun for rerun in payload.get("reruns", []) if rerun.get("nodeid") in nodeids],
        }
    return parts


def short_commit(environments: Mapping[str, Any]) -> str:
    """The first environment's git commit, shortened; ``nocommit`` where none was recorded."""
    for environment in environments.values():
        commit = str(environment.get("commit") or "") if isinstance(environment, Mapping) else ""
        if re.fullmatch(r"[0-9a-f]{7,64}", commit):
            return commit[:SHORT_COMMIT]
    return NO_COMMIT


def save_one(directory: Path, hardware_key: str, payload: Mapping[str, Any], commit: str) -> SavedRun:
    """Save one hardware key's export as the key's next run; see ``save_run``."""
    if not _HARDWARE_KEY.match(hardware_key):
        raise RunHistoryError(f"{directory}: hardware key {hardware_key!r} cannot name a folder; the run was not saved")
    folder = directory / hardware_key
    data = _json_bytes(payload, folder)
    make_folders(folder, target=folder / "NNNN.json")
    lock = FileLock(str(folder / LOCK_NAME), timeout=LOCK_TIMEOUT_S)
    try:
        with lock, termination_deferred():
            return _link_next(folder, hardware_key, commit, data)
    except Timeout:
        raise RunHistoryError(
            f"{folder}: another process has held the lock {folder / LOCK_NAME} for over {LOCK_TIMEOUT_S:g} s; "
            "the run was not saved"
        ) from None


def _link_next(folder: Path, hardware_key: str, commit: str, data: bytes) -> SavedRun:
    """Write the file under the next free number: staged beside its name, then hard-linked into
    place, which never replaces a file (a run saved by a process that held no lock included)."""
    number = next_number(folder)
    while True:
        run = SavedRun(hardware_key, number, commit, folder / f"{number:04d}_{commit}.json")
        staged = stage(run.path, data)
        try:
            os.link(staged.temporary, run.path)
        except FileExistsError:
            number += 1
            continue
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise FileWriteError(run.path, error) from error
            _create_exclusively(run.path, data)  # a file system without hard links
        finally:
            staged.discard()
        sync_folder(folder)
        return run


def _create_exclusively(path: Path, data: bytes) -> None:
    """Write a new file that must not exist yet (``O_EXCL``): for file systems without hard links."""
    try:
        with path.open("xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except FileExistsError as error:
        raise FileWriteError(path, error) from error


def next_number(folder: Path) -> int:
    """One more than the highest number saved in ``folder`` (1 for the first run)."""
    return max((run.number for run in _runs_in(folder, folder.name)), default=0) + 1


def _json_bytes(payload: Mapping[str, Any], folder: Path) -> bytes:
    non_finite = find_non_finite(payload)
    if non_finite is not None:
        field, spelling = non_finite
        raise RunHistoryError(f"{folder}: field {field}: not a finite number ({spelling}); the run was not saved")
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


# -- reading -----------------------------------------------------------------------------


def saved_runs(directory: Path, hardware_key: str | None = None) -> list[SavedRun]:
    """The saved runs, by hardware key and number; of one hardware key when given."""
    if not directory.is_dir():
        return []
    folders = [directory / hardware_key] if hardware_key is not None else sorted(directory.iterdir())
    return [run for folder in folders if folder.is_dir() for run in _runs_in(folder, folder.name)]


def _runs_in(folder: Path, hardware_key: str) -> list[SavedRun]:
    if not folder.is_dir():
        return []
    runs = []
    for path in folder.iterdir():
        match = _FILE_NAME.match(path.name)
        if match and path.is_file():
            runs.append(SavedRun(hardware_key, int(match.group(1)), match.group(2), path))
    return sorted(runs, key=lambda run: (run.number, run.commit))


def summarize(run: SavedRun) -> RunSummary:
    """When the run started and how many checks it holds; a file that cannot be read says why."""
    try:
        data = json.loads(run.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return RunSummary("", 0, f"cannot be read: {error}")
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        return RunSummary("", 0, "not a modelperf export")
    return RunSummary(str(data.get("started", "")), len(data["results"]))


def is_run_id(text: str) -> bool:
    """Whether ``text`` names a saved run (``latest``, ``3``, ``0003``, ``0003_abc1234``) rather than a file."""
    return text == LATEST or _RUN_ID.match(text) is not None


def resolve_run(directory: Path, text: str, hardware_key: str | None = None) -> Path:
    """The file a run id names in the history at ``directory`` (restricted to ``hardware_key``
    when given), or ``text`` itself as a path when it is no run id.

    ``RunHistoryError`` says why an id names no run, or which hardware keys to choose among.
    """
    if not is_run_id(text):
        return Path(text)
    runs = saved_runs(directory, hardware_key)
    where = f"{directory}" + (f" under hardware key {hardware_key}" if hardware_key else "")
    if not runs:
        raise RunHistoryError(f"run {text}: no saved runs in {where} (save runs with pytest --modelperf-autosave)")
    if text == LATEST:
        by_key: dict[str, SavedRun] = {}
        for run in runs:
            by_key[run.hardware_key] = run  # sorted by number within each key: the last is the latest
        return _one(text, list(by_key.values())).path
    number, commit = _number_and_commit(text)
    numbered = [run for run in runs if run.number == number]
    if not numbered:
        raise RunHistoryError(f"run {text}: no saved run numbered {number:04d} in {where}; saved: {_listed(runs)}")
    if commit is not None:
        matching = [run for run in numbered if run.commit == commit]
        if not matching:
            made = ", ".join(sorted({run.commit for run in numbered}))
            raise RunHistoryError(f"run {text}: run {number:04d} in {where} was made at commit {made}, not {commit}")
        numbered = matching
    return _one(text, numbered).path


def _number_and_commit(run_id: str) -> tuple[int, str | None]:
    match = _RUN_ID.match(run_id)
    if match is None:
        raise RunHistoryError(f"run {run_id}: not a run id (latest, 0003 or 0003_abc1234)")
    return int(match.group(1)), match.group(2)


def _one(text: str, runs: Sequence[SavedRun]) -> SavedRun:
    keys = sorted({run.hardware_key for run in runs})
    if len(keys) > 1:
        raise RunHistoryError(
            f"run {text}: saved under several hardware keys ({', '.join(keys)}); choose one with --hardware KEY"
        )
    return runs[-1]


def _listed(runs: Iterable[SavedRun], most: int = 10) -> str:
    labels = [run.label for run in runs]
    shown = ", ".join(labels[-most:])
    return f"... {shown}" if len(labels) > most else shown
