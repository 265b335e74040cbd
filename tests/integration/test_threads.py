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
    result.stdout.fnmatch_lines(["modelperf: torch *, 1 intra-op thread"])


@pytest.mark.parametrize("how", [("--modelperf-threads=auto",), ()], ids=["auto", "default"])
def test_auto_pins_one_thread_on_a_small_machine_and_leaves_torchs_choice_on_a_large_one(pytester: pytest.Pytester, how):
    from pytest_modelperf.measure.environment import usable_cores
    from pytest_modelperf.measure.threads import SMALL_SHARE_CORES

    # torch's own choice as a fresh process makes it: this process may have pinned its own count
    expected = 1 if usable_cores() <= SMALL_SHARE_CORES else _fresh_torch_threads()
    pytester.makepyfile(TESTS.format(count=expected))
    pytester.runpytest_subprocess("-p", "no:cacheprovider", *how).assert_outcomes(passed=2)


def _fresh_torch_threads() -> int:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "must be at least 1, got 0"), ("two", "expected auto or a whole number, got 'two'")],
)
def test_a_bad_count_is_a_usage_error_naming_the_option(pytester: pytest.Pytester, value, message):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--modelperf-threads={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*modelperf: --modelperf-threads: {message}*"])
