"""--modelperf-threads pins torch's intra-op threads for the whole run: the header, the tests and
the speed reference all run under that count. Each run is a subprocess, so the count set there
never reaches this process's timings."""

from __future__ import annotations

import pytest

TESTS = """
import torch

def test_threads():
    assert torch.get_num_threads() == {count}

def test_reference(modelperf):
    from pytest_modelperf.measure.calibration import reference_identity
    assert reference_identity().endswith("/threads-{count}")
"""


@pytest.mark.parametrize("how", [("--modelperf-threads=1",), ("-o", "modelperf_threads=1")], ids=["option", "ini"])
def test_a_pinned_count_holds_for_the_header_the_tests_and_the_reference(pytester: pytest.Pytester, how):
    pytester.makepyfile(TESTS.format(count=1))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *how)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["modelperf: torch *, 1 intra-op thread(s)"])


def test_auto_leaves_torchs_own_choice(pytester: pytest.Pytester):
    import torch

    pytester.makepyfile(TESTS.format(count=torch.get_num_threads()))
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--modelperf-threads=auto").assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "must be at least 1, got 0"), ("two", "expected auto or a whole number, got 'two'")],
)
def test_a_bad_count_is_a_usage_error_naming_the_option(pytester: pytest.Pytester, value, message):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--modelperf-threads={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*modelperf: --modelperf-threads: {message}*"])
