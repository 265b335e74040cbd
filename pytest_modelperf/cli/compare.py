"""``modelperf compare``: judge one run against another, or against the committed baselines.

    modelperf compare A.json B.json            B (the new run) against A (the base run)
    modelperf compare B.json                   B against the baselines in the plugin's baseline dir
    modelperf compare B.json --baselines DIR   ... in DIR
    modelperf compare 0003 latest              two saved runs of the run history
    modelperf compare --list                   the saved runs
    modelperf compare p100/time.csv k80/time.csv   two study tables, cell by cell
    modelperf compare p100/ k80/               every study table both folders hold

A and B are ``--modelperf-json`` exports, or run ids of runs saved by ``--modelperf-autosave``
(``latest``, ``0003``, ``0003_abc1234``; see ``storage.run_history``). Prints a table per test (metric, A, B, change,
threshold, verdict), regressions first, and a one-line summary; ``--markdown PATH`` writes
the same as Markdown. Exit status: 0 no regression, 1 at least one (``--fail-on`` chooses
what counts), 2 bad input. Needs no model registry.

A and B may instead each be a study table (``time.csv``, ``required_memory.csv`` ...) or a
folder of them (a sweep's output folder, one of the study's result sets): then each cell is
compared by ``sweep.table_comparison`` and reported by ``sweep.table_comparison_report``, with
the same exit status. A table is never compared with an export.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..core.baseline_entry import EntryKey
from ..core.counts import counted
from ..core.judge import NoisePolicy
from ..core.policy import DEFAULT_BASELINE_DIR
from ..core.units import Quantity, UnitError, parse_quantity
from ..core.verdict import Outcome
from ..render.cells import HEADERS, verdict_row
from ..render.markdown import markdown_details, markdown_table
from ..render.terminal import text_table
from ..storage.atomic_files import atomic_write_text
from ..storage.baseline_store import JsonBaselineStore
from ..storage.run_export import ExportError, load_export
from ..storage.run_history import HISTORY_DIR, RunHistoryError, is_run_id, resolve_run, saved_runs, summarize
from ..sweep.table_comparison import DEFAULT_THRESHOLD
from .comparison import ComparedCheck, CompareError, Comparison, FailOn, compare_runs, compare_with_baselines

COMPARE_HEADERS = ("metric", "A", "B", *HEADERS[3:])


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``compare`` to the ``modelperf`` command's subcommands."""
    compare = commands.add_parser(
        "compare",
        help="compare a run with a base run or with the baselines, or study tables cell by cell; exit 1 on a regression "
        "(needs no registry)",
        description="Judge the checks of a --modelperf-json export (B) against another export (A) or the committed "
        "baselines, with the plugin's comparison; or the cells of a study table or a folder of them (B) against "
        "another (A): time.csv, required_memory.csv ... as modelperf sweep and transformers' PyTorchBenchmark write "
        "them. Exit status: 0 no regression, 1 a regression, 2 bad input.",
    )
    compare.add_argument(
        "runs",
        nargs="*",
        metavar="RUN",
        help="A B (base run, new run), or B alone to compare with the baselines; each a --modelperf-json export or "
        "the id of a saved run: latest, 0003 or 0003_abc1234; or A B each a study table (time.csv, "
        "required_memory.csv, ...) or a folder of them, whose tables of the same measure are compared cell by cell",
    )
    compare.add_argument("--list", action="store_true", help="list the saved runs of the run history and exit")
    compare.add_argument(
        "--history",
        type=Path,
        default=HISTORY_DIR,
        metavar="DIR",
        help=f"the run history that run ids name runs of (default: {HISTORY_DIR})",
    )
    compare.add_argument(
        "--hardware",
        default=None,
        metavar="KEY",
        help="look run ids up under this hardware key only (needed when the history holds several)",
    )
    compare.add_argument(
        "--baselines",
        type=Path,
        default=None,
        metavar="DIR",
        help="compare B.json with the baselines in DIR (default: modelperf_baseline_dir in ./pyproject.toml's "
        f"[tool.pytest.ini_options], else {DEFAULT_BASELINE_DIR})",
    )
    compare.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        metavar="Q",
        help="replace the threshold of every sampled check that has one, e.g. 5%% or 2ms (an absolute one applies to "
        "metrics of its kind; exact metrics such as parameter counts stay exact; default: each check's threshold in B); "
        f"for study tables, the allowed change towards worse relative to A (default: {DEFAULT_THRESHOLD.value:g}%%, the "
        "plugin's; no noise band, a table holding one number per cell)",
    )
    compare.add_argument(
        "--confidence",
        type=_confidence,
        default=None,
        metavar="P",
        help="one-sided confidence of the noise band (default: B's --modelperf-confidence, recorded in the export)",
    )
    compare.add_argument(
        "--fail-on",
        choices=[what.value for what in FailOn],
        default=FailOn.REGRESSION.value,
        help="what makes the command exit 1: regression (also a limit crossed), improvement, or any (default: regression)",
    )
    compare.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the comparison to PATH as Markdown, replacing a file already there (atomically); to add it to "
        'a file such as "$GITHUB_STEP_SUMMARY", write it to another PATH and append that: cat PATH >> FILE',
    )
    compare.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="study tables: compare model FROM as model TO, e.g. a study's hub id as the registry name a sweep of "
        "ours measured it under (repeatable)",
    )
    compare.set_defaults(command=run)


def run(arguments: argparse.Namespace) -> int:
    if arguments.list:
        if arguments.runs:
            print(f"modelperf compare: error: --list takes no runs, got {' '.join(arguments.runs)}", file=sys.stderr)
            return 2
        print(list_runs(arguments.history, arguments.hardware))
        return 0
    if any(is_table_input(text) for text in arguments.runs):
        return run_tables(arguments)
    if arguments.rename:
        print("modelperf compare: error: --rename applies to study tables, not to exports or run ids", file=sys.stderr)
        return 2
    try:
        comparison, base_label, new_label = _compare(arguments)
    except (ExportError, CompareError, RunHistoryError) as error:
        print(f"modelperf compare: error: {error}", file=sys.stderr)
        return 2
    fail_on = FailOn(arguments.fail_on)
    return _report(
        text_report(comparison, base_label, new_label, fail_on),
        lambda: markdown_report(comparison, base_label, new_label, fail_on),
        arguments.markdown,
        failing=comparison.failing(fail_on),
    )


def _report(text: str, markdown: Callable[[], str], path: Path | None, *, failing: bool) -> int:
    """Print a comparison, write its Markdown to ``path`` when given, and give the exit status."""
    print(text)
    if path is not None:
        try:
            atomic_write_text(path, markdown())
        except OSError as error:
            print(f"modelperf compare: error: --markdown {path}: {error}", file=sys.stderr)
            return 2
    return 1 if failing else 0


def is_table_input(text: str) -> bool:
    """Whether a RUN names study tables (a .csv file, or a folder) rather than an export or a run id."""
    path = Path(text)
    return not is_run_id(text) and (path.is_dir() or path.suffix.lower() == ".csv")


def run_tables(arguments: argparse.Namespace) -> int:
    """``modelperf compare A B`` on study tables: judge, print, write the Markdown, exit 0, 1 or 2."""
    from ..sweep.frame import SweepFileError, parse_renames
    from ..sweep.table_comparison import TableCompareError, compare_table_sets, read_table_set
    from ..sweep.table_comparison_report import markdown_report, text_report

    try:
        _check_table_arguments(arguments)
        sides = [read_table_set(Path(text)) for text in arguments.runs]
        renames = parse_renames(arguments.rename)
        threshold = DEFAULT_THRESHOLD if arguments.threshold is None else arguments.threshold
        comparison = compare_table_sets(sides[0], sides[1], threshold=threshold, renames=renames)
    except (CompareError, TableCompareError, SweepFileError) as error:
        print(f"modelperf compare: error: {error}", file=sys.stderr)
        return 2
    fail_on = FailOn(arguments.fail_on).outcomes
    return _report(
        text_report(comparison, fail_on),
        lambda: markdown_report(comparison, fail_on),
        arguments.markdown,
        failing=comparison.failing(fail_on),
    )


def _check_table_arguments(arguments: argparse.Namespace) -> None:
    runs: list[str] = arguments.runs
    if len(runs) != 2:
        raise CompareError(
            f"study tables are compared two at a time: pass A B (each a study table or a folder of them), got {' '.join(runs)}"
        )
    if not all(is_table_input(text) for text in runs):
        table, other = sorted(runs, key=lambda text: not is_table_input(text))
        raise CompareError(
            f"{table} is a study table or a folder of them and {other} is not: a study table is compared with "
            "another study table, a --modelperf-json export or run id with another"
        )
    for option, given in (
        ("--baselines", arguments.baselines is not None),
        ("--confidence", arguments.confidence is not None),
        ("--hardware", arguments.hardware is not None),
    ):
        if given:
            raise CompareError(f"{option} applies to exports and run ids, not to study tables")


def _compare(arguments: argparse.Namespace) -> tuple[Comparison, str, str]:
    runs: list[str] = arguments.runs
    if not runs or len(runs) > 2:
        raise CompareError(f"expected A B or B (exports or run ids), got {len(runs)} runs{': ' if runs else ''}{' '.join(runs)}")
    if len(runs) == 2 and arguments.baselines is not None:
        raise CompareError("--baselines compares one run (B.json) with the baselines; with two runs, A.json is the base")
    new = load_export(resolve_run(arguments.history, runs[-1], arguments.hardware))
    policy = new.noise or NoisePolicy()
    if arguments.confidence is not None:
        policy = replace(policy, confidence=arguments.confidence)
    if len(runs) == 2:
        base = load_export(resolve_run(arguments.history, runs[0], arguments.hardware))
        comparison = compare_runs(base, new, threshold=arguments.threshold, policy=policy)
        return comparison, _describe(base.path, base.started), _describe(new.path, new.started)
    directory = arguments.baselines or configured_baseline_dir(Path.cwd())
    if not directory.is_dir():
        raise CompareError(f"--baselines {directory}: no such folder")
    comparison = compare_with_baselines(new, JsonBaselineStore(directory), threshold=arguments.threshold, policy=policy)
    return comparison, f"baselines in {directory}", _describe(new.path, new.started)


def list_runs(directory: Path, hardware_key: str | None = None) -> str:
    """The saved runs, by hardware key: id, when the run started and how many checks it holds."""
    runs = saved_runs(directory, hardware_key)
    if not runs:
        where = f"{directory}" + (f" under hardware key {hardware_key}" if hardware_key else "")
        return f"no saved runs in {where} (save runs with pytest --modelperf-autosave)"
    lines = [f"saved runs in {directory}:"]
    key = None
    for saved in runs:
        if saved.hardware_key != key:
            key = saved.hardware_key
            lines.append(f"{key}:")
        summary = summarize(saved)
        facts = summary.problem or f"started {summary.started or 'unknown'}, {counted(summary.checks, 'check')}"
        lines.append(f"  {saved.id}  {facts}")
    return "\n".join(lines)


def configured_baseline_dir(directory: Path) -> Path:
    """The plugin's baseline dir: ``modelperf_baseline_dir`` in ``[tool.pytest.ini_options]`` of
    ``directory/pyproject.toml``, else the plugin's default, relative to ``directory``."""
    pyproject = directory / "pyproject.toml"
    configured = DEFAULT_BASELINE_DIR
    if pyproject.is_file():
        try:
            options = (
                tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {}).get("ini_options", {})
            )
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise CompareError(f"{pyproject}: cannot be read: {error}") from None
        value = options.get("modelperf_baseline_dir", configured)
        if not isinstance(value, str) or not value:
            raise CompareError(f"{pyproject}: tool.pytest.ini_options.modelperf_baseline_dir must be a folder, got {value!r}")
        configured = value
    return directory / configured


def _describe(path: Path, started: str) -> str:
    return f"{path} (run started {started})" if started else str(path)


def _threshold(text: str) -> Quantity:
    try:
        return parse_quantity(text, what="--threshold")
    except UnitError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.99, got {text!r}") from None
    if not 0.5 < value < 1:
        raise argparse.ArgumentTypeError(f"must be within (0.5, 1), got {text!r}")
    return value


def _row(check: ComparedCheck) -> tuple[str, ...]:
    return verdict_row(check.verdict)


def _explained(check: ComparedCheck) -> bool:
    return check.verdict.outcome is not Outcome.PASS and bool(check.verdict.detail)


def text_report(comparison: Comparison, base_label: str, new_label: str, fail_on: FailOn = FailOn.REGRESSION) -> str:
    """The terminal form: the checks in one table, grouped by test, then added, removed and the summary."""
    lines = [f"A: {base_label}", f"B: {new_label}", ""]
    groups = comparison.by_test()
    if groups:
        table = text_table(COMPARE_HEADERS, [_row(c) for _, _, checks in groups for c in checks]).splitlines()
        lines += [f"  {line}" for line in table[:2]]
        body = iter(table[2:])
        for nodeid, hardware, checks in groups:
            lines.append(f"{nodeid} [{hardware}]")
            for check in checks:
                lines.append(f"  {next(body)}")
                if _explained(check):
                    lines.append(f"      {check.verdict.metric}: {check.verdict.detail}")
        lines.append("")
    lines += _key_list("added (in B only, nothing to compare with):", comparison.added)
    lines += _key_list("removed (in A only):", comparison.removed)
    lines.append(f"modelperf compare: {_status(comparison, fail_on)}; {comparison.summary()}")
    return "\n".join(lines)


def markdown_report(comparison: Comparison, base_label: str, new_label: str, fail_on: FailOn = FailOn.REGRESSION) -> str:
    """The Markdown form for CI step summaries: failing checks in a table, the others collapsed."""
    ordered = [check for _, _, checks in comparison.by_test() for check in checks]
    failing = [check for check in ordered if check.verdict.outcome in fail_on.outcomes]
    others = [check for check in ordered if check.verdict.outcome not in fail_on.outcomes]
    headers = ("test", *COMPARE_HEADERS)
    out = [f"### modelperf compare: {_status(comparison, fail_on)}", "", comparison.summary(), ""]
    out += [f"A: `{base_label}`  ", f"B: `{new_label}`", ""]  # two spaces: a Markdown line break
    if failing:
        rows = [(c.nodeid, *row[:-1], f"**{row[-1]}**") for c, row in ((c, _row(c)) for c in failing)]
        out += markdown_table(headers, rows)
        out += [""] + [f"- `{c.nodeid}` {c.verdict.metric}: {c.verdict.detail}" for c in failing if c.verdict.detail]
        out.append("")
    if others:
        title = counted(len(others), "other check") if failing else f"All {counted(len(others), 'check')}"
        out += markdown_details(title, markdown_table(headers, [(c.nodeid, *_row(c)) for c in others]))
        out.append("")
    for title, keys in (("Added (in B only)", comparison.added), ("Removed (in A only)", comparison.removed)):
        if keys:
            out.append(f"{title}:")
            out += [f"- `{key.module}::{key.test}` {key.measurement} [{key.hardware_key}]" for key in keys]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


_FAILING = {FailOn.REGRESSION: "regression", FailOn.IMPROVEMENT: "improvement", FailOn.ANY: "change"}
_ORDER = [Outcome.REGRESSION, Outcome.OVER_LIMIT, Outcome.IMPROVEMENT]


def _status(comparison: Comparison, fail_on: FailOn) -> str:
    """Either "no regressions" or "FAILED (2 regressions, 1 over limit)"."""
    failing = comparison.failing(fail_on)
    if not failing:
        return f"no {_FAILING[fail_on]}s"
    counts: dict[Outcome, int] = {}
    for check in failing:
        counts[check.verdict.outcome] = counts.get(check.verdict.outcome, 0) + 1
    parts = [
        f"{n} {outcome.value}{'s' if n != 1 and outcome is not Outcome.OVER_LIMIT else ''}"
        for outcome, n in sorted(counts.items(), key=lambda item: _ORDER.index(item[0]))
    ]
    return f"FAILED ({', '.join(parts)})"


def _key_list(title: str, keys: tuple[EntryKey, ...]) -> list[str]:
    if not keys:
        return []
    return [title, *(f"  {key.describe()}" for key in keys), ""]
