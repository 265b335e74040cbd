"""How a comparison of study tables reads: one table per measure in the terminal, and in Markdown
for CI step summaries (the failing cells first, the others collapsed).

Each cell is a row of model, batch size, sequence length, A, B, the ratio B/A and the verdict;
a value A or B does not have reads ``N/A`` where its table says so and ``-`` where its table has
no such cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.counts import counted
from ..core.verdict import Outcome
from ..render.markdown import markdown_details, markdown_table
from ..render.terminal import text_table
from .table_comparison import CellState, ComparedCell, MeasureComparison, TableComparison, TableSet

NO_NOISE_BAND = "a study table holds one number per cell and no samples, so no noise band widens the threshold"
_VERDICTS = {
    CellState.NA_IN_A: "improvement (N/A in A)",
    CellState.NA_IN_B: "REGRESSION (N/A in B)",
    CellState.NA_IN_BOTH: "N/A in both",
    CellState.ONLY_IN_A: "only in A",
    CellState.ONLY_IN_B: "only in B",
}
_ORDER = (Outcome.REGRESSION, Outcome.OVER_LIMIT, Outcome.IMPROVEMENT)


def headers(measure: MeasureComparison) -> tuple[str, ...]:
    return ("model", "batch size", "sequence length", f"A ({measure.unit})", f"B ({measure.unit})", "ratio B/A", "verdict")


def cell_row(cell: ComparedCell) -> tuple[str, ...]:
    """A cell's row under ``headers``; a regression's verdict is in capitals."""
    a = _value(cell.a, cell.state in (CellState.NA_IN_A, CellState.NA_IN_BOTH))
    b = _value(cell.b, cell.state in (CellState.NA_IN_B, CellState.NA_IN_BOTH))
    ratio = "-" if cell.ratio is None else f"{cell.ratio:.3f}"
    return (cell.model, str(cell.batch_size), str(cell.sequence_length), a, b, ratio, verdict(cell))


def verdict(cell: ComparedCell) -> str:
    if cell.state is not CellState.BOTH or cell.outcome is None:
        return _VERDICTS[cell.state]
    return cell.outcome.value.upper() if cell.outcome.failed else cell.outcome.value


def status(comparison: TableComparison, fail_on: Iterable[Outcome]) -> str:
    """Either "no regressions" or "FAILED (2 regressions, 1 improvement)"; ``fail_on`` names the
    outcomes that fail (the command's ``--fail-on``)."""
    outcomes = frozenset(fail_on)
    failing = comparison.failing(outcomes)
    if not failing:
        word = (
            "improvement" if outcomes == {Outcome.IMPROVEMENT} else "change" if Outcome.IMPROVEMENT in outcomes else "regression"
        )
        return f"no {word}s"
    found = [outcome for outcome in _ORDER if any(cell.outcome is outcome for _, cell in failing)]
    parts = [outcome.counted(sum(1 for _, cell in failing if cell.outcome is outcome)) for outcome in found]
    return f"FAILED ({', '.join(parts)})"


def describe_side(side: TableSet) -> str:
    """``results/ (time.csv, required_memory.csv)``, or the table's path alone."""
    if side.path.is_dir():
        return f"{side.path} ({', '.join(table.name for table in side.tables)})"
    return str(side.path)


def text_report(comparison: TableComparison, fail_on: Iterable[Outcome]) -> str:
    """The terminal form: the sides, the rule, a table per measure and the summary line."""
    lines = [
        f"A: {describe_side(comparison.a)}",
        f"B: {describe_side(comparison.b)}",
        f"threshold {comparison.threshold} of A; {NO_NOISE_BAND}",
        "",
    ]
    for measure in comparison.measures:
        lines.append(measure.heading())
        lines += [f"  {line}" for line in text_table(headers(measure), map(cell_row, measure.cells)).splitlines()]
        lines.append("")
    lines.append(f"modelperf compare: {status(comparison, fail_on)}; {comparison.summary()}")
    return "\n".join(lines)


def markdown_report(comparison: TableComparison, fail_on: Iterable[Outcome]) -> str:
    """The Markdown form: per measure, its failing cells in a table and the others collapsed."""
    outcomes = frozenset(fail_on)
    out = [f"### modelperf compare: {status(comparison, outcomes)}", "", comparison.summary(), ""]
    out += [f"A: `{describe_side(comparison.a)}`  ", f"B: `{describe_side(comparison.b)}`", ""]  # two spaces: a line break
    out += [f"Threshold {comparison.threshold} of A; {NO_NOISE_BAND}.", ""]
    for measure in comparison.measures:
        failing = [cell for cell in measure.cells if cell.outcome in outcomes]
        others = [cell for cell in measure.cells if cell.outcome not in outcomes]
        out += [f"#### {measure.heading()}", ""]
        if failing:
            out += markdown_table(headers(measure), [_bold_verdict(cell_row(cell)) for cell in failing])
            out.append("")
        if others:
            title = counted(len(others), "other cell") if failing else f"All {counted(len(others), 'cell')}"
            out += markdown_details(title, markdown_table(headers(measure), map(cell_row, others)))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _bold_verdict(row: Sequence[str]) -> tuple[str, ...]:
    return (*row[:-1], f"**{row[-1]}**")


def _value(value: float | None, not_available: bool) -> str:
    if value is not None:
        return f"{value:.6g}"
    return "N/A" if not_available else "-"
