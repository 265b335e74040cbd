"""With ``pytest -v``, each check's verdict as it is judged, one line under its test.

pytest's own ``-v`` shows each test's outcome as it ends; a long test that makes many checks
(a sweep cell, a quality evaluation) would otherwise show nothing of them until the run's
summary. Without ``-v`` nothing is printed: the default output stays pytest's. A pytest-xdist
worker has no terminal of its own, so under ``-n`` only the summary shows the checks.
"""

from __future__ import annotations

from contextlib import nullcontext

import pytest

from ..core.verdict import Verdict
from ..render.terminal import verdict_line


def announce(config: pytest.Config, verdict: Verdict) -> None:
    """Print the verdict's line on the terminal at ``-v`` and above, past pytest's output capture."""
    if config.get_verbosity() < 1 or hasattr(config, "workerinput"):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        reporter.write_line(verdict_line(verdict))
