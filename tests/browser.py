"""Headless Chromium for tests that look at a rendered page: the DOM it builds and a screenshot.

Tests that need it skip with the reason when ``chromium`` is not on PATH, unless
``MODELPERF_REQUIRE_CHROMIUM=1`` is set: then they fail, so that CI (``.ci/run`` sets it and
installs Chromium) cannot lose the rendered-page checks to a skip when the install breaks.
Every call runs with a private profile, no network features, and a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

TIMEOUT_S = 90
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


REQUIRE = "MODELPERF_REQUIRE_CHROMIUM"


def chromium() -> str:
    """The chromium executable; when it is not on PATH, skips the calling test, or fails it
    when ``MODELPERF_REQUIRE_CHROMIUM=1``."""
    found = shutil.which("chromium")
    if found is None:
        reason = "chromium is not on PATH; the rendered-page checks need a headless Chromium"
        if os.environ.get(REQUIRE, "") not in ("", "0"):
            pytest.fail(f"{reason}, and {REQUIRE} is set: this run requires it", pytrace=False)
        pytest.skip(reason)
    return found


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM Chromium builds from ``page``, serialised."""
    return _run(page, profile, "--dump-dom").stdout


def screenshot(page: Path, profile: Path, png: Path, *, width: int = 1280, height: int = 2000) -> Path:
    """A PNG of ``page`` rendered in a ``width`` x ``height`` window."""
    _run(page, profile, f"--screenshot={png}", f"--window-size={width},{height}")
    if not png.is_file():
        raise AssertionError(f"chromium wrote no screenshot to {png}")
    return png


def _run(page: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments, page.resolve().as_uri()]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"chromium did not finish within {TIMEOUT_S} s: {' '.join(command)}") from None
    if result.returncode != 0:
        raise AssertionError(f"chromium exited with {result.returncode}: {' '.join(command)}\n{result.stderr[-2000:]}")
    return result
