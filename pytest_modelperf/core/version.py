"""The distribution's name and its installed version, as environments, reports and checkpoint markers record it."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "pytest-modelperf"


@cache
def installed_version() -> str:
    """The installed version of pytest-modelperf; empty when it runs uninstalled from a source tree."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return ""
