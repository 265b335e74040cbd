"""Two pytest processes updating one baseline file at once keep every entry of both."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The conftest's fast timing options, for runs in their own processes.
FAST = (
    "--modelperf-min-rounds=3",
    "--modelperf-max-rounds=20",
    "--modelperf-max-time=0.05",
    "-o",
    "modelperf_warmup_rounds=1",
    "-o",
    "modelperf_warmup_time=0",
    "-p",
    "no:cacheprovider",
)

# Each test checks (so its session has read the baseline file, finding none), then waits
# until the other process has too: both sessions then update a file that neither saw the
# other's entry in. Updates merged under the lock keep both entries; a session that wrote
# what it had read would drop the other's.
TESTS = """
import time
from pathlib import Path

def wait_for(name, other):
    Path(name).touch()
    deadline = time.monotonic() + 300
    while not Path(other).exists():
        assert time.monotonic() < deadline, f"{other} never appeared"
        time.sleep(0.02)

def test_a(modelperf):
    modelperf.check(modelperf.record("latency", [10.0] * 20, unit="ms"))
    wait_for("a.ready", "b.ready")

def test_b(modelperf):
    modelperf.check(modelperf.record("memory", 100.0, unit="MB", deterministic=True))
    wait_for("b.ready", "a.ready")
"""


def test_two_sessions_updating_one_file_at_once_keep_both_entries(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_perf=TESTS)
    sessions = [
        pytester.popen(
            [sys.executable, "-m", "pytest", *FAST, f"test_perf.py::{name}", "--modelperf-update"],
            stdout=pytester.path.joinpath(f"{name}.out").open("w"),
            stderr=subprocess.STDOUT,
        )
        for name in ("test_a", "test_b")
    ]
    for session, name in zip(sessions, ("test_a", "test_b"), strict=True):
        session.wait(timeout=600)
        assert session.returncode == 0, pytester.path.joinpath(f"{name}.out").read_text()
    (path,) = (pytester.path / "baselines").rglob("test_perf.json")
    stored = json.loads(path.read_text())
    assert {test: sorted(entries) for test, entries in stored["tests"].items()} == {"test_a": ["latency"], "test_b": ["memory"]}
    assert sorted(p.name for p in path.parent.iterdir()) == ["test_perf.json"]
