"""``modelperf distill-report``: a teacher, a plainly fine-tuned student and a distilled student side by side.

    modelperf distill-report --teacher minilm-topics --student bert-tiny-topics
                             --distilled bert-tiny-topics-distilled [--dataset topics] [--limit N]
                             [--batch-size 1] [--sequence-length 128] [--rounds 30]
                             [--threads auto|N] [--output DIR] [--force] [--registry FILE]

Each model is a registry name (prepared on first use), a local folder or a hub id. The three
are timed side by side in alternating rounds and scored on the same examples; the command
prints the table (size, parameters, latency mean and std, accuracy, F1, precision, recall, ROC
AUC, accuracy kept and speed-up over the teacher) and the paired gain of the distilled student
over the plain one, and writes distillation.csv, distillation.md and distillation.png.

Exit codes: 0 measured and written; 1 the files could not be written; 2 bad arguments, before
any work is done.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..measure.threads import pin_threads
from .argument_types import positive_int, thread_count
from .registry_file import command_registry

PROGRAM = "modelperf distill-report"
DEFAULT_OUTPUT = Path("modelperf-distillation")


def register(commands: Any) -> None:
    """Add ``distill-report`` to the ``modelperf`` command's subparsers."""
    report = commands.add_parser(
        "distill-report",
        help="a teacher, a plainly fine-tuned student and a distilled student side by side (CSV, Markdown, scatter)",
        description=(
            "Time a teacher, a student fine-tuned plainly and the same student distilled from the teacher side by side, "
            "score them on the same examples, and write the comparison table (distillation.csv, distillation.md) and "
            "accuracy against latency (distillation.png)."
        ),
    )
    examples = {"teacher": "minilm-topics", "student": "bert-tiny-topics", "distilled": "bert-tiny-topics-distilled"}
    for role, example in examples.items():
        what = f"the {role}: a registry name (e.g. {example}), a folder or a hub id"
        report.add_argument(f"--{role}", required=True, metavar="MODEL", help=what)
    report.add_argument("--dataset", default=None, help="the evaluation set (default: the built-in topics validation split)")
    report.add_argument("--limit", type=positive_int, default=None, metavar="N", help="score the first N examples only")
    report.add_argument("--batch-size", type=positive_int, default=1, metavar="N", help="timed batch size (default: 1)")
    report.add_argument(
        "--sequence-length", type=positive_int, default=128, metavar="N", help="timed sequence length (default: 128)"
    )
    report.add_argument(
        "--rounds", type=positive_int, default=30, metavar="N", help="timed rounds of the three models (default: 30)"
    )
    report.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        metavar="auto|N",
        help="torch intra-op threads: a number, or auto (the default: 1 on a machine of 2 cores)",
    )
    report.add_argument("--confidence", type=float, default=0.99, help="of the gain's lower bound (default: 0.99)")
    report.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"output folder (default: {DEFAULT_OUTPUT})")
    report.add_argument("--force", action="store_true", help="overwrite an earlier report in the output folder")
    report.set_defaults(command=run)


def run(arguments: argparse.Namespace) -> int:
    from ..core.timing import TimingOptions
    from ..measure.workloads import Workload
    from ..models.loading import load_model
    from ..quality.distill_comparison import measure_distillation
    from ..render.distillation import check_distillation_output, comparison_markdown, comparison_rows, write_distillation
    from ..storage.output_folder import OutputFolderError
    from ..sweep.models import UnknownModel, check_models, needs_registry, resolve_model

    names = [arguments.teacher, arguments.student, arguments.distilled]
    registry = command_registry(arguments.registry) if needs_registry(names) else None
    try:
        for flag, name in zip(("--teacher", "--student", "--distilled"), names, strict=True):
            check_models([name], registry, argument=flag)
        if not 0.5 < arguments.confidence < 1:
            raise ValueError(f"--confidence: must be within (0.5, 1), got {arguments.confidence}")
        check_distillation_output(arguments.output, force=arguments.force)
    except (UnknownModel, OutputFolderError, ValueError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    pin_threads(arguments.threads)
    loaded = []
    for name in names:
        checkpoint, task = resolve_model(name, registry)
        print(f"{PROGRAM}: loading {name}", file=sys.stderr, flush=True)
        loaded.append(load_model(checkpoint, task=task))
    rounds = arguments.rounds
    timing = TimingOptions(min_rounds=max(2, rounds), max_rounds=max(2, rounds), max_time=float("inf"))
    print(f"{PROGRAM}: timing the three side by side ({rounds} rounds) and scoring them", file=sys.stderr, flush=True)
    try:
        comparison = measure_distillation(
            *loaded,
            timing=timing,
            workload=Workload(arguments.batch_size, arguments.sequence_length),
            dataset=arguments.dataset,
            limit=arguments.limit,
            confidence=arguments.confidence,
        )
    except ValueError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    rows = comparison_rows(comparison.models)
    title = f"{arguments.distilled} distilled from {arguments.teacher}, beside {arguments.student}"
    print(comparison_markdown(rows, comparison.gain, title=title))
    try:
        written = write_distillation(rows, comparison.gain, arguments.output, title=title, force=arguments.force)
    except OSError as error:
        print(f"{PROGRAM}: error: cannot write into {arguments.output}: {error}", file=sys.stderr)
        return 1
    for file in written:
        print(f"{PROGRAM}: wrote {file.path} ({file.what})")
    return 0
