"""The perf suite's budgets: checkpoint preparation time, suite wall time, and repeat runs without failures.

    python benchmarks/suite_budget.py --runs 5

1. Prepares every registry model from nothing into a temporary folder (cold), then again
   (cached), timing both with ``modelperf prepare``.
2. Runs the perf suite ``--runs`` times in a row on unchanged code against the committed
   baselines, and reports each run's wall time and outcome counts.

Budgets on the project's 2-core CPU runner: preparation at most 5 minutes, one suite run at
most 12 minutes, and no failure in any run. Exits non-zero when a budget is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREPARE_BUDGET_S = 5 * 60
SUITE_BUDGET_S = 12 * 60
OUTCOMES = re.compile(r"(\d+) (passed|failed|skipped|error|errors)\b")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="suite runs in a row (default: 5)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument(
        "--skip-prepare-timing",
        action="store_true",
        help="do not time preparation from nothing (it fine-tunes every fine-tuned model again)",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments for the suite runs")
    arguments = parser.parse_args()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    figures: dict[str, object] = {}

    if not arguments.skip_prepare_timing:
        with tempfile.TemporaryDirectory(prefix="modelperf-prepare-") as scratch:
            command = [sys.executable, "-m", "pytest_modelperf.cli.main", "prepare", "--checkpoint-dir", scratch]
            figures["prepare_cold_s"] = timed(command, environment)
            figures["prepare_cached_s"] = timed(command, environment)
        print(f"preparation: {figures['prepare_cold_s']:.1f}s from nothing, {figures['prepare_cached_s']:.1f}s cached")

    subprocess.run(
        [sys.executable, "-m", "pytest_modelperf.cli.main", "prepare"],
        cwd=ROOT,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    runs = []
    for index in range(1, arguments.runs + 1):
        with tempfile.TemporaryDirectory(prefix="modelperf-run-") as scratch:
            report = Path(scratch) / "run.json"
            started = time.perf_counter()
            completed = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "perf_tests",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--modelperf-json={report}",
                    *arguments.pytest_args,
                ],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
            reruns = json.loads(report.read_text()).get("reruns", []) if report.exists() else []
        summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
        counts = {("error" if kind.startswith("error") else kind): int(n) for n, kind in OUTCOMES.findall(summary)}
        transient = [rerun for rerun in reruns if not rerun["reproduced"]]
        runs.append(
            {
                "run": index,
                "seconds": round(seconds, 1),
                "exit_code": completed.returncode,
                **counts,
                "passed_on_rerun": transient,
            }
        )
        print(
            f"suite run {index}/{arguments.runs}: {seconds:.0f}s, exit {completed.returncode}, {counts}, "
            f"{len(transient)} passed only on re-run",
            flush=True,
        )
        for rerun in transient:
            changes = ", ".join(f"{f['metric']} {f['change']:+.1%}" for f in rerun["first_failures"] if f["change"] is not None)
            print(f"  re-run: {rerun['nodeid']} (first attempt: {changes})", flush=True)
        if completed.returncode != 0:
            print(failure_lines(completed.stdout), flush=True)
    figures["suite_runs"] = runs

    failures = sum(run.get("failed", 0) + run.get("error", 0) for run in runs)
    slowest = max(run["seconds"] for run in runs) if runs else 0.0
    verdicts = [
        *(
            [("preparation within 5 minutes", figures["prepare_cold_s"] <= PREPARE_BUDGET_S)]
            if "prepare_cold_s" in figures
            else []
        ),
        ("every suite run within 12 minutes", slowest <= SUITE_BUDGET_S),
        (f"no failure in {len(runs)} runs in a row", failures == 0 and all(run["exit_code"] == 0 for run in runs)),
    ]
    for text, ok in verdicts:
        print(f"{'ok  ' if ok else 'MISS'} {text}")
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if all(ok for _, ok in verdicts) else 1


def timed(command: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def failure_lines(stdout: str) -> str:
    return "\n".join(line for line in stdout.splitlines() if "REGRESSION" in line or line.startswith(("FAILED", "ERROR")))


if __name__ == "__main__":
    raise SystemExit(main())
