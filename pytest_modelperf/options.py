"""Every ``--modelperf-*`` option and ``modelperf_*`` ini key in one table, and the frozen settings read through it.

The table registers the options (``pytest_addoption``), reads them (the command line beats the
ini key, which beats the default) and renders ``docs/options.md``::

    python -m pytest_modelperf.options > docs/options.md
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from .core.judge import NoisePolicy
from .core.policy import DEFAULT_BASELINE_DIR, DEFAULT_THRESHOLD
from .core.timing import TimingError, TimingOptions
from .core.units import Quantity, UnitError, parse_quantity

GROUP = "modelperf"
GROUP_DESCRIPTION = "model performance regression testing (pytest-modelperf)"


class UpdateMode(str, Enum):
    NONE = "none"
    ALL = "all"  # rewrite every entry that ran
    MISSING = "missing"  # write only entries that have no baseline yet
    ADD_RUN = "add-run"  # add this run to the entries' recorded runs


class MissingPolicy(str, Enum):
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Given:
    """A setting's text as it was given, and how an error names where it came from."""

    text: str
    where: str  # "--modelperf-confirm", "ini modelperf_confirm" or "default of --modelperf-confirm"
    in_ini: bool  # from the ini file: a path is relative to the root dir
    root: Path


Parser = Callable[[Given], Any]


@dataclass(frozen=True)
class Option:
    """One setting: its command-line option, its ini key, how its text is read, and its help."""

    name: str  # "max_time": --modelperf-max-time, ini modelperf_max_time, Settings.max_time
    parse: Parser
    help: str  # what it does; the help text adds the default
    default: str = ""  # in ini form; "" is none
    shown_default: str = ""  # the default as the help and the docs say it, when not the text itself
    metavar: str = ""
    choices: tuple[str, ...] = ()
    switch: bool = False  # a command-line switch that takes no value
    no_ini: str = ""  # why this option has no ini key; empty: it has one
    environment: str = ""  # an environment variable read before the default
    negatable: bool = False  # a switch that --no-modelperf-NAME turns off, beating an ini key that turns it on

    @property
    def flag(self) -> str:
        return f"--modelperf-{self.name.replace('_', '-')}"

    @property
    def negative_flag(self) -> str:
        return f"--no-{self.flag[2:]}"

    @property
    def dest(self) -> str:
        return f"modelperf_{self.name}"

    @property
    def ini_key(self) -> str | None:
        return None if self.no_ini else f"modelperf_{self.name}"

    @property
    def default_text(self) -> str:
        if self.shown_default:
            return self.shown_default
        if self.switch:
            return "off"
        return self.default or "none"

    @property
    def help_text(self) -> str:
        return f"{self.help} (default: {self.default_text})"

    def given(self, config: pytest.Config) -> Given | None:
        """The text the run gives this setting: command line, else ini key, else environment, else default."""
        root = Path(config.rootpath)
        on_command_line = config.getoption(self.dest, default=None)
        if on_command_line is False and self.negatable:
            return Given("false", self.negative_flag, False, root)
        if on_command_line not in (None, False, ""):
            return Given("true" if on_command_line is True else str(on_command_line), self.flag, False, root)
        if self.ini_key is not None:
            in_ini = str(config.getini(self.ini_key) or "")
            if in_ini and in_ini != self.default:
                return Given(in_ini, f"ini {self.ini_key}", True, root)
        if self.environment and os.environ.get(self.environment):
            return Given(os.environ[self.environment], f"${self.environment}", False, root)
        if self.default:
            return Given(self.default, f"default of {self.flag}", False, root)
        return None

    def value(self, config: pytest.Config) -> Any:
        given = self.given(config)
        if given is None:
            return False if self.switch else None
        return self.parse(given)


# -- reading a setting's text ---------------------------------------------------------------


def _text(given: Given) -> str:
    return given.text


def _switch(given: Given) -> bool:
    return given.text == "true"


def _switch_or_boolean(given: Given) -> bool:
    """A switch that also has an ini key: ``true`` from the command line, ``true`` or ``false`` from the ini file."""
    return _truthy(given)


def _path(given: Given) -> Path:
    return Path(given.text)


def _report_path(given: Given) -> Path:
    """A report file: given on the command line, relative to the working directory; given as an
    ini key, relative to the root dir."""
    return given.root / given.text if given.in_ini else Path(given.text)


def _number(given: Given) -> float:
    try:
        return float(given.text)
    except ValueError:
        raise ValueError(f"{given.where}: expected a number, got {given.text!r}") from None


def _rounds(given: Given) -> int:
    return int(_number(given))


def _whole_number(given: Given, *, expected: str, minimum: int, below: str) -> int:
    """``given`` as an int of at least ``minimum``; the errors name the option and say what was expected."""
    try:
        value = int(given.text)
    except ValueError:
        raise ValueError(f"{given.where}: expected {expected}, got {given.text!r}") from None
    if value < minimum:
        raise ValueError(f"{given.where}: {below}, got {value}")
    return value


def _count(given: Given) -> int:
    return _whole_number(given, expected="a whole number", minimum=0, below="must not be negative")


def _truthy(given: Given) -> bool:
    lowered = given.text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{given.where}: expected true or false, got {given.text!r}")


def _quantity(given: Given) -> Quantity:
    try:
        return parse_quantity(given.text, what=given.where)
    except UnitError as error:
        raise ValueError(str(error)) from None


def _fraction_from_percent(given: Given) -> float:
    quantity = _quantity(given)
    if not quantity.is_relative:
        raise ValueError(f"{given.where}: expected a percentage such as '5%', got {given.text!r}")
    return quantity.value / 100.0


def _threads(given: Given) -> int | None:
    """A thread count; ``auto`` is None, chosen for the machine by ``measure.threads``."""
    if given.text.strip().lower() == "auto":
        return None
    return _whole_number(given, expected="auto or a whole number", minimum=1, below="must be at least 1")


def _missing(given: Given) -> MissingPolicy:
    values = [member.value for member in MissingPolicy]
    if given.text not in values:
        raise ValueError(f"{given.where}: expected one of {', '.join(values)}, got {given.text!r}")
    return MissingPolicy(given.text)


KINDS: Mapping[Parser, str] = {
    _text: "text",
    _switch: "switch, no value",
    _switch_or_boolean: "switch, no value; ini key: `true` or `false`",
    _path: "path",
    _report_path: "path",
    _number: "number",
    _rounds: "whole number",
    _count: "whole number, 0 or more",
    _truthy: "`true` or `false`",
    _quantity: "a percentage (`10%`) or a quantity with a unit (`5ms`)",
    _fraction_from_percent: "a percentage (`5%`)",
    _threads: "`auto` or a whole number, 1 or more",
}
ONE_RUN = "an action for one run: a committed ini key would do it on every run"
PER_RUN_FLAG = "one run's choice of checkpoints; the offline stand-ins keep the project's runs reproducible"
DEFAULT_TIMING = TimingOptions()

OPTIONS: tuple[Option, ...] = (
    Option(
        "baseline_dir",
        _path,
        "folder of the baseline JSON files, relative to the root dir",
        default=DEFAULT_BASELINE_DIR,
        metavar="DIR",
    ),
    Option(
        "threshold",
        _quantity,
        "default allowed change towards worse for sampled metrics, e.g. 10% or 5ms",
        default=DEFAULT_THRESHOLD,
        metavar="Q",
    ),
    Option("confidence", _number, "one-sided confidence of the noise band", default="0.99", metavar="P"),
    Option(
        "assumed_noise",
        _fraction_from_percent,
        "between-run spread assumed when a baseline holds fewer than two runs",
        default="5%",
        metavar="PCT",
    ),
    Option("noise_aware", _truthy, "account for measured noise in verdicts", default="true", metavar="BOOL"),
    Option(
        "missing",
        _missing,
        "what a measurement without a baseline does: warn or fail",
        default="warn",
        choices=tuple(member.value for member in MissingPolicy),
    ),
    Option("device", _text, "device to measure on: auto, cpu, cuda or cuda:N", default="auto", metavar="DEVICE"),
    Option("dtype", _text, "dtype to load models in: float32, float16 or bfloat16", default="float32", metavar="DTYPE"),
    Option(
        "warmup_rounds", _rounds, "fewest warm-up rounds before timing", default=str(DEFAULT_TIMING.warmup_rounds), metavar="N"
    ),
    Option("warmup_time", _number, "least warm-up seconds before timing", default=str(DEFAULT_TIMING.warmup_time), metavar="S"),
    Option(
        "min_rounds", _rounds, "fewest timed rounds per latency measurement", default=str(DEFAULT_TIMING.min_rounds), metavar="N"
    ),
    Option(
        "max_rounds", _rounds, "most timed rounds per latency measurement", default=str(DEFAULT_TIMING.max_rounds), metavar="N"
    ),
    Option(
        "max_time",
        _number,
        "seconds after which timing stops once min rounds are done",
        default=str(DEFAULT_TIMING.max_time),
        metavar="S",
    ),
    Option(
        "confirm",
        _count,
        "re-runs that must reproduce a failure on sampled measurements (timings) before it fails the test",
        default="1",
        metavar="N",
    ),
    Option(
        "calibrate",
        _truthy,
        "on the CPU, time a reference workload beside each timing and judge times at the machine's current speed",
        default="true",
        metavar="BOOL",
    ),
    Option(
        "threads",
        _threads,
        "torch intra-op threads for the whole run, pinned before the first test: a number, or auto: 1 where this "
        "process's share of the cores (shared among -n workers) is 2 or fewer, the share under -n on a larger machine, "
        "else torch's own choice; the speed reference is timed under the same count and names it",
        default="auto",
        metavar="N",
    ),
    Option(
        "registry",
        _text,
        "model registry TOML, relative to the root dir",
        shown_default="[tool.modelperf] registry in pyproject.toml",
        metavar="PATH",
    ),
    Option(
        "json",
        _report_path,
        "write every measurement and verdict of the run to PATH as JSON (as an ini key: relative to the root dir)",
        metavar="PATH",
    ),
    Option(
        "csv",
        _report_path,
        "write one row per check to PATH as CSV, for pandas.read_csv (as an ini key: relative to the root dir)",
        metavar="PATH",
    ),
    Option(
        "html",
        _report_path,
        "write a self-contained HTML report of the run (checks, plots, environment) to PATH "
        "(as an ini key: relative to the root dir)",
        metavar="PATH",
    ),
    Option(
        "markdown",
        _report_path,
        "append a Markdown summary to PATH (as an ini key: relative to the root dir)",
        shown_default="$GITHUB_STEP_SUMMARY when set",
        metavar="PATH",
        environment="GITHUB_STEP_SUMMARY",
    ),
    Option(
        "update",
        _switch,
        "rewrite the baseline entries of the checks that ran, on this hardware only",
        switch=True,
        no_ini=ONE_RUN,
    ),
    Option("update_missing", _switch, "write baseline entries only where none exists yet", switch=True, no_ini=ONE_RUN),
    Option(
        "add_run",
        _switch,
        "add this run to the entries' recorded runs, so that baselines learn the spread between runs",
        switch=True,
        no_ini=ONE_RUN,
    ),
    Option(
        "prune",
        _switch,
        "with --modelperf-update: remove orphaned entries of this hardware in the modules that ran",
        switch=True,
        no_ini=ONE_RUN,
    ),
    Option(
        "forget_spread",
        _switch,
        "with --modelperf-update: start the between-run spread afresh instead of keeping what earlier runs taught",
        switch=True,
        no_ini=ONE_RUN,
    ),
    Option(
        "online",
        _switch,
        "load registry models from their real hub checkpoints instead of the offline ones",
        switch=True,
        no_ini=PER_RUN_FLAG,
    ),
    Option(
        "disable",
        _switch_or_boolean,
        "run the tests that use the modelperf fixture as smoke tests: each measurement is one round without "
        "warm-up, no check is judged (nor re-run), no baseline is written",
        switch=True,
    ),
    Option("skip", _switch_or_boolean, "skip the tests that use the modelperf fixture", switch=True),
    Option("only", _switch_or_boolean, "skip the tests that do not use the modelperf fixture", switch=True),
    Option(
        "autosave",
        _switch_or_boolean,
        "save a run that judged checks (its --modelperf-json export) as .modelperf/runs/<hardware key>/"
        "NNNN_<commit>.json under the root dir, for modelperf compare and the HTML report's trends; "
        "--no-modelperf-autosave turns it off for one run",
        switch=True,
        negatable=True,
    ),
)
BY_NAME: Mapping[str, Option] = {option.name: option for option in OPTIONS}
DEFAULTS: Mapping[str, str] = {option.name: option.default for option in OPTIONS if not option.switch}
UPDATE_SWITCHES: Mapping[UpdateMode, Option] = {
    UpdateMode.ALL: BY_NAME["update"],
    UpdateMode.MISSING: BY_NAME["update_missing"],
    UpdateMode.ADD_RUN: BY_NAME["add_run"],
}


def default_values(root: Path = Path()) -> dict[str, Any]:
    """Every setting's value when nothing is given: what ``Settings.from_values`` reads."""
    values: dict[str, Any] = {}
    for option in OPTIONS:
        default = Given(option.default, f"default of {option.flag}", False, root) if option.default else None
        values[option.name] = option.parse(default) if default else (False if option.switch else None)
    return values


def add_options(parser: pytest.Parser) -> None:
    """Register every option of the table, and its ini key."""
    group = parser.getgroup(GROUP, GROUP_DESCRIPTION)
    for option in OPTIONS:
        escaped = option.help_text.replace("%", "%%")  # argparse %-formats help texts
        if option.switch:
            group.addoption(option.flag, action="store_true", dest=option.dest, default=None, help=escaped)
            if option.negatable:
                group.addoption(
                    option.negative_flag, action="store_false", dest=option.dest, default=None, help=f"turn {option.flag} off"
                )
        else:
            extra: dict[str, Any] = {"choices": list(option.choices)} if option.choices else {"metavar": option.metavar}
            group.addoption(option.flag, dest=option.dest, default=None, help=escaped, **extra)
        if option.ini_key is not None:
            parser.addini(option.ini_key, help=f"{option.help_text} (ini form of {option.flag})", default=option.default)


@dataclass(frozen=True)
class Settings:
    baseline_dir: Path
    update: UpdateMode
    prune: bool
    threshold: Quantity
    noise: NoisePolicy
    missing: MissingPolicy
    device: str
    dtype: str
    timing: TimingOptions
    json_path: Path | None
    markdown_path: Path | None
    root: Path
    registry: str = ""  # --modelperf-registry as given; resolved when a test first needs the registry
    online: bool = False
    confirm: int = 1
    calibrate: bool = True
    csv_path: Path | None = None
    html_path: Path | None = None
    forget_spread: bool = False  # --modelperf-update drops the spread learned from the replaced runs
    threads: int | None = None  # torch intra-op threads pinned for the run; None is auto (measure.threads)
    disable: bool = False  # a smoke run: one round per measurement, nothing judged, no baseline written
    skip: bool = False  # skip the tests that use the modelperf fixture
    only: bool = False  # skip the tests that do not
    autosave: bool = False  # save the run's export to the run history (storage.run_history)

    @classmethod
    def from_pytest_config(cls, config: pytest.Config) -> Settings:
        try:
            values = {option.name: option.value(config) for option in OPTIONS}
            return cls.from_values(values, Path(config.rootpath))
        except ValueError as error:
            raise pytest.UsageError(f"modelperf: {error}") from None

    @classmethod
    def from_values(cls, values: Mapping[str, Any], root: Path) -> Settings:
        """Settings from the table's parsed values; ValueError when they do not go together."""
        chosen = [mode for mode, switch in UPDATE_SWITCHES.items() if values[switch.name]]
        if len(chosen) > 1:
            *first, last = (switch.flag for switch in UPDATE_SWITCHES.values())
            raise ValueError(f"choose one of {', '.join(first)} and {last}")
        for name in ("prune", "forget_spread"):
            if values[name] and chosen != [UpdateMode.ALL]:
                raise ValueError(f"{BY_NAME[name].flag} only works together with {BY_NAME['update'].flag}")
        _refuse_contradictions(values, [UPDATE_SWITCHES[mode] for mode in chosen])
        baseline_dir: Path = values["baseline_dir"]
        try:
            timing = TimingOptions(**{name: values[name] for name in TimingOptions.__dataclass_fields__})
        except TimingError as error:
            raise ValueError(f"{BY_NAME[error.field].flag} (or ini modelperf_{error.field}): {error.problem}") from None
        return cls(
            baseline_dir=baseline_dir if baseline_dir.is_absolute() else root / baseline_dir,
            update=chosen[0] if chosen else UpdateMode.NONE,
            prune=values["prune"],
            threshold=values["threshold"],
            noise=NoisePolicy(
                enabled=values["noise_aware"], confidence=values["confidence"], assumed_spread=values["assumed_noise"]
            ),
            missing=values["missing"],
            device=values["device"],
            dtype=values["dtype"],
            timing=timing,
            json_path=values["json"],
            markdown_path=values["markdown"],
            root=root,
            registry=values["registry"] or "",
            online=values["online"],
            confirm=values["confirm"],
            calibrate=values["calibrate"],
            csv_path=values["csv"],
            html_path=values["html"],
            forget_spread=values["forget_spread"],
            threads=values["threads"],
            disable=values["disable"],
            skip=values["skip"],
            only=values["only"],
            autosave=values["autosave"],
        )

    def whole_run_writers(self) -> list[str]:
        """The options given that write one file from every test's checks: no single worker of a
        distributed run sees them all."""
        writers = [UPDATE_SWITCHES[self.update].flag] if self.update in UPDATE_SWITCHES else []
        paths = {"json": self.json_path, "csv": self.csv_path, "html": self.html_path}
        writers += [BY_NAME[name].flag for name, path in paths.items() if path is not None]
        return writers + ([BY_NAME["autosave"].flag] if self.autosave and not self.disable else [])


def _refuse_contradictions(values: Mapping[str, Any], updates: list[Option]) -> None:
    """ValueError naming both options when the smoke-run and selection switches contradict each
    other or an update of the baselines."""
    disable, skip, only = (BY_NAME[name] for name in ("disable", "skip", "only"))
    pairs = [
        (skip, only, "one skips the tests that use the modelperf fixture and the other every other test"),
        (disable, skip, f"{skip.flag} skips every test that {disable.flag} would run as a smoke test"),
        *((disable, update, "a smoke run judges no check and writes no baseline") for update in updates),
        *((skip, update, "no test that could record a baseline would run") for update in updates),
    ]
    for first, second, why in pairs:
        if values[first.name] and values[second.name]:
            raise ValueError(f"{_named(first)} and {_named(second)} cannot be used together: {why}")


def _named(option: Option) -> str:
    """The option as an error names it: its flag, and its ini key where it has one."""
    return f"{option.flag} (or ini {option.ini_key})" if option.ini_key else option.flag


def options_markdown() -> str:
    """``docs/options.md``: the table of every option and ini key, with defaults and values."""
    lines = [
        "# Options and ini keys",
        "",
        "Every setting of pytest-modelperf is a command-line option, and most are an ini key too (in",
        "`pytest.ini`, `tox.ini`, `setup.cfg` or `[tool.pytest.ini_options]` of `pyproject.toml`); an",
        "option without one says why in its ini key column. The command line beats the ini key, which",
        "beats the default. Generated from `pytest_modelperf/options.py`:",
        "",
        "    python -m pytest_modelperf.options > docs/options.md",
        "",
        "| Command line | ini key | Default | Values | What it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for option in OPTIONS:
        ini = f"`{option.ini_key}`" if option.ini_key else f"none ({option.no_ini})"
        flags = f"`{option.flag}`, `{option.negative_flag}`" if option.negatable else f"`{option.flag}`"
        values = ", ".join(f"`{choice}`" for choice in option.choices) if option.choices else KINDS[option.parse]
        default = f"`{option.default}`" if option.default and not option.shown_default else option.default_text
        lines.append(f"| {flags} | {ini} | {default} | {values} | {_escape_cell(option.help)} |")
    return "\n".join(lines) + "\n"


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    print(options_markdown(), end="")
