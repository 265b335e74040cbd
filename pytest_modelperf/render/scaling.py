"""A scaling measurement's files: ``scaling.csv``, the actual-against-linear speed-up plot, ``scaling.json``.

- ``scaling.csv``: one row per launch, ``nproc,global_batch,samples_per_second,speedup,efficiency``
  first (workers per node, examples per optimizer step over all workers, samples/s at the
  median step, speed-up and efficiency against the variant's smallest count), then the
  variant, the node count, the world size, the per-worker step and the median step time. A
  figure that could not be taken (a step of no measurable time) is empty.
- ``scaling.png``: speed-up against workers, each variant beside linear scaling, the study's
  plot; each point is labelled with its efficiency.
- ``scaling.json``: the settings and every run's per-step seconds, to re-plot or re-compute.

An output folder that already holds any of these files is not written over without ``force``
(as ``modelperf sweep`` does). The files are written all or nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.extras import require
from ..storage.atomic_files import atomic_write_files
from ..storage.output_folder import OutputFolderError, WrittenFile, check_output_folder
from ..training.scaling import DELAYED_SYNC, PLAIN, ScalingResult, ScalingRow
from .plots import close_figure, figure_bytes, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SCHEMA = 1
CSV_FILE, PLOT_FILE, JSON_FILE = "scaling.csv", "scaling.png", "scaling.json"
SCALING_FILES = (CSV_FILE, PLOT_FILE, JSON_FILE)
CSV_COLUMNS = (
    "nproc",
    "global_batch",
    "samples_per_second",
    "speedup",
    "efficiency",
    "variant",
    "nnodes",
    "world_size",
    "batch_size",
    "sequence_length",
    "gradient_accumulation",
    "step_ms_median",
    "steps",
    "threads",
    "device",
)
VARIANT_LABELS = {PLAIN: "actual (DDP)", DELAYED_SYNC: "actual (DDP, delayed gradient sync)"}
FIGURE_SIZE = (6.0, 4.4)


# The scaling command's names for the shared output-folder types.
ScalingOutputError = OutputFolderError


def check_scaling_output(directory: Path, *, force: bool, argument: str = "--output") -> None:
    """Before any measuring: the folder can be written, and holds no scaling files unless ``force``."""
    check_output_folder(directory, SCALING_FILES, force=force, holds="a scaling measurement's files", argument=argument)


def require_plots() -> None:
    """matplotlib is there to draw the plot, or ``MissingExtra`` naming the ``plots`` extra: checked before measuring."""
    require("matplotlib", "plots", "the scaling plot")


def csv_rows(rows: Iterable[ScalingRow]) -> list[list[str]]:
    """The rows of ``scaling.csv`` under ``CSV_COLUMNS``, as text."""
    lines = []
    for row in rows:
        run = row.run
        values: dict[str, Any] = {
            "nproc": run.nproc_per_node,
            "global_batch": run.global_batch,
            "samples_per_second": _figure(run.samples_per_second, ".3f"),
            "speedup": _figure(row.speedup, ".4f"),
            "efficiency": _figure(row.efficiency, ".4f"),
            "variant": run.variant,
            "nnodes": run.nnodes,
            "world_size": run.world_size,
            "batch_size": run.batch_size,
            "sequence_length": run.sequence_length,
            "gradient_accumulation": run.gradient_accumulation,
            "step_ms_median": _figure(run.step_ms_median, ".3f"),
            "steps": len(run.step_seconds),
            "threads": run.threads,
            "device": run.device,
        }
        lines.append([str(values[column]) for column in CSV_COLUMNS])
    return lines


def scaling_csv(rows: Iterable[ScalingRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(rows))
    return buffer.getvalue()


def _figure(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def scaling_document(result: ScalingResult) -> dict[str, Any]:
    """``scaling.json``: the settings, every run with its per-step seconds, and the rows' figures."""
    settings = result.settings
    return {
        "schema": SCHEMA,
        "settings": {
            "model": settings.name,
            "checkpoint": settings.checkpoint,
            "task": settings.task,
            "nproc": list(settings.nproc),
            "nnodes": settings.rendezvous.nnodes,
            "batch_size": settings.batch_size,
            "sequence_length": settings.sequence_length,
            "steps": settings.steps,
            "warmup_steps": settings.warmup_steps,
            "gradient_accumulation": settings.gradient_accumulation,
            "variants": list(settings.variants),
            "device": settings.device,
            "threads": settings.threads,
        },
        "runs": [_run_entry(row) for row in result.rows],
        "notes": list(result.notes),
    }


def _run_entry(row: ScalingRow) -> dict[str, Any]:
    against = {"baseline_world_size": row.baseline_world_size, "speedup": row.speedup, "efficiency": row.efficiency}
    return {**row.run.to_dict(), **against}


def scaling_figure(rows: Sequence[ScalingRow], *, title: str) -> Figure:
    """Speed-up against workers: each variant's measured points and the linear line they would follow."""
    figure = new_figure(FIGURE_SIZE)
    axes = figure.add_subplot()
    sizes = sorted({row.run.world_size for row in rows})
    smallest = min(sizes)
    axes.plot(sizes, [size / smallest for size in sizes], linestyle="--", color="grey", label="linear")
    for variant in dict.fromkeys(row.run.variant for row in rows):
        points = sorted((row.run.world_size, row.speedup, row.efficiency) for row in rows if row.run.variant == variant)
        measured = [(size, speedup, efficiency) for size, speedup, efficiency in points if speedup is not None]
        if not measured:
            continue
        label = VARIANT_LABELS.get(variant, variant)
        (line,) = axes.plot([p[0] for p in measured], [p[1] for p in measured], marker="o", label=label)
        for size, speedup, efficiency in measured:
            if size != smallest and efficiency is not None:
                colour = line.get_color()
                axes.annotate(
                    f"{efficiency:.0%}", (size, speedup), xytext=(6, -12), textcoords="offset points", fontsize=8, color=colour
                )
    axes.set_xticks(sizes)
    axes.set_xticklabels([str(size) for size in sizes])
    axes.set_xlabel("workers (world size)")
    axes.set_ylabel(f"speed-up over {smallest} worker{'' if smallest == 1 else 's'}")
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    axes.set_title(title.replace("$", r"\$"), fontsize=9)
    return figure


def figure_title(result: ScalingResult) -> str:
    settings = result.settings
    device = result.runs[0].device_name if result.runs and result.runs[0].device_name else settings.device
    return f"{settings.name}: training speed-up on {device}, per worker {settings.step_label} (labels: efficiency)"


def write_scaling(result: ScalingResult, directory: Path, *, force: bool = False) -> list[WrittenFile]:
    """Write the three files (nothing where the result holds no run); returns what was written."""
    check_scaling_output(directory, force=force)
    if not result.runs:
        return []
    figure = scaling_figure(result.rows, title=figure_title(result))
    try:
        plot = figure_bytes(figure, "png")
    finally:
        close_figure(figure)
    document = json.dumps(scaling_document(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    files = {
        CSV_FILE: (scaling_csv(result.rows).encode("utf-8"), "samples/s, speed-up and efficiency per launch"),
        PLOT_FILE: (plot, "speed-up against linear"),
        JSON_FILE: (document.encode("utf-8"), "settings and per-step seconds"),
    }
    atomic_write_files({directory / name: data for name, (data, _) in files.items()})
    return [WrittenFile(directory / name, what) for name, (_, what) in files.items()]
