"""The entries that differ between two versions of a baseline file, for ``modelperf diff``.

An entry counts as changed when anything it records differs: a value, a recorded run, the
quantiles, the per-example outcomes, the context. When and where it was recorded (``recorded``,
``commit``, the ``environment`` it points at) are bookkeeping: a re-recording that changed
nothing else is not a change for a reviewer. The layout a file is written in never matters:
both versions are compared as parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.baseline_entry import COMMIT_FIELD, BaselineEntry
from .baseline_store import BaselineFile

# What says when and where an entry was recorded, not what it holds.
_BOOKKEEPING = frozenset({"environment", "recorded", COMMIT_FIELD})


@dataclass(frozen=True)
class EntryChange:
    """One entry of one baseline file, as the old and the new version hold it (None: absent)."""

    file: str  # the baseline file, as the caller names it (e.g. its path in the repository)
    test: str
    measurement: str
    old: BaselineEntry | None
    new: BaselineEntry | None
    old_environment: Mapping[str, Any] = field(default_factory=dict)
    new_environment: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.old is None:
            return "added"
        return "removed" if self.new is None else "changed"

    def environment_changes(self) -> dict[str, tuple[Any, Any]]:
        """The environment fields (the commit aside) that differ between the two recordings,
        as (old, new); empty when either environment is unknown."""
        if not self.old_environment or not self.new_environment:
            return {}
        keys = sorted((set(self.old_environment) | set(self.new_environment)) - {COMMIT_FIELD})
        return {
            key: (self.old_environment.get(key), self.new_environment.get(key))
            for key in keys
            if self.old_environment.get(key) != self.new_environment.get(key)
        }


def entry_changes(file: str, old: BaselineFile | None, new: BaselineFile | None) -> list[EntryChange]:
    """The entries added, removed or changed from ``old`` to ``new`` (None: no such file), by test
    and measurement name."""
    old_entries = _entries(old)
    new_entries = _entries(new)
    changes: list[EntryChange] = []
    for key in sorted(old_entries.keys() | new_entries.keys()):
        before, after = old_entries.get(key), new_entries.get(key)
        if before is not None and after is not None and _content(before) == _content(after):
            continue
        changes.append(
            EntryChange(
                file,
                *key,
                before,
                after,
                _environment(old, before),
                _environment(new, after),
            )
        )
    return changes


def _entries(baseline_file: BaselineFile | None) -> dict[tuple[str, str], BaselineEntry]:
    if baseline_file is None:
        return {}
    return {(test, name): entry for test, entries in baseline_file.tests.items() for name, entry in entries.items()}


def _content(entry: BaselineEntry) -> dict[str, Any]:
    return {key: value for key, value in entry.to_dict().items() if key not in _BOOKKEEPING}


def _environment(baseline_file: BaselineFile | None, entry: BaselineEntry | None) -> Mapping[str, Any]:
    if baseline_file is None or entry is None:
        return {}
    return baseline_file.environments.get(entry.environment, {})
