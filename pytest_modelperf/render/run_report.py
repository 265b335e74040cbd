"""What a finished run hands to its reports: the judged checks and the facts of the session's end.

Plain data, filled in by the session (``run.session_end.run_report``): the renderers read it and
never the session itself, so that the terminal summary, Markdown and the HTML page show the
same run the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..core.baseline_entry import EntryKey
from ..core.counts import counted
from ..core.verdict import Outcome, Verdict
from ..storage.baseline_store import WriteResult
from ..storage.run_export import ConfirmingRerun, test_with_worker

PRUNE_COMMAND = "--modelperf-update --modelperf-prune"


@dataclass(frozen=True)
class ReportedCheck:
    """One check made by one test: where its baseline lives, what it concluded, whether it fails."""

    nodeid: str
    key: EntryKey
    verdict: Verdict
    environment: str  # the identifier of the software environment it ran in
    fails: bool  # whether it fails its test: a regression re-recorded by --modelperf-update does not
    worker: str = ""  # the pytest-xdist worker that made it, where every worker runs every test (--dist each)

    @property
    def test(self) -> str:
        return test_with_worker(self.nodeid, self.worker)

    @property
    def accepted(self) -> bool:
        """A failing verdict that does not fail its test: its baseline is being re-recorded."""
        return self.verdict.failed and not self.fails


class OrphanedEntry(Protocol):
    """A stored baseline entry this run did not produce, and why it counts as orphaned."""

    @property
    def key(self) -> EntryKey: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class RunReport:
    """Everything the reports of one run show."""

    checks: tuple[ReportedCheck, ...]
    started: str  # ISO 8601
    environments: Mapping[str, Mapping[str, Any]]  # identifier -> software environment
    baseline_dir: Path
    update_mode: str  # none, all, missing or add-run
    prune: bool
    writes: tuple[WriteResult, ...] = ()
    reruns: tuple[ConfirmingRerun, ...] = ()
    orphans: tuple[OrphanedEntry, ...] = ()
    unpruned: Mapping[str, str] = field(default_factory=dict)  # module -> why --modelperf-prune left it alone
    orphans_unchecked: tuple[str, ...] = ()  # baseline files too broken to look for orphans in
    write_errors: tuple[str, ...] = ()  # one line per file the session end could not write
    missing_fails: bool = False  # --modelperf-missing=fail: a check with no baseline fails its test
    update_flag: str | None = None  # the flag that writes baselines in this run (--modelperf-update-missing), if any

    @property
    def failing(self) -> list[ReportedCheck]:
        return [check for check in self.checks if check.fails]

    @property
    def accepted(self) -> list[ReportedCheck]:
        return [check for check in self.checks if check.accepted]

    @property
    def missing(self) -> list[ReportedCheck]:
        """Checks with no baseline on this hardware."""
        return [check for check in self.checks if check.verdict.outcome is Outcome.NO_BASELINE]

    @property
    def ungated(self) -> str | None:
        """One plain sentence on the checks that had no baseline to be judged against: how many of
        the run's checks, under which keys, and what to do. None when every check had one."""
        missing = self.missing
        if not missing:
            return None
        keys: dict[str, int] = {}
        for check in missing:
            keys[check.key.hardware_key] = keys.get(check.key.hardware_key, 0) + 1
        by_key = ", ".join(f"{key}: {count}" for key, count in sorted(keys.items()))
        have = "has" if len(missing) == 1 else "have"
        how_many = f"{len(missing)} of {counted(len(self.checks), 'check')} {have} no baseline ({by_key})"
        if self.update_flag is not None:
            return f"{how_many}; {self.update_flag} records them at the end of this run: commit the files it writes"
        advice = "record them with --modelperf-update-missing (or --modelperf-update) and commit the files"
        if self.missing_fails:
            return f"{how_many}; {advice}"
        advice += ", or run with --modelperf-missing=fail to fail on them"
        return f"{how_many} and went ungated: only their limits were checked; {advice}"

    @property
    def orphans_removed(self) -> bool | None:
        """Whether --modelperf-prune removed the orphaned entries: the store writes all its files
        or none, so they were removed exactly when baseline files were written. None without
        --modelperf-prune, when they are only reported."""
        return bool(self.writes) if self.prune else None

    @property
    def orphans_fate(self) -> str:
        """What became of the orphaned entries, in the words every report uses."""
        removed = self.orphans_removed
        if removed is None:
            return "reported"
        return "removed" if removed else "not removed: the baselines could not be written"

    @property
    def orphans_remedy(self) -> str | None:
        """The command line that removes reported orphaned entries; None once pruning was asked for."""
        return PRUNE_COMMAND if self.orphans_removed is None else None

    @property
    def transient_reruns(self) -> list[ConfirmingRerun]:
        """Re-runs that passed: the first attempt's failure was taken for noise."""
        return [rerun for rerun in self.reruns if not rerun.reproduced]

    @property
    def hardware_keys(self) -> list[str]:
        return sorted({check.key.hardware_key for check in self.checks})

    @property
    def outcome_counts(self) -> dict[Outcome, int]:
        return {outcome: sum(check.verdict.outcome is outcome for check in self.checks) for outcome in Outcome}

    @property
    def notes_by_model(self) -> dict[str, tuple[str, ...]]:
        """The notes of each model's measurements (the first measurement with notes), by model name."""
        notes: dict[str, tuple[str, ...]] = {}
        for check in self.checks:
            measurement = check.verdict.measurement
            if measurement.notes:
                notes.setdefault(str(measurement.context.get("model", "")), measurement.notes)
        return dict(sorted(notes.items()))
