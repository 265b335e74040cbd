"""The pytest entry point: the hooks and the ``modelperf`` fixture, each handing over to the layer that does the work.

Kept free of torch imports: ``pytest --help`` must stay fast without a GPU.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from .fixture import ModelPerf
from .markers import MARKER_LINE, marker_options
from .options import add_options
from .run.call_phase import judged_call
from .run.header import header_lines
from .run.marking import MARKER_DESCRIPTION, mark_and_skip
from .run.session import begin_run, session_of, start_session
from .run.session_end import finish_session, write_summary
from .run.tables import shown_tables
from .run.workers import WorkerNode, hand_over, is_worker, take_over


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER_LINE}; {MARKER_DESCRIPTION}")
    start_session(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    begin_run(session_of(session.config))  # before the header, which reports the thread count


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header_lines(session_of(config).settings)  # imports torch: only a run prints a header


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    # Innermost wrapper: sees a module's every test before --lf's wrapper filters them.
    report = yield
    session_of(collector.config).note_collect_report(collector, report)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Before -m deselects: the mark added here is what -m modelperf selects.
    mark_and_skip(items, session_of(config).settings)


def pytest_collection_finish(session: pytest.Session) -> None:
    session_of(session.config).note_selected(session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    session_of(item.config).begin_test(item)


@pytest.fixture
def modelperf(request: pytest.FixtureRequest) -> ModelPerf:
    """Load checkpoints, measure latency, throughput, memory and model facts, and check them."""
    return ModelPerf(session_of(request.config), request.node, marker_options(request.node))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Judge the test's checks; a failure on noisy measurements only is confirmed by re-runs."""
    __tracebackhide__ = True
    return (yield from judged_call(item))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if is_worker(session.config):
        hand_over(session.config, session_of(session.config))  # the controller writes the files
    else:
        finish_session(session)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: WorkerNode, error: object) -> None:
    """pytest-xdist, in the controller: a worker is done; merge its checks (before the session's end)."""
    take_over(session_of(node.config), node, error)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not is_worker(config):
        write_summary(terminalreporter, session_of(config))
        write_tables(terminalreporter)


def write_tables(terminal: pytest.TerminalReporter) -> None:
    """The tables tests showed (``modelperf.show_table``), each under its title."""
    reports = [report for kind in ("passed", "failed") for report in terminal.stats.get(kind, ())]
    for table in shown_tables(reports):
        terminal.section(table.title, sep="-")
        for line in table.markdown()[2:]:
            terminal.write_line(line)
