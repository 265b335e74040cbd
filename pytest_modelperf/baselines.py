"""The baseline store: the one place that reads and writes baseline JSON.

Layout: ``<root>/<hardware key>/<test module path>.json``, e.g.
``baselines/amd-epyc-2c-float32/perf_tests/test_models.json``. A file holds the entries of
one test module on one hardware key, keyed by test name and measurement name, and the
environments the entries were recorded in. Files are written atomically (a temporary file
in the same folder, then a rename) as sorted, indented JSON so that a reviewer can read the
diff. A file that cannot be read is an error naming the file; it is never overwritten
without an update flag, and even then it is first moved aside, not lost.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .atomic_files import atomic_write_text
from .results import SCHEMA_VERSION, BaselineEntry, FormatError


class BaselineError(Exception):
    """A baseline file is unreadable or malformed; the message names the file and the field."""


@dataclass(frozen=True, order=True)
class EntryKey:
    hardware_key: str
    module: str  # the test module's path relative to the root dir, with "/" separators
    test: str  # the test's name within the module, e.g. "TestBert::test_latency[b1]"
    measurement: str

    def describe(self) -> str:
        return f"{self.module}::{self.test} {self.measurement} [{self.hardware_key}]"


@dataclass
class BaselineFile:
    hardware_key: str
    tests: dict[str, dict[str, BaselineEntry]] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        used = {entry.environment for entries in self.tests.values() for entry in entries.values()}
        return {
            "schema": SCHEMA_VERSION,
            "hardware_key": self.hardware_key,
            "environments": {k: v for k, v in self.environments.items() if k in used},
            "tests": {
                test: {name: entry.to_dict() for name, entry in entries.items()}
                for test, entries in self.tests.items()
                if entries
            },
        }

    @classmethod
    def from_dict(cls, data: Any) -> BaselineFile:
        if not isinstance(data, dict):
            raise FormatError("(top level)", f"expected an object, got {type(data).__name__}")
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
        tests: dict[str, dict[str, BaselineEntry]] = {}
        for test, entries in tests_data.items():
            if not isinstance(entries, dict):
                raise FormatError(f"tests.{test}", "expected an object of measurements")
            tests[test] = {
                name: BaselineEntry.from_dict(entry, f"tests.{test}.{name}") for name, entry in entries.items()
            }
        return cls(hardware_key=hardware_key, tests=tests, environments=environments)


class BaselineStore(Protocol):
    """The seam for other storage: a store looks entries up and applies reviewed updates."""

    def lookup(self, key: EntryKey) -> BaselineEntry | None: ...

    def keys(self, hardware_key: str, module: str) -> list[EntryKey]: ...

    def apply(
        self,
        updates: Mapping[EntryKey, BaselineEntry],
        removals: Iterable[EntryKey],
        environments: Mapping[str, dict[str, Any]],
    ) -> list[WriteResult]: ...


@dataclass(frozen=True)
class WriteResult:
    path: Path
    written: int
    removed: int
    moved_aside: Path | None = None


class JsonBaselineStore:
    """Baselines as JSON files in a folder of the repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, BaselineFile | None] = {}

    def path_for(self, hardware_key: str, module: str) -> Path:
        relative = module[:-3] if module.endswith(".py") else module
        return self.root / hardware_key / f"{relative}.json"

    def read(self, path: Path) -> BaselineFile | None:
        """The parsed file, or None when it does not exist; BaselineError when it is broken."""
        if path not in self._cache:
            self._cache[path] = _read_file(path)
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
        return [
            EntryKey(hardware_key, module, test, name)
            for test, entries in baseline_file.tests.items()
            for name in entries
        ]

    def apply(
        self,
        updates: Mapping[EntryKey, BaselineEntry],
        removals: Iterable[EntryKey],
        environments: Mapping[str, dict[str, Any]],
    ) -> list[WriteResult]:
        by_path: dict[Path, tuple[str, list[tuple[EntryKey, BaselineEntry | None]]]] = {}
        for key, entry in updates.items():
            path = self.path_for(key.hardware_key, key.module)
            by_path.setdefault(path, (key.hardware_key, []))[1].append((key, entry))
        for key in removals:
            path = self.path_for(key.hardware_key, key.module)
            by_path.setdefault(path, (key.hardware_key, []))[1].append((key, None))
        return [self._apply_to_file(path, hw, changes, environments) for path, (hw, changes) in sorted(by_path.items())]

    def _apply_to_file(
        self,
        path: Path,
        hardware_key: str,
        changes: list[tuple[EntryKey, BaselineEntry | None]],
        environments: Mapping[str, dict[str, Any]],
    ) -> WriteResult:
        moved_aside = None
        try:
            current = self.read(path)
        except BaselineError:
            moved_aside = _move_aside(path)
            current = None
        # A copy: if the write fails, the cached file must still match what is on disk.
        baseline_file = copy.deepcopy(current) if current is not None else BaselineFile(hardware_key=hardware_key)
        written = removed = 0
        for key, entry in changes:
            if entry is None:
                if baseline_file.tests.get(key.test, {}).pop(key.measurement, None) is not None:
                    removed += 1
                continue
            baseline_file.tests.setdefault(key.test, {})[key.measurement] = entry
            baseline_file.environments.setdefault(entry.environment, dict(environments.get(entry.environment, {})))
            written += 1
        atomic_write_json(path, baseline_file.to_dict())
        self._cache[path] = baseline_file
        return WriteResult(path, written, removed, moved_aside)


def _read_file(path: Path) -> BaselineFile | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"baseline file {path}: cannot be read: {error}") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"baseline file {path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "fix it by hand, restore it from version control, or re-record it with --modelperf-update"
        ) from error
    try:
        return BaselineFile.from_dict(data)
    except FormatError as error:
        raise BaselineError(
            f"baseline file {path}: field {error.path}: {error.problem}; "
            "fix it by hand, restore it from version control, or re-record it with --modelperf-update"
        ) from error


def _move_aside(path: Path) -> Path:
    for attempt in range(1000):
        suffix = ".corrupt" if attempt == 0 else f".corrupt{attempt}"
        target = path.with_name(path.name + suffix)
        if not target.exists():
            os.replace(path, target)
            return target
    raise BaselineError(f"baseline file {path}: too many earlier corrupt copies beside it")


def atomic_write_json(path: Path, data: Any) -> None:
    """Write sorted, indented JSON so that readers see the old file or the new one, never half."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")
