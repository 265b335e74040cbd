"""Two runs compared check by check, for CI jobs that compare a branch with its base.

The new run's checks are judged by ``compare.judge``, the plugin's own comparison, against
the baseline entry that ``policy.resolve_baseline`` picks, the rule the plugin follows: so a
check gets the verdict the plugin gave it. Against another run, the base run's measurements
stand where the plugin's baseline entries stand: each compared check of the base becomes the
entry an update would have recorded from it (one recorded run, so its noise band assumes the
between-run spread, as for a baseline recorded once; values rounded as a baseline file keeps
them); its raw samples give every statistic, its speed reference lets times be judged at the
machine's speed, and a quality score is paired with the base's per-example outcomes. Against
the committed baselines the entries are the stored ones.

Checks are matched by (test node id, measurement name, hardware key), the baseline store's
key; a quality score in float16 or bfloat16 with no entry of its own is judged against the
float32 one, as in the plugin. Each check keeps the threshold and limit it had in the new run
(``threshold`` replaces the thresholds of sampled checks; exact ones stay exact); a check with
only a limit is held to its limit and not compared, and records no baseline in the base. A
check with a threshold and no baseline is *added*; a baseline of the base that the new run
neither produced nor was judged against is *removed*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..core.baseline_entry import BaselineEntry, EntryKey
from ..core.counts import counted
from ..core.file_format import FormatError
from ..core.judge import ComparisonError, NoisePolicy, judge
from ..core.policy import Lookup, entry_as_stored, is_compared, resolve_baseline
from ..core.units import Quantity, UnitError
from ..core.verdict import Check, Outcome, Verdict
from ..storage.baseline_store import BaselineError, BaselineStore
from ..storage.run_export import ExportedCheck, RunExport


class CompareError(Exception):
    """The runs cannot be compared (a baseline file is broken, units or directions differ)."""


class FailOn(str, Enum):
    """Which verdicts make ``modelperf compare`` fail."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    ANY = "any"

    @property
    def outcomes(self) -> frozenset[Outcome]:
        worse = {Outcome.REGRESSION, Outcome.OVER_LIMIT}
        if self is FailOn.REGRESSION:
            return frozenset(worse)
        if self is FailOn.IMPROVEMENT:
            return frozenset({Outcome.IMPROVEMENT})
        return frozenset(worse | {Outcome.IMPROVEMENT})


# The order in which verdicts are listed: what fails first, then what changed, then the rest.
_RANK = {Outcome.REGRESSION: 0, Outcome.OVER_LIMIT: 1, Outcome.IMPROVEMENT: 2, Outcome.PASS: 3, Outcome.NO_BASELINE: 4}


@dataclass(frozen=True)
class ComparedCheck:
    """A check of the new run, judged against its counterpart in the base."""

    key: EntryKey
    nodeid: str
    verdict: Verdict


@dataclass(frozen=True)
class Comparison:
    checks: tuple[ComparedCheck, ...]  # every check of the new run except the added ones
    added: tuple[EntryKey, ...]  # checked against a baseline in the new run; nothing to compare with
    removed: tuple[EntryKey, ...]  # measured in the base, not in the new run
    base_hardware: frozenset[str]
    new_hardware: frozenset[str]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for check in self.checks if check.verdict.outcome is outcome)

    def failing(self, fail_on: FailOn = FailOn.REGRESSION) -> list[ComparedCheck]:
        return [check for check in self.checks if check.verdict.outcome in fail_on.outcomes]

    def by_test(self) -> list[tuple[str, str, list[ComparedCheck]]]:
        """(node id, hardware key, its checks) per test: tests with a regression first, then those
        with an improvement; within a test its regressions first. Otherwise in the new run's order."""
        groups: dict[tuple[str, str], list[ComparedCheck]] = {}
        for check in self.checks:
            groups.setdefault((check.nodeid, check.key.hardware_key), []).append(check)
        ordered = [
            (nodeid, hardware, sorted(checks, key=lambda c: _RANK[c.verdict.outcome]))
            for (nodeid, hardware), checks in groups.items()
        ]
        return sorted(ordered, key=lambda group: _RANK[group[2][0].verdict.outcome])

    def summary(self) -> str:
        """One line: how many checks, and what became of them."""
        over_limit = [Outcome.OVER_LIMIT] if self.count(Outcome.OVER_LIMIT) else []
        shown = [Outcome.REGRESSION, *over_limit, Outcome.IMPROVEMENT, Outcome.PASS]
        parts = [outcome.counted(self.count(outcome)) for outcome in shown]
        compared = counted(len(self.checks), "check")
        line = f"{compared} compared: {', '.join(parts)}; {len(self.added)} added, {len(self.removed)} removed"
        nothing_compared = all(check.verdict.baseline is None for check in self.checks)
        if nothing_compared and self.base_hardware and self.new_hardware and not self.base_hardware & self.new_hardware:
            line += (
                f" (the runs share no hardware key: {', '.join(sorted(self.base_hardware))} against "
                f"{', '.join(sorted(self.new_hardware))}, so nothing was compared with the base)"
            )
        return line


def compare_runs(
    base: RunExport, new: RunExport, *, threshold: Quantity | None = None, policy: NoisePolicy | None = None
) -> Comparison:
    """Judge the new run's checks against the base run's measurements."""
    entries = _base_entries(base)
    judged = _judge_all(new, entries.get, threshold, policy)
    measured = {check.key for check in new.checks}
    removed = [key for key in entries if key not in measured and key not in judged.used]
    base_hardware = frozenset(check.hardware_key for check in base.checks)
    return judged.comparison(new, removed, base_hardware)


def compare_with_baselines(
    new: RunExport, store: BaselineStore, *, threshold: Quantity | None = None, policy: NoisePolicy | None = None
) -> Comparison:
    """Judge the new run's checks against the committed baseline entries, as the plugin would."""
    produced = {check.key for check in new.checks if is_compared(_asked(check))}
    try:
        places = sorted({(key.hardware_key, key.module) for key in produced})
        stored = {key for hardware, module in places for key in store.keys(hardware, module)}
        judged = _judge_all(new, store.lookup, threshold, policy)
    except BaselineError as error:
        raise CompareError(str(error)) from None
    removed = sorted(stored - produced - judged.used)
    return judged.comparison(new, removed, frozenset(key.hardware_key for key in stored))


def _base_entries(base: RunExport) -> dict[EntryKey, BaselineEntry]:
    """The baseline entries an update of the base run would have recorded: one per key, from the
    first compared check (a check with only a limit records none), in the form the store keeps."""
    entries: dict[EntryKey, BaselineEntry] = {}
    for check in base.checks:
        if not is_compared(_asked(check)) or check.key in entries:
            continue
        try:
            entries[check.key] = entry_as_stored(check.measurement, environment=check.environment, recorded=base.started)
        except FormatError as error:
            raise CompareError(f"{base.path}: {check.key.describe()}: cannot stand as a baseline: {error}") from None
    return entries


@dataclass(frozen=True)
class _Judged:
    checks: tuple[ComparedCheck, ...]
    added: tuple[EntryKey, ...]
    used: frozenset[EntryKey]  # the keys whose entries some check was judged against

    def comparison(self, new: RunExport, removed: Sequence[EntryKey], base_hardware: frozenset[str]) -> Comparison:
        return Comparison(
            checks=self.checks,
            added=self.added,
            removed=tuple(removed),
            base_hardware=base_hardware,
            new_hardware=frozenset(check.hardware_key for check in new.checks),
        )


def _judge_all(new: RunExport, lookup: Lookup, threshold: Quantity | None, policy: NoisePolicy | None) -> _Judged:
    policy = policy or new.noise or NoisePolicy()
    checks: list[ComparedCheck] = []
    added: dict[EntryKey, None] = {}
    used: set[EntryKey] = set()
    for check in new.checks:
        wanted = Check(check.statistic, _threshold(check, threshold), check.limit)
        resolution = resolve_baseline(check.key, check.measurement, wanted, lookup)
        try:
            verdict = judge(resolution.annotate(check.measurement), wanted, resolution.entry, policy)
        except (ComparisonError, UnitError) as error:
            raise CompareError(f"{check.key.describe()}: {error}") from None
        if resolution.key is not None:
            used.add(resolution.key)
        if verdict.outcome is Outcome.NO_BASELINE:
            added[check.key] = None
        else:
            checks.append(ComparedCheck(check.key, check.nodeid, verdict))
    return _Judged(tuple(checks), tuple(added), frozenset(used))


def _asked(check: ExportedCheck) -> Check:
    """What the check asked in its run: its statistic, threshold and limit."""
    return Check(check.statistic, check.threshold, check.limit)


def _threshold(check: ExportedCheck, override: Quantity | None) -> Quantity | None:
    """The check's own threshold, or the override where the check has one, its measurement is
    sampled (an exact metric stays exact, as the plugin's --modelperf-threshold leaves it), and
    the override's unit fits (an absolute "5ms" leaves memory metrics to their own thresholds)."""
    if override is None or check.threshold is None or check.measurement.deterministic:
        return check.threshold
    if not override.is_relative:
        try:
            override.in_unit(check.measurement.unit)
        except UnitError:
            return check.threshold
    return override
