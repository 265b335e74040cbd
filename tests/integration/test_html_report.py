"""--modelperf-html: the self-contained HTML report of a run, checked as written and as Chromium renders it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import chromium, dump_dom, screenshot

# test_model measures the tiny checkpoint at two batch sizes and two sequence lengths (plots),
# scores it on a small CSV and counts its parameters (the quality scatter); test_slow fails
# once SLOW is set, on a latency of its own making.
TESTS = """
import os
import pytest

CSV = os.path.join(os.path.dirname(__file__), "reviews.csv")

def test_model(modelperf):
    model = modelperf.load(CHECKPOINT, device="cpu")
    for batch_size, sequence_length in ((1, 16), (2, 16), (1, 32)):
        latency = modelperf.measure_latency(model, batch_size=batch_size, sequence_length=sequence_length)
        modelperf.check(latency, threshold="100000%")  # behaviour, not speed, is under test
    modelperf.check(modelperf.measure_accuracy(model, CSV, metrics=["accuracy"])["accuracy"], threshold="100points")
    modelperf.check(modelperf.model_facts(model).parameter_count)

@pytest.mark.parametrize("case", ["<b>bold</b>"])
def test_slow(modelperf, case):
    value = 30.0 if os.environ.get("SLOW") else 10.0
    modelperf.check(modelperf.record("latency <&> of " + case, [value] * 20, unit="ms"))
"""

REVIEWS = "text,label\n" + "".join(
    f"{text},{label}\n"
    for text, label in [
        ("a fine and lovely film", 1),
        ("dull and far too long", 0),
        ("I enjoyed every minute", 1),
        ("the plot made no sense", 0),
        ("great acting throughout", 1),
        ("a waste of an evening", 0),
    ]
)


class _Structure(HTMLParser):
    """Tags, and whether anything points outside the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href") and value and not value.startswith("#"):
                self.external.append(f"{tag} {name}={value}")


@pytest.fixture
def report(pytester: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch, tiny_checkpoint: Path) -> Path:
    """A run with a passing and a failing test (after a recording run), with its HTML report."""
    pytester.makepyfile(test_perf=f"CHECKPOINT = {str(tiny_checkpoint)!r}\n" + TESTS)
    (pytester.path / "reviews.csv").write_text(REVIEWS)
    run("--modelperf-update").assert_outcomes(passed=2)
    monkeypatch.setenv("SLOW", "1")
    result = run("--modelperf-html", "reports/run.html")
    result.assert_outcomes(passed=1, failed=1)
    return pytester.path / "reports" / "run.html"


def test_report_is_written_when_a_test_fails(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>modelperf: 6 checks, 1 failing</title>" in page
    structure = _Structure()
    structure.feed(page)
    assert "script" not in structure.tags and "link" not in structure.tags and "img" not in structure.tags
    assert structure.external == [], "the page must not load anything from outside"
    assert structure.tags.count("svg") == 3  # latency vs batch size and vs sequence length, and the scatter
    # Test ids and metric names are escaped, never markup.
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "latency &lt;&amp;&gt; of" in page
    found = re.findall(r'<tr class="([a-z-]+)"><td class="test">(.*?)</td>', page)
    rows = [(kind, test.replace("<wbr>", "")) for kind, test in found]
    assert rows[0] == ("failing", "test_perf.py::test_slow[&lt;b&gt;bold&lt;/b&gt;]"), "failing rows come first"
    assert {kind for kind, _ in rows[1:]} == {"pass"}
    assert "re-run <code>test_perf.py::test_slow[&lt;b&gt;bold&lt;/b&gt;]</code>: confirmed" in page


@pytest.fixture
def browser() -> str:
    """Asked for before ``report``, so that a machine without Chromium skips (or fails, where
    MODELPERF_REQUIRE_CHROMIUM is set, as in CI) before the runs."""
    return chromium()


def test_report_as_chromium_renders_it(browser: str, report: Path, tmp_path: Path) -> None:
    dom = dump_dom(report, tmp_path / "profile")
    assert "modelperf report" in dom
    assert re.search(r"6 checks, 1 failing", dom)
    failing = re.search(r'<tr class="failing">(.*?)</tr>', dom, re.S)
    assert failing is not None and "✗ REGRESSION" in failing.group(1) and "+200.0%" in failing.group(1)
    assert len(re.findall(r'<tr class="pass">', dom)) == 5
    latencies = ("latency[1x16] (median)", "latency[2x16] (median)", "latency[1x32] (median)")
    for metric in (*latencies, "accuracy[reviews.csv]", "parameters"):
        assert metric in dom
    assert re.search(r'<section id="environment">.*<th>python</th><td>3\.', dom, re.S), "the environment is shown"
    assert re.search(r"<svg[^>]*>.*latency at 1×16 \(ms\), lower is better.*</svg>", dom, re.S), "the scatter is drawn"  # noqa: RUF001
    assert re.search(r"<svg[^>]*>.*Inference time vs batch size, at sequence length 16.*</svg>", dom, re.S)
    assert "<figcaption>inference time against batch size at sequence length 16; dashed: the baseline</figcaption>" in dom

    png = screenshot(report, tmp_path / "profile", tmp_path / "report.png")
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[:2] == (2000, 1280)
    colours = {tuple(pixel) for pixel in pixels[::8, ::8, :3].reshape(-1, 3).round(2).tolist()}
    assert len(colours) > 50, "the screenshot shows a page with tables and plots, not a blank window"
    red_rows = ((pixels[:, :, 0] > 0.95) & (pixels[:, :, 1] < 0.95) & (pixels[:, :, 1] > 0.88)).sum()
    assert red_rows > 1000, "the failing row is visibly marked"


def test_ini_key_writes_the_report_relative_to_the_root_dir(pytester: pytest.Pytester, run) -> None:
    pytester.makeini("[pytest]\nmodelperf_html = out/report.html\n")
    pytester.makepyfile(
        test_perf="def test_a(modelperf):\n    modelperf.check(modelperf.record('latency', [5.0] * 10, unit='ms'))\n"
    )
    sub = pytester.mkdir("elsewhere")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(sub)
        result = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "--rootdir", str(pytester.path), "-c", str(pytester.path / "tox.ini"), str(pytester.path)
        )
        result.assert_outcomes(passed=1)
    page = (pytester.path / "out" / "report.html").read_text(encoding="utf-8")
    assert "1 check, 0 failing" in page and "no baseline" in page
    assert "No plots" in page


def test_option_and_ini_key_are_listed_in_help(pytester: pytest.Pytester) -> None:
    out = pytester.runpytest("--help").stdout.str()
    assert "--modelperf-html=PATH" in out and "modelperf_html" in out


# -- layout: a report with many failing checks --------------------------------------------------

# Every line of the checks table is 14 px at line-height 1.45 (20.3 px), each cell padded 6 px
# above and below: a two-line cell is 53 px high, a three-line one 73 px. Rows are measured
# from the failing rows' red edge in the screenshot, and a table row is as high as its tallest
# cell, so the bound holds the verdict and every other cell of a failing row to two lines.
TWO_LINES_PX = 60
FAILING_EDGE = (0xC6, 0x28, 0x28)  # tr.failing's inset left edge


def _many_failing_checks(tmp_path: Path) -> Path:
    """19 latency checks of four models at four workloads, 14 of them failing, as one page."""
    from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
    from pytest_modelperf.core.judge import NoisePolicy, judge
    from pytest_modelperf.core.measurement import Direction, Measurement
    from pytest_modelperf.core.units import parse_quantity
    from pytest_modelperf.core.verdict import Check
    from pytest_modelperf.render.html import write_html
    from pytest_modelperf.render.run_report import ReportedCheck, RunReport

    def latency(model: str, batch: int, sequence: int, ms: float) -> Measurement:
        context = {"model": model, "batch_size": batch, "sequence_length": sequence, "device": "cpu", "dtype": "float32"}
        samples = [ms * (1 + 0.002 * (i % 7)) for i in range(20)]
        return Measurement.from_samples(
            f"latency[{batch}x{sequence}]", samples, unit="ms", direction=Direction.LOWER_IS_BETTER, context=context
        )

    checks = []
    models = ("bert-base-uncased", "distilbert-base-uncased", "squeezebert-uncased", "bert-tiny", "roberta-base-squad2")
    for index, (model, (batch, sequence)) in enumerate((m, w) for m in models for w in ((1, 128), (8, 128), (1, 512), (8, 512))):
        if index == 19:
            break
        now = latency(model, batch, sequence, 30.0 if index % 4 else 10.2)
        entry = BaselineEntry.from_measurement(latency(model, batch, sequence, 10.0), environment="env1", recorded="2025-11-20")
        verdict = judge(now, Check("median", parse_quantity("10%"), None), entry, NoisePolicy())
        nodeid = f"perf_tests/test_latency.py::test_latency[{model}-b{batch}-s{sequence}]"
        key = EntryKey("cpu-x86-64-float32", "perf_tests/test_latency.py", "test_latency", now.name)
        checks.append(ReportedCheck(nodeid, key, verdict, "env1", fails=verdict.failed))
    assert sum(check.fails for check in checks) == 14
    report = RunReport(
        checks=tuple(checks),
        started="2025-11-21T14:31:05+00:00",
        environments={"env1": {"python": "3.11.7"}},
        baseline_dir=tmp_path / "baselines",
        update_mode="none",
        prune=False,
    )
    page = tmp_path / "many.html"
    write_html(page, report)
    return page


def _failing_row_heights(pixels) -> list[int]:
    """The heights of the failing rows in the screenshot: the runs of the red left edge of the
    checks table (5 px wide, where the failing headline's border is 6 px)."""
    import numpy as np

    rgb = (pixels[:, :, :3] * 255).round().astype(int)
    red = np.all(np.abs(rgb - FAILING_EDGE) <= 3, axis=2)
    columns = np.flatnonzero(red.sum(axis=0) > 0)
    assert columns.size, "no failing row is marked in red"
    left = int(columns[0])
    edge = red[:, left + 2] & ~red[:, left + 5]  # the rows' edge, not the headline's wider border
    heights, run = [], 0
    for inside in edge:
        if inside:
            run += 1
        elif run:
            heights.append(run + 1)  # the row's 1 px bottom border is not red
            run = 0
    return heights


def test_a_failing_verdict_reads_in_two_lines_with_its_reasons_on_demand(browser: str, tmp_path: Path) -> None:
    page = _many_failing_checks(tmp_path)
    dom = dump_dom(page, tmp_path / "profile")
    verdicts = re.findall(r'<tr class="failing">.*?<td class="verdict">(.*?)</td></tr>', dom, re.S)
    assert len(verdicts) == 14
    for verdict in verdicts:
        assert re.fullmatch(
            r"<details><summary>✗ REGRESSION</summary><div class=\"detail\">worse than .+</div></details>", verdict
        )

    png = screenshot(page, tmp_path / "profile", tmp_path / "many.png", height=1400)
    import matplotlib.image

    heights = _failing_row_heights(matplotlib.image.imread(png))
    assert len(heights) == 14, heights
    assert max(heights) <= TWO_LINES_PX, f"failing rows of {heights} px: a verdict should read in one or two lines"
