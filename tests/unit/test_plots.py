"""The plots module: sweep line plots (out-of-memory cells, log axes, units, colours, left-out plots), the overview, overlays, the scatter, files."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from pytest_modelperf.core.extras import MissingExtra
from pytest_modelperf.measure.tidy import TIDY_COLUMNS
from pytest_modelperf.render.overview import overview_figure, plot_overview
from pytest_modelperf.render.plot_styles import ModelStyles
from pytest_modelperf.render.plots import (
    SweepFrameError,
    check_sweep,
    left_out_plots,
    line_plot,
    planned_plots,
    plot_sweep,
    quality_scatter,
    save_figure,
    sweep_figures,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cell(
    model: str,
    batch_size: int,
    sequence_length: int,
    measure: str,
    value: float | None,
    *,
    status: str = "ok",
    unit: str | None = None,
    device: str = "cuda",
    dtype: str = "float32",
) -> dict[str, object]:
    units = {"time": "s", "throughput": "samples/s"}
    return {
        "model": f"org/{model}",
        "label": model,
        "batch_size": batch_size,
        "sequence_length": sequence_length,
        "measure": measure,
        "unit": unit or units.get(measure, "MB"),
        "value": value,
        "status": status,
        "median": value,
        "mean": value,
        "min": value,
        "max": value,
        "stdev": 0.0 if value is not None else None,
        "iqr": 0.0 if value is not None else None,
        "rounds": 10 if value is not None else None,
        "device": device,
        "dtype": dtype,
    }


@pytest.fixture
def sweep() -> pd.DataFrame:
    """Two models at batch 32 x sequence 32..1024 and sequence 512 x batch 32..256; BERT runs
    out of memory at sequence 1024, both at batch 256."""
    rows = []
    for model, scale in (("bert", 1.0), ("distilbert", 0.5)):
        for sequence_length in (32, 128, 512, 1024):
            oom = model == "bert" and sequence_length == 1024
            rows.append(
                cell(
                    model,
                    32,
                    sequence_length,
                    "time",
                    None if oom else scale * sequence_length / 1000,
                    status="out of memory" if oom else "ok",
                )
            )
            memory = None if oom else scale * (1000 + sequence_length)
            rows.append(cell(model, 32, sequence_length, "gpu_memory_allocated", memory, status="out of memory" if oom else "ok"))
        for batch_size in (64, 128, 256):
            oom = batch_size == 256
            seconds = None if oom else scale * batch_size / 50
            rows.append(cell(model, batch_size, 512, "time", seconds, status="out of memory" if oom else "ok"))
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def series(figure, label: str):
    (axes,) = figure.axes
    (line,) = [line for line in axes.lines if line.get_label() == label]
    return [float(x) for x in line.get_xdata()], [float(y) for y in line.get_ydata()]


def test_plot_sweep_writes_the_plots_a_sweep_calls_for(sweep: pd.DataFrame, tmp_path: Path) -> None:
    written = plot_sweep(sweep, tmp_path / "plots")
    stems = sorted({path.stem for path in written})
    assert stems == [
        "gpu_memory_allocated_vs_sequence_length_b32",
        "time_vs_batch_size_s512",  # 32 (from the first grid), 64, 128, 256
        "time_vs_sequence_length_b32",
    ]
    left = sorted(path.name for path in (tmp_path / "plots").iterdir())
    assert left == sorted(path.name for path in written), "no temporary files left"
    for path in written:
        assert path.stat().st_size > 5000
        if path.suffix == ".png":
            assert path.read_bytes().startswith(PNG_SIGNATURE)
            height, width, _ = matplotlib.image.imread(path).shape
            assert 500 < height < width < 1200
        else:
            root = ElementTree.parse(path).getroot()
            assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_an_out_of_memory_cell_is_marked_not_drawn_as_a_value(sweep: pd.DataFrame) -> None:
    figure = line_plot(sweep, measure="time", against="sequence_length", fixed=32)
    x, y = series(figure, "bert")
    assert x == [32, 128, 512, 1024]
    assert y[:3] == pytest.approx([32, 128, 512]) and math.isnan(y[3]), (
        "the line stops where memory ran out (in ms: all under 1 s)"
    )
    (axes,) = figure.axes
    marks = [line for line in axes.lines if line.get_marker() == "x"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [1024]
    assert [text.get_text() for text in axes.texts] == ["OOM"]
    assert axes.get_ylim()[1] > 512 * 1.15, "room is kept above the data for the mark"
    assert 1024 in axes.get_xticks() and axes.get_xlim()[1] >= 1024
    assert series(figure, "distilbert")[1][3] == pytest.approx(512)


def test_axes_have_units_title_names_the_fixed_dimension_and_legend_short_names(sweep: pd.DataFrame) -> None:
    figure = line_plot(sweep, measure="gpu_memory_allocated", against="sequence_length", fixed=32)
    (axes,) = figure.axes
    assert axes.get_xlabel() == "sequence length (tokens)"
    assert axes.get_ylabel() == "GPU memory, allocator peak (MiB)"
    assert "at batch size 32" in figure.get_suptitle() and "(cuda, float32)" in figure.get_suptitle().replace("\n", " ")
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["bert", "distilbert"]


def test_log_scale_uses_log2_for_powers_of_two(sweep: pd.DataFrame) -> None:
    (axes,) = line_plot(sweep, measure="time", against="batch_size", fixed=512, log=True).axes
    assert axes.get_yscale() == "log" and axes.get_xscale() == "log"
    assert axes.xaxis.get_transform().base == 2
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["32", "64", "128", "256"]
    (linear,) = line_plot(sweep, measure="time", against="batch_size", fixed=512).axes
    assert linear.get_yscale() == "linear" and linear.get_xscale() == "linear"
    odd = sweep.assign(batch_size=sweep["batch_size"].replace({64: 48}))
    (axes,) = line_plot(odd, measure="time", against="batch_size", fixed=512, log=True).axes
    assert axes.get_yscale() == "log" and axes.get_xscale() == "linear", "sizes that are not powers of two keep a linear x"


def test_log_axes_label_ticks_as_plain_numbers(sweep: pd.DataFrame) -> None:
    figure = line_plot(sweep, measure="time", against="sequence_length", fixed=32, log=True)
    (axes,) = figure.axes
    FigureCanvasAgg(figure).draw()
    low, high = axes.get_ylim()
    ticks = axes.get_yticklabels() + axes.get_yticklabels(minor=True)
    labels = [t.get_text() for t in ticks if low <= t.get_position()[1] <= high]
    shown = [label for label in labels if label]

    assert shown and all(float(label) > 0 for label in shown), shown
    assert not any("e" in label or "10^" in label or "times" in label for label in shown), shown
    assert {"30", "300"} <= set(shown), "a short span labels its minor ticks too"


def test_baseline_is_drawn_dashed_beside_the_current_values(sweep: pd.DataFrame) -> None:
    baseline = sweep.assign(value=sweep["value"] * 0.9)
    (axes,) = line_plot(sweep, measure="time", against="sequence_length", fixed=32, baseline=baseline).axes
    dashed = [line for line in axes.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 2
    assert "baseline" in [text.get_text() for text in axes.get_legend().get_texts()]


def test_a_sweep_of_several_devices_names_them_in_the_legend(sweep: pd.DataFrame) -> None:
    cpu = sweep[sweep["model"] == "org/distilbert"].assign(device="cpu")
    both = pd.concat([sweep, cpu], ignore_index=True)
    (axes,) = line_plot(both, measure="time", against="sequence_length", fixed=32).axes
    # A model per colour and marker, then a device per line style.
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["bert", "distilbert", "cpu float32", "cuda float32"]
    (cpu_line,) = [line for line in axes.lines if line.get_label() == "distilbert (cpu float32)"]
    (cuda_line,) = [line for line in axes.lines if line.get_label() == "distilbert (cuda float32)"]
    assert cpu_line.get_color() == cuda_line.get_color(), "one colour per model"
    assert cpu_line.get_linestyle() == "-" and cuda_line.get_linestyle() == ":"


def test_planned_plots_skip_dimensions_with_one_value(sweep: pd.DataFrame) -> None:
    one_cell = sweep[(sweep["measure"] == "time") & (sweep["batch_size"] == 32) & (sweep["sequence_length"] == 32)]
    assert planned_plots(check_sweep(one_cell)) == []
    assert [plan.stem for plan in planned_plots(check_sweep(sweep))] == [
        "gpu_memory_allocated_vs_sequence_length_b32",
        "time_vs_sequence_length_b32",
        "time_vs_batch_size_s512",
    ]


def first_cell(frame: pd.DataFrame, column: str, value: object) -> list[object]:
    """The column with its first cell replaced."""
    return [value, *frame[column][1:]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["status", "unit"]), "results.csv: not a sweep: 2 columns missing: unit, status"),
        (lambda f: f[["model", "value"]], "results.csv: not a sweep: 15 columns missing: label, batch_size"),
        (lambda f: f.iloc[0:0], "results.csv: the sweep has no rows"),
        (
            lambda f: f.assign(batch_size=first_cell(f, "batch_size", 0)),
            "results.csv: row 1, column batch_size: expected a positive whole number, got '0'",
        ),
        (
            lambda f: f.assign(sequence_length=first_cell(f, "sequence_length", "long")),
            "row 1, column sequence_length: expected a positive whole number, got 'long', not a number",
        ),
        (
            lambda f: f.assign(value=first_cell(f, "value", None)),
            "results.csv: row 1, column value: status is 'ok' but the value is empty",
        ),
        (lambda f: f.assign(status=first_cell(f, "status", "")), "results.csv: row 1, column status: empty"),
        (
            lambda f: f.assign(unit=first_cell(f, "unit", "ms")),
            "results.csv: column unit: measure 'time' has several units (ms, s)",
        ),
    ],
)
def test_a_bad_frame_gives_an_error_naming_the_source_and_column(sweep: pd.DataFrame, change, message: str) -> None:
    with pytest.raises(SweepFrameError) as error:
        plot_sweep(change(sweep), "unused", source="results.csv")
    assert message in str(error.value)


def test_a_frame_with_no_sweep_columns_says_what_it_has(tmp_path: Path) -> None:
    expected = r"data.csv: not a sweep: its columns are a, b; a sweep has the columns model,label,"
    with pytest.raises(SweepFrameError, match=expected):
        plot_sweep(pd.DataFrame({"a": [1], "b": [2]}), tmp_path, source="data.csv")
    with pytest.raises(SweepFrameError, match="expected a pandas DataFrame, got list"):
        check_sweep([1, 2])  # type: ignore[arg-type]


def test_line_plot_names_a_missing_slice(sweep: pd.DataFrame) -> None:
    with pytest.raises(SweepFrameError, match=r"no 'throughput' cells at batch size 32 \(measures: gpu_memory_allocated, time\)"):
        line_plot(sweep, measure="throughput", against="sequence_length", fixed=32)
    with pytest.raises(ValueError, match="against: expected sequence_length or batch_size, got 'rounds'"):
        line_plot(sweep, measure="time", against="rounds", fixed=32)  # type: ignore[arg-type]


def test_svg_files_are_deterministic_and_undated(sweep: pd.DataFrame, tmp_path: Path) -> None:
    first = plot_sweep(sweep, tmp_path / "a")
    second = plot_sweep(sweep, tmp_path / "b")
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name
    svg = first[1].read_text()
    assert first[1].suffix == ".svg" and "<dc:date>" not in svg


def test_save_figure_replaces_files_and_closes_a_pyplot_figure(tmp_path: Path) -> None:
    import matplotlib.pyplot as pyplot

    (tmp_path / "chart.png").write_bytes(b"old")
    figure = pyplot.figure()
    figure.add_subplot().plot([1, 2], [3, 4])
    written = save_figure(figure, tmp_path / "chart")
    assert written == [tmp_path / "chart.png", tmp_path / "chart.svg"]
    assert written[0].read_bytes().startswith(PNG_SIGNATURE)
    assert not pyplot.fignum_exists(figure.number)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chart.png", "chart.svg"]


def test_dollar_signs_in_names_are_shown_not_read_as_mathtext(sweep: pd.DataFrame, tmp_path: Path) -> None:
    renamed = sweep.assign(label=sweep["label"].replace({"bert": "bert $1 $2"}))
    figure = line_plot(renamed, measure="time", against="sequence_length", fixed=32)
    assert save_figure(figure, tmp_path / "dollars")[0].is_file()


QUALITY = pd.DataFrame(
    {
        "label": ["bert", "distilbert", "bert-tiny"],
        "latency_ms": [95.0, 48.0, 2.1],
        "score": [88.5, 86.9, 70.1],
        "parameters": [109_483_778, 66_955_010, 4_386_436],
    }
)


def test_scatter_marker_area_is_proportional_to_parameters() -> None:
    figure = quality_scatter(QUALITY)
    (axes,) = figure.axes
    points = [collection for collection in axes.collections if len(collection.get_offsets())]
    areas = [float(collection.get_sizes()[0]) for collection in points]
    assert areas[0] / areas[2] == pytest.approx(109_483_778 / 4_386_436)
    assert [tuple(collection.get_offsets()[0]) for collection in points] == [(95.0, 88.5), (48.0, 86.9), (2.1, 70.1)]
    assert [text.get_text() for text in axes.texts] == ["bert", "distilbert", "bert-tiny"]
    legend = axes.get_legend()
    assert legend.get_title().get_text() == "parameters"
    assert [text.get_text() for text in legend.get_texts()] == ["4.4M", "67M", "110M"]
    assert axes.get_xlabel() == "latency (ms), lower is better" and axes.get_ylabel() == "accuracy (points)"


def test_scatter_without_sizes_uses_equal_markers_and_throughput_works() -> None:
    table = QUALITY.drop(columns=["parameters", "latency_ms"]).assign(throughput=[100.0, 200.0, 2000.0])
    (axes,) = quality_scatter(table, score_name="f1", log=True).axes
    areas = {float(collection.get_sizes()[0]) for collection in axes.collections}
    assert len(areas) == 1 and axes.get_legend() is None
    assert axes.get_xscale() == "log" and axes.get_xlabel() == "throughput (samples/s), higher is better"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (QUALITY.drop(columns=["score"]), "scores.csv: 1 column needed: score;"),
        (QUALITY.assign(throughput=1.0), "latency_ms or throughput (one of them)"),
        (
            QUALITY.assign(score=["good", 1.0, 2.0]),
            "scores.csv: row 1, column score: expected a number, got 'good', not a number",
        ),
        (QUALITY.assign(parameters=[0, 1, 2]), "scores.csv: row 1, column parameters: expected a positive count"),
        (QUALITY.iloc[0:0], "scores.csv: no rows"),
    ],
)
def test_scatter_rejects_a_bad_table(table: pd.DataFrame, message: str) -> None:
    with pytest.raises(SweepFrameError) as error:
        quality_scatter(table, source="scores.csv")
    assert message in str(error.value)


def test_checking_and_planning_need_no_matplotlib_and_drawing_names_the_extra(
    sweep: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    assert len(planned_plots(check_sweep(sweep))) == 3
    with pytest.raises(MissingExtra, match=r"drawing plots needs matplotlib.*pip install 'pytest-modelperf\[plots\]'"):
        line_plot(sweep, measure="time", against="sequence_length", fixed=32)


def test_the_renderers_import_without_matplotlib() -> None:
    code = (
        "import sys\n"
        "import pytest_modelperf.render.plots, pytest_modelperf.render.html, pytest_modelperf.render.terminal\n"
        "assert 'matplotlib' not in sys.modules, sorted(m for m in sys.modules if m.startswith('matplotlib'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_plot_whose_cells_were_all_skipped_is_left_out_and_says_why(sweep: pd.DataFrame, tmp_path: Path) -> None:
    skipped = [
        cell(model, 32, sequence_length, "host_memory_peak", None, status="skipped: sequence length exceeds the model's 512")
        for model in ("bert", "distilbert")
        for sequence_length in (32, 128, 512, 1024)
    ]
    frame = pd.concat([sweep, pd.DataFrame(skipped, columns=TIDY_COLUMNS)], ignore_index=True)
    checked = check_sweep(frame)
    assert "host_memory_peak_vs_sequence_length_b32" not in [plan.stem for plan in planned_plots(checked)]
    (left,) = left_out_plots(checked)
    assert (left.plan.stem, left.reason) == ("host_memory_peak_vs_sequence_length_b32", "no cell has a value (8 skipped)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Data has no positive values" from a log axis over nothing
        written = plot_sweep(frame, tmp_path, log=True)
    assert not [path for path in written if path.stem.startswith("host_memory_peak")]
    with pytest.raises(
        SweepFrameError, match=r"host_memory_peak_vs_sequence_length_b32: nothing to draw: no cell has a value \(8 skipped\)"
    ):
        line_plot(frame, measure="host_memory_peak", against="sequence_length", fixed=32)


def test_a_log_axis_over_values_of_zero_stays_linear(sweep: pd.DataFrame) -> None:
    zeros = sweep.assign(value=sweep["value"].where(sweep["value"].isna(), 0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (axes,) = line_plot(zeros, measure="time", against="sequence_length", fixed=32, log=True).axes
    assert axes.get_yscale() == "linear" and axes.get_ylim()[0] > -1


def test_times_under_a_second_are_drawn_in_ms_and_longer_ones_in_s(sweep: pd.DataFrame) -> None:
    (short,) = line_plot(sweep, measure="time", against="sequence_length", fixed=32).axes  # 0.016 .. 0.512 s
    assert short.get_ylabel() == "inference time (ms)"
    (long,) = line_plot(sweep, measure="time", against="batch_size", fixed=512).axes  # up to 2.56 s
    assert long.get_ylabel() == "inference time (s)"
    assert series(long.figure, "bert")[1][:3] == pytest.approx([0.512, 1.28, 2.56])
    baseline = sweep.assign(value=sweep["value"] * 3)  # a baseline over 1 s puts the figure in seconds
    (both,) = line_plot(sweep, measure="time", against="sequence_length", fixed=32, baseline=baseline).axes
    assert both.get_ylabel() == "inference time (s)"


def test_each_model_keeps_its_colour_and_marker_on_every_figure(sweep: pd.DataFrame) -> None:
    # "tiny" is only in the batch-size plot; it must not shift the others' colours there.
    tiny = [cell("tiny", batch_size, 512, "time", 0.001 * batch_size) for batch_size in (32, 64, 128)]
    frame = pd.concat([sweep, pd.DataFrame(tiny, columns=TIDY_COLUMNS)], ignore_index=True)
    styles = ModelStyles.for_models(frame["model"])
    seen: dict[str, set[tuple[object, str]]] = {}
    for _, figure in sweep_figures(frame, styles=styles):
        for axes in figure.axes:
            for line in axes.lines:
                if line.get_label().startswith("_"):
                    continue
                seen.setdefault(line.get_label(), set()).add((tuple(line.get_color()), line.get_marker()))
    assert {label: len(styles_seen) for label, styles_seen in seen.items()} == {"bert": 1, "distilbert": 1, "tiny": 1}
    assert len({next(iter(found)) for found in seen.values()}) == 3
    assert next(iter(seen["bert"]))[0] == tuple(styles.colour("org/bert"))


def test_the_overview_draws_the_main_measures_side_by_side(tmp_path: Path) -> None:
    rows = []
    for model, scale in (("bert", 1.0), ("distilbert", 0.5)):
        for batch_size, sequence_length in [(8, s) for s in (32, 128, 512)] + [(b, 128) for b in (1, 32)]:
            seconds = scale * batch_size * sequence_length / 4000
            rows.append(cell(model, batch_size, sequence_length, "time", seconds))
            rows.append(cell(model, batch_size, sequence_length, "throughput", batch_size / seconds))
            rows.append(cell(model, batch_size, sequence_length, "host_memory_peak", scale * batch_size * sequence_length))
            rows.append(cell(model, batch_size, sequence_length, "gpu_memory_reserved", 1.0))  # not a main measure
    figure = overview_figure(pd.DataFrame(rows, columns=TIDY_COLUMNS))
    assert figure is not None
    titles = [axes.get_title().replace("\n", " ") for axes in figure.axes]
    assert titles == [
        "Inference time vs sequence length, batch size 8",
        "Inference time vs batch size, sequence length 128",
        "Throughput vs sequence length, batch size 8",
        "Throughput vs batch size, sequence length 128",
        "Host memory peak vs sequence length, batch size 8",
        "Host memory peak vs batch size, sequence length 128",
    ]
    assert figure.axes[4].get_ylabel() == "host memory peak (MiB)"
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == ["bert", "distilbert"]
    assert figure.get_suptitle() == "Overview: the main measures (cuda, float32)"
    written = plot_overview(pd.DataFrame(rows, columns=TIDY_COLUMNS), tmp_path)
    assert written == [tmp_path / "overview.png", tmp_path / "overview.svg"]
    height, width, _ = matplotlib.image.imread(tmp_path / "overview.png").shape
    assert width > 1200 and height > 1200, "three rows of two panels"
    assert plot_overview(pd.DataFrame(rows[:4], columns=TIDY_COLUMNS), tmp_path / "one") == [], "one cell: no panel"


def test_overlaid_result_sets_share_model_colours_and_differ_in_line_style(sweep: pd.DataFrame) -> None:
    first = sweep.assign(result_set="P100")
    second = sweep.assign(result_set="K80", value=sweep["value"] * 4)
    (axes,) = line_plot(pd.concat([first, second], ignore_index=True), measure="time", against="sequence_length", fixed=32).axes
    lines = {line.get_label(): line for line in axes.lines if not line.get_label().startswith("_")}
    assert set(lines) == {"bert (P100)", "bert (K80)", "distilbert (P100)", "distilbert (K80)"}
    assert lines["bert (P100)"].get_color() == lines["bert (K80)"].get_color()
    assert lines["bert (P100)"].get_linestyle() == "-" and lines["bert (K80)"].get_linestyle() == ":", "in the order given"
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["bert", "distilbert", "P100", "K80"]


FINE_TUNED = pd.DataFrame(
    {
        "model": ["org/bert", "org/distilbert", "org/bert-tiny"],
        "label": ["bert", "distilbert", "bert-tiny"],
        "score": [88.5, 86.9, 70.1],
        "fine_tune.time": [3600.0, 1900.0, 120.0],
        "artefact_size": [438.0, 268.0, 17.6],  # MB
        "fine_tune.peak_gpu_memory": [9000.0, 5000.0, 800.0],
    }
)


def test_a_scatter_takes_any_measure_on_x_and_any_size_column() -> None:
    figure = quality_scatter(FINE_TUNED, score_name="F1", x="fine_tune.time", size="artefact_size")
    (axes,) = figure.axes
    points = [collection for collection in axes.collections if len(collection.get_offsets())]
    assert [tuple(collection.get_offsets()[0]) for collection in points] == [(3600.0, 88.5), (1900.0, 86.9), (120.0, 70.1)]
    areas = [float(collection.get_sizes()[0]) for collection in points]
    assert areas[0] / areas[2] == pytest.approx(438.0 / 17.6)
    assert axes.get_xlabel() == "fine-tune time (s), lower is better"
    assert "F1 vs fine-tune time" in figure.get_suptitle()
    legend = axes.get_legend()
    assert legend.get_title().get_text() == "artefact size"
    assert [text.get_text() for text in legend.get_texts()] == ["17 MiB", "260 MiB", "420 MiB"], "memory in MiB, as every figure"
    (axes,) = quality_scatter(FINE_TUNED, x="fine_tune.time", size="fine_tune.peak_gpu_memory").axes
    assert axes.get_legend().get_title().get_text() == "fine-tune GPU memory peak"
    quick = FINE_TUNED.assign(**{"fine_tune.time": [0.5, 0.25, 0.125]})
    assert quality_scatter(quick, x="fine_tune.time").axes[0].get_xlabel() == "fine-tune time (ms), lower is better"


def test_a_scatter_colours_each_model_as_the_line_plots_do(sweep: pd.DataFrame) -> None:
    styles = ModelStyles.for_models(["org/a-first", *FINE_TUNED["model"]])
    (axes,) = quality_scatter(FINE_TUNED, x="fine_tune.time", styles=styles).axes
    colours = [tuple(collection.get_facecolor()[0][:3]) for collection in axes.collections if len(collection.get_offsets())]
    assert colours == [tuple(styles.colour(model)[:3]) for model in FINE_TUNED["model"]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x": "train_time"}, "scores.csv: 1 column needed: train_time;"),
        ({"x": "fine_tune.time", "size": "disk"}, "scores.csv: 1 column needed: disk;"),
    ],
)
def test_a_scatter_names_a_column_it_lacks(change: dict[str, str], message: str) -> None:
    with pytest.raises(SweepFrameError, match=re.escape(message)):
        quality_scatter(FINE_TUNED, source="scores.csv", **change)
    gap = FINE_TUNED.assign(artefact_size=[438.0, None, 17.6])
    with pytest.raises(SweepFrameError, match=r"row 2, column artefact_size: expected a positive number, got empty"):
        quality_scatter(gap, x="fine_tune.time", size="artefact_size", source="scores.csv")
