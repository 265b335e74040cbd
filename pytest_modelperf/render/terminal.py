"""What pytest prints: the text table, a failing test's message and the session's summary lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.counts import counted
from ..core.verdict import Outcome, Verdict
from ..storage.run_export import ConfirmingRerun
from .cells import HEADERS, describe_rerun, missing_baseline_advice, verdict_row
from .run_report import RunReport


def text_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell, with a rule under the headers."""
    rows = [tuple(headers), *[tuple(r) for r in rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict_line(verdict: Verdict) -> str:
    """One check as it is judged, for ``pytest -v``: ``modelperf: latency[1x128] (median): 10.2 ms
    against 10 ms, +2.0% [+10%, noise ±22.2%]: pass``."""
    metric, baseline, current, change, threshold, label = verdict_row(verdict)
    compared = f"{current} against {baseline}, {change}" if verdict.baseline is not None else current
    rule = f" [{threshold}]" if threshold != "-" else ""
    return f"modelperf: {metric}: {compared}{rule}: {label}"


def failure_message(
    nodeid: str,
    hardware_key: str,
    verdicts: Sequence[Verdict],
    failing: Sequence[Verdict],
    rerun: ConfirmingRerun | None = None,
    update_flag: str | None = None,
) -> str:
    """The message of a failing test: every check it made, then why the failing ones failed;
    ``update_flag`` is the flag that writes baselines in this run, if any."""
    counts: dict[Outcome, int] = {}
    for verdict in failing:
        counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
    what = ", ".join(outcome.counted(n) for outcome, n in sorted(counts.items(), key=lambda item: item[0].value))
    lines = [f"modelperf: {what} in {nodeid} [{hardware_key}]", "", text_table(HEADERS, map(verdict_row, verdicts))]
    for verdict in failing:
        if verdict.detail:
            lines.append(f"  {verdict.metric}: {verdict.detail}")
        if verdict.outcome is Outcome.NO_BASELINE:
            lines.append(f"  {verdict.metric}: {missing_baseline_advice(verdict, update_flag)}")
    if rerun is not None:
        lines.append(f"  {describe_rerun(rerun)}")
    return "\n".join(lines)


def summary_lines(report: RunReport) -> list[str]:
    """The modelperf section of pytest's terminal summary; lines starting ``error:`` are shown red."""
    lines: list[str] = []
    if report.checks:
        rows = [(check.test, *verdict_row(check.verdict)) for check in report.checks]
        lines.append(text_table(("test", *HEADERS), rows))
        keys = report.hardware_keys
        lines.append(f"hardware key{'s' if len(keys) > 1 else ''}: {', '.join(keys)}; baselines in {report.baseline_dir}")
    accepted = report.accepted
    if accepted:
        outcome = "--modelperf-update re-recorded their baselines" if report.writes else "but the baselines could not be written"
        lines.append(f"{Outcome.REGRESSION.counted(len(accepted))} accepted: {outcome}")
    transient = report.transient_reruns
    if transient:
        lines.append(f"{counted(len(transient), 'test')} failed on noisy measurements once and passed when re-run:")
        lines.extend(f"  {rerun.test}: {describe_rerun(rerun)}" for rerun in transient)
    if report.ungated is not None:
        lines.append(report.ungated)
    for model, notes in report.notes_by_model.items():
        lines.append(f"note: {model}: {'; '.join(notes)}")
    for write in report.writes:
        line = f"wrote {write.path} ({counted(write.written, 'entry', 'entries')}"
        line += f", removed {write.removed})" if write.removed else ")"
        if write.moved_aside is not None:
            line += f"; the unreadable file it replaces was kept as {write.moved_aside}"
        lines.append(line)
    if report.orphans:
        remedy = report.orphans_remedy
        action = f"{report.orphans_fate} (remove them with {remedy})" if remedy else report.orphans_fate
        lines.append(f"{counted(len(report.orphans), 'orphaned baseline entry', 'orphaned baseline entries')} {action}:")
        lines.extend(f"  {orphan.key.describe()}: {orphan.reason}" for orphan in report.orphans)
    for module, reason in report.unpruned.items():
        lines.append(f"--modelperf-prune left {module} alone: {reason}; select the whole module to prune it")
    lines.extend(f"note: orphans not looked for: {problem}" for problem in report.orphans_unchecked)
    lines.extend(f"error: {failure}" for failure in report.write_errors)
    return lines
