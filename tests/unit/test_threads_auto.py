"""``auto`` threads: one on a share of two cores or fewer, each worker's share under xdist on a
larger machine, torch's own choice for a single process there."""

from __future__ import annotations

import pytest

from pytest_modelperf.measure.threads import auto_thread_count, resolve_thread_count


@pytest.mark.parametrize(
    ("cores", "workers", "expected"),
    [
        (1, 1, 1),
        (2, 1, 1),  # the project's 2-core runners
        (2, 2, 1),
        (4, 2, 1),  # a share of 2
        (4, 1, None),
        (16, 1, None),
        (16, 4, 4),
        (16, 8, 1),  # a share of 2
        (16, 16, 1),
        (3, 8, 1),  # more workers than cores still get one thread each
        (12, 5, 1),  # a share of 2 (12 // 5)
        (12, 3, 4),
        (24, 4, 6),
    ],
)
def test_auto_count(cores, workers, expected):
    assert auto_thread_count(cores, workers) == expected


def test_a_given_count_is_kept_whatever_the_machine():
    assert resolve_thread_count(3, workers=8) == 3


def test_auto_reads_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr("pytest_modelperf.measure.threads.usable_cores", lambda: 2)
    assert resolve_thread_count(None) == 1
    monkeypatch.setattr("pytest_modelperf.measure.threads.usable_cores", lambda: 32)
    assert resolve_thread_count(None) is None
    assert resolve_thread_count(None, workers=4) == 8
