"""Measurements on a real (tiny) checkpoint built from a config: the full path, CPU only."""

import json

import pytest


@pytest.fixture
def model_test(pytester, tiny_checkpoint):
    def write(body: str) -> None:
        pytester.makepyfile(test_model=f"CHECKPOINT = {str(tiny_checkpoint)!r}\n" + body)

    return write


def test_latency_throughput_memory_and_facts(model_test, run, pytester):
    model_test("""
import pytest

def test_all(modelperf):
    model = modelperf.load(CHECKPOINT, device="cpu")
    assert model is modelperf.load(CHECKPOINT, device="cpu"), "cached per session"
    latency = modelperf.measure_latency(model, batch_size=2, sequence_length=16)
    assert latency.unit == "ms" and len(latency.samples) >= 3 and latency.value > 0
    assert {"mean", "std", "min", "median", "p90", "p95", "p99", "iqr", "rounds"} <= latency.summary.keys()
    modelperf.check(latency)
    throughput = modelperf.measure_throughput(model, batch_size=4, sequence_length=16)
    assert throughput.tokens_per_second.value == pytest.approx(throughput.samples_per_second.value * 16)
    modelperf.check(throughput.samples_per_second)
    memory = modelperf.measure_host_memory(model, batch_size=4, sequence_length=64, rounds=3)
    assert memory.unit == "MB" and len(memory.samples) == 3
    modelperf.check(memory)
    facts = modelperf.model_facts(model)
    modelperf.check(facts.parameter_count)
    modelperf.check(facts.artefact_size)
    assert facts.load_time.value > 0
""")
    result = run("--modelperf-update", "--modelperf-json", "out.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*note: tiny-bert: weights are a stand-in*"])
    data = json.loads((pytester.path / "out.json").read_text())
    by_name = {r["measurement"]["name"]: r for r in data["results"]}
    assert set(by_name) == {"latency[2x16]", "throughput[4x16]", "host_memory[4x64]", "parameters", "artefact_size"}
    embeddings = 30522 * 32 + 128 * 32 + 2 * 32 + 2 * 32  # words, positions, token types, LayerNorm
    layer = 4 * (32 * 32 + 32) + 2 * 32 + (32 * 64 + 64) + (64 * 32 + 32) + 2 * 32
    assert by_name["parameters"]["current"] == embeddings + 2 * layer + (32 * 32 + 32) + (32 * 2 + 2)
    assert by_name["latency[2x16]"]["measurement"]["context"]["batch_size"] == 2
    # Again against what was just recorded: the facts must match exactly. Sampled metrics of a
    # 20-round run on a shared runner may move past their band, so only their comparison is checked.
    run("--modelperf-json", "again.json")
    again = {r["measurement"]["name"]: r for r in json.loads((pytester.path / "again.json").read_text())["results"]}
    assert again["parameters"]["outcome"] == again["artefact_size"]["outcome"] == "pass"
    assert all(
        r["baseline"] is not None and r["noise_band"] is not None
        for name, r in again.items()
        if name not in ("parameters", "artefact_size")
    )


def test_gpu_memory_skips_on_cpu_with_a_reason(model_test, run):
    model_test("""
def test_gpu(modelperf):
    model = modelperf.load(CHECKPOINT, device="cpu")
    modelperf.measure_gpu_memory(model, batch_size=1, sequence_length=8)
""")
    result = run("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*GPU memory needs a CUDA device; tiny-bert is on cpu*"])


def test_cuda_device_skips_without_a_gpu(model_test, run):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    model_test("""
import pytest
@pytest.mark.modelperf(device="cuda")
def test_on_gpu(modelperf):
    modelperf.load(CHECKPOINT)
""")
    result = run("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*device 'cuda' requested but*"])


def test_auto_device_runs_on_cpu_without_a_gpu(model_test, run):
    model_test("""
def test_auto(modelperf):
    model = modelperf.load(CHECKPOINT)
    import torch
    assert model.device == ("cuda:0" if torch.cuda.is_available() else "cpu")
""")
    run("--modelperf-device=auto").assert_outcomes(passed=1)


def test_missing_checkpoint_offline_is_a_clear_error(model_test, run, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_test("""
def test_hub(modelperf):
    modelperf.load("google/bert_uncased_L-2_H-128_A-2", device="cpu")
""")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*checkpoint 'google/bert_uncased_L-2_H-128_A-2': not a local directory, and not in the local hub cache while the hub is offline*"
        ]
    )


def test_latency_is_reported_to_pytest_benchmark(model_test, run, pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # an outer -n run's worker: the inner run is none
    model_test("""
def test_bench(modelperf, benchmark):
    model = modelperf.load(CHECKPOINT, device="cpu")
    latency = modelperf.measure_latency(model, batch_size=1, sequence_length=8, benchmark=benchmark)
    modelperf.check(latency)
""")
    result = run("--benchmark-json", "bench.json")
    result.assert_outcomes(passed=1)
    bench = json.loads((pytester.path / "bench.json").read_text())
    (entry,) = bench["benchmarks"]
    assert entry["name"] == "test_bench"
    assert entry["extra_info"]["modelperf_metric"] == "latency[1x8]"
    assert entry["stats"]["rounds"] >= 3
    assert entry["stats"]["median"] > 0
