"""Which CUDA device a request resolves to, and whether it is pinned, with torch.cuda stood in for.

Under pytest-xdist each worker ``gw<N>`` takes ``cuda:<N % device count>`` for ``auto`` and
``cuda`` and makes it the current device; an explicit ``cuda:K`` is kept. The hardware key of a
GPU names its model, not how many the machine has, so a worker's GPU shares its baselines with a
1-GPU runner of that model.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from pytest_modelperf.measure.environment import Hardware
from pytest_modelperf.models.loading import DeviceUnavailable, resolve_device, xdist_worker_number


@pytest.fixture
def gpus(monkeypatch: pytest.MonkeyPatch):
    """A machine with ``gpus.count`` CUDA devices; ``gpus.pinned`` lists the set_device calls."""

    stand_in = SimpleNamespace(count=4, pinned=[])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: stand_in.count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: stand_in.count)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: stand_in.pinned.append(str(device)))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    return stand_in


@pytest.mark.parametrize(
    ("worker", "count", "requested", "expected"),
    [
        ("gw0", 4, "auto", "cuda:0"),
        ("gw3", 4, "auto", "cuda:3"),
        ("gw5", 4, "cuda", "cuda:1"),
        ("gw7", 8, "CUDA", "cuda:7"),
        ("gw2", 1, "auto", "cuda:0"),
    ],
)
def test_a_worker_takes_the_gpu_of_its_number_modulo_the_gpus_and_pins_it(gpus, monkeypatch, worker, count, requested, expected):
    gpus.count = count
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    assert resolve_device(requested) == expected
    assert gpus.pinned == [expected]


@pytest.mark.parametrize("requested", ["cuda:2", "cuda:0"])
def test_an_explicit_index_is_kept_in_a_worker_and_pins_nothing(gpus, monkeypatch, requested):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert resolve_device(requested) == requested
    assert gpus.pinned == []


@pytest.mark.parametrize("requested", ["auto", "cuda"])
def test_outside_a_worker_cuda_means_the_first_gpu_unpinned(gpus, requested):
    assert resolve_device(requested) == "cuda:0"
    assert gpus.pinned == []


@pytest.mark.parametrize("worker", ["", "master", "gw", "gwx", "gw1a"])
def test_a_worker_variable_that_names_no_xdist_worker_is_ignored(gpus, monkeypatch, worker):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    assert xdist_worker_number() is None
    assert resolve_device("auto") == "cuda:0"
    assert gpus.pinned == []


def test_a_worker_without_cuda_measures_on_the_cpu_and_pins_nothing(gpus, monkeypatch):
    gpus.count = 0
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(DeviceUnavailable):
        resolve_device("cuda")
    assert gpus.pinned == []


def test_an_explicit_index_beyond_the_gpus_is_unavailable_in_a_worker_too(gpus, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    with pytest.raises(DeviceUnavailable, match=r"device 'cuda:4' requested but torch sees only 4 CUDA devices$"):
        resolve_device("cuda:4")


@pytest.mark.parametrize("requested", ["cuda:x", "cuda:-1", "cudax", "tpu"])
def test_a_device_that_is_not_one_is_an_error(gpus, requested):
    with pytest.raises(ValueError, match=r"unknown device .*; use auto, cpu, cuda or cuda:N"):
        resolve_device(requested)


def test_a_gpu_key_names_the_model_and_not_how_many_the_machine_has():
    one = Hardware("cuda", "NVIDIA H100 80GB HBM3", 1)
    eight = Hardware("cuda", "NVIDIA H100 80GB HBM3", 8)
    assert one.key("float16") == eight.key("float16") == "nvidia-h100-80gb-hbm3-float16"
    assert Hardware("cpu", "AMD EPYC 7B13", 2).key("float32") == "amd-epyc-7b13-2c-float32"
