"""The table of options: every setting once, with its ini key, its default in its help, and the docs made from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.options import BY_NAME, DEFAULTS, OPTIONS, Settings, UpdateMode, default_values, options_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "options.md"


def test_the_committed_docs_are_the_table_rendered():
    """Regenerate with: python -m pytest_modelperf.options > docs/options.md"""
    assert DOCS.read_text(encoding="utf-8") == options_markdown()


def test_every_option_is_named_once_and_has_an_ini_key_or_says_why_not():
    assert len({option.name for option in OPTIONS}) == len(OPTIONS)
    for option in OPTIONS:
        assert (option.ini_key is None) == bool(option.no_ini), option.name
        if option.ini_key is not None:
            assert option.ini_key == f"modelperf_{option.name}"
        assert option.flag == f"--modelperf-{option.name.replace('_', '-')}"


def test_only_switches_have_no_ini_key():
    assert {option.name for option in OPTIONS if option.ini_key is None} <= {option.name for option in OPTIONS if option.switch}


def test_the_switches_that_have_ini_keys_read_true_or_false_there():
    with_ini = {option.name for option in OPTIONS if option.switch and option.ini_key is not None}
    assert with_ini == {"disable", "skip", "only", "autosave"}
    assert BY_NAME["autosave"].negatable and BY_NAME["autosave"].negative_flag == "--no-modelperf-autosave"


def test_every_help_text_states_the_default():
    for option in OPTIONS:
        assert option.help_text.endswith(f"(default: {option.default_text})"), option.name
    assert BY_NAME["threshold"].help_text.endswith("(default: 10%)")
    assert BY_NAME["update"].help_text.endswith("(default: off)")
    assert BY_NAME["csv"].help_text.endswith("(default: none)")


def test_the_timing_defaults_are_the_timing_options_defaults():
    timing = TimingOptions()
    assert {name: DEFAULTS[name] for name in ("warmup_rounds", "warmup_time", "min_rounds", "max_rounds", "max_time")} == {
        "warmup_rounds": str(timing.warmup_rounds),
        "warmup_time": str(timing.warmup_time),
        "min_rounds": str(timing.min_rounds),
        "max_rounds": str(timing.max_rounds),
        "max_time": str(timing.max_time),
    }


def defaults(**changes: object) -> dict[str, object]:
    return {**default_values(), **changes}


def test_the_defaults_make_the_settings_of_a_plain_run():
    settings = Settings.from_values(defaults(), Path("/project"))
    assert settings.baseline_dir == Path("/project/baselines")
    assert settings.update is UpdateMode.NONE and settings.confirm == 1 and settings.timing == TimingOptions()
    assert settings.json_path is None and settings.registry == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"update": True, "add_run": True},
            "choose one of --modelperf-update, --modelperf-update-missing and --modelperf-add-run",
        ),
        ({"prune": True}, "--modelperf-prune only works together with --modelperf-update"),
        ({"forget_spread": True, "add_run": True}, "--modelperf-forget-spread only works together with --modelperf-update"),
        ({"min_rounds": 1}, "--modelperf-min-rounds (or ini modelperf_min_rounds): must be at least 2, got 1"),
        ({"max_rounds": 5}, "--modelperf-max-rounds (or ini modelperf_max_rounds): must not be below min_rounds (10), got 5"),
    ],
)
def test_settings_that_do_not_go_together_name_their_options(changes, message):
    with pytest.raises(ValueError) as raised:
        Settings.from_values(defaults(**changes), Path("/project"))
    assert str(raised.value) == message


def test_whole_run_writers_are_named_by_their_options():
    settings = Settings.from_values(defaults(add_run=True, csv=Path("run.csv"), html=Path("run.html")), Path("/p"))
    assert settings.whole_run_writers() == ["--modelperf-add-run", "--modelperf-csv", "--modelperf-html"]
