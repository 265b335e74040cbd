import subprocess
import sys


def test_options_appear_in_one_group(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*model performance regression testing (pytest-modelperf)*"])
    for option in (
        "--modelperf-update",
        "--modelperf-update-missing",
        "--modelperf-add-run",
        "--modelperf-prune",
        "--modelperf-json",
        "--modelperf-threshold",
        "--modelperf-device",
        "--modelperf-markdown",
    ):
        assert option in result.stdout.str()


def test_every_option_of_the_table_is_in_the_help_with_its_ini_key(pytester):
    from pytest_modelperf.options import OPTIONS

    text = " ".join(pytester.runpytest("--help").stdout.str().split())  # argparse wraps long help texts
    for option in OPTIONS:
        assert option.flag in text
        assert (option.ini_key in text) if option.ini_key else f"modelperf_{option.name} " not in text
    threshold = "--modelperf-threshold=Q default allowed change towards worse for sampled metrics, e.g. 10% or 5ms (default: 10%)"
    assert threshold in text


def test_loading_the_plugin_does_not_import_torch():
    code = "import sys, pytest_modelperf.plugin; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_conflicting_update_flags_are_a_usage_error(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--modelperf-update", "--modelperf-update-missing")
    assert result.ret == pytest_usage_error()
    result.stderr.fnmatch_lines(["*choose one of --modelperf-update*"])


def test_prune_without_update_is_a_usage_error(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--modelperf-prune")
    assert result.ret == pytest_usage_error()
    result.stderr.fnmatch_lines(["*--modelperf-prune only works together with --modelperf-update*"])


def test_bad_threshold_option_names_it(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--modelperf-threshold=ten")
    assert result.ret == pytest_usage_error()
    result.stderr.fnmatch_lines(["*--modelperf-threshold*cannot parse 'ten'*"])


def pytest_usage_error():
    import pytest

    return pytest.ExitCode.USAGE_ERROR
