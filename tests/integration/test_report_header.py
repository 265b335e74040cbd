"""Before a run, pytest's header says which hardware key the baselines are read under, where they
live, and how many threads torch times on."""

from __future__ import annotations

import pytest
import torch

from pytest_modelperf.core.counts import counted
from pytest_modelperf.measure.environment import hardware_key


def test_the_header_names_the_hardware_key_the_baseline_folder_and_torchs_threads(pytester: pytest.Pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--modelperf-device=cpu", "--modelperf-baseline-dir=perf/baselines")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"modelperf: hardware key {hardware_key('cpu', 'float32')} (device cpu), baselines in perf/baselines",
            f"modelperf: torch {torch.__version__}, {counted(torch.get_num_threads(), 'intra-op thread')}",
        ]
    )


def test_the_key_follows_the_dtype(pytester: pytest.Pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--modelperf-device=cpu", "--modelperf-dtype=bf16")
    key = hardware_key("cpu", "bfloat16")
    result.stdout.fnmatch_lines([f"modelperf: hardware key {key} (device cpu), baselines in baselines"])


def test_a_device_that_is_not_there_is_said_so_and_the_run_goes_on(pytester: pytest.Pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--modelperf-device=tpu")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["modelperf: hardware key unknown (unknown device 'tpu'; use auto, cpu, cuda or cuda:N), baselines in baselines"]
    )
