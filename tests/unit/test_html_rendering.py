"""The HTML report's renderer on a run report built by hand: what it plots, what it shows, what it escapes."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path

import pytest

from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
from pytest_modelperf.core.judge import NoisePolicy, judge
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.core.units import parse_quantity
from pytest_modelperf.core.verdict import Check, Verdict
from pytest_modelperf.render.html import render_html, write_html
from pytest_modelperf.render.run_plots import measurement_frames, quality_table, run_figures
from pytest_modelperf.render.run_report import ReportedCheck, RunReport
from pytest_modelperf.storage.baseline_store import WriteResult

HARDWARE = "nvidia-h100-80gb-hbm3-float16"
EXACT = Check("value", parse_quantity("0%"), None)
GONE = EntryKey(HARDWARE, "perf_tests/test_perf.py", "test_gone", "latency[1x8]")


def context(model: str, batch_size: int | None = None, sequence_length: int | None = None, **more: object) -> dict[str, object]:
    shape = {"batch_size": batch_size, "sequence_length": sequence_length} if batch_size else {}
    return {"device": "cuda:0", "dtype": "float16", "model": model, **shape, **more}


def latency(model: str, batch_size: int, sequence_length: int, ms: float, **more: object) -> Measurement:
    samples = [ms * (1 + 0.001 * (i % 5)) for i in range(20)]
    return Measurement.from_samples(
        f"latency[{batch_size}x{sequence_length}]",
        samples,
        unit="ms",
        direction=Direction.LOWER_IS_BETTER,
        context=context(model, batch_size, sequence_length, **more),
    )


@dataclasses.dataclass(frozen=True)
class Rerun:
    nodeid: str
    first_failures: tuple[Verdict, ...]
    reruns: int
    reproduced: bool

    @property
    def test(self) -> str:
        return self.nodeid


@dataclasses.dataclass(frozen=True)
class Orphan:
    key: EntryKey
    reason: str


def record(
    measurement: Measurement, *, check: Check | None = None, baseline: Measurement | None = None, nodeid: str | None = None
) -> ReportedCheck:
    entry = BaselineEntry.from_measurement(baseline, environment="env1", recorded="2025-11-20") if baseline is not None else None
    verdict = judge(measurement, check or Check(measurement.statistic, parse_quantity("10%"), None), entry, NoisePolicy())
    node = nodeid or f"perf_tests/test_perf.py::test_{measurement.context.get('model', 'x')}"
    module, _, test = node.partition("::")
    return ReportedCheck(node, EntryKey(HARDWARE, module, test, measurement.name), verdict, "env1", fails=verdict.failed)


def run_report(tmp_path: Path, records: list[ReportedCheck], **facts: object) -> RunReport:
    return RunReport(
        checks=tuple(records),
        started="2025-11-21T14:31:05+00:00",
        environments={"env1": {"python": "3.11.7", "gpu": "NVIDIA H100 80GB HBM3", "driver": "550.54", "commit": ""}},
        baseline_dir=tmp_path / "baselines",
        update_mode="none",
        prune=False,
        **facts,  # type: ignore[arg-type]
    )


def verdicts(records: list[ReportedCheck]) -> list[Verdict]:
    return [record.verdict for record in records]


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
    current, baseline = measurement_frames(verdicts(records))
    cells = {(r.measure, r.batch_size, r.sequence_length): (r.status, r.value, r.unit) for r in current.itertuples()}
    assert cells.keys() == {
        ("time", 1, 128),
        ("time", 8, 128),
        ("gpu_memory_allocated", 32, 512),
        ("gpu_memory_allocated", 32, 128),
    }
    assert cells[("time", 1, 128)] == ("ok", pytest.approx(0.012, rel=0.01), "s"), "a tidy row: in seconds, as in sweep.csv"
    status, value, _ = cells[("gpu_memory_allocated", 32, 512)]
    assert status == "out of memory" and math.isnan(value)
    assert list(baseline["value"]) == [pytest.approx(0.010, rel=0.01)], "the headline check's baseline, not the limit check's"
    assert set(current["label"]) == {"bert"} and set(current["device"]) == {"cuda:0"}


def test_quality_table_takes_the_workload_and_score_most_models_share() -> None:
    records = [
        record(latency("bert", 1, 128, 12.0)),
        record(latency("bert", 8, 128, 40.0)),
        record(latency("tiny", 8, 128, 2.0)),
        record(latency("mini", 8, 128, 5.0)),
        record(score("bert", "f1", 87.0)),
        record(score("tiny", "f1", 70.0)),
        record(score("mini", "f1", 76.0)),
        record(score("bert", "accuracy", 88.0)),
        record(score("tiny", "accuracy", 71.0)),
        record(parameters("bert", 109_483_778)),
        record(parameters("tiny", 4_386_436)),
    ]
    current, _ = measurement_frames(verdicts(records))
    found = quality_table([verdict.measurement for verdict in verdicts(records)], current)
    assert found is not None
    table, metric, label = found
    assert metric == "f1", "f1 covers three models, accuracy two"
    assert label == "latency at 8×128"  # noqa: RUF001
    assert list(table["label"]) == ["bert", "mini", "tiny"]
    assert list(table["latency_ms"]) == pytest.approx([40.0, 5.0, 2.0], rel=0.01)
    assert list(table["score"]) == [87.0, 76.0, 70.0]
    assert table["parameters"][0] == 109_483_778 and math.isnan(table["parameters"][1])
    assert quality_table([latency("bert", 1, 128, 12.0)], current) is None, "no score, no scatter"


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
    report = run_report(
        tmp_path,
        records,
        reruns=(Rerun(records[4].nodeid, (records[4].verdict,), 1, reproduced=True),),
        writes=(WriteResult(tmp_path / "baselines" / HARDWARE / "perf_tests" / "test_perf.json", 3, 1),),
        orphans=(Orphan(GONE, "the test no longer exists"),),
    )
    page = render_html(report)

    assert "<script>" not in page and "<i>bert</i>" not in page
    assert "test_x<wbr>[&lt;script&gt;]" in page and "distil&lt;i&gt;bert&lt;/i&gt;" in page
    rows = re.findall(r'<tr class="([a-z-]+)">', page)
    assert rows[0] == "failing" and rows.count("failing") == 1 and "no-baseline" in rows
    assert '<p class="headline failing"><strong>6 checks, 1 failing</strong>' in page
    assert f"hardware key: <code>{HARDWARE}</code>" in page and "Run started 2025-11-21 14:31:05 UTC" in page
    assert "✗ REGRESSION" in page
    assert "confirmed: the failure reproduced on 1 re-run" in page
    assert "perf_tests/test_perf.json</code> (3 entries, removed 1)" in page
    assert "1 orphaned baseline entry reported (remove them with <code>--modelperf-update --modelperf-prune</code>):" in page
    assert "test_gone latency[1x8]" in page
    assert "<th>driver</th><td>550.54</td>" in page and "<th>commit</th><td>-</td>" in page
    # Latency against sequence length (bert at 128 and 512) with the dashed baseline, GPU memory
    # against sequence length with the out-of-memory cell marked, and BERT's accuracy against its latency.
    assert page.count("<svg") == 3
    assert "inference time against sequence length at batch size 1; dashed: the baseline" in page
    assert "GPU memory, allocator peak against sequence length at batch size 32</figcaption>" in page
    assert re.search(r"<svg.*>OOM</text>.*</svg>", page, re.S)
    assert "accuracy against latency at 1×128, one point per model (model sizes unknown)" in page  # noqa: RUF001


def test_page_without_checks_says_so_and_is_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "run.html"
    write_html(target, run_report(tmp_path, []))
    page = target.read_text(encoding="utf-8")
    assert "<title>modelperf: 0 checks, 0 failing</title>" in page
    assert "No test made a modelperf check in this run." in page and "No plots" in page
    assert [path.name for path in target.parent.iterdir()] == ["run.html"]


def test_page_marks_an_accepted_regression_and_the_write_errors(tmp_path: Path) -> None:
    nodeid = "t.py::test_\"quoted\"['x']"
    regression = record(latency("bert", 1, 128, 30.0), baseline=latency("bert", 1, 128, 10.0), nodeid=nodeid)
    accepted = dataclasses.replace(regression, fails=False)  # re-recorded by --modelperf-update
    report = run_report(tmp_path, [accepted], write_errors=("a.json: full", "b.csv: gone"))
    page = render_html(dataclasses.replace(report, update_mode="all"))
    assert '<tr class="accepted">' in page and "REGRESSION (accepted: baseline re-recorded)" in page
    assert '<p class="headline passing"><strong>1 check, 0 failing</strong>' in page
    assert "1 regression accepted" in page
    assert '<li class="error">error: a.json: full; b.csv: gone</li>' in page
    assert "test_&#34;quoted&#34;<wbr>[&#39;x&#39;]" in page


def test_page_without_matplotlib_says_why_there_are_no_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    records = [record(latency("bert", 1, 128, 12.0)), record(latency("bert", 1, 512, 50.0))]
    page = render_html(run_report(tmp_path, records))
    assert "<svg" not in page
    assert "the plots could not be drawn: MissingExtra: drawing plots needs matplotlib" in page
    assert "pip install &#39;pytest-modelperf[plots]&#39;" in page
    assert "<th>python</th><td>3.11.7</td>" in page, "the rest of the page is there"


def test_a_plot_with_no_value_is_left_out_and_the_page_says_why(tmp_path: Path) -> None:
    records = [
        record(latency("bert", 1, 128, 12.0)),
        record(latency("bert", 1, 512, 50.0)),
        record(gpu_memory("bert", 32, 512, None), check=EXACT),
        record(gpu_memory("bert", 32, 1024, None), check=EXACT),
    ]
    page = render_html(run_report(tmp_path, records))
    assert page.count("<svg") == 1, "latency only: the memory cells all ran out of memory"
    assert (
        "<li>left out: GPU memory, allocator peak against sequence length at batch size 32: no cell has a value (2 OOM)</li>"
        in page
    )


def test_the_scatter_gives_each_model_the_colour_of_its_lines() -> None:
    records = [
        record(latency(model, batch, 128, ms * batch))
        for model, ms in (("bert", 12.0), ("mini", 5.0), ("tiny", 2.0))
        for batch in (1, 8)
    ]
    records += [record(score("mini", "accuracy", 76.0)), record(score("tiny", "accuracy", 70.0))]
    figures = list(run_figures(verdicts(records)))
    assert len(figures) == 2
    (_, lines), (_, scatter) = figures
    # tab10's first three colours go to bert, mini and tiny on every figure, the scatter
    # included, although bert has no score to be a point of it.
    assert {"#1f77b4", "#ff7f0e", "#2ca02c"} <= set(re.findall(r"stroke: (#[0-9a-f]{6})", lines))
    assert re.findall(r"fill: (#[0-9a-f]{6}); fill-opacity: 0\.65", scatter) == ["#ff7f0e", "#2ca02c"]
