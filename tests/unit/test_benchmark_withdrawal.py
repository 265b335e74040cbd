"""Taking a test's attempt back from pytest-benchmark before a confirming re-run."""

from __future__ import annotations

from types import SimpleNamespace

from pytest_modelperf.run.benchmark_bridge import withdraw_from_benchmark


def item_with(fixture: object, results: object) -> SimpleNamespace:
    return SimpleNamespace(
        funcargs={"benchmark": fixture}, config=SimpleNamespace(_benchmarksession=SimpleNamespace(benchmarks=results))
    )


def test_the_attempts_result_is_removed_and_the_fixture_can_be_used_again():
    mine, other = object(), object()
    fixture = SimpleNamespace(_mode="pytest-modelperf", stats=mine, has_error=False)
    results = [other, mine]
    assert withdraw_from_benchmark(item_with(fixture, results))
    assert results == [other]
    assert fixture._mode is None and fixture.stats is None


def test_a_test_without_the_fixture_needs_nothing_taken_back():
    assert withdraw_from_benchmark(SimpleNamespace(funcargs={}))


def test_an_unknown_pytest_benchmark_is_left_alone_and_the_test_not_rerun():
    fixture = SimpleNamespace(_mode="benchmark(...)", stats=object())
    assert not withdraw_from_benchmark(item_with(fixture, None))
    assert fixture._mode == "benchmark(...)"
