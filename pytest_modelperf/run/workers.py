"""Runs distributed by pytest-xdist: which process this is, and what such a run cannot do."""

from __future__ import annotations

import pytest

from ..options import Settings


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker: it sees only the tests sent to it."""
    return hasattr(config, "workerinput")


def runs_in_workers(config: pytest.Config) -> bool:
    """Whether pytest-xdist distributes this run (checked in the controller, before workers start,
    as xdist decides it: its pytest_cmdline_main has turned -n into --dist and --tx by now)."""
    if is_worker(config):
        return True
    return config.getoption("dist", "no") != "no" and not config.getoption("collectonly", False)


def refuse_whole_run_writers(config: pytest.Config, settings: Settings) -> None:
    """A usage error when a distributed run is asked to write a file from every test's checks."""
    writers = settings.whole_run_writers()
    if writers and runs_in_workers(config):
        raise pytest.UsageError(
            f"modelperf: {', '.join(writers)} cannot be used with -n (pytest-xdist): each writes one file from every "
            "test's checks, and the tests run in separate worker processes; run without -n, or with -n 0"
        )
