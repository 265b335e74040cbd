"""A failure on sampled measurements must reproduce on a re-run of the test before it counts."""

import json

import pytest

# Each attempt of test_fast appends to ATTEMPTS; SLOW_ATTEMPTS says which attempts are slow
# (1-based, "all" for every one), so a slow spell of the machine can be played back exactly.
FLAKY = """
import os
ATTEMPTS = []

def test_fast(modelperf):
    ATTEMPTS.append(1)
    slow = os.environ.get("SLOW_ATTEMPTS", "")
    is_slow = slow == "all" or str(len(ATTEMPTS)) in slow.split(",")
    base = 20.0 if is_slow else 10.0
    samples = [base + (i % 5) * 0.01 for i in range(50)]
    print(f"attempt {len(ATTEMPTS)}")
    modelperf.check(modelperf.record("latency", samples, unit="ms"))

def test_exact(modelperf):
    ATTEMPTS.append(1)
    print(f"attempt {len(ATTEMPTS)}")
    modelperf.check(modelperf.record("parameters", int(os.environ.get("PARAMS", "1000")), unit="count", deterministic=True))
"""


def recorded(pytester, run, monkeypatch, source=FLAKY):
    pytester.makepyfile(test_perf=source)
    monkeypatch.setenv("SLOW_ATTEMPTS", "")
    run("--modelperf-update").assert_outcomes(passed=2)


def test_a_slow_spell_that_does_not_reproduce_passes_and_is_reported(pytester, run, monkeypatch):
    recorded(pytester, run, monkeypatch)
    monkeypatch.setenv("SLOW_ATTEMPTS", "1")
    result = run("-k", "test_fast", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*attempt 1",
            "attempt 2",
            "*1 test failed on noisy measurements once and passed when re-run:*",
            "*test_perf.py::test_fast: not reproduced: the first attempt failed (latency (median) +99.8%), 1 re-run passed*",
        ]
    )


def test_without_confirmation_the_first_attempt_decides(pytester, run, monkeypatch):
    recorded(pytester, run, monkeypatch)
    monkeypatch.setenv("SLOW_ATTEMPTS", "1")
    result = run("-k", "test_fast", "-s", "--modelperf-confirm=0")
    result.assert_outcomes(failed=1)
    result.stdout.no_fnmatch_line("attempt 2")


def test_a_real_regression_fails_after_reproducing_on_every_rerun(pytester, run, monkeypatch):
    recorded(pytester, run, monkeypatch)
    monkeypatch.setenv("SLOW_ATTEMPTS", "all")
    result = run("-k", "test_fast", "-s", "--modelperf-confirm=2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*attempt 3",
            "*latency (median)*10 ms*20 ms*+99.8%*REGRESSION*",
            "*confirmed: the failure reproduced on 2 re-runs (first attempt: latency (median) +99.8%)*",
        ]
    )
    result.stdout.no_fnmatch_line("attempt 4")


def test_the_marker_sets_the_number_of_reruns(pytester, run, monkeypatch):
    recorded(pytester, run, monkeypatch)
    pytester.makepyfile(
        test_perf=FLAKY.replace("def test_fast", "import pytest\n@pytest.mark.modelperf(confirm=0)\ndef test_fast")
    )
    monkeypatch.setenv("SLOW_ATTEMPTS", "1")
    run("-k", "test_fast").assert_outcomes(failed=1)


def test_an_exact_measurement_fails_at_once(pytester, run, monkeypatch):
    recorded(pytester, run, monkeypatch)
    monkeypatch.setenv("PARAMS", "1001")
    result = run("-k", "test_exact", "-s", "--modelperf-confirm=3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*attempt 1", "*parameters*1,000*1,001*REGRESSION*"])
    result.stdout.no_fnmatch_line("attempt 2")
    result.stdout.no_fnmatch_line("*re-run*")


def test_only_the_last_attempt_is_reported_and_recorded(pytester, run, monkeypatch):
    recorded(pytester, run, monkeypatch)
    monkeypatch.setenv("SLOW_ATTEMPTS", "1")
    result = run("-k", "test_fast", "--modelperf-add-run", "--modelperf-json=out.json")
    result.assert_outcomes(passed=1)
    payload = json.loads((pytester.path / "out.json").read_text())
    assert [r["outcome"] for r in payload["results"]] == ["pass"]
    assert payload["reruns"] == [
        {
            "nodeid": "test_perf.py::test_fast",
            "reruns": 1,
            "reproduced": False,
            "first_failures": [
                {
                    "metric": "latency (median)",
                    "change": payload["reruns"][0]["first_failures"][0]["change"],
                    "outcome": "regression",
                }
            ],
        }
    ]
    assert payload["reruns"][0]["first_failures"][0]["change"] > 0.9
    (hardware,) = {record["hardware_key"] for record in payload["results"]}
    stored = json.loads((pytester.path / "baselines" / hardware / "test_perf.json").read_text())
    runs = stored["tests"]["test_fast"]["latency"]["runs"]
    assert len(runs) == 2 and all(abs(run["median"] - 10.02) < 0.01 for run in runs)


def test_a_skip_after_a_transient_failure_is_a_skip(pytester, run, monkeypatch):
    pytester.makepyfile(
        test_perf=FLAKY.replace(
            'modelperf.check(modelperf.record("latency", samples, unit="ms"))',
            'modelperf.check(modelperf.record("latency", samples, unit="ms"))\n    import pytest\n    pytest.skip("no GPU")',
        )
    )
    monkeypatch.setenv("SLOW_ATTEMPTS", "")
    run("--modelperf-update").assert_outcomes(passed=1, skipped=1)
    monkeypatch.setenv("SLOW_ATTEMPTS", "1")
    run("-k", "test_fast").assert_outcomes(skipped=1)
    monkeypatch.setenv("SLOW_ATTEMPTS", "all")
    run("-k", "test_fast").assert_outcomes(failed=1)


def test_a_negative_confirm_is_a_usage_error(pytester, run):
    pytester.makepyfile(test_perf=FLAKY)
    result = run("--modelperf-confirm=-1")
    result.stderr.fnmatch_lines(["*--modelperf-confirm: must not be negative, got -1*"])


# test_fast hands pytest-benchmark a result on every attempt: through modelperf's bridge
# (measure_latency(benchmark=...)), or by calling the benchmark fixture itself.
BRIDGED = FLAKY.replace(
    "def test_fast(modelperf):\n    ATTEMPTS.append(1)\n",
    "def test_fast(modelperf, benchmark):\n    ATTEMPTS.append(1)\n"
    "    model = modelperf.load(CHECKPOINT, device='cpu')\n"
    "    modelperf.measure_latency(model, batch_size=1, sequence_length=8, benchmark=benchmark)\n",
)
CALLED = FLAKY.replace(
    "def test_fast(modelperf):\n    ATTEMPTS.append(1)\n",
    "def test_fast(modelperf, benchmark):\n    ATTEMPTS.append(1)\n    benchmark(sum, range(100))\n",
)


@pytest.mark.parametrize("source", [BRIDGED, CALLED], ids=["bridge", "fixture-call"])
def test_a_test_using_pytest_benchmark_is_confirmed_and_benchmarked_once(pytester, run, monkeypatch, tiny_checkpoint, source):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # else the inner pytest-benchmark writes no JSON
    recorded(pytester, run, monkeypatch, f"CHECKPOINT = {str(tiny_checkpoint)!r}\n" + source)
    monkeypatch.setenv("SLOW_ATTEMPTS", "1")
    result = run("-k", "test_fast", "-s", "--benchmark-json", "bench.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*attempt 1",
            "attempt 2",
            "*test_perf.py::test_fast: not reproduced: the first attempt failed (latency (median) +99.8%), 1 re-run passed*",
        ]
    )
    (entry,) = json.loads((pytester.path / "bench.json").read_text())["benchmarks"]
    assert entry["name"] == "test_fast"


def test_a_confirmed_regression_of_a_benchmarked_test_fails_with_one_benchmark(pytester, run, monkeypatch, tiny_checkpoint):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    recorded(pytester, run, monkeypatch, f"CHECKPOINT = {str(tiny_checkpoint)!r}\n" + BRIDGED)
    monkeypatch.setenv("SLOW_ATTEMPTS", "all")
    result = run("-k", "test_fast", "-s", "--modelperf-confirm=2", "--benchmark-json", "bench.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*attempt 3", "*confirmed: the failure reproduced on 2 re-runs*"])
    assert len(json.loads((pytester.path / "bench.json").read_text())["benchmarks"]) == 1
