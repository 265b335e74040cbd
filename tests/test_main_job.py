"""The main job (the perf suite) end to end on its smallest model, BERT-tiny (inference,
training, and data-parallel training on 1 and 2 gloo workers on torchrun), and on BERT-tiny
fine-tuned on the built-in topics set (its accuracy gate).

The suite runs without ``--modelperf-update``, against a copy of the committed baselines, so its
own verdicts can fail; every check is then read back from the JSON export, keyed by (test node
id, measurement), so that two tests checking a measurement of the same name
(``parameters``) are both asserted.

On every machine:

- every expected check ran, and nothing else;
- parameter counts and artefact sizes equal the committed values, read from the committed
  baseline files whatever their hardware key: they do not depend on the machine;
- the quality scores of the deterministic fine-tune match the committed ones wherever the
  committed entry was measured on the same kind of device in the same dtype (CPU, float32):
  exactly on the committed hardware, within ``QUALITY_TOLERANCE`` points on another CPU, whose
  arithmetic may round a few steps of the fine-tune differently.

On this project's machine (a committed hardware key), every check must also find its committed
baseline, and the plugin's verdicts must pass, except timings. A timing verdict on a shared
runner can fail on noise alone: the median of one workload moves by about 20% between
processes, and busy neighbours make a 2-thread forward many times slower for minutes (with six
other processes on this project's 2-core runner, BERT-tiny's timings read 6x to 43x their
committed values, every round of them). So a timing regression verdict is tolerated, and what
is asserted instead is that no timing is ``TIMING_FACTOR`` (5x) or more worse than its
committed value by every estimate available: as measured, at the machine's current speed (the
change divided by the slowdown of the speed reference, a fixed matrix product timed between the
rounds or through the fine-tune, against the reference recorded with the baseline), as the
plugin judged it at that speed, and by the best round against the committed best round. Under
that load the estimates at the reference's speed stayed between 0.3x and 3.2x. A real fault (a
10x slowdown: a loop that re-runs the forward, a timer that sums rounds, seconds read as
milliseconds) reads 10x by every estimate on a machine at rest, and fails this test. The
suite's run may exit non-zero for such tolerated timing verdicts only, never for anything else.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "baselines"
TIMING_FACTOR = 5.0
QUALITY_TOLERANCE = 3.0  # points
TIMING_UNITS = {"ms", "s", "samples/s"}
QUALITY = [f"{metric}[topics/validation]" for metric in ("accuracy", "f1", "precision", "recall", "roc_auc")]

FACTS = "perf_tests/test_facts.py::test_model_facts[bert-tiny]"
SINGLE = "perf_tests/test_latency.py::test_latency_single_query[bert-tiny]"
BATCH = "perf_tests/test_latency.py::test_latency_batch[bert-tiny]"
SENTENCE = "perf_tests/test_latency.py::test_sentence_latency_on_cpu[bert-tiny]"
HOST_MEMORY = "perf_tests/test_memory.py::test_host_memory[bert-tiny]"
THROUGHPUT = "perf_tests/test_throughput.py::test_throughput[bert-tiny]"
ACCURACY = "perf_tests/test_accuracy.py::test_accuracy[bert-tiny-topics]"
TRAINING = "perf_tests/test_training.py::test_training_step[bert-tiny]"
TRAINING_AT_32 = "perf_tests/test_training.py::test_training_throughput_at_batch_32[bert-tiny]"
SCALING = "perf_tests/test_training.py::test_data_parallel_scaling[bert-tiny]"
BESIDE = "perf_tests/test_accuracy.py::test_size_and_speed_beside_accuracy[bert-tiny-topics]"
EXPECTED = {
    (FACTS, "parameters"),
    (FACTS, "artefact_size"),
    (SINGLE, "latency[1x128]"),
    (BATCH, "latency[8x128]"),
    (SENTENCE, "sentence_latency"),
    (HOST_MEMORY, "host_memory[8x128]"),
    (THROUGHPUT, "throughput[32x128]"),
    *((ACCURACY, name) for name in QUALITY),
    (TRAINING, "train_step_latency[8x128]"),
    (TRAINING, "train_throughput[8x128]"),
    (TRAINING, "train_host_memory[8x128]"),
    (TRAINING_AT_32, "train_throughput[32x128]"),
    (TRAINING_AT_32, "train_host_memory[32x128]"),
    (SCALING, "scaling_throughput[1 worker, 8x128]"),
    (SCALING, "scaling_throughput[2 workers, 8x128]"),
    (SCALING, "scaling_speedup[2 workers, 8x128]"),
    (BESIDE, "parameters"),
    (BESIDE, "speed of bert-tiny-topics over bert-tiny [1x128]"),
}
DETERMINISTIC = {(FACTS, "parameters"), (FACTS, "artefact_size"), (BESIDE, "parameters")}


def optional(nodeid: str, name: str) -> bool:
    """Checks that run only on a GPU: the GPU memory grid, and a training step's GPU memory."""
    return nodeid.startswith("perf_tests/test_memory.py::test_gpu_memory[bert-tiny-") or (
        nodeid.startswith("perf_tests/test_training.py::test_training_gpu_memory[") and "bert-tiny" in nodeid
    )


def committed_entries(nodeid: str, name: str) -> dict[str, dict[str, Any]]:
    """Hardware key -> the committed baseline entry of this check, from every committed key that has one."""
    module, test = nodeid.split("::", 1)
    found = {}
    for folder in sorted(path for path in COMMITTED.iterdir() if path.is_dir()):
        path = folder / f"{module.removesuffix('.py')}.json"
        if path.is_file():
            entry = json.loads(path.read_text()).get("tests", {}).get(test, {}).get(name)
            if entry is not None:
                found[folder.name] = entry
    return found


def device_kind(device: str) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def worse_by(result: dict[str, Any], committed: dict[str, Any]) -> dict[str, float]:
    """How many times worse than committed a timing is, by each estimate available (above 1: worse)."""
    measurement = result["measurement"]
    higher = measurement["direction"] == "higher_is_better"
    statistic = measurement["statistic"]

    def factor(now: float | None, then: float | None) -> float | None:
        if now is None or then is None or not (math.isfinite(now) and math.isfinite(then)) or now <= 0 or then <= 0:
            return None
        return then / now if higher else now / then

    as_measured = factor(result["current"], committed["summary"].get(statistic, committed["summary"].get("value")))
    # The speed reference (a fixed matrix product timed between the rounds, or through a fine-tune):
    # how much slower the machine is now than when the baseline was recorded.
    slowdown = factor(measurement["summary"].get("reference"), committed["summary"].get("reference"))
    if higher and slowdown is not None:
        slowdown = 1 / slowdown  # factor() read the reference times as a rate
    estimates = {
        "as measured": as_measured,
        "at the reference's speed": as_measured / slowdown if as_measured is not None and slowdown is not None else None,
        "at the plugin's speed": factor(result["current"], result.get("judged_against")),
        "best round": factor(
            measurement["summary"].get("max" if higher else "min"), committed["summary"].get("max" if higher else "min")
        ),
    }
    return {how: value for how, value in estimates.items() if value is not None}


def test_perf_suite_runs_on_bert_tiny(tmp_path: Path) -> None:
    baselines = tmp_path / "baselines"
    shutil.copytree(COMMITTED, baselines)
    report = tmp_path / "perf.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "perf_tests",
            "-k",
            # BERT-tiny and its topics fine-tune; its distilled and masked-LM models take a teacher's
            # fine-tune or pre-training first (tests/integration/test_distillation_gates.py runs the former)
            "bert-tiny and not distilled and not mlm",
            "-p",
            "no:cacheprovider",
            "-rfE",
            f"--modelperf-baseline-dir={baselines}",
            f"--modelperf-json={report}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    output = completed.stdout[-6000:] + completed.stderr[-3000:]
    assert completed.returncode in (0, 1), output
    assert "weights are a stand-in" in completed.stdout
    assert "fine-tuned here on the built-in topics train split from bert-tiny" in completed.stdout

    results: dict[tuple[str, str], dict[str, Any]] = {}
    for result in json.loads(report.read_text())["results"]:
        key = (result["nodeid"], result["measurement"]["name"])
        assert key not in results, f"{key} was checked twice in one test"
        results[key] = result
    assert results.keys() >= EXPECTED, f"missing checks: {sorted(EXPECTED - results.keys())}"
    assert all(optional(*key) for key in results.keys() - EXPECTED), f"unexpected checks: {sorted(results.keys() - EXPECTED)}"
    models = {
        model for r in results.values() for model in r["measurement"]["context"]["model"].split(" / ")
    }  # a ratio names both
    assert models == {"bert-tiny", "bert-tiny-topics"}
    assert results[(ACCURACY, "accuracy[topics/validation]")]["current"] > 70  # a trained model, far above chance (25)
    assert results[(FACTS, "parameters")]["current"] == 4_386_436  # BERT-tiny, 4 labels: the published count

    # Machine-independent: the facts against every committed value.
    for key in sorted(DETERMINISTIC):
        committed = committed_entries(*key)
        assert committed, f"{key}: no committed baseline in {COMMITTED}"
        for hardware, entry in committed.items():
            assert results[key]["current"] == entry["summary"]["value"], (
                f"{key}: {results[key]['current']} != {entry['summary']['value']} committed for {hardware}"
            )

    # The deterministic fine-tune: its scores wherever the committed entry is of the same device kind and dtype.
    compared = 0
    for name in QUALITY:
        result = results[(ACCURACY, name)]
        context = result["measurement"]["context"]
        for hardware, entry in committed_entries(ACCURACY, name).items():
            if (device_kind(entry["context"]["device"]), entry["context"]["dtype"]) != (
                device_kind(context["device"]),
                context["dtype"],
            ):
                continue
            compared += 1
            committed_score = entry["summary"]["value"]
            if hardware == result["hardware_key"]:  # the same answers; the files keep 6 significant digits
                assert math.isclose(result["current"], committed_score, abs_tol=1e-3), (
                    f"{name}: {result['current']} != {committed_score} committed for {hardware}"
                )
            else:
                assert abs(result["current"] - committed_score) <= QUALITY_TOLERANCE, (
                    f"{name}: {result['current']} on {result['hardware_key']}, {committed_score} committed for {hardware}"
                )
    same_kind = device_kind(results[(ACCURACY, QUALITY[0])]["measurement"]["context"]["device"]) == "cpu"
    assert compared >= len(QUALITY) or not same_kind, "the committed CPU float32 quality scores were not found"

    failed_tests = set(re.findall(r"^(?:FAILED|ERROR) (\S+)", completed.stdout, re.MULTILINE))
    on_committed_hardware = [r for r in results.values() if (COMMITTED / r["hardware_key"]).is_dir()]
    if not on_committed_hardware:
        assert completed.returncode == 0 and not failed_tests, output
        return  # another machine: its timings and memory have no committed baseline to be judged against

    # This project's machine: the plugin's own verdicts, against the committed baselines.
    tolerated: set[str] = set()
    for result in on_committed_hardware:
        key = (result["nodeid"], result["measurement"]["name"])
        assert result["outcome"] != "no baseline", f"{key}: the committed baseline was not found"
        if result["measurement"]["unit"] in TIMING_UNITS:
            (entry,) = [e for hardware, e in committed_entries(*key).items() if hardware == result["hardware_key"]]
            estimates = worse_by(result, entry)
            assert estimates, f"{key}: no estimate of the change"
            assert min(estimates.values()) < TIMING_FACTOR, (
                f"{key}: {TIMING_FACTOR}x or more worse than committed by every estimate: {estimates}"
            )
            if result["outcome"] in ("regression", "over limit"):
                tolerated.add(result["nodeid"])
        else:
            assert result["outcome"] in ("pass", "improvement"), (
                f"{key}: {result['outcome']} ({result['detail']}), {result['current']} against {result['baseline']}"
            )
    unexplained = failed_tests - tolerated
    assert not unexplained, f"failed for something other than a tolerated timing verdict: {sorted(unexplained)}\n{output}"
    assert (completed.returncode == 1) == bool(failed_tests), output
