"""How steady CPU latency is under pytest-xdist, with and without the timing lock, side by side.

    python benchmarks/xdist_steadiness.py                               # 5 runs of each mode
    python benchmarks/xdist_steadiness.py --runs 3 --threads 1 --busy 1
    python benchmarks/xdist_steadiness.py --runs 1 --tests 2 --max-time 0.2   # smoke test

Every run is a separate pytest process over a generated test module of ``--tests`` tests,
each timing a small BERT's forward pass at 1x128 with the ``modelperf`` fixture (``--model``,
a model of perf_tests/models.toml loaded from its offline checkpoint; bert-mini by default),
in three modes:

- single: one process, no xdist;
- -n 2, lock: two xdist workers whose timed regions take turns (``measure.timing_lock``);
- -n 2, no lock: two workers run with ``MODELPERF_TIMING_LOCK=0``, timing at the same time.

The modes take turns run by run, so that a slow spell of the machine falls on all of them
alike. Each test writes its per-round samples to a file of its own, so the figures do not
depend on the run export (which a distributed run may not write). Per mode it prints, over
all tests of all runs: the median of the per-test medians and its ratio to the single
process's, the median p90/median and max/median of a test, the worst max/median, the spread
of the per-test medians (largest over smallest), and the wall time of a pytest process.
``--threads N`` pins torch's threads in every process (default: the plugin's choice);
``--busy N`` runs N spinning processes beside every mode.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_modelperf.core.counts import counted  # noqa: E402
from pytest_modelperf.core.stats import percentile  # noqa: E402
from pytest_modelperf.measure.timing_lock import SWITCH_VARIABLE  # noqa: E402

REGISTRY = ROOT / "perf_tests" / "models.toml"
OUTPUT_VARIABLE = "MODELPERF_STEADINESS_OUT"
SPIN = "import time\nwhile True:\n    time.perf_counter()\n"

TEST_MODULE = """
import json
import os
import uuid
from pathlib import Path

import pytest


@pytest.mark.parametrize("index", range({tests}))
def test_latency(modelperf, index):
    measurement = modelperf.measure_latency(modelperf.load_registered({model!r}), batch_size=1, sequence_length=128)
    record = {{"test": index, "worker": os.environ.get("PYTEST_XDIST_WORKER", "none"), "samples": list(measurement.samples)}}
    Path(os.environ[{variable!r}], f"{{index}}-{{uuid.uuid4().hex}}.json").write_text(json.dumps(record))
"""


@dataclass(frozen=True)
class Mode:
    name: str
    arguments: tuple[str, ...]
    lock: bool


MODES = (
    Mode("single", (), lock=True),
    Mode("-n 2, lock", ("-n", "2"), lock=True),
    Mode("-n 2, no lock", ("-n", "2"), lock=False),
)


@dataclass(frozen=True)
class TestFigures:
    median: float
    p90: float
    maximum: float


def figures_of(samples: Sequence[float]) -> TestFigures:
    return TestFigures(percentile(samples, 50), percentile(samples, 90), max(samples))


def run_pytest(project: Path, mode: Mode, output: Path, options: Sequence[str]) -> float:
    """One pytest process of ``mode`` writing its tests' samples to ``output``; its wall seconds."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", OUTPUT_VARIABLE: str(output)}
    env.pop(SWITCH_VARIABLE, None)
    if not mode.lock:
        env[SWITCH_VARIABLE] = "0"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(project / "test_steadiness.py"),
        "-q",
        "-p",
        "no:cacheprovider",
        "-c",
        str(project / "pytest.ini"),
        "--rootdir",
        str(project),
        *mode.arguments,
        *options,
    ]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"pytest ({mode.name}) exited with {completed.returncode}")
    return seconds


def read_figures(output: Path) -> list[TestFigures]:
    records = [json.loads(path.read_text()) for path in sorted(output.glob("*.json"))]
    return [figures_of(record["samples"]) for record in records if record["samples"]]


class Spinners:
    """``count`` processes spinning on the CPU for the duration of the block."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Spinners:
        self.processes = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(self.count)]
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
            process.wait()


def measure(arguments: argparse.Namespace) -> tuple[dict[str, list[TestFigures]], dict[str, list[float]]]:
    options = [
        f"--modelperf-registry={REGISTRY}",
        "--modelperf-device=cpu",
        f"--modelperf-min-rounds={arguments.min_rounds}",
        f"--modelperf-max-time={arguments.max_time}",
    ]
    if arguments.threads is not None:
        options.append(f"--modelperf-threads={arguments.threads}")
    figures: dict[str, list[TestFigures]] = {mode.name: [] for mode in MODES}
    walls: dict[str, list[float]] = {mode.name: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="xdist-steadiness-") as folder:
        project = Path(folder)
        (project / "pytest.ini").write_text("[pytest]\n")
        module = TEST_MODULE.format(tests=arguments.tests, model=arguments.model, variable=OUTPUT_VARIABLE)
        (project / "test_steadiness.py").write_text(module)
        with Spinners(arguments.busy):
            for run in range(arguments.runs):
                for number, mode in enumerate(MODES):
                    output = project / f"run{run}-mode{number}"
                    output.mkdir()
                    walls[mode.name].append(run_pytest(project, mode, output, options))
                    figures[mode.name].extend(read_figures(output))
                    print(f"run {run + 1}/{arguments.runs} {mode.name}: {walls[mode.name][-1]:.1f} s", file=sys.stderr)
    return figures, walls


def print_table(figures: dict[str, list[TestFigures]], walls: dict[str, list[float]]) -> None:
    single = percentile([test.median for test in figures[MODES[0].name]], 50)
    header = (
        f"{'mode':<14} {'tests':>5} {'median ms':>9} {'vs single':>9} {'p90/median':>10} "
        f"{'max/median':>10} {'worst max/median':>16} {'medians max/min':>15} {'wall s':>6}"
    )
    print(header)
    for mode in MODES:
        tests = figures[mode.name]
        medians = [test.median for test in tests]
        median = percentile(medians, 50)
        print(
            f"{mode.name:<14} {len(tests):>5} {median:>9.2f} {median / single:>8.2f}x "
            f"{percentile([test.p90 / test.median for test in tests], 50):>10.2f} "
            f"{percentile([test.maximum / test.median for test in tests], 50):>10.2f} "
            f"{max(test.maximum / test.median for test in tests):>16.2f} "
            f"{max(medians) / min(medians):>15.2f} "
            f"{percentile(walls[mode.name], 50):>6.1f}"
        )


def settings_line(model: str, runs: int, tests: int, threads: int | str, busy: int) -> str:
    """What the table below was measured on: ``bert-mini forward at 1x128, 1 run of 4 tests per mode, ...``."""
    runs_of_tests = f"{counted(runs, 'run')} of {counted(tests, 'test')}"
    return f"{model} forward at 1x128, {runs_of_tests} per mode, threads {threads}, {busy} busy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="pytest processes per mode (default: 5)")
    parser.add_argument("--tests", type=int, default=4, help="latency tests in the generated module (default: 4)")
    parser.add_argument("--model", default="bert-mini", help="a model of perf_tests/models.toml (default: bert-mini)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process (default: the plugin's choice)")
    parser.add_argument("--busy", type=int, default=0, metavar="N", help="processes spinning beside every mode (default: 0)")
    parser.add_argument("--min-rounds", type=int, default=10, help="fewest timed rounds per test (default: 10)")
    parser.add_argument("--max-time", type=float, default=2.0, help="seconds of timing per test (default: 2.0)")
    arguments = parser.parse_args()
    if arguments.runs < 1 or arguments.tests < 2:
        parser.error("--runs must be at least 1 and --tests at least 2 (one per worker)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the spinning processes too
    figures, walls = measure(arguments)
    threads = arguments.threads if arguments.threads is not None else "auto"
    print(settings_line(arguments.model, arguments.runs, arguments.tests, threads, arguments.busy))
    print_table(figures, walls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
