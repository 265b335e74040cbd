"""The teacher / student / distilled-student comparison as a table: CSV, Markdown and a scatter.

The distillation benchmark this project grew out of compared a fine-tuned teacher, the same
small architecture fine-tuned plainly, and that architecture distilled from the teacher: size,
parameters, latency mean and standard deviation, accuracy, F1, precision, recall and ROC AUC,
and the share of the teacher's accuracy each student kept. :func:`comparison_rows` builds that
table from measurements taken in one run (latencies timed side by side, scores on the same
examples); the paired gain of the distilled student over the plain one, with its sampling
error, is a line beneath it.

Files (``write_distillation``, all or nothing, never over an earlier report without ``force``):

- ``distillation.csv``: one row per model, the columns of :data:`CSV_COLUMNS`;
- ``distillation.md``: the same table and the gain, for a pull request or a step summary;
- ``distillation.png``: accuracy against latency, one point per model, marker area by parameters.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.measurement import Measurement
from ..core.quality_gain import percent
from ..core.units import signed_number
from ..quality.distill_comparison import ComparedModel
from ..storage.atomic_files import atomic_write_files
from ..storage.output_folder import WrittenFile, check_output_folder
from .markdown import markdown_table

CSV_FILE, MARKDOWN_FILE, PLOT_FILE = "distillation.csv", "distillation.md", "distillation.png"
DISTILLATION_FILES = (CSV_FILE, MARKDOWN_FILE, PLOT_FILE)
SCORES = ("accuracy", "f1", "precision", "recall", "roc_auc")
CSV_COLUMNS = (
    "role",
    "model",
    "size_mb",
    "parameters",
    "latency_mean_ms",
    "latency_std_ms",
    *SCORES,
    "accuracy_kept",
    "speedup",
)
HEADERS = {
    "role": "role",
    "model": "model",
    "size_mb": "size (MB)",
    "parameters": "parameters",
    "latency_mean_ms": "latency mean (ms)",
    "latency_std_ms": "latency std (ms)",
    "accuracy": "accuracy",
    "f1": "F1",
    "precision": "precision",
    "recall": "recall",
    "roc_auc": "ROC AUC",
    "accuracy_kept": "accuracy kept",
    "speedup": "speed-up",
}


def comparison_rows(models: Sequence[ComparedModel]) -> list[dict[str, Any]]:
    """The table's rows, the first model (the teacher) being what accuracy and speed are relative to:
    ``accuracy_kept`` is a model's accuracy over the teacher's, ``speedup`` the teacher's mean
    latency over the model's. Scores are in points; a score a model lacks is None."""
    if not models:
        raise ValueError("comparison_rows needs at least one model")
    teacher = models[0]
    teacher_accuracy = _score(teacher, "accuracy")
    teacher_latency = _mean(teacher.latency)
    rows = []
    for model in models:
        accuracy, latency = _score(model, "accuracy"), _mean(model.latency)
        rows.append(
            {
                "role": model.role,
                "model": model.name,
                "size_mb": None if model.size is None or model.size.unavailable else model.size.value,
                "parameters": int(model.parameters.value),
                "latency_mean_ms": latency,
                "latency_std_ms": _std(model.latency),
                **{score: _score(model, score) for score in SCORES},
                "accuracy_kept": _quotient(accuracy, teacher_accuracy),
                "speedup": _quotient(teacher_latency, latency),
            }
        )
    return rows


def comparison_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[column] is None else _csv_cell(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


def comparison_markdown(rows: Sequence[Mapping[str, Any]], gain: Measurement | None = None, *, title: str = "") -> str:
    """The table as Markdown, with the paired gain of the distilled student beneath it."""
    lines = [f"### {title}", ""] if title else []
    lines += markdown_table(*table_cells(rows))
    if gain is not None:
        lines += ["", gain_sentence(gain)]
    return "\n".join(lines) + "\n"


def table_cells(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The headers and every row's cells as the Markdown table and the run's summary show them."""
    return [HEADERS[column] for column in CSV_COLUMNS], [[shown_cell(row, column) for column in CSV_COLUMNS] for row in rows]


def gain_sentence(gain: Measurement) -> str:
    """``accuracy gain of A over B: +1.2 points, paired standard error 1.0 over 500 examples; lower 99% bound -1.1 points``."""
    if gain.unavailable is not None:
        return f"{gain.name}: N/A ({gain.unavailable})"
    context = gain.context
    return (
        f"{gain.name}: {signed_number(context['difference'], 2)} points, paired standard error {context['standard_error']:.2f} "
        f"over {context['examples']} examples; lower {percent(context['confidence'])} bound {signed_number(gain.value, 2)} points"
    )


def comparison_figure(rows: Sequence[Mapping[str, Any]], *, title: str) -> Any:
    """Accuracy against mean latency, one labelled point per model, marker area by parameters."""
    import pandas as pd

    from .plots import quality_scatter

    frame = pd.DataFrame(
        {
            "label": [f"{row['model']} ({row['role']})" for row in rows],
            "model": [row["model"] for row in rows],
            "score": [row["accuracy"] for row in rows],
            "latency_ms": [row["latency_mean_ms"] for row in rows],
            "parameters": [row["parameters"] for row in rows],
        }
    )
    figure = quality_scatter(frame, score_name="accuracy", source="the distillation table")
    figure.suptitle(title.replace("$", r"\$"), fontsize=9)
    return figure


def write_distillation(
    rows: Sequence[Mapping[str, Any]], gain: Measurement | None, directory: Path, *, title: str, force: bool = False
) -> list[WrittenFile]:
    """Write the three files at once; an earlier report in ``directory`` is kept unless ``force``."""
    from .plots import close_figure, figure_bytes

    check_distillation_output(directory, force=force)
    figure = comparison_figure(rows, title=title)
    try:
        plot = figure_bytes(figure, "png")
    finally:
        close_figure(figure)
    files = {
        CSV_FILE: (comparison_csv(rows).encode("utf-8"), "one row per model"),
        MARKDOWN_FILE: (comparison_markdown(rows, gain, title=title).encode("utf-8"), "the table and the paired gain"),
        PLOT_FILE: (plot, "accuracy against latency"),
    }
    atomic_write_files({directory / name: data for name, (data, _) in files.items()})
    return [WrittenFile(directory / name, what) for name, (_, what) in files.items()]


def check_distillation_output(directory: Path, *, force: bool, argument: str = "--output") -> None:
    """Before any measuring: the folder can be written, and holds no earlier report unless ``force``."""
    check_output_folder(directory, DISTILLATION_FILES, force=force, holds="a distillation report", argument=argument)


def _score(model: ComparedModel, name: str) -> float | None:
    score = model.scores.get(name)
    return None if score is None or score.unavailable is not None else score.value


def _mean(latency: Measurement) -> float | None:
    if latency.unavailable is not None:
        return None
    return statistics.fmean(latency.samples) if latency.samples else latency.value


def _std(latency: Measurement) -> float | None:
    return statistics.stdev(latency.samples) if latency.unavailable is None and len(latency.samples) >= 2 else None


def _quotient(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else top / bottom


def _csv_cell(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def shown_cell(row: Mapping[str, Any], column: str) -> str:
    """A cell as text: scores and latencies to two decimals, the kept share in percent, N/A for None."""
    value = row[column]
    if value is None:
        return "N/A"
    if column in ("role", "model"):
        return str(value)
    if column == "parameters":
        return f"{value:,}"
    if column == "accuracy_kept":
        return f"{value:.1%}"
    if column == "speedup":
        return f"{value:.2f}x"
    if column.startswith("latency"):
        return f"{value:.2f}"
    return f"{value:.1f}" if column == "size_mb" else f"{value:.2f}"
