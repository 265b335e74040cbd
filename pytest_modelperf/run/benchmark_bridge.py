"""Hands latency samples to pytest-benchmark so that its table, ``--benchmark-json``,
``--benchmark-autosave`` and ``--benchmark-compare`` include them.

The samples are measured by modelperf (CUDA events on GPU); pytest-benchmark only receives
the finished per-round durations, exactly as if its own timer had produced them. This uses
``BenchmarkFixture._make_stats``, the one hook pytest-benchmark offers for that; a fixture
can carry one result, as in pytest-benchmark itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ..core.extras import require


class BenchmarkBridgeError(RuntimeError):
    pass


def report_to_benchmark(benchmark: Any, round_seconds: Sequence[float], extra_info: Mapping[str, Any]) -> None:
    """Hand a measurement's per-round seconds to the test's pytest-benchmark fixture."""
    require("pytest_benchmark", "benchmark", "measure_latency(benchmark=...)")
    make_stats = getattr(benchmark, "_make_stats", None)
    if make_stats is None:
        raise BenchmarkBridgeError("benchmark= expects pytest-benchmark's `benchmark` fixture")
    if getattr(benchmark, "disabled", False):
        return
    if getattr(benchmark, "_mode", None):
        raise BenchmarkBridgeError(
            f"this test's benchmark fixture already holds a result ({benchmark._mode}); pass it to one measurement only"
        )
    benchmark._mode = "pytest-modelperf"
    stats = make_stats(1)
    for seconds in round_seconds:
        stats.update(seconds)
    benchmark.extra_info.update(extra_info)


def withdraw_from_benchmark(item: pytest.Item) -> bool:
    """Take back what a test's attempt handed pytest-benchmark, before the test is re-run to
    confirm a failure: the re-run may use the fixture again, and pytest-benchmark then reports
    one result for the test, the last attempt's, as modelperf's checks do.

    False when the test's fixture is not built the way this knows (pytest-benchmark 4 and 5:
    ``_mode``, ``stats``, and the session's ``benchmarks`` list its results are appended to).
    """
    fixture = getattr(item, "funcargs", {}).get("benchmark")
    if fixture is None:
        return True
    results = getattr(getattr(item.config, "_benchmarksession", None), "benchmarks", None)
    if not isinstance(results, list) or not hasattr(fixture, "_mode") or not hasattr(fixture, "stats"):
        return False
    results[:] = [result for result in results if result is not fixture.stats or fixture.stats is None]
    fixture._mode = None
    fixture.stats = None
    fixture.has_error = False
    return True
