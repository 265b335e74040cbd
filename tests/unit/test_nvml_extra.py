"""NVML without its package: a reading asked for names the extra; recorded facts stay quiet."""

from __future__ import annotations

import sys

import pytest

from pytest_modelperf.core.extras import MissingExtra
from pytest_modelperf.measure import environment, nvml


@pytest.fixture
def without_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml now raises ImportError


@pytest.mark.usefixtures("without_pynvml")
def test_an_nvml_reading_names_the_gpu_extra() -> None:
    with pytest.raises(MissingExtra, match=r"NVML's GPU readings \(what nvidia-smi shows\) needs pynvml, which is not installed: "
                       r"pip install 'pytest-modelperf\[gpu\]'"):
        nvml.device_used_bytes(object())


@pytest.mark.usefixtures("without_pynvml")
def test_the_recorded_driver_version_is_empty_without_the_package() -> None:
    assert environment._driver_version() == ""


def test_the_recorded_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert environment.package_version() == version("pytest-modelperf")
