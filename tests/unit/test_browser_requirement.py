"""tests/browser.py: a missing Chromium skips a rendered-page test, or fails it where CI requires Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import REQUIRE, chromium


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no chromium on PATH


def test_a_missing_chromium_skips_where_it_is_not_required(no_chromium: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not on PATH"):
        chromium()


def test_a_missing_chromium_fails_where_it_is_required(no_chromium: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE, "1")
    with pytest.raises(BaseException) as raised:  # caught whatever it is: a skip must not escape as a skip
        chromium()
    assert raised.type is pytest.fail.Exception, f"not a failure: {raised.type.__name__}: {raised.value}"
    assert raised.match(f"chromium is not on PATH.*{REQUIRE} is set")


def test_a_chromium_on_path_is_found_whatever_the_requirement(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    executable = tmp_path / "chromium"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(REQUIRE, "1")
    assert chromium() == str(executable)
