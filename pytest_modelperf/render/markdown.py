"""Markdown for CI step summaries (``--modelperf-markdown``) and its tables, which ``modelperf compare`` shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.counts import counted
from ..core.verdict import Outcome
from .cells import HEADERS, describe_rerun, verdict_row
from .run_report import ReportedCheck, RunReport


def markdown_report(report: RunReport) -> str:
    """A compact summary for CI step summaries (GitHub renders it), readable at 150 checks:
    a headline with counts, the failing checks in their own table, the others collapsed,
    re-runs and missing baselines as short lists, and the hardware key."""
    checks = report.checks
    failing = [c for c in checks if c.verdict.failed]
    others = sorted((c for c in checks if not c.verdict.failed), key=lambda c: c.verdict.outcome is not Outcome.IMPROVEMENT)
    counts = report.outcome_counts
    status = f"{len(failing)} failing" if failing else "no regressions"
    breakdown = [o.counted(counts[o]) for o in (Outcome.IMPROVEMENT, Outcome.PASS, Outcome.NO_BASELINE) if counts[o]]
    out = [f"### modelperf: {counted(len(checks), 'check')}, {status}" + (f" — {', '.join(breakdown)}" if breakdown else ""), ""]
    if failing:
        out += markdown_table(("test", *HEADERS), (_check_cells(c, bold=True) for c in failing))
        out += [""] + [f"- `{c.test}` {c.verdict.metric}: {c.verdict.detail}" for c in failing if c.verdict.detail]
        out.append("")
    if others:
        title = counted(len(others), "other check") if failing else f"All {counted(len(others), 'check')}"
        out += markdown_details(title, markdown_table(("test", *HEADERS), map(_check_cells, others)))
        out.append("")
    missing: dict[str, list[str]] = {}
    for check in report.missing:
        missing.setdefault(check.test, []).append(check.verdict.metric)
    if missing:
        out.append(f"{report.ungated}. Those checks:")
        out += [f"- `{nodeid}`: {', '.join(metrics)}" for nodeid, metrics in missing.items()]
        out.append("")
    transient = report.transient_reruns
    if transient:
        out.append("Passed only on re-run:")
        out.extend(f"- re-run `{rerun.test}`: {describe_rerun(rerun)}" for rerun in transient)
        out.append("")
    hardware = report.hardware_keys
    if hardware:
        out.append(f"Hardware key: {', '.join(f'`{key}`' for key in hardware)}")
    return "\n".join(out).rstrip("\n") + "\n"


def _check_cells(check: ReportedCheck, bold: bool = False) -> list[str]:
    cells = [check.test, *verdict_row(check.verdict)]
    if bold:
        cells[-1] = f"**{cells[-1]}**"
    return cells


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a GitHub Markdown table; a ``|`` inside a cell is escaped."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return lines


def markdown_details(summary: str, body: Sequence[str]) -> list[str]:
    """A block GitHub renders collapsed; the blank lines let Markdown inside it render."""
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]
