"""The perf suite's distillation gates (perf_tests/test_distillation.py) on the real teacher,
plain student and distilled student of the registry, and with a regression injected in place of
the distilled student: each injection fails the gate it should, and only that one.

- the plainly fine-tuned student saved as the distilled one: no gain over plain fine-tuning;
- BERT-tiny's untrained stand-in weights: keeps no accuracy, and no gain;
- the teacher saved as the student: keeps its accuracy, but is no faster.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_modelperf.models.registry import load_registry
from pytest_modelperf.quality.prepare import registry_checkpoint

REPO = Path(__file__).resolve().parents[2]
TEACHER, STUDENT, DISTILLED, STAND_IN = "minilm-topics", "bert-tiny-topics", "bert-tiny-topics-distilled", "bert-tiny"


@pytest.fixture(scope="module")
def checkpoints() -> dict[str, str]:
    """The registry's checkpoints, from the shared cache (fine-tuned once, with the main job)."""
    registry = load_registry(REPO / "perf_tests" / "models.toml")
    return {name: registry_checkpoint(registry, name) for name in (TEACHER, STUDENT, DISTILLED, STAND_IN)}


GATES_TEST = """
import sys

import pytest

sys.path.insert(0, {repo!r})
from perf_tests.test_distillation import check_distillation

TEACHER, STUDENT = {teacher!r}, {student!r}
CASES = {cases!r}


@pytest.mark.parametrize("case", CASES)
def test_gates(modelperf, case):
    load = lambda path: modelperf.load(path, task="sequence-classification")
    check_distillation(modelperf, load(TEACHER), load(STUDENT), load(CASES[case]))
"""


def test_each_injected_regression_fails_its_gate(pytester, run, checkpoints):
    cases = {
        "distilled": checkpoints[DISTILLED],
        "plain-as-distilled": checkpoints[STUDENT],
        "stand-in-as-distilled": checkpoints[STAND_IN],
        "teacher-as-distilled": checkpoints[TEACHER],
    }
    pytester.makepyfile(
        test_gates=GATES_TEST.format(repo=str(REPO), teacher=checkpoints[TEACHER], student=checkpoints[STUDENT], cases=cases)
    )
    result = run("--modelperf-json", "out.json")
    result.assert_outcomes(passed=1, failed=3)
    failed: dict[str, set[str]] = {case: set() for case in cases}
    for check in json.loads((pytester.path / "out.json").read_text())["results"]:
        if check["outcome"] == "over limit":
            case = check["nodeid"].split("[", 1)[1].rstrip("]")
            failed[case].add(check["measurement"]["name"].split(" ", 1)[0])
    assert failed == {
        "distilled": set(),
        "plain-as-distilled": {"accuracy"},  # "accuracy gain of ... (lower 99% bound)"
        "stand-in-as-distilled": {"accuracy"},  # the kept share and the gain
        "teacher-as-distilled": {"speed"},
    }
    stand_in = [
        check["measurement"]["name"]
        for check in json.loads((pytester.path / "out.json").read_text())["results"]
        if check["outcome"] == "over limit" and "stand-in" in check["nodeid"]
    ]
    assert len(stand_in) == 2, stand_in
    result.stdout.fnmatch_lines(["*- Teacher, student and distilled student*"])
