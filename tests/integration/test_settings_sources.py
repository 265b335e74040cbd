"""Where a setting comes from: the command line beats the ini key, which beats the default;
an error names the option or the ini key that was given."""

from __future__ import annotations

import pytest

SHOW = """
from pytest_modelperf.run.session import session_of

def test_show(request):
    settings = session_of(request.config).settings
    print(f"confirm={settings.confirm} max_time={settings.timing.max_time} warmup_rounds={settings.timing.warmup_rounds}")
    print(f"csv={settings.csv_path} json={settings.json_path}")
"""


def test_the_command_line_beats_the_ini_key_which_beats_the_default(pytester: pytest.Pytester):
    pytester.makepyfile(test_show=SHOW)
    pytester.makeini("[pytest]\nmodelperf_confirm = 3\nmodelperf_json = out/run.json\n")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--modelperf-confirm=2", "--modelperf-csv=run.csv")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*confirm=2 max_time=2.0 warmup_rounds=3",
            f"csv=run.csv json={pytester.path / 'out' / 'run.json'}",
        ]
    )


def test_timing_ini_keys_have_command_line_options_too(pytester: pytest.Pytester):
    pytester.makepyfile(test_show=SHOW)
    pytester.makeini("[pytest]\nmodelperf_warmup_rounds = 5\n")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--modelperf-warmup-rounds=1", "--modelperf-max-time=0.5")
    result.stdout.fnmatch_lines(["*confirm=1 max_time=0.5 warmup_rounds=1"])


@pytest.mark.parametrize(
    ("ini", "options", "message"),
    [
        ("modelperf_confirm = many", (), "ini modelperf_confirm: expected a whole number, got 'many'"),
        ("modelperf_confirm = 2", ("--modelperf-confirm=x",), "--modelperf-confirm: expected a whole number, got 'x'"),
        ("", ("--modelperf-noise-aware=maybe",), "--modelperf-noise-aware: expected true or false, got 'maybe'"),
        ("modelperf_min_rounds = 1", (), "--modelperf-min-rounds (or ini modelperf_min_rounds): must be at least 2, got 1"),
    ],
    ids=["ini", "command-line", "boolean", "timing"],
)
def test_a_bad_value_names_where_it_was_given(pytester: pytest.Pytester, ini, options, message):
    pytester.makepyfile(test_show=SHOW)
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest("-p", "no:cacheprovider", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: modelperf: {message}" in result.stderr.lines
