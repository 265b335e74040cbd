"""Every noise figure docs/noise.md quotes: the band against recorded runs, and left-one-out.

    python benchmarks/noise_band.py

1. The noise band against the number of recorded runs ``k`` (1..10) at confidence 0.99 and
   0.999, for runs whose spread is exactly the assumed spread (5%) and a run with no spread
   of its own, under the rule in ``compare.py``, beside the rule before the assumed spread
   was pooled with the learned one (Student's t with ``k - 1`` degrees of freedom).
2. Left-one-out over the committed baselines in ``baselines/``: each recorded run of each
   sampled entry is judged against an entry made of the other runs, with a threshold of 0%,
   so that only the noise band decides; a "flag" is a run outside its band. A recorded run
   keeps only its summary, so its own standard error (``s_w``) is taken as 0, and a speed
   reference, where recorded, is the run's median reference time. Printed for both
   confidences, with and without the speed adjustment.

Pure Python over the JSON files: runs in seconds, needs no torch.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_modelperf.core import stats  # noqa: E402
from pytest_modelperf.core.baseline_entry import BaselineEntry  # noqa: E402
from pytest_modelperf.core.judge import NoisePolicy, judge  # noqa: E402
from pytest_modelperf.core.measurement import REFERENCE_STATISTIC, Direction, Measurement  # noqa: E402
from pytest_modelperf.core.units import parse_quantity  # noqa: E402
from pytest_modelperf.core.verdict import Check, Outcome  # noqa: E402

CONFIDENCES = (0.99, 0.999)
RUN_COUNTS = range(1, 11)
ZERO_THRESHOLD = Check("value", parse_quantity("0%"), None)


def band_table(policy: NoisePolicy) -> list[tuple[int, dict[float, float], dict[float, float]]]:
    """(k, band now by confidence, band under the old rule by confidence) for k = 1..10."""
    rows = []
    for runs in RUN_COUNTS:
        now, before = {}, {}
        for confidence in CONFIDENCES:
            now[confidence] = _band_now(runs, replace(policy, confidence=confidence))
            before[confidence] = _band_before(runs, policy.assumed_spread, confidence)
        rows.append((runs, now, before))
    return rows


def _band_now(runs: int, policy: NoisePolicy) -> float:
    """The band ``judge`` gives against ``runs`` recorded runs whose relative spread is the assumed one."""
    baseline = _entry_with_spread(runs, policy.assumed_spread)
    measurement = Measurement.from_samples("latency", [100.0], unit="ms", direction=baseline.direction)
    verdict = judge(measurement, ZERO_THRESHOLD, baseline, policy)
    assert verdict.noise_band is not None
    return verdict.noise_band


def _band_before(runs: int, spread: float, confidence: float) -> float:
    """The rule before pooling: t with k - 1 degrees of freedom on the runs' spread alone (z below two runs)."""
    if runs < 2:
        return stats.one_sided_z(confidence) * spread * math.sqrt(2)
    return stats.one_sided_t(confidence, runs - 1) * spread * math.sqrt(1 + 1 / runs)


def _entry_with_spread(runs: int, relative: float) -> BaselineEntry:
    """An entry of ``runs`` medians with mean 100 and relative sample standard deviation ``relative``."""
    if runs == 1:
        medians = [100.0]
    else:
        raw = [index - (runs - 1) / 2 for index in range(runs)]
        scale = relative * 100.0 / stats.statistic(raw, "std")
        medians = [100.0 + value * scale for value in raw]
    entry = None
    for median in medians:
        measurement = Measurement.from_samples("latency", [median], unit="ms", direction=Direction.LOWER_IS_BETTER)
        entry = BaselineEntry.from_measurement(measurement, environment="", recorded="", previous=entry)
    assert entry is not None
    return entry


@dataclass
class LeftOneOut:
    checks: int = 0
    flags: int = 0


def left_one_out(baseline_dir: Path, policy: NoisePolicy, *, adjust: bool) -> LeftOneOut:
    """Judge every recorded run of every sampled entry against the others; count the flags."""
    tally = LeftOneOut()
    for path in sorted(baseline_dir.rglob("*.json")):
        for entry in _sampled_entries(path):
            for index, run in enumerate(entry.runs):
                others = replace(entry, runs=entry.runs[:index] + entry.runs[index + 1 :])
                measurement = _measurement_of_run(entry, run, adjust=adjust)
                verdict = judge(measurement, ZERO_THRESHOLD, others, policy)
                tally.checks += 1
                tally.flags += verdict.outcome is Outcome.REGRESSION or verdict.outcome is Outcome.IMPROVEMENT
    return tally


def _sampled_entries(path: Path) -> list[BaselineEntry]:
    data = json.loads(path.read_text())
    entries = []
    for test, measurements in data["tests"].items():
        for name, raw in measurements.items():
            entry = BaselineEntry.from_dict(raw, f"{path}:{test}.{name}")
            if not entry.deterministic and entry.examples is None and len(entry.runs) >= 3:
                entries.append(entry)
    return entries


def _measurement_of_run(entry: BaselineEntry, run: dict[str, float], *, adjust: bool) -> Measurement:
    measurement = Measurement.from_samples("value", [run[entry.statistic]], unit=entry.unit, direction=entry.direction)
    measurement = replace(measurement, statistic=entry.statistic)
    reference = run.get(REFERENCE_STATISTIC)
    if adjust and reference and entry.context.get("speed_reference"):
        measurement = replace(measurement, reference=(reference,), context={"speed_reference": entry.context["speed_reference"]})
    return measurement


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", type=Path, default=ROOT / "baselines", help="baseline folder (default: baselines/)")
    parser.add_argument("--assumed-spread", type=float, default=NoisePolicy().assumed_spread, help="default: 0.05")
    parser.add_argument(
        "--weight",
        type=int,
        default=NoisePolicy().assumed_spread_weight,
        help="degrees of freedom the assumed spread counts as (default: the plugin's)",
    )
    arguments = parser.parse_args()
    policy = NoisePolicy(assumed_spread=arguments.assumed_spread, assumed_spread_weight=arguments.weight)

    print(
        f"Noise band (±%) against recorded runs k, runs spread {policy.assumed_spread:.0%}, "
        f"assumed spread {policy.assumed_spread:.0%} counted as {policy.assumed_spread_weight} degrees of freedom"
    )
    print(f"{'k':>3}  {'0.99 now':>9}  {'0.999 now':>9}  {'0.99 before':>11}  {'0.999 before':>12}")
    for runs, now, before in band_table(policy):
        print(
            f"{runs:>3}  {now[0.99] * 100:>9.1f}  {now[0.999] * 100:>9.1f}  "
            f"{before[0.99] * 100:>11.1f}  {before[0.999] * 100:>12.1f}"
        )
    print()
    print(f"Left-one-out over {_shown(arguments.baselines)} (each recorded run judged against the others, threshold 0%):")
    for adjust in (True, False):
        for confidence in CONFIDENCES:
            tally = left_one_out(arguments.baselines, replace(policy, confidence=confidence), adjust=adjust)
            how = "speed-adjusted" if adjust else "as measured   "
            print(f"  {how} at {confidence}: {tally.flags} of {tally.checks} checks outside the band")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
