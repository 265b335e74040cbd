"""``modelperf plot SWEEP``: the plots of a sweep, as PNG and SVG.

    modelperf plot results/             a folder holding sweep.csv (from ``modelperf sweep``)
    modelperf plot results/sweep.csv --log --output docs/plots

Exit codes: 0 plots written; 1 the sweep has nothing to plot (no measure was taken at two
or more batch sizes or sequence lengths); 2 the input is not a readable sweep.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SWEEP_FILE = "sweep.csv"


def register(commands: Any) -> None:
    """Add the ``plot`` command to the ``modelperf`` sub-command parsers."""
    plot = commands.add_parser(
        "plot",
        help="draw a sweep's plots (PNG and SVG)",
        description="Draw each measure of a sweep against sequence length and against batch size, one line per model.",
    )
    plot.add_argument("sweep", type=Path, metavar="SWEEP", help=f"a folder holding {SWEEP_FILE}, or a {SWEEP_FILE} file")
    plot.add_argument("--log", action="store_true", help="log y axis, and log2 x axis where the sizes are powers of two")
    plot.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the plots go (default: a plots folder beside the sweep.csv)",
    )
    plot.set_defaults(command=run_plot)


def run_plot(arguments: argparse.Namespace) -> int:
    from ..render.plots import SweepFrameError, check_sweep, planned_plots, plot_sweep
    from ..sweep.frame import SweepFileError, load_sweep

    path = arguments.sweep / SWEEP_FILE if arguments.sweep.is_dir() else arguments.sweep
    try:
        frame = load_sweep(path)
        plans = planned_plots(check_sweep(frame, str(path)))
    except (SweepFileError, SweepFrameError) as error:
        print(f"modelperf: error: {error}", file=sys.stderr)
        return 2
    if not plans:
        print(
            f"modelperf: nothing to plot in {path}: no measure was taken at two or more sequence lengths "
            "or two or more batch sizes",
            file=sys.stderr,
        )
        return 1
    output = arguments.output if arguments.output is not None else path.parent / "plots"
    try:
        plot_sweep(frame, output, log=arguments.log, source=str(path))
    except OSError as error:
        print(f"modelperf: error: --output {output}: {error}", file=sys.stderr)
        return 2
    print(f"modelperf: {len(plans)} plot(s) of {path} written to {output} (PNG and SVG):")
    for plan in plans:
        print(f"  {plan.stem}")
    return 0
