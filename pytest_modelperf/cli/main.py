"""The ``modelperf`` command: its parser, and the dispatch to each subcommand's module.

    modelperf models              list the registry's models
    modelperf prepare [NAME ...]  build the offline checkpoints and fine-tune the fine-tuned
                                  models (all models by default)
    modelperf plot SWEEP ...      draw the plots of sweeps and of the study's tables, several
                                  result sets overlaid (needs no registry)
    modelperf sweep --models ...  measure models x batch sizes x sequence lengths into the study's
                                  tables (time.csv, required_memory.csv, env.csv) and sweep.csv
    modelperf scaling --model ... --nproc-per-node 1 2
                                  training speed-up on torchrun: samples/s, speed-up and
                                  efficiency per worker count (scaling.csv, scaling.png)
    modelperf distill-report --teacher T --student S --distilled D
                                  a teacher, a plain and a distilled student side by side
                                  (distillation.csv, distillation.md, distillation.png)
    modelperf compare A B         judge run B against run A, or B against the baselines
                                  (``compare B``); exit 1 on a regression (needs no registry).
                                  A run is a --modelperf-json export or a saved run's id
                                  (latest, 3, 0003, 0003_abc1234); --list lists the saved runs,
                                  --history DIR names the run history, --hardware KEY picks
                                  one of its hardware keys
    modelperf diff [REV]          the baseline entries changed since REV (default: the merge base
                                  with the upstream main branch) as a Markdown table (needs no registry)

The registry is ``--registry PATH``, else the file ``[tool.modelperf] registry`` names in
the current directory's ``pyproject.toml``. Each subcommand's module adds its parser
(``register``) and runs it (``run``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..core.extras import MissingExtra
from ..models.registry import RegistryError
from . import compare, diff, distill_report, models, plot, prepare, scaling, sweep


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        return int(arguments.command(arguments) or 0)
    except (RegistryError, MissingExtra) as error:
        print(f"modelperf: error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelperf", description="Model performance regression testing.")
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        help="the model registry TOML (default: [tool.modelperf] registry in ./pyproject.toml)",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for command in (models, prepare, plot, sweep, scaling, distill_report, compare, diff):
        command.register(commands)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
