"""``modelperf diff``: what changed in the committed baselines, as a Markdown table for a reviewer.

    modelperf diff                 the baselines against the merge base of HEAD with the upstream
                                   main branch (HEAD when there is none)
    modelperf diff REV             ... against any git revision (a branch, a tag, HEAD~3)
    modelperf diff --markdown PATH write the table to PATH instead of printing it, replacing
                                   the file (as ``modelperf compare --markdown`` does)

Every entry added, removed or changed between REV and the working tree gets a row, grouped by
baseline file and test: its value before and after (the value a comparison judges against, in
its unit as reports print it), the change in that unit and relative to the old value (quality
scores, in points, change in points), and what else changed (the recorded runs, the examples
whose prediction changed, the environment). In CI: ``modelperf diff >> "$GITHUB_STEP_SUMMARY"``.
Exit status: 0 (whether or not anything changed), 2 when git cannot answer or a file is broken.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.baseline_entry import BaselineEntry
from ..core.judge import NoisePolicy
from ..core.policy import DEFAULT_BASELINE_DIR
from ..core.units import UnitError, convert, format_value, signed_number
from ..render.markdown import markdown_table
from ..storage.atomic_files import atomic_write_text
from ..storage.baseline_diff import EntryChange, entry_changes
from ..storage.baseline_revisions import Base, Repository, RevisionError
from ..storage.baseline_store import BaselineError
from .compare import configured_baseline_dir
from .comparison import CompareError

HEADERS = ("test", "metric", "old", "new", "change", "relative", "also changed")
POINTS = "points"
SHOWN_EXAMPLES = 3  # the ids named of the examples whose prediction changed


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``diff`` to the ``modelperf`` command's subcommands."""
    diff = commands.add_parser(
        "diff",
        help="the baseline entries changed since a git revision, as a Markdown table (needs no registry)",
        description="List every baseline entry added, removed or changed between a git revision and the working "
        "tree: old and new values, absolute and relative change. Prints Markdown, for a pull request or "
        '"$GITHUB_STEP_SUMMARY". Exit status: 0, or 2 when git cannot answer or a baseline file is broken.',
    )
    diff.add_argument(
        "rev",
        nargs="?",
        default=None,
        metavar="REV",
        help="the git revision to compare with (default: the merge base of HEAD with origin/$GITHUB_BASE_REF, "
        "upstream/main, origin/main or origin/HEAD, whichever exists first; else HEAD)",
    )
    diff.add_argument(
        "--baselines",
        type=Path,
        default=None,
        metavar="DIR",
        help="the baseline folder (default: modelperf_baseline_dir in ./pyproject.toml's [tool.pytest.ini_options], "
        f"else {DEFAULT_BASELINE_DIR})",
    )
    diff.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the Markdown to PATH instead of printing it, replacing a file already there (atomically); to add "
        'the table to a file such as "$GITHUB_STEP_SUMMARY", append what it prints instead: modelperf diff >> FILE',
    )
    diff.set_defaults(command=run)


def run(arguments: argparse.Namespace) -> int:
    try:
        folder = arguments.baselines or configured_baseline_dir(Path.cwd())
        repository = Repository(Path.cwd())
        base = repository.base(arguments.rev)
        changed_files = repository.changed_baselines(base, folder)
        files = {changed.path: entry_changes(changed.path, changed.old, changed.new) for changed in changed_files}
    except (RevisionError, BaselineError, CompareError) as error:
        print(f"modelperf diff: error: {error}", file=sys.stderr)
        return 2
    text = markdown_diff(files, base)
    changes = [change for file_changes in files.values() for change in file_changes]
    if arguments.markdown is None:
        sys.stdout.write(text)
        return 0
    try:
        atomic_write_text(arguments.markdown, text)
    except OSError as error:
        print(f"modelperf diff: error: --markdown {arguments.markdown}: {error}", file=sys.stderr)
        return 2
    print(f"modelperf diff: {_headline(changes)}; wrote {arguments.markdown}")
    return 0


def markdown_diff(files: Mapping[str, Sequence[EntryChange]], base: Base) -> str:
    """The report of the baseline files whose text changed, with their entry changes: a headline,
    the revision compared with, a table per file, then the files whose entries all stayed the same."""
    changes = [change for file_changes in files.values() for change in file_changes]
    out = [f"### modelperf diff: {_headline(changes)}", "", f"Baselines at `{base.short}` ({base.how}) → the working tree.", ""]
    for file, file_changes in files.items():
        if file_changes:
            out += [f"#### `{file}`", "", *markdown_table(HEADERS, [_row(change) for change in file_changes]), ""]
    unchanged = [file for file, file_changes in files.items() if not file_changes]
    if unchanged:
        out += ["Rewritten with every entry as it was (layout, environment records, dates or commits only):", ""]
        out += [f"- `{file}`" for file in unchanged]
    return "\n".join(out).rstrip("\n") + "\n"


def _headline(changes: Sequence[EntryChange]) -> str:
    if not changes:
        return "no baseline entry changed"
    counts = {kind: sum(change.kind == kind for change in changes) for kind in ("changed", "added", "removed")}
    files = len({change.file for change in changes})
    listed = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
    entries = f"{len(changes)} baseline entr{'y' if len(changes) == 1 else 'ies'}"
    return f"{entries} ({listed}) in {files} file{'s' if files != 1 else ''}"


def _row(change: EntryChange) -> tuple[str, ...]:
    entry = change.new or change.old
    assert entry is not None  # a change has at least one side
    old, new = change.old, change.new
    if old is None or new is None:
        difference, relative = (change.kind, "")
    else:
        difference, relative = _difference(old, new)
    return (
        change.test,
        _metric(change.measurement, entry),
        _value(old),
        _value(new),
        difference,
        relative,
        "; ".join(_also_changed(change)),
    )


def _metric(name: str, entry: BaselineEntry) -> str:
    """The metric as reports name it: ``latency[1x16] (median)`` for a sampled one."""
    return name if entry.statistic == "value" else f"{name} ({entry.statistic})"


def _judged_value(entry: BaselineEntry) -> float | None:
    """The value a comparison judges against: the mean of the typical recorded runs, or the single value."""
    if entry.unavailable is not None:
        return None
    try:
        return entry.center("value", spread_floor=NoisePolicy().assumed_spread)
    except KeyError:
        return None


def _value(entry: BaselineEntry | None) -> str:
    if entry is None:
        return "-"
    if entry.unavailable is not None:
        return f"N/A ({entry.unavailable})"
    value = _judged_value(entry)
    return "-" if value is None else format_value(value, entry.unit)


def _difference(old: BaselineEntry, new: BaselineEntry) -> tuple[str, str]:
    """(the change in the new entry's unit, the change relative to the old value); scores in points
    change in points only."""
    before, after = _judged_value(old), _judged_value(new)
    if before is None or after is None:
        return "-", "-"
    if old.unit != new.unit:
        try:
            before = convert(before, old.unit, new.unit)
        except UnitError:
            return "-", "-"
    absolute = _signed(after - before, new.unit)
    if new.unit == POINTS:
        return absolute, "-"
    if before == 0:
        return absolute, "-" if after != 0 else "+0.0%"
    return absolute, f"{signed_number((after - before) / abs(before) * 100, 1)}%"


def _signed(difference: float, unit: str) -> str:
    if difference == 0:
        return f"±{format_value(0.0, unit)}"
    return ("+" if difference > 0 else "-") + format_value(abs(difference), unit)


def _also_changed(change: EntryChange) -> list[str]:
    """What else a reviewer should know changed: unit, statistic, runs, examples, context, environment."""
    old, new = change.old, change.new
    if old is None or new is None:
        return []
    notes = []
    for what, before, after in (("unit", old.unit, new.unit), ("statistic", old.statistic, new.statistic)):
        if before != after:
            notes.append(f"{what} {before or '(none)'} → {after or '(none)'}")
    if not new.deterministic and len(old.runs) != len(new.runs):
        notes.append(f"recorded runs {len(old.runs)} → {len(new.runs)}")
    notes += _examples_note(old, new)
    context = sorted(key for key in {*old.context, *new.context} if old.context.get(key) != new.context.get(key))
    notes += [f"{key} {_show(old.context.get(key))} → {_show(new.context.get(key))}" for key in context]
    notes += [f"{key} {_show(before)} → {_show(after)}" for key, (before, after) in change.environment_changes().items()]
    return notes


def _examples_note(old: BaselineEntry, new: BaselineEntry) -> list[str]:
    before, after = old.examples, new.examples
    if before is None or after is None:
        return [] if before is after else ["per-example outcomes " + ("added" if before is None else "removed")]
    if set(before.ids) != set(after.ids):
        return [f"examples {len(before)} → {len(after)}, {len(set(before.ids) & set(after.ids))} in common"]
    earlier = dict(zip(before.ids, before.predictions, strict=True))
    now = zip(after.ids, after.predictions, strict=True)
    flipped = [example for example, prediction in now if earlier[example] != prediction]
    if not flipped:
        return []
    shown = ", ".join(flipped[:SHOWN_EXAMPLES]) + (", …" if len(flipped) > SHOWN_EXAMPLES else "")
    return [f"prediction changed on {len(flipped)} of {len(after)} examples ({shown})"]


def _show(value: Any) -> str:
    return "(none)" if value is None else (str(value) or '""')
