"""The HTML report's renderer on a session built by hand: what it plots, what it shows, what it escapes."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check
from pytest_modelperf.options import MissingPolicy, Settings, UpdateMode
from pytest_modelperf.render.html import measurement_frames, quality_table, render_html, write_html
from pytest_modelperf.run.session import Confirmation, ModelPerfSession, Orphan, Record
from pytest_modelperf.storage.baseline_store import JsonBaselineStore, WriteResult

HARDWARE = "nvidia-h100-80gb-hbm3-x1-float16"
EXACT = Check("value", parse_quantity("0%"), None)


def context(model: str, batch_size: int | None = None, sequence_length: int | None = None, **more: object) -> dict[str, object]:
    shape = {"batch_size": batch_size, "sequence_length": sequence_length} if batch_size else {}
    return {"device": "cuda:0", "dtype": "float16", "model": model, **shape, **more}


def latency(model: str, batch_size: int, sequence_length: int, ms: float, **more: object) -> Measurement:
    samples = [ms * (1 + 0.001 * (i % 5)) for i in range(20)]
    return Measurement.from_samples(f"latency[{batch_size}x{sequence_length}]", samples, unit="ms", direction=Direction.LOWER_IS_BETTER,
                                    context=context(model, batch_size, sequence_length, **more))


def record(measurement: Measurement, *, check: Check | None = None, baseline: Measurement | None = None, nodeid: str | None = None) -> Record:
    entry = BaselineEntry.from_measurement(baseline, environment="env1", recorded="2025-11-20") if baseline is not None else None
    verdict = judge(measurement, check or Check(measurement.statistic, parse_quantity("10%"), None), entry, NoisePolicy())
    node = nodeid or f"perf_tests/test_perf.py::test_{measurement.context.get('model', 'x')}"
    module, _, test = node.partition("::")
    return Record(node, EntryKey(HARDWARE, module, test, measurement.name), verdict, "env1", True)


def session(tmp_path: Path, records: list[Record]) -> ModelPerfSession:
    settings = Settings(
        baseline_dir=tmp_path / "baselines", update=UpdateMode.NONE, prune=False, threshold=parse_quantity("10%"),
        noise=NoisePolicy(), missing=MissingPolicy.WARN, device="auto", dtype="float16", timing=TimingOptions(),
        json_path=None, markdown_path=None, root=tmp_path,
    )
    state = ModelPerfSession(settings=settings, store=JsonBaselineStore(settings.baseline_dir), records=records)
    state.environments["env1"] = {"python": "3.11.7", "gpu": "NVIDIA H100 80GB HBM3", "driver": "550.54", "commit": ""}
    state.started = "2025-11-21T14:31:05+00:00"
    return state


def gpu_memory(model: str, batch_size: int, sequence_length: int, mb: float | None) -> Measurement:
    name = f"gpu_memory.peak_allocated[{batch_size}x{sequence_length}]"
    if mb is None:
        return Measurement.not_available(name, "out of memory", unit="MB", context=context(model, batch_size, sequence_length))
    return Measurement.exact(name, mb, unit="MB", context=context(model, batch_size, sequence_length))


def score(model: str, metric: str, points: float) -> Measurement:
    return Measurement(f"{metric}[topics/validation]", "points", Direction.HIGHER_IS_BETTER, points, context=context(model))


def parameters(model: str, count: int) -> Measurement:
    return Measurement.exact("parameters", count, unit="count", context=context(model))


def test_measurement_frames_hold_the_plottable_cells_once_with_their_baselines() -> None:
    records = [
        record(latency("bert", 1, 128, 12.0), check=Check("p99", None, parse_quantity("1s"))),  # a limit check first
        record(latency("bert", 1, 128, 12.0), baseline=latency("bert", 1, 128, 10.0)),
        record(latency("bert", 8, 128, 40.0)),
        record(latency("bert", 1, 128, 11.0, side_by_side=["bert", "distilbert"])),
        record(gpu_memory("bert", 32, 512, None), check=EXACT),
        record(gpu_memory("bert", 32, 128, 900.0), check=EXACT),
        record(score("bert", "accuracy", 88.0)),
    ]
    current, baseline = measurement_frames(records)
    cells = {(r.measure, r.batch_size, r.sequence_length): (r.status, r.value, r.unit) for r in current.itertuples()}
    assert cells.keys() == {("time", 1, 128), ("time", 8, 128), ("gpu_memory_allocated", 32, 512), ("gpu_memory_allocated", 32, 128)}
    assert cells[("time", 1, 128)][:2] == ("ok", pytest.approx(12.0, rel=0.01)) and cells[("time", 1, 128)][2] == "ms"
    status, value, _ = cells[("gpu_memory_allocated", 32, 512)]
    assert status == "out of memory" and math.isnan(value)
    assert list(baseline["value"]) == [pytest.approx(10.0, rel=0.01)], "the headline check's baseline, not the limit check's"
    assert set(current["label"]) == {"bert"} and set(current["device"]) == {"cuda:0"}


def test_quality_table_takes_the_workload_and_score_most_models_share() -> None:
    records = [
        record(latency("bert", 1, 128, 12.0)), record(latency("bert", 8, 128, 40.0)),
        record(latency("tiny", 8, 128, 2.0)), record(latency("mini", 8, 128, 5.0)),
        record(score("bert", "f1", 87.0)), record(score("tiny", "f1", 70.0)), record(score("mini", "f1", 76.0)),
        record(score("bert", "accuracy", 88.0)), record(score("tiny", "accuracy", 71.0)),
        record(parameters("bert", 109_483_778)), record(parameters("tiny", 4_386_436)),
    ]
    current, _ = measurement_frames(records)
    found = quality_table(records, current)
    assert found is not None
    table, metric, label = found
    assert metric == "f1", "f1 covers three models, accuracy two"
    assert label == "latency at 8×128 (ms), lower is better"
    assert list(table["label"]) == ["bert", "mini", "tiny"]
    assert list(table["latency_ms"]) == pytest.approx([40.0, 5.0, 2.0], rel=0.01)
    assert list(table["score"]) == [87.0, 76.0, 70.0]
    assert table["parameters"][0] == 109_483_778 and math.isnan(table["parameters"][1])
    assert quality_table([record(latency("bert", 1, 128, 12.0))], current) is None, "no score, no scatter"


def test_page_shows_failing_first_escapes_text_and_draws_plots(tmp_path: Path) -> None:
    failing = latency("distil<i>bert</i>", 1, 128, 30.0)
    records = [
        record(latency("bert", 1, 128, 12.0), baseline=latency("bert", 1, 128, 12.0)),
        record(latency("bert", 1, 512, 50.0), baseline=latency("bert", 1, 512, 50.0)),
        record(gpu_memory("bert", 32, 512, 2600.0), check=EXACT),
        record(gpu_memory("bert", 32, 1024, None), check=EXACT),
        record(failing, baseline=latency("distil<i>bert</i>", 1, 128, 10.0), nodeid="perf_tests/test_perf.py::test_x[<script>]"),
        record(score("bert", "accuracy", 88.0)),
    ]
    state = session(tmp_path, records)
    state.confirmations.append(Confirmation(records[4].nodeid, (records[4].verdict,), 1, reproduced=True))
    state.writes.append(WriteResult(tmp_path / "baselines" / HARDWARE / "perf_tests" / "test_perf.json", 3, 1))
    state.orphans.append(Orphan(EntryKey(HARDWARE, "perf_tests/test_perf.py", "test_gone", "latency[1x8]"), "the test no longer exists"))
    page = render_html(state)

    assert "<script>" not in page and "<i>bert</i>" not in page
    assert "test_x<wbr>[&lt;script&gt;]" in page and "distil&lt;i&gt;bert&lt;/i&gt;" in page
    rows = re.findall(r'<tr class="([a-z-]+)">', page)
    assert rows[0] == "failing" and rows.count("failing") == 1 and "no-baseline" in rows
    assert '<p class="headline failing"><strong>6 checks, 1 failing</strong>' in page
    assert f"hardware key: <code>{HARDWARE}</code>" in page and "Run started 2025-11-21 14:31:05 UTC" in page
    assert "✗ REGRESSION" in page
    assert "confirmed: the failure reproduced on 1 re-run" in page
    assert "perf_tests/test_perf.json</code> (3 entries, removed 1)" in page
    assert "1 orphaned baseline entry reported" in page and "test_gone latency[1x8]" in page
    assert "<th>driver</th><td>550.54</td>" in page and "<th>commit</th><td>-</td>" in page
    # Latency against sequence length (bert at 128 and 512) with the dashed baseline, GPU memory
    # against sequence length with the out-of-memory cell marked, and BERT's accuracy against its latency.
    assert page.count("<svg") == 3
    assert "inference time against sequence length at batch size 1; dashed: the baseline" in page
    assert "GPU memory, allocator peak against sequence length at batch size 32</figcaption>" in page
    assert re.search(r"<svg.*>OOM</text>.*</svg>", page, re.S)
    assert "accuracy against latency at 1×128 (ms), one point per model (model sizes unknown)" in page


def test_page_without_checks_says_so_and_is_written_atomically(tmp_path: Path) -> None:
    state = session(tmp_path, [])
    target = tmp_path / "reports" / "run.html"
    write_html(target, state)
    page = target.read_text(encoding="utf-8")
    assert "<title>modelperf: 0 checks, 0 failing</title>" in page
    assert "No test made a modelperf check in this run." in page and "No plots" in page
    assert [path.name for path in target.parent.iterdir()] == ["run.html"]
