"""The main job (the perf suite) end to end on its smallest model, BERT-tiny, and on BERT-tiny
fine-tuned on the built-in topics set (its accuracy gate and its fine-tune).

It runs against a copy of the committed baselines with --modelperf-update, so that timing
noise on a shared CI runner cannot fail it, and then asserts on the verdicts it reported:
the deterministic measurements must equal the committed values exactly, and on this
project's runner every measurement must have found its committed baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DETERMINISTIC = {"parameters", "artefact_size"}
QUALITY = {f"{metric}[topics/validation]" for metric in ("accuracy", "f1", "precision", "recall", "roc_auc")}
FINE_TUNE = {"fine_tune.time", "fine_tune.throughput", "fine_tune.peak_host_memory"}


def test_perf_suite_runs_on_bert_tiny(tmp_path: Path) -> None:
    baselines = tmp_path / "baselines"
    shutil.copytree(ROOT / "baselines", baselines)
    report = tmp_path / "perf.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "perf_tests", "-k", "bert-tiny", "-p", "no:cacheprovider",
         "--modelperf-update", f"--modelperf-baseline-dir={baselines}", f"--modelperf-json={report}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    assert "weights are a stand-in" in completed.stdout
    results = {r["measurement"]["name"]: r for r in json.loads(report.read_text())["results"]}
    assert results.keys() == {
        "parameters", "artefact_size", "latency[1x128]", "latency[8x128]", "sentence_latency",
        "throughput[32x128]", "host_memory[8x128]", *QUALITY, *FINE_TUNE,
    }
    assert {r["measurement"]["context"]["model"] for r in results.values()} == {"bert-tiny", "bert-tiny-topics"}
    assert "fine-tuned here on the built-in topics train split from bert-tiny" in completed.stdout
    assert results["accuracy[topics/validation]"]["current"] > 70  # a trained model, far above chance (25)
    assert results["parameters"]["current"] == 4_386_436  # BERT-tiny, 4 labels: the published count

    hardware_key = results["parameters"]["hardware_key"]
    if not (ROOT / "baselines" / hardware_key).is_dir():
        return  # another machine: nothing committed to compare with
    for name, result in results.items():
        if result["threshold"] is None:
            continue  # a limit-only check
        assert result["outcome"] != "no baseline", f"{name}: the committed baseline was not found"
        if name in DETERMINISTIC:
            assert result["outcome"] == "pass", f"{name}: {result['current']} != committed {result['baseline']}"
        if name in QUALITY:  # fine-tuned here from the same recipe: the same answers, example by example
            assert result["outcome"] != "regression", f"{name}: {result['current']} against committed {result['baseline']}"
