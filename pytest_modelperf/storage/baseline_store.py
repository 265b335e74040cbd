"""The baseline store: the one place that reads and writes baseline JSON.

Layout: ``<root>/<hardware key>/<test module path>.json``, e.g.
``baselines/amd-epyc-2c-float32/perf_tests/test_models.json``. A file holds the entries of
one test module on one hardware key, keyed by test name and measurement name, and the
environments the entries were recorded in. When a file is rewritten, the entries this update
does not change are written back exactly as they were read, and top-level fields this version
does not know are kept: nothing a newer plugin (or a person) added is lost.

An update is all or nothing across files: under a lock on the folder, every file is read
again (so concurrent writers merge instead of losing each other's entries), every new file
is written beside its target, and only then are they all renamed over their targets. Files
are written as sorted JSON in the compact layout of ``file_format.baseline_text`` (a summary,
the quantiles, a recorded run, each per-example array on one line), so that a pull request's
diff is as small as the change it records; files in the older indented layout read the same.
A file that cannot be read is an error naming the file; it is never overwritten without an
update flag, and even then a copy is kept beside it, made only once its replacement is ready.
NaN and infinity are refused in both directions, naming the field.

Environments are keyed by an id that does not change with the commit (``environment_id``);
the commit an entry was recorded at is kept in the entry (``commit``), not in its environment,
so recording at a new commit rewrites only the entries it records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from filelock import FileLock, Timeout

from ..core.baseline_entry import COMMIT_FIELD, BaselineEntry, EntryKey
from ..core.file_format import SCHEMA_VERSION, FormatError, baseline_text
from ..core.finite_json import find_non_finite
from .atomic_files import (
    FileWriteError,
    StagedFile,
    atomic_write_text,
    commit_all,
    describe_os_error,
    stage_all,
    termination_deferred,
)

# Held around every read-modify-write, in modelperf's working folder (which projects ignore in git).
LOCK_PATH = Path(".modelperf", "update.lock")
LOCK_TIMEOUT_S = 120.0


class BaselineError(Exception):
    """A baseline file is unreadable or malformed; the message names the file and the field."""


class StorageError(BaselineError):
    """A file could not be written: a read-only or full disk, a lock held too long, a value
    JSON cannot hold. The message is one line naming the file and the cause."""


_KNOWN_FIELDS = frozenset({"schema", "hardware_key", "environments", "tests"})


@dataclass
class BaselineFile:
    hardware_key: str
    tests: dict[str, dict[str, BaselineEntry]] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown_fields: dict[str, Any] = field(default_factory=dict)  # top-level fields this version does not know
    # Each entry as read, beside the entry parsed from it: while that entry stands, it is written
    # back exactly as read, so fields this version does not know survive at any depth.
    as_read: dict[tuple[str, str], tuple[BaselineEntry, dict[str, Any]]] = field(default_factory=dict, repr=False, compare=False)

    def put(self, test: str, measurement: str, entry: BaselineEntry, environment: Mapping[str, Any]) -> None:
        """Record an entry; a re-recorded entry is written as this version knows it.

        The environment's ``commit`` goes into the entry (unless it has one already): the
        environment record, shared by entries recorded at other commits, is kept without it."""
        commit = environment.get(COMMIT_FIELD)
        if not entry.commit and isinstance(commit, str) and commit:
            entry = replace(entry, commit=commit)
        self.tests.setdefault(test, {})[measurement] = entry
        self.as_read.pop((test, measurement), None)
        self.environments.setdefault(entry.environment, {k: v for k, v in environment.items() if k != COMMIT_FIELD})

    def remove(self, test: str, measurement: str) -> bool:
        """Remove an entry; whether there was one."""
        self.as_read.pop((test, measurement), None)
        return self.tests.get(test, {}).pop(measurement, None) is not None

    def to_dict(self) -> dict[str, Any]:
        used = {entry.environment for entries in self.tests.values() for entry in entries.values()}
        return {
            **self.unknown_fields,
            "schema": SCHEMA_VERSION,
            "hardware_key": self.hardware_key,
            "environments": {k: v for k, v in self.environments.items() if k in used},
            "tests": {
                test: {name: self._entry_dict(test, name, entry) for name, entry in entries.items()}
                for test, entries in self.tests.items()
                if entries
            },
        }

    def _entry_dict(self, test: str, name: str, entry: BaselineEntry) -> dict[str, Any]:
        read = self.as_read.get((test, name))
        if read is not None and read[0] is entry:
            return read[1]
        return entry.to_dict()

    @classmethod
    def from_dict(cls, data: Any) -> BaselineFile:
        if not isinstance(data, dict):
            raise FormatError("(top level)", f"expected an object, got {type(data).__name__}")
        non_finite = find_non_finite(data)
        if non_finite is not None:
            raise FormatError(non_finite[0], f"not a finite number ({non_finite[1]})")
        schema = data.get("schema")
        if schema != SCHEMA_VERSION:
            raise FormatError("schema", f"expected {SCHEMA_VERSION}, got {schema!r}")
        hardware_key = data.get("hardware_key")
        if not isinstance(hardware_key, str):
            raise FormatError("hardware_key", "missing or not a string")
        environments = data.get("environments", {})
        if not isinstance(environments, dict):
            raise FormatError("environments", "expected an object")
        tests_data = data.get("tests", {})
        if not isinstance(tests_data, dict):
            raise FormatError("tests", "expected an object")
        baseline_file = cls(
            hardware_key=hardware_key,
            environments=environments,
            unknown_fields={k: v for k, v in data.items() if k not in _KNOWN_FIELDS},
        )
        for test, entries in tests_data.items():
            if not isinstance(entries, dict):
                raise FormatError(f"tests.{test}", "expected an object of measurements")
            baseline_file.tests[test] = {}
            for name, entry_data in entries.items():
                entry = BaselineEntry.from_dict(entry_data, f"tests.{test}.{name}")
                baseline_file.tests[test][name] = entry
                baseline_file.as_read[(test, name)] = (entry, entry_data)
        return baseline_file


class BaselineStore(Protocol):
    """The seam for other storage: a store looks entries up and applies reviewed updates."""

    def lookup(self, key: EntryKey) -> BaselineEntry | None: ...

    def keys(self, hardware_key: str, module: str) -> list[EntryKey]: ...

    def apply(
        self,
        updates: Mapping[EntryKey, BaselineEntry],
        removals: Iterable[EntryKey],
        environments: Mapping[str, dict[str, Any]],
    ) -> list[WriteResult]:
        """Write all the changes or none; ``StorageError`` (one line naming the file and the
        cause) when they cannot be written, with the stored baselines left as they were."""
        ...


@dataclass(frozen=True)
class WriteResult:
    path: Path
    written: int
    removed: int
    moved_aside: Path | None = None


class JsonBaselineStore:
    """Baselines as JSON files in a folder of the repository."""

    def __init__(self, root: Path, *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.root = root
        self.lock_timeout = lock_timeout
        self._cache: dict[Path, BaselineFile | None] = {}

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_PATH

    def path_for(self, hardware_key: str, module: str) -> Path:
        """The file of a module's entries on a hardware key; BaselineError for a module or key
        that cannot name a file of its own inside the root (empty, absolute, with ``..``)."""
        _check_hardware_key(hardware_key)
        parts = _module_parts(module)
        parts[-1] = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
        if not parts[-1]:
            raise BaselineError(f"test module {module!r}: cannot name a baseline file: its file name is only '.py'")
        return self.root.joinpath(hardware_key, *parts[:-1], f"{parts[-1]}.json")

    def read(self, path: Path) -> BaselineFile | None:
        """The parsed file, or None when it does not exist; BaselineError when it is broken."""
        if path not in self._cache:
            self._cache[path] = read_baseline(path)
        return self._cache[path]

    def lookup(self, key: EntryKey) -> BaselineEntry | None:
        baseline_file = self.read(self.path_for(key.hardware_key, key.module))
        if baseline_file is None:
            return None
        return baseline_file.tests.get(key.test, {}).get(key.measurement)

    def keys(self, hardware_key: str, module: str) -> list[EntryKey]:
        baseline_file = self.read(self.path_for(hardware_key, module))
        if baseline_file is None:
            return []
        return [EntryKey(hardware_key, module, test, name) for test, entries in baseline_file.tests.items() for name in entries]

    def apply(
        self,
        updates: Mapping[EntryKey, BaselineEntry],
        removals: Iterable[EntryKey],
        environments: Mapping[str, dict[str, Any]],
    ) -> list[WriteResult]:
        """Write the updates and removals, all files or none.

        Under the store's lock, each file is read again from disk and the changes merged into
        it, so entries another process wrote meanwhile are kept (the same entry written by
        both: the last writer's wins). A file that cannot be read is replaced, and a copy of
        it kept beside it (``WriteResult.moved_aside``).

        Raises ``BaselineError`` for a module or hardware key that cannot name a file, before
        anything is written, and ``StorageError`` (a ``BaselineError``) when any file cannot
        be written (read-only folder, full disk, a non-finite value, the lock held elsewhere
        for ``lock_timeout`` seconds): its message is one line naming the file and the cause,
        and every baseline file is left as it was. (Only a rename failing after the others
        succeeded, which writing every file beside its target first makes all but impossible,
        leaves some files replaced; the message then names them.)
        """
        changes = self._changes_by_path(updates, removals)
        if not changes:
            return []
        try:
            with self._locked(next(iter(changes))):
                plans = [
                    _plan_update(path, hardware_key, file_changes, environments)
                    for path, (hardware_key, file_changes) in changes.items()
                ]
                _write_all(plans)
        except BaselineError:
            for path in changes:
                self._cache.pop(path, None)  # read again from disk, whatever the failure left there
            raise
        for plan in plans:
            self._cache[plan.path] = plan.baseline_file
        return [plan.result() for plan in plans]

    def _changes_by_path(
        self, updates: Mapping[EntryKey, BaselineEntry], removals: Iterable[EntryKey]
    ) -> dict[Path, tuple[str, list[tuple[EntryKey, BaselineEntry | None]]]]:
        by_path: dict[Path, tuple[str, list[tuple[EntryKey, BaselineEntry | None]]]] = {}
        changes: list[tuple[EntryKey, BaselineEntry | None]] = [*updates.items(), *((key, None) for key in removals)]
        for key, entry in changes:
            path = self.path_for(key.hardware_key, key.module)
            by_path.setdefault(path, (key.hardware_key, []))[1].append((key, entry))
        return dict(sorted(by_path.items()))

    @contextmanager
    def _locked(self, first_path: Path) -> Iterator[None]:
        """Hold the store's lock; StorageError naming ``first_path`` when it cannot be taken."""
        lock = FileLock(self.lock_path, timeout=self.lock_timeout)
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:
            raise StorageError(
                f"baseline file {first_path}: cannot be written: another process has held the lock "
                f"{self.lock_path} for over {self.lock_timeout:g} s; no baseline file was changed"
            ) from None
        except OSError as error:
            raise StorageError(
                f"baseline file {first_path}: cannot be written: cannot take the lock {self.lock_path}: "
                f"{describe_os_error(error, self.lock_path)}; no baseline file was changed"
            ) from error
        try:
            yield
        finally:
            lock.release()


@dataclass
class _FileUpdate:
    """One file's new content, prepared under the lock before anything is written."""

    path: Path
    baseline_file: BaselineFile
    content: bytes
    unreadable: bool  # the file on disk could not be read; a copy is kept beside it
    written: int
    removed: int
    moved_aside: Path | None = None

    def result(self) -> WriteResult:
        return WriteResult(self.path, self.written, self.removed, self.moved_aside)


def _plan_update(
    path: Path,
    hardware_key: str,
    changes: list[tuple[EntryKey, BaselineEntry | None]],
    environments: Mapping[str, dict[str, Any]],
) -> _FileUpdate:
    try:
        current = read_baseline(path)
        unreadable = False
    except BaselineError:
        current, unreadable = None, True
    baseline_file = current if current is not None else BaselineFile(hardware_key=hardware_key)
    written = removed = 0
    for key, entry in changes:
        if entry is None:
            removed += baseline_file.remove(key.test, key.measurement)
        else:
            baseline_file.put(key.test, key.measurement, entry, environments.get(entry.environment, {}))
            written += 1
    content = _checked(baseline_file.to_dict(), f"baseline file {path}", "; no baseline file was changed", baseline_text)
    return _FileUpdate(path, baseline_file, content.encode("utf-8"), unreadable, written, removed)


def _write_all(plans: list[_FileUpdate]) -> None:
    """Stage every file, keep copies of unreadable ones, then rename all; StorageError on failure."""
    with termination_deferred():
        try:
            staged = stage_all({plan.path: plan.content for plan in plans})
        except FileWriteError as error:
            raise StorageError(f"baseline file {error}; no baseline file was changed") from error
        try:
            for plan in plans:
                _keep_unreadable_aside(plan)
        except StorageError:
            _undo(staged, plans)
            raise
        try:
            commit_all(staged)
        except FileWriteError as error:
            raise StorageError(f"baseline file {error}") from error


def _keep_unreadable_aside(plan: _FileUpdate) -> None:
    if not plan.unreadable or not plan.path.exists():
        return
    try:
        plan.moved_aside = _keep_aside(plan.path)
    except OSError as error:
        raise StorageError(
            f"baseline file {plan.path}: cannot keep a copy of the unreadable file: "
            f"{describe_os_error(error, plan.path)}; no baseline file was changed"
        ) from error


def _undo(staged: list[StagedFile], plans: list[_FileUpdate]) -> None:
    for item in staged:
        item.discard()
    for plan in plans:
        if plan.moved_aside is not None:
            plan.moved_aside.unlink(missing_ok=True)
            plan.moved_aside = None


def _keep_aside(path: Path) -> Path:
    """A copy of an unreadable file beside it, as a hard link: the file itself stays in place
    until its replacement is renamed over it."""
    for attempt in range(1000):
        suffix = ".corrupt" if attempt == 0 else f".corrupt{attempt}"
        target = path.with_name(path.name + suffix)
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        return target
    raise StorageError(f"baseline file {path}: too many earlier corrupt copies beside it; no baseline file was changed")


def _check_hardware_key(hardware_key: str) -> None:
    if not hardware_key or hardware_key in (".", "..") or "/" in hardware_key or "\\" in hardware_key:
        raise BaselineError(f"hardware key {hardware_key!r}: cannot name a baseline folder: it must be one plain folder name")


def _module_parts(module: str) -> list[str]:
    """The folders and file name of a test module's path; BaselineError naming the module when
    the path is empty, absolute or has empty, ``.`` or ``..`` parts (two spellings of one file)."""
    if not module:
        raise BaselineError("test module '': cannot name a baseline file: the module path is empty")
    normalised = module.replace("\\", "/")
    if normalised.startswith("/") or PurePosixPath(normalised).is_absolute() or (len(module) > 1 and module[1] == ":"):
        raise BaselineError(f"test module {module!r}: cannot name a baseline file: the path is absolute")
    parts = normalised.split("/")
    odd = [part for part in parts if part in ("", ".", "..")]
    if odd:
        which = f"a {odd[0]!r} part" if odd[0] else "an empty part"
        raise BaselineError(
            f"test module {module!r}: cannot name a baseline file: the path has {which}; "
            "it must be relative to the root dir and stay inside it"
        )
    return parts


def read_baseline(path: Path) -> BaselineFile | None:
    """The parsed file, or None when it does not exist; BaselineError naming the file when it is broken."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"baseline file {path}: cannot be read: {error}") from error
    return parse_baseline(text, str(path))


def parse_baseline(text: str, where: str) -> BaselineFile:
    """A baseline file's text, in either layout, parsed; BaselineError naming ``where`` (a path,
    or ``REV:path`` for a file read from git) and the field when it is broken."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"baseline file {where}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "fix it by hand, restore it from version control, or re-record it with --modelperf-update"
        ) from error
    try:
        return BaselineFile.from_dict(data)
    except FormatError as error:
        raise BaselineError(
            f"baseline file {where}: field {error.path}: {error.problem}; "
            "fix it by hand, restore it from version control, or re-record it with --modelperf-update"
        ) from error


def baseline_file_text(baseline_file: BaselineFile, where: str) -> str:
    """The text the store writes for a baseline file; StorageError naming ``where`` and the field
    for a value JSON cannot hold."""
    return _checked(baseline_file.to_dict(), where, "", baseline_text)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write sorted, indented JSON (a run's export) so that readers see the old file or the new
    one, never half.

    Raises ``StorageError`` naming the file and the cause (the field, for a NaN or infinity);
    the file is then left as it was.
    """
    text = _checked(data, str(path), "; the file was left as it was", _indented)
    try:
        atomic_write_text(path, text)
    except FileWriteError as error:
        raise StorageError(f"{error}; the file was left as it was") from error


def _indented(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _checked(data: Any, what: str, consequence: str, render: Callable[[Any], str]) -> str:
    """``render(data)``, once no NaN or infinity is in it; StorageError naming the field otherwise."""
    non_finite = find_non_finite(data)
    if non_finite is not None:
        field_path, spelling = non_finite
        raise StorageError(f"{what}: field {field_path}: not a finite number ({spelling}){consequence}")
    return render(data)
