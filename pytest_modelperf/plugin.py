"""The pytest entry point: options, ini keys, the marker, the fixture and the hooks.

Kept thin and free of torch imports: ``pytest --help`` must stay fast without a GPU.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator

import pytest

from .core.verdict import Outcome, Verdict
from .models.registry import Registry, RegistryError
from .options import DEFAULTS, MarkerOptions, MissingPolicy, Settings, UpdateMode, confirmations
from .run.session import Confirmation, ModelPerfSession

STATE = pytest.StashKey[ModelPerfSession]()


class ModelPerfWarning(UserWarning):
    """A measurement has no baseline on this hardware, or a baseline could not be written."""


class ModelPerfRegression(AssertionError):
    """A measurement regressed against its baseline or crossed its limit."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("modelperf", "model performance regression testing (pytest-modelperf)")

    def add(name: str, help: str, **kwargs: object) -> None:
        flag = f"--modelperf-{name.replace('_', '-')}"
        escaped = help.replace("%", "%%")  # argparse %-formats help texts
        group.addoption(flag, dest=f"modelperf_{name}", default=None, help=escaped, **kwargs)  # type: ignore[arg-type]
        parser.addini(f"modelperf_{name}", help=f"{help} (ini form of {flag})", default=DEFAULTS[name])

    add("baseline_dir", "folder of the baseline JSON files, relative to the root dir (default: baselines)", metavar="DIR")
    add("threshold", "default allowed change towards worse for sampled metrics, e.g. 10% or 5ms (default: 10%)", metavar="Q")
    add("confidence", "one-sided confidence of the noise band (default: 0.99)", metavar="P")
    add("assumed_noise", "between-run spread assumed when a baseline holds fewer than two runs (default: 5%)", metavar="PCT")
    add("missing", "what a measurement without a baseline does: warn or fail (default: warn)", choices=["warn", "fail"])
    add("device", "device to measure on: auto, cpu, cuda or cuda:N (default: auto)", metavar="DEVICE")
    add("dtype", "dtype to load models in: float32, float16 or bfloat16 (default: float32)", metavar="DTYPE")
    add("min_rounds", "fewest timed rounds per latency measurement (default: 10)", metavar="N")
    add("max_rounds", "most timed rounds per latency measurement (default: 200)", metavar="N")
    add("max_time", "seconds after which timing stops once min rounds are done (default: 2.0)", metavar="S")
    add("confirm", "re-runs that must reproduce a failure on sampled measurements (timings) before it fails the test (default: 1)", metavar="N")
    add("calibrate", "on the CPU, time a reference workload beside each timing and judge times at the machine's current speed (default: true)", metavar="BOOL")
    add("registry", "model registry TOML, relative to the root dir (default: [tool.modelperf] registry in pyproject.toml)", metavar="PATH")
    add("csv", "write one row per check to PATH as CSV, for pandas.read_csv (as an ini key: relative to the root dir; default: none)", metavar="PATH")
    add("html", "write a self-contained HTML report of the run (checks, plots, environment) to PATH (as an ini key: relative to the root dir; default: none)", metavar="PATH")
    parser.addini("modelperf_warmup_rounds", "fewest warm-up rounds before timing (default: 3)", default=DEFAULTS["warmup_rounds"])
    parser.addini("modelperf_warmup_time", "least warm-up seconds before timing (default: 0.5)", default=DEFAULTS["warmup_time"])
    parser.addini("modelperf_noise_aware", "account for measured noise in verdicts (default: true)", default=DEFAULTS["noise_aware"])

    group.addoption("--modelperf-update", action="store_true", dest="modelperf_update", default=False,
                    help="rewrite the baseline entries of the checks that ran, on this hardware only")
    group.addoption("--modelperf-update-missing", action="store_true", dest="modelperf_update_missing", default=False,
                    help="write baseline entries only where none exists yet")
    group.addoption("--modelperf-add-run", action="store_true", dest="modelperf_add_run", default=False,
                    help="add this run to the entries' recorded runs, so that baselines learn the spread between runs")
    group.addoption("--modelperf-prune", action="store_true", dest="modelperf_prune", default=False,
                    help="with --modelperf-update: remove orphaned entries of this hardware in the modules that ran")
    group.addoption("--modelperf-forget-spread", action="store_true", dest="modelperf_forget_spread", default=False,
                    help="with --modelperf-update: start the between-run spread afresh instead of keeping what earlier runs taught")
    group.addoption("--modelperf-online", action="store_true", dest="modelperf_online", default=False,
                    help="load registry models from their real hub checkpoints instead of the offline ones")
    group.addoption("--modelperf-json", dest="modelperf_json", default=None, metavar="PATH",
                    help="write every measurement and verdict of the run to PATH as JSON")
    group.addoption("--modelperf-markdown", dest="modelperf_markdown", default=None, metavar="PATH",
                    help="append a Markdown summary to PATH (default: $GITHUB_STEP_SUMMARY when set)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "modelperf(threshold=, device=, dtype=, missing=, warmup_rounds=, warmup_time=, min_rounds=, max_rounds=, "
        "max_time=, confirm=): per-test settings for the modelperf fixture",
    )
    state = ModelPerfSession.from_config(config)
    writers = _whole_run_writers(state.settings)
    if writers and _runs_in_workers(config):
        raise pytest.UsageError(
            f"modelperf: {', '.join(writers)} cannot be used with -n (pytest-xdist): each writes one file from every "
            "test's checks, and the tests run in separate worker processes; run without -n, or with -n 0"
        )
    config.stash[STATE] = state


def _whole_run_writers(settings: Settings) -> list[str]:
    """The options given that write one file from every test's checks: no worker sees them all."""
    update_flags = {UpdateMode.ALL: "--modelperf-update", UpdateMode.MISSING: "--modelperf-update-missing",
                    UpdateMode.ADD_RUN: "--modelperf-add-run"}
    writers = [update_flags[settings.update]] if settings.update in update_flags else []
    paths = {"--modelperf-json": settings.json_path, "--modelperf-csv": settings.csv_path, "--modelperf-html": settings.html_path}
    return writers + [flag for flag, path in paths.items() if path is not None]


def _runs_in_workers(config: pytest.Config) -> bool:
    """Whether pytest-xdist distributes this run (checked in the controller, before workers start,
    as xdist decides it: its pytest_cmdline_main has turned -n into --dist and --tx by now)."""
    if hasattr(config, "workerinput"):
        return True
    return config.getoption("dist", "no") != "no" and not config.getoption("collectonly", False)


def model_registry(config: pytest.Config) -> Registry:
    """The session's model registry ([tool.modelperf] registry or --modelperf-registry), e.g. to
    parametrize tests over its model names in a ``pytest_generate_tests`` hook."""
    try:
        return config.stash[STATE].registry()
    except RegistryError as error:
        raise pytest.UsageError(f"modelperf: {error}") from None


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    # Innermost wrapper: sees a module's every test before --lf's wrapper filters them.
    report = yield
    collector.config.stash[STATE].note_collect_report(collector, report)
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[STATE].note_selected(session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    item.config.stash[STATE].begin_test(item)


@pytest.fixture
def modelperf(request: pytest.FixtureRequest) -> object:
    """Load checkpoints, measure latency, throughput, memory and model facts, and check them."""
    from .fixture import ModelPerf

    state = request.config.stash[STATE]
    options = MarkerOptions.from_marker(request.node.get_closest_marker("modelperf"), request.node.nodeid)
    return ModelPerf(state, request.node, options)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Judge the test's checks; a failure on noisy measurements only is confirmed by re-runs.

    A machine-wide slow spell on a shared runner makes every timing in it slower at once, so
    a sampled regression must reproduce on each of ``confirm`` fresh runs of the test body
    before it fails the test. Exact measurements, exceptions and limits on exact values
    fail at once.
    """
    __tracebackhide__ = True
    state = item.config.stash[STATE]
    skipped: BaseException | None = None
    result: object = None
    try:
        result = yield
    except pytest.skip.Exception as skip:
        skipped = skip
    reruns, allowed = 0, _confirmations(item, state)
    first_failures = _noise_sensitive_failures(item, state)
    while reruns < allowed and _noise_sensitive_failures(item, state):
        from .fixture import begin_attempt
        from .run.benchmark_bridge import withdraw_from_benchmark

        if not withdraw_from_benchmark(item):
            break  # this pytest-benchmark would report the test twice: the first attempt decides
        state.withdraw(state.test_key(item))
        begin_attempt(item)
        reruns += 1
        skipped = None
        try:
            item.runtest()
        except pytest.skip.Exception as skip:
            skipped = skip
    if reruns:
        state.confirmations.append(Confirmation(item.nodeid, first_failures, reruns, reproduced=_failing(item, state) != []))
    if skipped is not None:
        # A skip after failing checks (say, GPU memory on a CPU machine) must not hide them.
        if _failing(item, state):
            _raise_for_verdicts(item)
        raise skipped
    state.completed.add(state.test_key(item))
    _raise_for_verdicts(item)
    return result


def _failing(item: pytest.Item, state: ModelPerfSession) -> list[Verdict]:
    from .fixture import VERDICTS

    missing_fails = _missing_policy(item, state) is MissingPolicy.FAIL
    return [
        v for v in item.stash.get(VERDICTS, [])
        if state.fails(v) or (missing_fails and v.outcome is Outcome.NO_BASELINE)
    ]


def _noise_sensitive_failures(item: pytest.Item, state: ModelPerfSession) -> tuple[Verdict, ...]:
    """The failing verdicts when all of them could be chance (sampled values); else none."""
    failing = _failing(item, state)
    if not failing:
        return ()
    if all(v.outcome in (Outcome.REGRESSION, Outcome.OVER_LIMIT) and v.measurement.noisy for v in failing):
        return tuple(failing)
    return ()


def _confirmations(item: pytest.Item, state: ModelPerfSession) -> int:
    marker = item.get_closest_marker("modelperf")
    options = MarkerOptions.from_marker(marker, item.nodeid)
    return confirmations(options, state.settings, item.nodeid)


def _raise_for_verdicts(item: pytest.Item) -> None:
    __tracebackhide__ = True
    from .fixture import VERDICTS

    state = item.config.stash[STATE]
    verdicts = item.stash.get(VERDICTS, [])
    if not verdicts:
        return
    missing = [v for v in verdicts if v.outcome is Outcome.NO_BASELINE]
    failing = _failing(item, state)
    if failing:
        from .render.report import failure_message

        test = state.test_key(item)
        hardware = ", ".join(sorted({r.key.hardware_key for r in state.records if (r.key.module, r.key.test) == (test.module, test.test)}))
        confirmation = next((c for c in reversed(state.confirmations) if c.nodeid == item.nodeid), None)
        raise ModelPerfRegression(failure_message(item.nodeid, hardware, verdicts, failing, confirmation))
    for verdict in missing:
        warnings.warn(
            ModelPerfWarning(f"{verdict.metric}: no baseline on this hardware; record it with --modelperf-update-missing"),
            stacklevel=1,
        )


def _missing_policy(item: pytest.Item, state: ModelPerfSession) -> MissingPolicy:
    marker = item.get_closest_marker("modelperf")
    chosen = marker.kwargs.get("missing") if marker else None
    if chosen is None:
        return state.settings.missing
    try:
        return MissingPolicy(chosen)
    except ValueError:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.modelperf(missing=...) must be warn or fail, got {chosen!r}") from None


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    from .run.session_end import write_session_files

    failures = write_session_files(config.stash[STATE])
    # A file not written is no test's verdict, so not TESTS_FAILED (1): INTERNAL_ERROR (3) tells
    # CI the run's outputs are incomplete; a status that already says failure is kept.
    if failures and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    from .render.report import summary_lines

    lines = summary_lines(config.stash[STATE])
    if lines:
        terminalreporter.section("modelperf")
        for line in lines:
            terminalreporter.write_line(line, red=line.startswith("error:"))
