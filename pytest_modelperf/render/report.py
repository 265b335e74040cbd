"""Renderers only: the failure table, the terminal summary, Markdown and JSON."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.file_format import SCHEMA_VERSION
from ..core.verdict import Outcome, Verdict

if TYPE_CHECKING:  # the session imports pytest; modelperf compare renders without it
    from ..run.session import Confirmation, ModelPerfSession, Record

HEADERS = ("metric", "baseline", "current", "change", "threshold", "verdict")


def verdict_row(verdict: Verdict) -> tuple[str, ...]:
    label = verdict.outcome.value.upper() if verdict.failed else verdict.outcome.value
    return (
        verdict.metric,
        verdict.describe_value(verdict.baseline),
        verdict.describe_value(verdict.current),
        verdict.describe_change(),
        verdict.describe_threshold(),
        label,
    )


def text_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [tuple(headers), *[tuple(r) for r in rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def failure_message(
    nodeid: str,
    hardware_key: str,
    verdicts: Sequence[Verdict],
    failing: Sequence[Verdict],
    confirmation: Confirmation | None = None,
) -> str:
    """The message of a failing test: every check it made, then why the failing ones failed."""
    counts: dict[str, int] = {}
    for verdict in failing:
        counts[verdict.outcome.value] = counts.get(verdict.outcome.value, 0) + 1
    what = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    lines = [f"modelperf: {what} in {nodeid} [{hardware_key}]", "", text_table(HEADERS, map(verdict_row, verdicts))]
    for verdict in failing:
        if verdict.detail:
            lines.append(f"  {verdict.metric}: {verdict.detail}")
        if verdict.outcome is Outcome.NO_BASELINE:
            lines.append(f"  {verdict.metric}: no baseline on this hardware; record one with --modelperf-update-missing")
    if confirmation is not None:
        lines.append(f"  {describe_confirmation(confirmation)}")
    return "\n".join(lines)


def describe_confirmation(confirmation: Confirmation) -> str:
    first = ", ".join(f"{v.metric} {v.describe_change()}" for v in confirmation.first_failures)
    runs = f"{confirmation.reruns} re-run{'s' if confirmation.reruns != 1 else ''}"
    if confirmation.reproduced:
        return f"confirmed: the failure reproduced on {runs} (first attempt: {first}); the table shows the last attempt"
    return f"not reproduced: the first attempt failed ({first}), {runs} passed; taken for noise, not a change"


def summary_lines(state: ModelPerfSession) -> list[str]:
    lines: list[str] = []
    if state.records:
        rows = [(record.nodeid, *verdict_row(record.verdict)) for record in state.records]
        lines.append(text_table(("test", *HEADERS), rows))
        hardware = sorted({record.key.hardware_key for record in state.records})
        lines.append(f"hardware key(s): {', '.join(hardware)}; baselines in {state.settings.baseline_dir}")
    accepted = [r for r in state.records if r.verdict.failed and not state.fails(r.verdict)]
    if accepted:
        outcome = "--modelperf-update re-recorded their baselines" if state.writes else "but the baselines could not be written"
        lines.append(f"{len(accepted)} regression(s) accepted: {outcome}")
    transient = [c for c in state.confirmations if not c.reproduced]
    if transient:
        lines.append(f"{len(transient)} test(s) failed on noisy measurements once and passed when re-run:")
        lines.extend(f"  {c.nodeid}: {describe_confirmation(c)}" for c in transient)
    missing = [r for r in state.records if r.verdict.outcome is Outcome.NO_BASELINE]
    if missing:
        lines.append(
            f"{len(missing)} measurement(s) have no baseline on this hardware; "
            "record them with --modelperf-update-missing (or --modelperf-update) and commit the files"
        )
    notes_by_model = {
        str(r.verdict.measurement.context.get("model", "")): r.verdict.measurement.notes
        for r in state.records
        if r.verdict.measurement.notes
    }
    for model, notes in sorted(notes_by_model.items()):
        lines.append(f"note: {model}: {'; '.join(notes)}")
    for write in state.writes:
        line = f"wrote {write.path} ({write.written} entr{'y' if write.written == 1 else 'ies'}"
        line += f", removed {write.removed})" if write.removed else ")"
        if write.moved_aside is not None:
            line += f"; the unreadable file it replaces was kept as {write.moved_aside}"
        lines.append(line)
    if state.orphans:
        action = "reported (remove them with --modelperf-update --modelperf-prune)"
        if state.settings.prune:
            action = "removed" if state.writes else "not removed: the baselines could not be written"
        lines.append(f"{len(state.orphans)} orphaned baseline entr{'y' if len(state.orphans) == 1 else 'ies'} {action}:")
        lines.extend(f"  {orphan.key.describe()}: {orphan.reason}" for orphan in state.orphans)
    for module, reason in state.unpruned.items():
        lines.append(f"--modelperf-prune left {module} alone: {reason}; select the whole module to prune it")
    lines.extend(f"note: orphans not looked for: {problem}" for problem in state.orphans_unchecked)
    lines.extend(f"error: {failure}" for failure in state.write_errors)
    return lines


def markdown(state: ModelPerfSession) -> str:
    """A compact summary for CI step summaries (GitHub renders it), readable at 150 checks:
    a headline with counts, the failing checks in their own table, the others collapsed,
    re-runs and missing baselines as short lists, and the hardware key."""
    records = state.records
    failing = [r for r in records if r.verdict.failed]
    others = sorted((r for r in records if not r.verdict.failed), key=lambda r: r.verdict.outcome is not Outcome.IMPROVEMENT)
    counts = {outcome: sum(r.verdict.outcome is outcome for r in records) for outcome in Outcome}
    status = f"{len(failing)} failing" if failing else "no regressions"
    breakdown = [f"{counts[o]} {o.value}" for o in (Outcome.IMPROVEMENT, Outcome.PASS, Outcome.NO_BASELINE) if counts[o]]
    out = [f"### modelperf: {len(records)} check(s), {status}" + (f" — {', '.join(breakdown)}" if breakdown else ""), ""]
    if failing:
        out += markdown_table(("test", *HEADERS), (_markdown_row(r, bold=True) for r in failing))
        out += [""] + [f"- `{r.nodeid}` {r.verdict.metric}: {r.verdict.detail}" for r in failing if r.verdict.detail]
        out.append("")
    if others:
        title = f"{len(others)} other check(s)" if failing else f"All {len(others)} check(s)"
        out += markdown_details(title, markdown_table(("test", *HEADERS), map(_markdown_row, others)))
        out.append("")
    missing: dict[str, list[str]] = {}
    for record in records:
        if record.verdict.outcome is Outcome.NO_BASELINE:
            missing.setdefault(record.nodeid, []).append(record.verdict.metric)
    if missing:
        out.append("No baseline on this hardware (record with `--modelperf-update-missing`):")
        out += [f"- `{nodeid}`: {', '.join(metrics)}" for nodeid, metrics in missing.items()]
        out.append("")
    transient = [c for c in state.confirmations if not c.reproduced]
    if transient:
        out.append("Passed only on re-run:")
        out.extend(f"- re-run `{c.nodeid}`: {describe_confirmation(c)}" for c in transient)
        out.append("")
    hardware = sorted({record.key.hardware_key for record in records})
    if hardware:
        out.append(f"Hardware key: {', '.join(f'`{key}`' for key in hardware)}")
    return "\n".join(out).rstrip("\n") + "\n"


def _markdown_row(record: Record, bold: bool = False) -> list[str]:
    cells = [record.nodeid, *verdict_row(record.verdict)]
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


def record_to_dict(record: Record) -> dict[str, Any]:
    verdict = record.verdict
    return {
        # The baseline's own node id: pytest's, except for modules outside the root dir.
        "nodeid": f"{record.key.module}::{record.key.test}",
        "hardware_key": record.key.hardware_key,
        "environment": record.environment,
        "measurement": verdict.measurement.to_dict(),
        "metric": verdict.metric,
        "statistic": verdict.check.statistic,
        "outcome": verdict.outcome.value,
        "current": _finite(verdict.current),
        "baseline": _finite(verdict.baseline),
        "change": _finite(verdict.change),
        "noise_band": verdict.noise_band,
        "threshold": str(verdict.check.threshold) if verdict.check.threshold is not None else None,
        "limit": str(verdict.check.limit) if verdict.check.limit is not None else None,
        "detail": verdict.detail,
        "machine_slowdown": verdict.speed.slowdown if verdict.speed is not None else None,
        "judged_against": _finite(verdict.speed.expected) if verdict.speed is not None else None,
    }


def json_payload(state: ModelPerfSession) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "started": state.started,
        "environments": state.environments,
        "noise": dataclasses.asdict(state.settings.noise),
        "results": [record_to_dict(record) for record in state.records],
        "reruns": [
            {
                "nodeid": c.nodeid,
                "reruns": c.reruns,
                "reproduced": c.reproduced,
                "first_failures": [{"metric": v.metric, "change": _finite(v.change), "outcome": v.outcome.value} for v in c.first_failures],
            }
            for c in state.confirmations
        ],
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
