"""Session state: settings, the store, loaded models, and every measurement judged in this run.

Kept in ``config.stash`` under ``SESSION``; the plugin hooks read it, the fixture writes to it.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from ..core.baseline_entry import BaselineEntry, EntryKey
from ..core.judge import ComparisonError
from ..core.judge import judge as verdict_of
from ..core.measurement import Measurement, is_fault
from ..core.policy import is_compared, resolve_baseline
from ..core.verdict import Check, Outcome, Verdict
from ..measure.baseline_keys import baseline_key
from ..measure.environment import environment_id, software_environment
from ..measure.threads import pin_threads
from ..models.loading import ModelCache, resolve_device
from ..models.registry import Registry, RegistryError, load_registry, registry_from_pyproject
from ..options import Settings, UpdateMode
from ..quality.prepare import registry_checkpoint
from ..storage.baseline_store import BaselineError, BaselineStore, JsonBaselineStore, WriteResult
from ..storage.run_history import SavedRun
from .confirmation import Confirmation
from .selection import Selection, TestKey, identify, module_key
from .workers import refuse_whole_run_writers, worker_count


@dataclass(frozen=True)
class JudgedMeasurement:
    """One measurement a test checked: where its baseline lives and the verdict on it."""

    nodeid: str
    key: EntryKey
    verdict: Verdict
    environment: str
    compared_with_baseline: bool
    worker: str = ""  # the pytest-xdist worker that made it, named only where every worker runs every test


@dataclass
class Orphan:
    key: EntryKey
    reason: str


@dataclass
class ModelPerfSession:
    settings: Settings
    store: BaselineStore
    models: ModelCache = field(default_factory=ModelCache)
    records: list[JudgedMeasurement] = field(default_factory=list)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)
    completed: set[TestKey] = field(default_factory=set)  # tests whose body ran to its end
    writes: list[WriteResult] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    unpruned: dict[str, str] = field(default_factory=dict)  # module -> why --modelperf-prune left it alone
    confirmations: list[Confirmation] = field(default_factory=list)
    write_errors: list[str] = field(default_factory=list)  # one line per file the session end could not write
    orphans_unchecked: list[str] = field(default_factory=list)  # baseline files too broken to look for orphans in
    _environment_ids: dict[str, str] = field(default_factory=dict)
    _registry: Registry | None = None
    _registered: dict[str, str] = field(default_factory=dict)
    started: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    # pytest-xdist, in the controller: workers whose state was merged, and one line per worker that left none
    merged_workers: set[str] = field(default_factory=set)
    lost_workers: list[str] = field(default_factory=list)
    worker_runs: set[str] = field(default_factory=set)  # the xdist run ids (testrunuid) the workers ran under
    workers: int = 1  # the pytest-xdist workers sharing this machine's cores (1 without xdist)
    smoke_checks: list[str] = field(default_factory=list)  # --modelperf-disable: each unjudged check's node id
    saved_runs: list[SavedRun] = field(default_factory=list)  # --modelperf-autosave: where this run was saved

    @classmethod
    def from_config(cls, config: pytest.Config) -> ModelPerfSession:
        settings = Settings.from_pytest_config(config)
        return cls(settings=settings, store=JsonBaselineStore(settings.baseline_dir))

    def records_of(self, test: TestKey) -> list[JudgedMeasurement]:
        """The measurements judged for one test (of its last attempt, once earlier ones are withdrawn)."""
        return [record for record in self.records if _belongs_to(record, test)]

    # -- identifying tests ---------------------------------------------------------------

    def split_nodeid(self, nodeid: str) -> tuple[str, str]:
        """(module key, test name) of a collected test; see ``selection.module_key``."""
        identity = self.selection.identity(nodeid)
        return identity.module, identity.test

    def note_collect_report(self, collector: pytest.Collector, report: pytest.CollectReport) -> None:
        """What a module (or a class in it) holds, as collected: before ``--lf`` filters it."""
        if isinstance(collector, (pytest.Session, pytest.Directory)):
            return
        module = module_key(collector.path, self.settings.root)
        children = report.result if report.passed else []
        items = [c for c in children if isinstance(c, pytest.Item)]
        tests = [(c.nodeid, identify(c.nodeid, module_key(c.path, self.settings.root))) for c in items]
        collectors = [c.nodeid for c in children if not isinstance(c, pytest.Item)]
        self.selection.found_in_module(module, collector.nodeid, succeeded=report.passed, tests=tests, collectors=collectors)

    def note_selected(self, items: list[pytest.Item]) -> None:
        self.selection.select(item.nodeid for item in items)

    def test_key(self, item: pytest.Item) -> TestKey:
        return identify(item.nodeid, module_key(item.path, self.settings.root))

    def begin_test(self, item: pytest.Item) -> None:
        """Checks made under this node id belong to this item's module: modules outside the root
        dir given as separate arguments can share a node id such as ``::test_latency``."""
        self.selection.identities[item.nodeid] = self.test_key(item)

    # -- the model registry --------------------------------------------------------------

    def registry(self) -> Registry:
        if self._registry is None:
            root = self.settings.root
            path = root / self.settings.registry if self.settings.registry else registry_from_pyproject(root)
            if path is None:
                raise RegistryError(
                    "no model registry: set [tool.modelperf] registry in pyproject.toml or pass --modelperf-registry"
                )
            self._registry = load_registry(path)
        return self._registry

    def registered_checkpoint(self, name: str) -> tuple[str, str]:
        """(checkpoint, task) of a registry model: its hub id with --modelperf-online, else its offline
        one; a fine-tuned model is fine-tuned from its base on first use (and cached)."""
        registry = self.registry()
        spec = registry.model(name)
        if name not in self._registered:
            device = resolve_device(self.settings.device) if spec.fine_tuned else "cpu"
            self._registered[name] = registry_checkpoint(registry, name, online=self.settings.online, device=device)
        return self._registered[name], spec.task

    # -- checking ------------------------------------------------------------------------

    def environment_for(self, device: str) -> str:
        if device not in self._environment_ids:
            environment = software_environment(device, self.settings.root)
            identifier = environment_id(environment)
            self.environments.setdefault(identifier, environment)
            self._environment_ids[device] = identifier
        return self._environment_ids[device]

    def judge(self, nodeid: str, measurement: Measurement, check: Check) -> JudgedMeasurement:
        """Judge a test's measurement against its baseline under ``check``, and keep the result."""
        device = str(measurement.context.get("device", "cpu"))
        dtype = str(measurement.context.get("dtype", self.settings.dtype))
        module, test = self.split_nodeid(nodeid)
        key = EntryKey(baseline_key(device, dtype, measurement.name), module, test, measurement.name)
        resolution = resolve_baseline(key, measurement, check, self._lookup)  # the rule modelperf compare follows too
        try:
            verdict = verdict_of(resolution.annotate(measurement), check, resolution.entry, self.settings.noise)
        except ComparisonError as error:
            if self.settings.update is not UpdateMode.ALL:
                where = self._baseline_file(resolution.key or key)
                raise ComparisonError(f"{where}: {error}; re-record the baseline with --modelperf-update") from None
            verdict = self._judged_afresh(measurement, check, error)
        record = JudgedMeasurement(nodeid, key, verdict, self.environment_for(device), is_compared(check))
        self.records.append(record)
        return record

    def _judged_afresh(self, measurement: Measurement, check: Check, error: ComparisonError) -> Verdict:
        """Under --modelperf-update, a check whose baseline cannot be compared (another unit or
        direction): judged as having none, since this run re-records it."""
        verdict = verdict_of(measurement, check, None, self.settings.noise)
        why = f"its baseline could not be compared: {error}"
        return replace(verdict, detail=f"{why}; {verdict.detail}" if verdict.detail else why)

    def _baseline_file(self, key: EntryKey) -> str:
        """Where a key's entry is stored, for errors: its file (relative to the root) in a JSON store."""
        if not isinstance(self.store, JsonBaselineStore):
            return f"the baseline of {key.module}::{key.test} on {key.hardware_key}"
        path = self.store.path_for(key.hardware_key, key.module)
        return str(path.relative_to(self.settings.root)) if path.is_relative_to(self.settings.root) else str(path)

    def withdraw(self, test: TestKey) -> None:
        """Forget the checks of a test's attempt that is being re-run; the re-run's checks count."""
        self.records = [record for record in self.records if not _belongs_to(record, test)]

    def fails(self, verdict: Verdict) -> bool:
        """Whether a verdict fails its test: a regression being re-recorded by --modelperf-update does not,
        unless it is a fault of the measuring (NaN, a zero divisor), which is never recorded."""
        re_recorded = verdict.outcome is Outcome.REGRESSION and self.settings.update is UpdateMode.ALL
        if re_recorded and not is_fault(verdict.measurement.unavailable):
            return False
        return verdict.failed

    def _lookup(self, key: EntryKey) -> BaselineEntry | None:
        try:
            return self.store.lookup(key)
        except BaselineError:
            if self.settings.update is UpdateMode.ALL:
                return None  # the file is re-recorded at the end of the session; the broken one is kept aside
            raise

    # -- updating ------------------------------------------------------------------------

    def pending_updates(self) -> dict[EntryKey, BaselineEntry]:
        mode = self.settings.update
        if mode is UpdateMode.NONE:
            return {}
        recorded = _dt.date.today().isoformat()
        updates: dict[EntryKey, BaselineEntry] = {}
        for record in self.records:
            if not record.compared_with_baseline or record.key in updates or is_fault(record.verdict.measurement.unavailable):
                continue  # a NaN or a zero divisor is a fault to fix, never a baseline to keep
            existing = self._lookup(record.key)  # under --modelperf-update a broken file reads as none
            if mode is UpdateMode.MISSING and (existing is not None or record.verdict.outcome is not Outcome.NO_BASELINE):
                continue  # judged against a baseline, perhaps the full-precision one: not missing
            keeps_spread = mode is UpdateMode.ALL and not self.settings.forget_spread
            updates[record.key] = BaselineEntry.from_measurement(
                record.verdict.measurement,
                environment=record.environment,
                recorded=recorded,
                previous=existing if mode is UpdateMode.ADD_RUN else None,
                replaced=existing if keeps_spread else None,
                spread_floor=self.settings.noise.assumed_spread,
            )
        return updates

    def find_orphans(self) -> list[Orphan]:
        """Entries of this run's hardware keys, in modules that ran, that this run did not produce:
        of a test that ran, or of a test gone from a module whose every test this run selected."""
        produced: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        for record in self.records:
            if record.compared_with_baseline:
                produced[(record.key.hardware_key, record.key.module)].add((record.key.test, record.key.measurement))
        orphans: list[Orphan] = []
        for (hardware, module), made in sorted(produced.items()):
            fully_selected = self.selection.why_not_covered(module) is None
            found = self.selection.found.get(module, set())
            try:
                stored = self.store.keys(hardware, module)
            except BaselineError as error:  # the tests reading it fail on it; other files are still looked at
                self.orphans_unchecked.append(str(error))
                continue
            for key in stored:
                if (key.test, key.measurement) in made:
                    continue
                if TestKey(module, key.test) in self.completed:
                    orphans.append(Orphan(key, "the test ran but did not produce this measurement"))
                elif fully_selected and key.test not in found:
                    orphans.append(Orphan(key, "the test no longer exists"))
        return orphans

    def modules_left_unpruned(self) -> dict[str, str]:
        """Modules that ran but that the selection does not cover in full, and why."""
        ran = {record.key.module for record in self.records if record.compared_with_baseline}
        reasons = {module: self.selection.why_not_covered(module) for module in sorted(ran)}
        return {module: reason for module, reason in reasons.items() if reason is not None}

    @property
    def write_error(self) -> str | None:
        return "; ".join(self.write_errors) or None

    def finish(self) -> None:
        """Find the orphans and update the baselines; BaselineError (naming the file) if they cannot be."""
        self.orphans = self.find_orphans()
        updates = self.pending_updates()
        removals = [orphan.key for orphan in self.orphans] if self.settings.prune else []
        if self.settings.prune:
            self.unpruned = self.modules_left_unpruned()
        if updates or removals:
            self.writes = self.store.apply(updates, removals, self.environments)


def _belongs_to(record: JudgedMeasurement, test: TestKey) -> bool:
    return (record.key.module, record.key.test) == (test.module, test.test)


SESSION = pytest.StashKey[ModelPerfSession]()


def start_session(config: pytest.Config) -> ModelPerfSession:
    """Read the settings, refuse what a distributed run cannot do, and keep the session in the config."""
    session = ModelPerfSession.from_config(config)
    session.workers = worker_count(config)
    refuse_whole_run_writers(config, session.settings)
    config.stash[SESSION] = session
    return session


def begin_run(session: ModelPerfSession) -> None:
    """What a run (not ``--help``) sets up before its first test: the pinned thread count."""
    pin_threads(session.settings.threads, session.workers)


def session_of(config: pytest.Config) -> ModelPerfSession:
    return config.stash[SESSION]


def model_registry(config: pytest.Config) -> Registry:
    """The session's model registry ([tool.modelperf] registry or --modelperf-registry), e.g. to
    parametrize tests over its model names in a ``pytest_generate_tests`` hook."""
    try:
        return session_of(config).registry()
    except RegistryError as error:
        raise pytest.UsageError(f"modelperf: {error}") from None
