"""The modelperf marker's arguments: parsed once, validated with errors that name the test and the argument."""

from __future__ import annotations

import pytest

from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.markers import MARKER_LINE, MarkerOptions
from pytest_modelperf.options import MissingPolicy, Settings, default_values

WHERE = "test_perf.py::test_fast"


def parsed(*args: object, **kwargs: object) -> MarkerOptions:
    return MarkerOptions.from_marker(pytest.mark.modelperf(*args, **kwargs).mark, WHERE)


def test_no_marker_leaves_every_setting_to_the_run():
    options = MarkerOptions.from_marker(None, WHERE)
    assert options == MarkerOptions()
    assert options.timing(TimingOptions()) == TimingOptions()


def test_arguments_are_parsed_to_what_they_mean():
    options = parsed(missing="fail", confirm=0, min_rounds=3, max_time=0.5, device="cpu", threshold="5%")
    assert options.missing is MissingPolicy.FAIL and options.confirm == 0 and options.device == "cpu"
    assert options.timing(TimingOptions()) == TimingOptions(min_rounds=3, max_time=0.5)
    assert options.threshold == "5%"  # parsed against each measurement's unit when checked


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"treshold": "5%"},
            f"{WHERE}: @pytest.mark.modelperf got 1 unknown argument: treshold; known: confirm, device, dtype, "
            "max_rounds, max_time, min_rounds, missing, threshold, warmup_rounds, warmup_time",
        ),
        ({"confirm": -1}, f"{WHERE}: @pytest.mark.modelperf(confirm=...) must be a non-negative integer, got -1"),
        ({"confirm": True}, f"{WHERE}: @pytest.mark.modelperf(confirm=...) must be a non-negative integer, got True"),
        ({"missing": "error"}, f"{WHERE}: @pytest.mark.modelperf(missing=...) must be warn or fail, got 'error'"),
        ({"max_time": "2s"}, f"{WHERE}: @pytest.mark.modelperf(max_time=...) must be a non-negative number of seconds, got '2s'"),
        ({"device": 0}, f"{WHERE}: @pytest.mark.modelperf(device=...) must be a string, got 0"),
    ],
)
def test_a_bad_argument_is_a_usage_error_naming_it(kwargs, message):
    with pytest.raises(pytest.UsageError) as raised:
        parsed(**kwargs)
    assert str(raised.value) == message


def test_positional_arguments_are_refused():
    with pytest.raises(pytest.UsageError, match="takes keyword arguments only"):
        parsed("10%")


def test_timing_that_does_not_fit_the_runs_timing_names_the_marker():
    options = parsed(min_rounds=300)
    with pytest.raises(pytest.UsageError) as raised:
        options.timing(TimingOptions())
    assert str(raised.value) == (
        f"{WHERE}: @pytest.mark.modelperf(min_rounds=300): max_rounds must not be below min_rounds (300), got 200"
    )


def test_confirm_and_missing_fall_back_to_the_run(tmp_path):
    settings = Settings.from_values({**default_values(), "confirm": 4}, tmp_path)
    assert MarkerOptions().confirmations(settings) == 4 and parsed(confirm=0).confirmations(settings) == 0
    assert MarkerOptions().missing_policy(settings) is MissingPolicy.WARN
    assert parsed(missing="fail").missing_policy(settings) is MissingPolicy.FAIL


def test_the_registered_marker_line_lists_every_argument():
    assert MARKER_LINE.startswith("modelperf(threshold=, device=, dtype=, missing=, warmup_rounds=, warmup_time=, min_rounds=, ")
