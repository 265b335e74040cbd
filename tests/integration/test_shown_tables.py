"""modelperf.show_table: a test's table printed in the run's summary, once, with or without pytest-xdist."""

from __future__ import annotations

import pytest

TABLE_TESTS = """
import pytest

@pytest.mark.parametrize("model", ["teacher", "student"])
def test_table(modelperf, model):
    modelperf.show_table(f"Models of {model}", ["model", "latency (ms)"], [[model, 1.5], ["other", None]], notes=["gain: +1 point"])

def test_failing_table(modelperf):
    modelperf.show_table("Shown though failing", ["a"], [["x"]])
    assert False
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_tables_are_shown_once_under_their_titles(pytester, run, workers):
    pytester.makepyfile(test_tables=TABLE_TESTS)
    result = run(*workers)
    result.assert_outcomes(passed=2, failed=1)
    output = result.stdout.str()
    for title in ("Models of teacher", "Models of student", "Shown though failing"):
        assert output.count(f" {title} -") == 1, title  # the section's separator line
    result.stdout.fnmatch_lines(
        [
            "*- Models of student -*",
            "| model | latency (ms) |",
            "|---|---|",
            "| student | 1.5 |",
            "| other |  |",
            "",
            "gain: +1 point",
        ]
    )


def test_a_row_of_another_width_fails_the_test_naming_it(pytester, run):
    pytester.makepyfile(
        test_tables="""
def test_table(modelperf):
    modelperf.show_table("T", ["a", "b"], [["only one"]])
"""
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*show_table 'T': row 1 has 1 cells for 2 headers*"])
