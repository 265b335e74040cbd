"""Module keys and which modules a selection covers in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelperf.run.selection import Selection, TestKey, identify, module_key

ROOT = Path("/work/project")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (ROOT / "perf_tests" / "test_models.py", "perf_tests/test_models.py"),
        (ROOT.parent / "shared" / "test_perf.py", "_parent/shared/test_perf.py"),
        (ROOT.parent.parent / "shared" / "test_perf.py", "_parent/_parent/shared/test_perf.py"),
        (Path("/elsewhere/test_perf.py"), "_parent/_parent/elsewhere/test_perf.py"),
    ],
)
def test_a_module_key_is_its_path_from_the_root_dir_without_dot_dot(path, expected):
    assert module_key(path, ROOT) == expected


def test_modules_outside_the_root_dir_get_distinct_keys():
    one, two = ROOT.parent / "a" / "test_perf.py", ROOT.parent.parent / "a" / "test_perf.py"
    assert module_key(one, ROOT) != module_key(two, ROOT)


def test_a_test_is_named_by_its_node_id_after_the_module_part():
    assert identify("::TestBert::test_latency[b1]", "_parent/x/test_perf.py") == TestKey(
        "_parent/x/test_perf.py", "TestBert::test_latency[b1]"
    )


def collected(selection: Selection, module: str, *tests: str, collectors: tuple[str, ...] = (), under: str | None = None) -> None:
    pairs = [(f"{module}::{test}", TestKey(module, test)) for test in tests]
    selection.found_in_module(module, under or module, succeeded=True, tests=pairs, collectors=collectors)


def test_a_module_whose_every_test_is_selected_is_covered():
    selection = Selection()
    collected(selection, "test_perf.py", "test_a", "test_b")
    selection.select(["test_perf.py::test_b", "test_perf.py::test_a"])
    assert selection.why_not_covered("test_perf.py") is None


def test_a_module_with_an_unselected_test_is_not_covered():
    selection = Selection()
    collected(selection, "test_perf.py", "test_a", "test_b", "test_c")
    selection.select(["test_perf.py::test_a"])
    assert selection.why_not_covered("test_perf.py") == "this run selected 1 of its 3 tests"


def test_a_class_that_was_never_collected_leaves_the_module_uncovered():
    selection = Selection()
    collected(selection, "test_perf.py", collectors=("test_perf.py::TestA", "test_perf.py::TestB"))
    collected(selection, "test_perf.py", "TestA::test_x", under="test_perf.py::TestA")
    selection.select(["test_perf.py::TestA::test_x"])
    assert selection.why_not_covered("test_perf.py") == "this run did not collect test_perf.py::TestB"
    collected(selection, "test_perf.py", "TestB::test_y", under="test_perf.py::TestB")
    assert selection.why_not_covered("test_perf.py") == "this run selected 1 of its 2 tests"


def test_a_module_that_failed_to_collect_is_not_covered():
    selection = Selection()
    selection.found_in_module("test_perf.py", "test_perf.py", succeeded=False, tests=[], collectors=[])
    assert selection.why_not_covered("test_perf.py") == "part of it failed to collect"


def test_an_identity_falls_back_to_the_node_id_for_tests_never_collected():
    assert Selection().identity("test_perf.py::test_a") == TestKey("test_perf.py", "test_a")
