"""The main job (the perf suite) end to end on its smallest model, against the committed baselines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_perf_suite_runs_on_bert_tiny(tmp_path: Path) -> None:
    report = tmp_path / "perf.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "perf_tests", "-k", "tiny", "-p", "no:cacheprovider",
         "--modelperf-json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    results = json.loads(report.read_text())["results"]
    names = {r["measurement"]["name"] for r in results}
    assert {"parameters", "artefact_size", "latency[1x128]", "throughput[8x128]", "host_memory[8x128]"} <= names
    parameters = next(r for r in results if r["measurement"]["name"] == "parameters")
    assert parameters["current"] == 4_386_436  # BERT-tiny, 4 labels: the published count
    assert "weights are a stand-in" in completed.stdout
