"""Handing latency samples to pytest-benchmark: without it installed, one line names the extra."""

from __future__ import annotations

import sys

import pytest

from pytest_modelperf.core.extras import MissingExtra
from pytest_modelperf.run.benchmark_bridge import BenchmarkBridgeError, report_to_benchmark


def test_without_pytest_benchmark_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pytest_benchmark", None)  # an import of it raises ImportError
    with pytest.raises(MissingExtra) as raised:
        report_to_benchmark(object(), [0.001], {})
    assert str(raised.value) == (
        "measure_latency(benchmark=...) needs pytest-benchmark, which is not installed: pip install 'pytest-modelperf[benchmark]'"
    )


def test_something_else_than_the_benchmark_fixture_is_refused():
    pytest.importorskip("pytest_benchmark")
    with pytest.raises(BenchmarkBridgeError, match="benchmark= expects pytest-benchmark's `benchmark` fixture"):
        report_to_benchmark(object(), [0.001], {})
