"""Which tests each module holds and which of them a run selected: what orphan detection and
--modelperf-prune may conclude about a module's baseline entries.

A baseline entry whose test this run did not select says nothing about that test: node ids
on the command line, ``-k``, ``-m``, ``--deselect``, ``--lf`` and plugins narrow a run without
any test going away. So a module's entries are judged as orphans only when the run selected
every test the module holds, counted before any of those filters applied.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

# Stands for ".." in the module key of a test module outside the root dir.
PARENT_FOLDER = "_parent"


@dataclass(frozen=True, order=True)
class TestKey:
    """A test as its baselines know it: its module key and its name within the module."""

    __test__ = False  # not a pytest test class, whatever its name

    module: str
    test: str

    @property
    def nodeid(self) -> str:
        return f"{self.module}::{self.test}"


def module_key(path: os.PathLike[str] | str, root: os.PathLike[str] | str) -> str:
    """The key of a test module's baseline file: its path relative to the root dir, "/"-separated.

    A module outside the root dir (pytest then gives it an empty or invocation-relative node id)
    climbs out with one ``_parent`` per ``..``: ``../shared/test_x.py`` is
    ``_parent/shared/test_x.py``. That depends only on where the module and the root dir lie,
    not on the directory pytest was started from, so the key is the same on every run; and no
    two modules share one.
    """
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # Windows: another drive than the root dir's
        drive, rest = os.path.splitdrive(os.fspath(path))
        return "/".join(("_drive_" + drive.strip(":\\/").replace(":", ""), *PurePath(rest).parts[1:]))
    return "/".join(PARENT_FOLDER if part == os.pardir else part for part in PurePath(relative).parts)


def identify(nodeid: str, module: str) -> TestKey:
    """The test's name is its node id after the module part, e.g. ``TestBert::test_latency[b1]``."""
    _, separator, name = nodeid.partition("::")
    return TestKey(module, name if separator else nodeid)


@dataclass
class Selection:
    """Every test found in each module before any filter, and the tests the run selected."""

    found: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Collectors inside a module (classes) that were listed but never collected themselves,
    # e.g. other classes when a node id names one class: their tests are unknown.
    unexpanded: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    broken: set[str] = field(default_factory=set)  # modules part of which failed to collect
    selected: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    identities: dict[str, TestKey] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # node id -> its place among the selected tests

    def found_in_module(
        self,
        module: str,
        collector_nodeid: str,
        *,
        succeeded: bool,
        tests: Iterable[tuple[str, TestKey]],
        collectors: Iterable[str],
    ) -> None:
        """A collector inside a module (the module itself, a class) was collected: the node ids
        and identities of the tests it holds, and the node ids of the collectors it holds."""
        self.unexpanded[module].discard(collector_nodeid)
        if not succeeded:
            self.broken.add(module)
            return
        for nodeid, identity in tests:
            self.identities[nodeid] = identity
            self.found[module].add(identity.test)
        self.unexpanded[module].update(collectors)

    def select(self, nodeids: Iterable[str]) -> None:
        """The tests left to run once every filter applied."""
        for nodeid in nodeids:
            self.order.setdefault(nodeid, len(self.order))
            identity = self.identity(nodeid)
            self.selected[identity.module].add(identity.test)

    def position(self, nodeid: str) -> tuple[int, str]:
        """Where a test comes in the run's order: selected tests as collected, any other after them by node id."""
        return self.order.get(nodeid, len(self.order)), nodeid

    def merge(self, other: Selection) -> None:
        """Add what another process of the same run collected and selected (a pytest-xdist worker).

        Every worker collects the whole run, so the union is what one process would have seen; a
        module part of which any worker failed to collect, or left unexpanded, stays uncovered.
        """
        for module, tests in other.found.items():
            self.found[module] |= tests
        for module, collectors in other.unexpanded.items():
            self.unexpanded[module] |= collectors
        self.broken |= other.broken
        for module, tests in other.selected.items():
            self.selected[module] |= tests
        self.identities.update(other.identities)
        for nodeid in sorted(other.order, key=other.order.__getitem__):
            self.order.setdefault(nodeid, len(self.order))

    def identity(self, nodeid: str) -> TestKey:
        known = self.identities.get(nodeid)
        if known is not None:
            return known
        module, _, name = nodeid.partition("::")
        return TestKey(module, name)

    def why_not_covered(self, module: str) -> str | None:
        """None when the run selected every test of the module; else why it did not."""
        if module in self.broken:
            return "part of it failed to collect"
        if self.unexpanded.get(module):
            return f"this run did not collect {', '.join(sorted(self.unexpanded[module]))}"
        found, selected = self.found.get(module, set()), self.selected.get(module, set())
        if not found:
            return "this run did not collect it"
        if not found <= selected:
            return f"this run selected {len(found & selected)} of its {len(found)} tests"
        return None
