#!/usr/bin/env bash
# Verify pytest-modelperf on a CUDA GPU in one command (docs/gpu.md), writing everything into one folder:
#   (a) tests/gpu/: CUDA-event timing, allocator peaks, NVML's device, out-of-memory cells, per-worker pinning;
#   (b) the perf suite (perf_tests/, the main job) on the GPU, into OUTPUT/baselines: it starts from copies of the
#       committed baselines that apply on this GPU (parameter counts and sizes, any-device; quality scores on
#       CUDA, any-cuda-float32; this GPU model's own), checks them, and records what is missing
#       (--modelperf-update-missing); the committed baselines/ are not touched;
#   (c) the study's three sweeps on the GPU with `modelperf sweep`, a training sweep with the largest batch
#       that fits in 16 GB (the study's P100), and their plots;
#   (d) `modelperf scaling` on torchrun with NCCL over 1, 2, 4, ... of the machine's GPUs (DistilBERT, 32x128);
# then OUTPUT/summary.txt: the GPU, driver, torch and CUDA versions, and each part's exit code and counts.
#
#   bash benchmarks/gpu_verify.sh [OUTPUT_DIR]          (default: gpu-verify-<YYYY-MM-DD>)
#
# It expects the environment of README's commands: a Python ($PYTHON, default python3) with a CUDA build of
# torch and pytest-modelperf installed with its dev extra (pip install -e ".[dev]"). It installs nothing. The
# only thing it builds is what the main job builds: the registry's offline checkpoints (`modelperf prepare`,
# into the registry's checkpoint_dir, .modelperf/checkpoints), with its progress in OUTPUT/prepare.log.
#
# Time: sized for under 10 minutes on one GPU of the H100/H200 class; summary.txt records each part's seconds.
# The parts share one budget, GPU_VERIFY_BUDGET seconds (default 540): each runs under a time limit of what is
# left of it, so that summary.txt is written even when a part hangs; a part stopped by its limit, or left no
# time, reports exit code 124. A part that fails does not stop the others.
#
# Exit status:
#   0   every part passed
#   1   a part failed or ran out of time (summary.txt names it, with its exit code)
#   2   bad usage: more than one argument, an output folder that is not empty, or a GPU_VERIFY_BUDGET that is
#       not a whole number of seconds; nothing was run
#   3   $PYTHON cannot import torch or pytest-modelperf (the venv is not active?); nothing was run
#   77  no CUDA device: one line says why; nothing was run and nothing written
set -euo pipefail

PYTHON=${PYTHON:-python3}
BUDGET=${GPU_VERIFY_BUDGET:-540}
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
# The study's models and grids (benchmarks/study_sweeps.sh, GRID=study), timed with fewer rounds to fit the budget.
SWEEP_MODELS=(distilbert squeezebert bert)
SWEEP_TIMING=(--warmup-rounds 1 --warmup-time 0.1 --min-rounds 3 --max-rounds 100 --max-time 0.5)
# The largest training batch is searched within the study's GPU (a 16 GB P100): on a 141 GB card the search
# for what fits the whole card takes minutes of ever larger steps.
TRAINING_BUDGET_MB=16000

if (($# > 1)); then
    echo "usage: bash benchmarks/gpu_verify.sh [OUTPUT_DIR]" >&2
    exit 2
fi
if [[ ! $BUDGET =~ ^[0-9]+$ ]]; then
    echo "gpu_verify: GPU_VERIFY_BUDGET must be a whole number of seconds, got '$BUDGET'" >&2
    exit 2
fi
OUT=${1:-gpu-verify-$(date +%Y-%m-%d)}
if [[ -e "$OUT" && (! -d "$OUT" || -n "$(ls -A -- "$OUT")") ]]; then
    echo "gpu_verify: $OUT exists and is not an empty folder; name another output folder" >&2
    exit 2
fi

if ! command -v "$PYTHON" >/dev/null; then
    echo "gpu_verify: $PYTHON is not a command; activate the venv of README's commands (. .venv/bin/activate) or set PYTHON" >&2
    exit 3
fi
# One look before any work: can this Python run the project, and does torch see a GPU?
probe=0
reason=$("$PYTHON" - 2>/dev/null <<'EOF'
import sys
import warnings

try:
    import torch

    import pytest_modelperf  # noqa: F401
except ImportError as error:
    print(f"cannot import {error.name or error}")
    sys.exit(3)
with warnings.catch_warnings(record=True) as caught:  # torch says why CUDA failed to start in a warning
    warnings.simplefilter("always")
    available = torch.cuda.is_available()
if not available:
    why = "torch was built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
    why += "".join(f": {' '.join(str(warning.message).split())}" for warning in caught[:1])
    print(f"torch.cuda.is_available() is False ({why}; torch {torch.__version__})")
    sys.exit(77)
EOF
) || probe=$?
if ((probe == 77)); then
    echo "gpu_verify: no CUDA device: $reason; nothing was run" >&2
    exit 77
elif ((probe != 0)); then
    echo "gpu_verify: $PYTHON ${reason:-failed (exit $probe) importing torch and pytest_modelperf}; activate the venv of README's commands (. .venv/bin/activate) or set PYTHON" >&2
    exit 3
fi

mkdir -p -- "$OUT"
OUT=$(cd -- "$OUT" && pwd)
cd -- "$ROOT"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
STARTED=$SECONDS
PARTS="$OUT/parts.tsv" # one line per part: name, exit code, seconds
: >"$PARTS"

# run_part NAME LOG COMMAND...: run COMMAND under what is left of the budget, its output to LOG and the terminal.
run_part() {
    local name=$1 log=$2 status=0 began=$SECONDS
    shift 2
    local left=$((BUDGET - (SECONDS - STARTED) - 15)) shown="$*"
    shown=${shown//$'\n'/ }
    echo "gpu_verify: [$name] ${shown:0:300}"
    if ((left < 20)); then
        echo "gpu_verify: [$name] not run: the ${BUDGET} s budget is spent" | tee "$log"
        status=124
    else
        timeout --kill-after=10 "$left" "$@" 2>&1 | tee "$log" || status=$?
    fi
    printf '%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - began))" >>"$PARTS"
    echo "gpu_verify: [$name] exit $status after $((SECONDS - began)) s"
}

nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi is not available" >"$OUT/nvidia-smi.txt"

# (a) the GPU tests
mkdir -p "$OUT/gpu-tests"
run_part "gpu tests" "$OUT/gpu-tests/pytest.log" \
    "$PYTHON" -m pytest tests/gpu -p no:cacheprovider -rs --junitxml "$OUT/gpu-tests/junit.xml"

# (b) the main job on the GPU: prepare the registry's checkpoints, then the perf suite, recording this GPU's baselines
run_part "prepare" "$OUT/prepare.log" "$PYTHON" -m pytest_modelperf.cli prepare
mkdir -p "$OUT/perf" "$OUT/baselines"
GPU_KEY=$("$PYTHON" -c 'from pytest_modelperf.measure.environment import hardware_key; print(hardware_key("cuda:0", "float32"))')
for key in any-device any-cuda-float32 "$GPU_KEY"; do
    if [[ -d "baselines/$key" ]]; then cp -r -- "baselines/$key" "$OUT/baselines/"; fi
done
run_part "perf suite" "$OUT/perf/pytest.log" \
    "$PYTHON" -m pytest perf_tests -p no:cacheprovider -rs --modelperf-device cuda \
    --modelperf-update-missing --modelperf-baseline-dir "$OUT/baselines" \
    --modelperf-html "$OUT/perf/report.html" --modelperf-json "$OUT/perf/run.json" --modelperf-csv "$OUT/perf/checks.csv" \
    --junitxml "$OUT/perf/junit.xml"

# (c) the study's three sweeps on the GPU (benchmarks/study_sweeps.sh's GRID=study), then their plots
mkdir -p "$OUT/sweeps"
SWEEP=("$PYTHON" -m pytest_modelperf.cli sweep --models "${SWEEP_MODELS[@]}" --device cuda --no-progress "${SWEEP_TIMING[@]}")
run_part "sweep sequence-length" "$OUT/sweeps/sequence-length.log" "${SWEEP[@]}" \
    --batch-sizes 32 --sequence-lengths 32 128 512 1024 --measures time memory --output "$OUT/sweeps/sequence-length"
run_part "sweep batch-size" "$OUT/sweeps/batch-size.log" "${SWEEP[@]}" \
    --batch-sizes 64 128 256 512 --sequence-lengths 512 --measures time memory --output "$OUT/sweeps/batch-size"
run_part "sweep large-batch" "$OUT/sweeps/large-batch.log" "${SWEEP[@]}" \
    --batch-sizes 256 --sequence-lengths 8 32 128 512 --measures time throughput --output "$OUT/sweeps/large-batch"
run_part "sweep training" "$OUT/sweeps/training.log" "${SWEEP[@]}" --mode training \
    --batch-sizes 8 32 --sequence-lengths 128 --largest-batch --memory-budget "$TRAINING_BUDGET_MB" \
    --output "$OUT/sweeps/training"
run_part "plots" "$OUT/sweeps/plots.log" "$PYTHON" -c "$(
    cat <<'EOF'
import sys
from pathlib import Path

from pytest_modelperf.cli.main import main

status = 0
for folder in sys.argv[1:]:
    if (Path(folder) / "sweep.csv").is_file():
        status = main(["plot", folder, "--output", f"{folder}/plots"]) or status
        status = main(["plot", folder, "--log", "--output", f"{folder}/plots-log"]) or status
sys.exit(status)
EOF
)" "$OUT/sweeps/sequence-length" "$OUT/sweeps/batch-size" "$OUT/sweeps/large-batch" "$OUT/sweeps/training"

# (d) data-parallel scaling on torchrun with NCCL, over 1, 2, 4, ... of this machine's GPUs
GPUS=$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
COUNTS=()
for ((count = 1; count <= GPUS; count *= 2)); do COUNTS+=("$count"); done
if ((${#COUNTS[@]})); then
    run_part "scaling" "$OUT/scaling.log" "$PYTHON" -m pytest_modelperf.cli scaling --model distilbert --device cuda \
        --nproc-per-node "${COUNTS[@]}" --batch-size 32 --sequence-length 128 --output "$OUT/scaling"
fi

# summary.txt: the environment, then each part's exit code, time and counts
"$PYTHON" - "$OUT" "$BUDGET" "$((SECONDS - STARTED))" <<'EOF' || echo "gpu_verify: writing $OUT/summary.txt failed" >&2
import csv
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

out, budget, seconds = Path(sys.argv[1]), sys.argv[2], sys.argv[3]


def fact(read):
    try:
        return str(read())
    except Exception as error:
        return f"unknown ({type(error).__name__}: {error})"


def commit():
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    changed = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True).stdout.strip()
    return head + (" (with uncommitted changes)" if changed else "")


def environment():
    import torch
    import transformers

    from pytest_modelperf.measure.environment import hardware_key
    from pytest_modelperf.measure.nvml import driver_version

    def gpu():
        properties = torch.cuda.get_device_properties(0)
        return f"{properties.name}, {properties.total_memory / 2**30:.1f} GiB ({torch.cuda.device_count()} visible)"

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": fact(commit),
        "gpu": fact(gpu),
        "driver": fact(driver_version),
        "torch": fact(lambda: f"{torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"),
        "transformers": fact(lambda: transformers.__version__),
        "hardware key": fact(lambda: hardware_key("cuda:0", "float32")),
    }


def test_counts(junit):
    """'N passed, N failed, N skipped', and lines naming the failed tests and the reasons for skips."""
    if not junit.is_file():
        return "no JUnit report", []
    cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    failed = [case for case in cases if case.find("failure") is not None or case.find("error") is not None]
    skips = Counter(case.find("skipped").get("message", "") for case in cases if case.find("skipped") is not None)
    passed = len(cases) - len(failed) - sum(skips.values())
    lines = [f"    failed: {case.get('classname')}::{case.get('name')}" for case in failed]
    lines += [f"    skipped ({count}): {reason}" for reason, count in sorted(skips.items())]
    return f"{passed} passed, {len(failed)} failed, {sum(skips.values())} skipped", lines


def sweep_counts(folder):
    """'N cells: N ok, N out of memory, ...' from the sweep's tidy rows."""
    table = folder / "sweep.csv"
    if not table.is_file():
        return "no sweep.csv", []
    with table.open(newline="") as rows:
        cells = {(row["model"], row["batch_size"], row["sequence_length"]): row["status"] for row in csv.DictReader(rows)}
    statuses = Counter(status.split(":")[0] for status in cells.values())
    return f"{len(cells)} cells: " + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())), []


details = {"gpu tests": out / "gpu-tests" / "junit.xml", "perf suite": out / "perf" / "junit.xml"}
sweeps = {f"sweep {name}": out / "sweeps" / name for name in ("sequence-length", "batch-size", "large-batch")}
parts = [line.split("\t") for line in (out / "parts.tsv").read_text().splitlines() if line]

lines = ["pytest-modelperf GPU verification (benchmarks/gpu_verify.sh)", ""]
lines += [f"{key + ':':<14}{value}" for key, value in environment().items()]
lines += ["", f"{'part':<24}{'exit':>5}{'seconds':>9}  result"]
notes = []
for name, status, took in parts:
    text, more = test_counts(details[name]) if name in details else sweep_counts(sweeps[name]) if name in sweeps else ("", [])
    lines.append(f"{name:<24}{status:>5}{took:>9}  {'passed' if status == '0' else 'FAILED'}{'; ' + text if text else ''}")
    notes += [f"  {name}:", *more] if more else []
baselines = sorted((out / "baselines").rglob("*.json"))
lines += ["", f"baseline files (committed ones checked, missing entries recorded): {len(baselines)}"]
lines += [f"  {path.relative_to(out)}" for path in baselines]
if notes:
    lines += ["", "failed and skipped tests:", *notes]
failed = [name for name, status, _ in parts if status != "0"]
lines += ["", f"time: {seconds} s of the {budget} s budget"]
lines += [f"result: FAILED ({', '.join(failed)})" if failed else "result: PASSED (every part exited 0)"]
(out / "summary.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF

if [[ ! -s "$OUT/summary.txt" ]] || awk -F '\t' '$2 != 0 { failed = 1 } END { exit !failed }' "$PARTS"; then
    echo "gpu_verify: a part failed; see $OUT/summary.txt" >&2
    exit 1
fi
echo "gpu_verify: every part passed; results in $OUT"
