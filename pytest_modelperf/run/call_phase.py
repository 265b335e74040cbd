"""A test's call phase judged by its checks: re-run while its failure could be chance, then fail,
warn about missing baselines, or pass.

``judged_call`` is the body of the plugin's ``pytest_runtest_call`` wrapper; what to do after
each attempt is ``confirmation.Confirming``'s decision.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator

import pytest

from ..core.verdict import Outcome, Verdict
from ..markers import marker_options
from ..options import UPDATE_SWITCHES, MissingPolicy, Settings
from ..render.cells import missing_baseline_advice
from ..render.terminal import failure_message
from .attempt import attempt_verdicts, begin_attempt
from .benchmark_bridge import withdraw_from_benchmark
from .confirmation import Confirming, Decision
from .session import ModelPerfSession, session_of


class ModelPerfWarning(UserWarning):
    """A measurement has no baseline on this hardware, or a baseline could not be written."""


class ModelPerfRegression(AssertionError):
    """A measurement regressed against its baseline or crossed its limit."""


def judged_call(item: pytest.Item) -> Generator[None, object, object]:
    """Run the test (the hook's ``yield``), re-run it while ``Confirming`` says so, then raise
    for its failing checks, or warn about its missing baselines.

    A skip after failing checks (say, GPU memory on a CPU machine) does not hide them.
    """
    __tracebackhide__ = True
    session = session_of(item.config)
    skipped: BaseException | None = None
    result: object = None
    try:
        result = yield
    except pytest.skip.Exception as skip:
        skipped = skip
    confirming = Confirming(item.nodeid, marker_options(item).confirmations(session.settings))
    decision = confirming.after_attempt(failing_verdicts(item, session))
    while decision is Decision.RERUN:
        if not withdraw_from_benchmark(item):
            # This pytest-benchmark would report the test twice: the attempt so far decides.
            decision = confirming.settle(failing_verdicts(item, session))
            break
        session.withdraw(session.test_key(item))
        begin_attempt(item)
        confirming.rerun_started()
        skipped = None
        try:
            item.runtest()
        except pytest.skip.Exception as skip:
            skipped = skip
        decision = confirming.after_attempt(failing_verdicts(item, session))
    confirmation = confirming.confirmation(decision)
    if confirmation is not None:
        session.confirmations.append(confirmation)
    if skipped is not None:
        if decision.fails:
            raise_for_failures(item, session)
        raise skipped
    session.completed.add(session.test_key(item))
    if decision.fails:
        raise_for_failures(item, session)
    warn_of_missing_baselines(item)
    return result


def failing_verdicts(item: pytest.Item, session: ModelPerfSession) -> list[Verdict]:
    """The verdicts of the current attempt that fail the test; a missing baseline does under missing=fail."""
    missing_fails = marker_options(item).missing_policy(session.settings) is MissingPolicy.FAIL
    return [v for v in attempt_verdicts(item) if session.fails(v) or (missing_fails and v.outcome is Outcome.NO_BASELINE)]


def raise_for_failures(item: pytest.Item, session: ModelPerfSession) -> None:
    """Fail the test with every check of its last attempt, and why the failing ones failed."""
    __tracebackhide__ = True
    hardware = ", ".join(sorted({r.key.hardware_key for r in session.records_of(session.test_key(item))}))
    confirmation = next((c for c in reversed(session.confirmations) if c.nodeid == item.nodeid), None)
    failing = failing_verdicts(item, session)
    flag = update_flag(session.settings)
    message = failure_message(item.nodeid, hardware, attempt_verdicts(item), failing, confirmation, update_flag=flag)
    raise ModelPerfRegression(message)


def warn_of_missing_baselines(item: pytest.Item) -> None:
    flag = update_flag(session_of(item.config).settings)
    for verdict in attempt_verdicts(item):
        if verdict.outcome is Outcome.NO_BASELINE:
            why = f" ({verdict.detail})" if verdict.detail else ""
            warnings.warn(ModelPerfWarning(f"{verdict.metric}: {missing_baseline_advice(verdict, flag)}{why}"), stacklevel=1)


def update_flag(settings: Settings) -> str | None:
    """The flag that writes baselines in this run (``--modelperf-update-missing``), or None."""
    option = UPDATE_SWITCHES.get(settings.update)
    return option.flag if option is not None else None
