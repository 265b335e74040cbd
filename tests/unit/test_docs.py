"""The README stays short and carries the CI command verbatim; the docs site's generated pages come from the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from pytest_modelperf.options import options_markdown

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MOST_README_LINES = 220


def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_command(starting: str) -> str:
    [command] = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith(starting)]
    return command


def test_the_readme_is_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MOST_README_LINES


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci_lines[-1] == readme_command("(command -v chromium")


def test_the_test_command_builds_the_docs_strictly_between_the_type_check_and_the_tests():
    command = readme_command("(command -v chromium")
    assert " && mypy && mkdocs build --strict --site-dir site && HF_HUB_OFFLINE=1 " in command


def test_the_readme_keeps_the_main_job_command():
    command = readme_command("python3 -m venv .venv")
    assert command.endswith("&& modelperf prepare && HF_HUB_OFFLINE=1 python -m pytest perf_tests")


def test_the_site_shows_the_option_table_rendered_now():
    rendered, warning = hooks().options_page(options_markdown())
    assert rendered == options_markdown()
    assert warning is None


def test_a_stale_committed_options_page_is_a_warning_that_fails_a_strict_build():
    rendered, warning = hooks().options_page("# Options and ini keys\n\n| an old table |\n")
    assert rendered == options_markdown()
    assert warning == (
        "docs/options.md differs from pytest_modelperf/options.py's table; regenerate it: "
        "python -m pytest_modelperf.options > docs/options.md"
    )


def test_a_help_marker_becomes_the_commands_usage():
    page = hooks().with_command_help("## Usage\n\n<!-- modelperf-help: models -->\n")
    assert page.startswith("## Usage\n\n```\nusage: modelperf models [-h]\n")
    assert page.endswith("```\n")


def test_a_help_marker_for_an_unknown_command_is_an_error_naming_it():
    with pytest.raises(ValueError, match="modelperf no-such-command --help printed no usage"):
        hooks().with_command_help("<!-- modelperf-help: no-such-command -->")
