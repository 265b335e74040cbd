"""``modelperf plot``: the plots of sweeps and of the study's tables, as PNG and SVG.

    modelperf plot results/                  a folder holding sweep.csv (from ``modelperf sweep``)
    modelperf plot results/sweep.csv --log --output docs/plots
    modelperf plot seed-benchmark-results/p100/time.csv      one of the study's tables
    modelperf plot seed-benchmark-results/ --output plots/gpus        P100 against K80
    modelperf plot results/ seed-benchmark-results/ --label ours --label K80 --label P100 --output plots/vs
    modelperf plot models.csv --scatter --x fine_tune.time --size artefact_size --score-name F1

Several inputs, or a folder of result sets, are drawn on the same figures, one line style per
result set and one colour per model. Exit codes: 0 plots written; 1 nothing to plot (no
measure was taken at two or more batch sizes or sequence lengths, or none of those cells has a
value); 2 the input is not a readable sweep, study table or scatter table.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..core.counts import counted

SWEEP_FILE = "sweep.csv"


def register(commands: Any) -> None:
    """Add the ``plot`` command to the ``modelperf`` sub-command parsers."""
    plot = commands.add_parser(
        "plot",
        help="draw the plots of sweeps or of the study's tables (PNG and SVG)",
        description=(
            "Draw each measure of a sweep against sequence length and against batch size, one line per model, "
            "and an overview of the main measures. A SWEEP is a sweep's folder or sweep.csv, a study table "
            "(time.csv, required_memory.csv, ...) or a folder of them, or a folder of such folders (one result "
            "set each); several are overlaid on the same figures. With --scatter, SWEEP is a table of one row "
            "per model and the plot is its score against one column."
        ),
    )
    plot.add_argument(
        "sweep",
        type=Path,
        nargs="+",
        metavar="SWEEP",
        help=f"a folder holding {SWEEP_FILE} or the study's tables, a {SWEEP_FILE} or a study table, or a folder of such folders",
    )
    plot.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME",
        help="name a result set in the legends, once per result set in order (default: its folder's name)",
    )
    plot.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="draw model FROM as model TO (one colour and legend entry for both), e.g. a study's hub id as the "
        "registry name that loads it",
    )
    plot.add_argument("--log", action="store_true", help="log y axis, and log2 x axis where the sizes are powers of two")
    plot.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the plots go, replacing plots of the same name already there (default: a plots folder beside "
        "the one sweep, refused up front where that folder cannot be written; needed for several)",
    )
    scatter = plot.add_argument_group("scatter of one row per model (--scatter)")
    scatter.add_argument(
        "--scatter",
        action="store_true",
        help="SWEEP is a CSV with label, score and the columns named below: draw score against --x",
    )
    scatter.add_argument(
        "--x",
        default=None,
        metavar="COLUMN",
        help="the x axis: latency_ms, throughput, fine_tune.time, ... (default: latency_ms or throughput)",
    )
    scatter.add_argument(
        "--size",
        default=None,
        metavar="COLUMN",
        help="marker area proportional to it: parameters, artefact_size, fine_tune.peak_gpu_memory, ... (default: parameters)",
    )
    scatter.add_argument("--score-name", default="score", metavar="NAME", help="what the score column is (default: score)")
    scatter.add_argument("--score-unit", default="points", metavar="UNIT", help="the score's unit (default: points)")
    plot.set_defaults(command=run_plot)


def _output_refusal(output: Path, *, given: bool) -> str | None:
    """Why the plots cannot be written into ``output``, checked before any figure is drawn: it is
    not a folder, or the folder that holds it (or would, once made) is not writable. None when
    they can be. ``given``: ``output`` came from --output, not from the default beside the input."""
    existing = next((folder for folder in (output, *output.parents) if folder.exists()), None)
    if existing is None:
        return None  # not even the working folder exists: the write itself says why
    if not existing.is_dir():
        problem = f"{existing} is not a folder"
    elif os.access(existing, os.W_OK | os.X_OK):
        return None
    else:
        problem = f"{existing} is not writable"
    if given:
        return f"--output {output}: cannot write the plots there: {problem}"
    return f"cannot write the plots to their default folder {output}: {problem}; pass --output DIR to write them elsewhere"


def run_plot(arguments: argparse.Namespace) -> int:
    if arguments.scatter:
        return _run_scatter(arguments)
    from ..render.overview import plot_overview
    from ..render.plot_styles import ModelStyles
    from ..render.plots import SweepFrameError, check_sweep, left_out_plots, planned_plots, plot_sweep
    from ..sweep.frame import SweepFileError, combine, load_result_sets, parse_renames

    try:
        sets = load_result_sets(arguments.sweep, arguments.label)
        renames = parse_renames(arguments.rename)
        frame = sets[0].frame if len(sets) == 1 and not renames else combine(sets, renames)
        source = str(sets[0].source) if len(sets) == 1 else ", ".join(found.label for found in sets)
        checked = check_sweep(frame, source)
    except (SweepFileError, SweepFrameError) as error:
        print(f"modelperf: error: {error}", file=sys.stderr)
        return 2
    plans, left_out = planned_plots(checked), left_out_plots(checked)
    if not plans:
        why = "".join(f"\n  {left.plan.stem}: {left.reason}" for left in left_out)
        print(
            f"modelperf: nothing to plot in {source}: no measure was taken at two or more sequence lengths "
            f"or two or more batch sizes{' with a value' if left_out else ''}{why}",
            file=sys.stderr,
        )
        return 1
    output = arguments.output
    if output is None:
        if len(sets) > 1:
            print(
                f"modelperf: error: --output: {len(sets)} result sets ({source}) are drawn together; say where", file=sys.stderr
            )
            return 2
        only = sets[0].source
        output = (only if only.is_dir() else only.parent) / "plots"
    refusal = _output_refusal(output, given=arguments.output is not None)
    if refusal is not None:
        print(f"modelperf: error: {refusal}", file=sys.stderr)
        return 2
    styles = ModelStyles.for_models(checked["model"])  # one colour per model on every figure
    try:
        plot_sweep(frame, output, log=arguments.log, source=source, styles=styles)
        overview = plot_overview(frame, output, log=arguments.log, source=source, styles=styles)
    except OSError as error:
        print(f"modelperf: error: --output {output}: {error}", file=sys.stderr)
        return 2
    print(f"modelperf: {counted(len(plans), 'plot')} of {source} written to {output} (PNG and SVG):")
    for plan in plans:
        print(f"  {plan.stem}")
    if overview:
        print("  overview (the main measures side by side)")
    for left in left_out:
        print(f"modelperf: left out {left.plan.stem}: {left.reason}")
    return 0


def _run_scatter(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from ..render.plots import SweepFrameError, quality_scatter, save_figure

    if len(arguments.sweep) != 1 or arguments.label:
        print("modelperf: error: --scatter draws one table: pass one CSV and no --label", file=sys.stderr)
        return 2
    (path,) = arguments.sweep
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        print(f"modelperf: error: {path}: not a readable CSV: {error}", file=sys.stderr)
        return 2
    try:
        figure = quality_scatter(
            table,
            score_name=arguments.score_name,
            score_unit=arguments.score_unit,
            log=arguments.log,
            source=str(path),
            x=arguments.x,
            size=arguments.size,
        )
    except SweepFrameError as error:
        print(f"modelperf: error: {error}", file=sys.stderr)
        return 2
    x = arguments.x or next(column for column in ("latency_ms", "throughput") if column in table.columns)
    stem = "_".join(part.replace(".", "_") for part in (arguments.score_name.lower().replace(" ", "_"), "vs", x))
    output = arguments.output if arguments.output is not None else path.parent / "plots"
    refusal = _output_refusal(output, given=arguments.output is not None)
    if refusal is not None:
        print(f"modelperf: error: {refusal}", file=sys.stderr)
        return 2
    try:
        save_figure(figure, output / stem)
    except OSError as error:
        print(f"modelperf: error: --output {output}: {error}", file=sys.stderr)
        return 2
    print(f"modelperf: scatter of {path} written to {output} (PNG and SVG):\n  {stem}")
    return 0
