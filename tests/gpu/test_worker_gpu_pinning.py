"""Under ``pytest -n 2`` each worker measures on a GPU of its own: gw<N> on cuda:<N % GPUs>.

A pytester project runs one test in every worker (``--dist each``); each records the device
the ``modelperf`` fixture resolved, torch's current device, where a tensor allocated without a
device lands, and where a loaded model's weights and GPU memory measurement are.
"""

from __future__ import annotations

import json

import pytest
import torch

WORKERS = 2
GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0

TEST_FILE = """
import json
import os

import torch

CHECKPOINT = {checkpoint!r}


def test_record_the_workers_device(modelperf):
    model = modelperf.load(CHECKPOINT)
    memory = modelperf.measure_gpu_memory(model, batch_size=2, sequence_length=16)
    worker = os.environ["PYTEST_XDIST_WORKER"]
    record = {{
        "worker": worker,
        "device": modelperf.device,
        "current": torch.cuda.current_device(),
        "default_allocation": torch.empty(1, device="cuda").device.index,
        "weights": next(model.model.parameters()).device.index,
        "measured_on": memory.peak_allocated.context["device"],
    }}
    with open(f"device-{{worker}}.json", "w") as file:
        json.dump(record, file)
"""


@pytest.mark.skipif(
    0 < GPUS < WORKERS,
    reason=f"needs {WORKERS} CUDA devices to pin {WORKERS} pytest-xdist workers to GPUs of their own; "
    f"torch.cuda.device_count() is {GPUS}",
)
def test_each_xdist_worker_measures_on_its_own_gpu(pytester: pytest.Pytester, tiny_checkpoint):
    pytester.makepyfile(test_devices=TEST_FILE.format(checkpoint=str(tiny_checkpoint)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", str(WORKERS), "--dist", "each")
    result.assert_outcomes(passed=WORKERS)

    records = {}
    for number in range(WORKERS):
        worker = f"gw{number}"
        records[worker] = json.loads((pytester.path / f"device-{worker}.json").read_text())
    for number, record in enumerate(records[f"gw{n}"] for n in range(WORKERS)):
        index = number % GPUS
        assert record["device"] == record["measured_on"] == f"cuda:{index}", record
        assert record["current"] == record["default_allocation"] == record["weights"] == index, record
    assert len({record["device"] for record in records.values()}) == WORKERS
